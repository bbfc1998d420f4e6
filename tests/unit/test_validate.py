"""Every error and warning of `icpfit validate`, with its message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from icpfit.features import validate
from icpfit.features.pipeline import prepare
from icpfit.features.problems import DataError, raise_on_errors
from icpfit.features.validate import SIGNAL_COLUMNS, TECH_COLUMNS, validate_export
from tests.conftest import AS_OF, make_config, raw_tables, tiny_export


def problems_of(frames: dict[str, pd.DataFrame], config=None) -> list:
    _, problems = prepare(raw_tables(**frames), config or make_config(), AS_OF)
    return problems


def messages(frames, severity: str, config=None) -> list[str]:
    return [p.message for p in problems_of(frames, config) if p.severity == severity]


def one_error(frames, config=None) -> str:
    errors = messages(frames, "error", config)
    assert len(errors) == 1, errors
    return errors[0]


def test_clean_export_has_no_problems(export_frames):
    assert problems_of(export_frames) == []


def test_missing_required_column_names_file_column_and_mapping(export_frames):
    frames = {
        **export_frames,
        "opportunities": export_frames["opportunities"].drop(columns="close_date"),
    }
    message = one_error(frames)
    assert message.startswith("opportunities.csv: missing required column 'close_date'")
    assert "columns.opportunities.close_date in icpfit.yaml" in message


def test_unparseable_dates_name_lines_and_examples(export_frames):
    opps = export_frames["opportunities"].assign(close_date=["2026-01-15", "31/31/2026", "soon"])
    message = one_error({**export_frames, "opportunities": opps})
    assert "opportunities.csv: column 'close_date' has 2 unparseable dates at lines 3, 4" in message
    assert "'31/31/2026'" in message and "ISO dates" in message


@pytest.mark.parametrize(("table", "column"), [("revenue", "mrr"), ("opportunities", "amount")])
def test_non_numeric_money(export_frames, table, column):
    frame = export_frames[table].copy()
    frame.loc[1, column] = "$1,200"
    message = one_error({**export_frames, table: frame})
    assert message.startswith(f"{table}.csv: column '{column}' has 1 non-numeric values at line 3")
    assert "'$1,200'" in message and "plain numbers" in message


def test_unmapped_stage_value_lists_values_and_fix(export_frames):
    opps = export_frames["opportunities"].assign(stage=["won", "Negotiation", "Negotiation"])
    message = one_error({**export_frames, "opportunities": opps})
    assert "'Negotiation' (2)" in message and "lines 3, 4" in message
    assert "stages.won, stages.lost or stages.open in icpfit.yaml" in message


def test_stage_mapping_from_the_config_is_applied(export_frames):
    opps = export_frames["opportunities"].assign(stage=["Closed Won", "closed  won", "Closed Lost"])
    config = make_config(stages={"won": ["Closed Won"], "lost": ["Closed Lost"]})
    assert problems_of({**export_frames, "opportunities": opps}, config) == []


def test_conflicting_duplicate_accounts_list_the_ids(export_frames):
    accounts = pd.concat(
        [export_frames["accounts"], export_frames["accounts"].iloc[[0]].assign(employees="9999")]
    )
    message = one_error({**export_frames, "accounts": accounts})
    assert message.startswith("accounts.csv: 1 account ids appear on several rows")
    assert "'A1'" in message


def test_empty_account_id_is_an_error(export_frames):
    revenue = export_frames["revenue"].copy()
    revenue.loc[0, "account_id"] = None
    assert "revenue.csv: column 'account_id' is empty at line 2" in one_error(
        {**export_frames, "revenue": revenue}
    )


def test_won_deal_without_close_date_is_an_error(export_frames):
    opps = export_frames["opportunities"].assign(close_date=[None, "2026-02-10", "2026-03-01"])
    assert "'close_date' is empty for 1 won or lost opportunities at line 2" in one_error(
        {**export_frames, "opportunities": opps}
    )


def test_errors_raise_one_line_each(export_frames):
    opps = export_frames["opportunities"].assign(stage="maybe", amount="lots")
    with pytest.raises(DataError) as info:
        raise_on_errors(problems_of({**export_frames, "opportunities": opps}))
    assert len(str(info.value).splitlines()) == 2


def test_exact_duplicate_rows_are_collapsed_with_a_warning(export_frames):
    revenue = pd.concat([export_frames["revenue"], export_frames["revenue"].iloc[[0]]])
    prepared, problems = prepare(
        raw_tables(**{**export_frames, "revenue": revenue}), make_config(), AS_OF
    )
    assert [p.message for p in problems] == [
        "revenue.csv: 1 exact duplicate rows collapsed (line 8)"
    ]
    assert prepared.labels.loc["A1", "ltv"] == 320  # counted once


def test_rows_for_unknown_accounts_are_reported_and_left_out(export_frames):
    opps = pd.concat(
        [
            export_frames["opportunities"],
            pd.DataFrame(
                {
                    "opportunity_id": ["O9"],
                    "account_id": ["ZZ"],
                    "stage": ["won"],
                    "close_date": ["2026-01-01"],
                }
            ),
        ]
    )
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame(
                {
                    "account_id": ["ZZ", "ZZ"],
                    "month": ["2026-01-01", "2026-02-01"],
                    "mrr": ["1", "1"],
                }
            ),
        ]
    )
    warnings = messages({**export_frames, "opportunities": opps, "revenue": revenue}, "warning")
    assert (
        "opportunities.csv: 1 rows for 1 account ids not in the accounts table, left out: 'ZZ' "
        "(line 5)"
    ) in warnings
    assert (
        "revenue.csv: 2 rows for 1 account ids not in the accounts table, left out: 'ZZ' "
        "(lines 8, 9)" in warnings
    )


def test_negative_mrr_is_a_credit_note_warning(export_frames):
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame({"account_id": ["A1"], "month": ["2026-03-01"], "mrr": ["-20"]}),
        ]
    )
    warnings = messages({**export_frames, "revenue": revenue}, "warning")
    assert warnings == [
        "revenue.csv: 1 rows with negative mrr (credit notes) netted into their "
        "account's month (line 8)"
    ]


def test_revenue_before_acquisition_is_reported(export_frames):
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame({"account_id": ["A1"], "month": ["2025-11-01"], "mrr": ["30"]}),
        ]
    )
    warnings = messages({**export_frames, "revenue": revenue}, "warning")
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "revenue.csv: 1 revenue months of 1 customers fall before their "
        "acquisition month and are left out of LTV"
    )


def test_revenue_of_accounts_that_never_won_is_reported(export_frames):
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame({"account_id": ["A3"], "month": ["2026-05-01"], "mrr": ["30"]}),
        ]
    )
    warnings = messages({**export_frames, "revenue": revenue}, "warning")
    assert (
        len(warnings) == 1 and "1 revenue rows of 1 accounts that are not customers" in warnings[0]
    )


def test_dates_after_as_of_are_counted_per_table(export_frames):
    techs = pd.concat(
        [
            export_frames["technologies"],
            pd.DataFrame(
                {"account_id": ["A4"], "technology": ["Slack"], "first_seen": ["2027-01-01"]}
            ),
        ]
    )
    warnings = messages({**export_frames, "technologies": techs}, "warning")
    assert warnings == [  # the row's line: the header is line 1, three rows before it
        "technologies.csv: 1 rows dated after as_of 2026-09-30 are ignored for this cutoff (line 5)"
    ]


def test_declared_feature_missing_from_accounts(export_frames):
    config = make_config(features={"firmographic": {"numeric": ["employees", "headcount_growth"]}})
    message = one_error(export_frames, config)
    assert message.startswith(
        "accounts.csv: column 'headcount_growth' is used in icpfit.yaml but not in the file"
    )


def test_leaky_feature_recorded_only_for_customers_is_warned():
    n = 40
    frames = tiny_export()
    ids = [f"C{i}" for i in range(n)] + [f"L{i}" for i in range(n)]
    frames["accounts"] = pd.DataFrame(
        {"account_id": ids, "industry": ["SaaS"] * n + [None] * n, "employees": "50"}
    )
    frames["opportunities"] = pd.DataFrame(
        {
            "opportunity_id": ids,
            "account_id": ids,
            "stage": ["won"] * n + ["lost"] * n,
            "close_date": "2026-01-10",
        }
    )
    # paid in the last month of the data (a cutoff after it would be an error)
    frames["revenue"] = pd.DataFrame({"account_id": ids[:n], "month": "2026-09-01", "mrr": "10"})
    frames["technologies"] = frames["technologies"].iloc[:0]
    warnings = messages(frames, "warning")
    assert len(warnings) == 1
    assert (
        "column 'industry' is filled for 100% of customers but 0% of other accounts" in warnings[0]
    )


def test_validation_returns_typed_tables(export_frames):
    export, problems = validate_export(raw_tables(**export_frames), make_config(), AS_OF)
    assert problems == []
    assert export.opportunities["close_date"].dtype == "datetime64[ns]"
    assert export.revenue["mrr"].dtype == float
    assert export.accounts["employees"].dtype == float


def test_an_export_without_the_optional_tables_has_them_with_no_rows(export_frames):
    frames = {k: v for k, v in export_frames.items() if k not in ("technologies", "signals")}
    export, problems = validate_export(raw_tables(**frames), make_config(), AS_OF)
    assert problems == []
    assert list(export.technologies.columns) == TECH_COLUMNS and export.technologies.empty
    assert list(export.signals.columns) == SIGNAL_COLUMNS and export.signals.empty


def test_validation_is_split_into_small_modules_that_validate_still_names():
    """features/validate.py keeps every name other code imports from it; each of the modules
    it was split into stays under ~250 lines (STYLE.md)."""
    for name in ("validate_export", "CrmExport", "no_revenue", "SIGNAL_COLUMNS", "TECH_COLUMNS"):
        assert hasattr(validate, name), name
    modules = sorted(Path(validate.__file__).parent.glob("validate*.py"))
    sizes = {m.name: len(m.read_text(encoding="utf-8").splitlines()) for m in modules}
    assert len(sizes) >= 3 and max(sizes.values()) <= 250, sizes


def test_bad_signals_are_named_with_their_lines_and_counted(export_frames):
    """Issue 16: unknown accounts, future dates, duplicates and untyped signals each get a
    warning with the lines they are on; nothing is dropped without saying so."""
    signals = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "date": ["2026-01-10", "2026-02-11", "2026-03-12"],
            "signal_type": ["funding_round", "exec_hire", "hiring_surge"],
            "value": ["1000000", "1", "12"],
        }
    )
    first = signals.iloc[0]
    extra = pd.DataFrame(
        [
            {**first, "account_id": "NOPE-1"},  # line n + 2
            {**first, "date": "2099-01-01"},  # line n + 3: after as_of
            dict(first),  # line n + 4: an exact duplicate of line 2
            {**first, "signal_type": " "},  # line n + 5: no type
        ]
    )
    frames = {**export_frames, "signals": pd.concat([signals, extra], ignore_index=True)}
    n = len(signals)
    warned = [m for m in messages(frames, "warning") if m.startswith("signals")]
    assert any(
        m.startswith(
            "signals.csv: 1 rows for 1 account ids not in the accounts table, left out: "
            f"'NOPE-1' (line {n + 2})"
        )
        for m in warned
    ), warned
    assert f"dated after as_of {AS_OF.isoformat()} are ignored for this cutoff (line {n + 3})" in (
        " ".join(warned)
    )
    assert f"1 exact duplicate rows collapsed (line {n + 4})" in " ".join(warned)
    assert f"1 rows with an empty signal_type, left out (line {n + 5})" in " ".join(warned)
