"""The model knows its inputs: a family it uses that the input lacks is refused, blanks counted."""

from __future__ import annotations

import pandas as pd
import pytest

from icpfit.serving.inputs import MissingInputs, ModelInputs, check_inputs, input_gaps


def spec(name, kind, source, group="firmographic"):
    return {"name": name, "group": group, "kind": kind, "source": source, "levels": []}


BUNDLE = {
    "specs": [
        spec("industry", "categorical", "industry"),
        spec("employees", "numeric", "employees"),
        spec("founded_year", "numeric", "founded_year"),
        spec("tech_snowflake", "flag", "Snowflake", "technographic"),
        spec("tech_count", "count", "tech stack", "technographic"),
        spec("signals_funding_round_12m", "count", "funding_round", "behavioral"),
    ],
    "used_features": ["industry", "employees", "tech_snowflake", "signals_funding_round_12m"],
    "tech_stack": {"column": "tech_stack", "separator": ";"},
    "accounts_columns": {"account_id": "CompanyId", "employees": "Headcount"},
}
INPUTS = ModelInputs.of(BUNDLE)


def test_only_the_features_the_booster_splits_on_are_inputs():
    assert INPUTS.account_columns == ("industry", "employees")  # founded_year is never split on
    assert INPUTS.technologies and INPUTS.signal_types == ("funding_round",)
    everything = ModelInputs.of({**BUNDLE, "used_features": None})
    assert everything.account_columns == ("industry", "employees", "founded_year")


def test_every_absent_family_is_named_in_the_exports_words():
    with pytest.raises(MissingInputs) as refused:
        check_inputs(["account_id", "industry"], INPUTS)
    message = str(refused.value)
    assert "account column(s) Headcount" in message
    assert (
        "this model uses technologies: pass --technologies FILE or a tech_stack column" in message
    )
    assert (
        "this model uses signals (funding_round): pass --signals FILE or the count columns "
        "signals_funding_round_12m" in message
    )
    check_inputs(
        ["account_id", "industry", "employees", "tech_stack", "signals_funding_round_12m"], INPUTS
    )


def test_a_family_not_used_is_not_required():
    no_tech = {**BUNDLE, "used_features": ["industry", "employees", "signals_funding_round_12m"]}
    check_inputs(["industry", "employees", "signals_funding_round_12m"], ModelInputs.of(no_tech))


def test_blanks_are_counted_per_input_in_the_exports_names():
    rows = pd.DataFrame(
        {
            "industry": ["Software", " ", None, "Retail"],
            "employees": ["10", None, "30", "40"],
            "tech_stack": [None, "Snowflake", None, ""],
            "signals_funding_round_12m": [0, 1, 0, 2],
            "founded_year": [None, None, None, None],
        }
    )
    assert input_gaps(rows, INPUTS) == {"industry": 2, "Headcount": 1, "tech_stack": 3}
