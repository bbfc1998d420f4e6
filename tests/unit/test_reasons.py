"""Which attributes become reasons and risks: the compiled picker against a plain sort."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from icpfit.features.frame import FeatureSpec
from icpfit.serving.reasons import _numeric_texts, _top_picks, attribute_text, reason_columns


def reference_picks(contributions: np.ndarray, missing: np.ndarray, count: int) -> np.ndarray:
    for_fit = np.where(missing | (contributions <= 0), -np.inf, contributions)
    against = np.where(contributions >= 0, np.inf, contributions)
    picks = []
    for keys, scores in ((-for_fit, for_fit), (against, against)):
        order = np.argsort(keys, axis=1, kind="stable")[:, :count]
        usable = np.isfinite(np.take_along_axis(scores, order, axis=1))
        picks.append(np.where(usable, order, -1))
    return np.hstack(picks)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 30),
    features=st.integers(1, 9),
    count=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_picks_equal_a_stable_sort_with_ties_zeros_and_missing_values(rows, features, count, seed):
    rng = np.random.default_rng(seed)
    contributions = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0], size=(rows, features))
    contributions += rng.choice([0.0, 0.01], size=(rows, features))
    missing = rng.random((rows, features)) < 0.3
    picks = _top_picks(contributions, missing, count)
    expected = reference_picks(contributions, missing, count)
    assert np.array_equal(picks[:, : min(count, features)], expected[:, : min(count, features)])
    assert np.array_equal(
        picks[:, count : count + min(count, features)], expected[:, min(count, features) :]
    )
    assert (picks[:, min(count, features) : count] == -1).all()


def test_texts_name_the_accounts_own_values_and_never_a_missing_one_as_a_reason():
    specs = (
        FeatureSpec("industry", "firmographic", "categorical", "industry", ("Software", "Retail")),
        FeatureSpec("employees", "firmographic", "numeric", "employees"),
        FeatureSpec("tech_snowflake", "technographic", "flag", "Snowflake"),
    )
    frame = pd.DataFrame(
        {
            "industry": pd.Categorical(["Software", None, "Retail"], ["Software", "Retail"]),
            "employees": [240.0, 12.0, np.nan],
            "tech_snowflake": [1.0, 0.0, 1.0],
        }
    )
    contributions = np.array([[0.9, 0.5, 0.1], [0.8, -0.7, -0.1], [-0.6, 0.4, 0.3]])
    profiles = {"employees": {"low": 120.0, "high": 900.0}, "industry": {"good": ["Software"]}}
    words = reason_columns(contributions, frame, specs, profiles, 2)
    assert list(words.columns) == ["reason_1", "reason_2", "risk_1", "risk_2"]
    assert words.iloc[0].tolist() == [
        "Industry: Software — common among best customers",
        "Employees 240 — in the range of best customers (120–900)",
        None,
        None,
    ]
    assert words.loc[1, "reason_1"] is None, "missing industry is never a reason for a fit"
    assert words.loc[1, "risk_1"] == "Employees 12 — below the range of best customers (120–900)"
    assert words.loc[1, "risk_2"] == "Does not use Snowflake"
    assert words.loc[2, "reason_1"] == "Uses Snowflake" and words.loc[2, "reason_2"] is None
    assert words.loc[2, "risk_1"] == "Industry: Retail"


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -0.4, 0.5, 2.5, 99.5, 9999.5, 1e4, 15_499.0, 15_500.0, 1e7, 1e10]),
    st.integers(-(10**12), 10**12).map(float),
    st.floats(-200, 200).map(lambda v: round(v, 1)),
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(NUMBERS, min_size=1, max_size=40),
    name=st.sampled_from(["employees", "founded_year"]),
    profile=st.one_of(st.none(), st.tuples(NUMBERS, NUMBERS).map(sorted)),
    against=st.booleans(),
)
def test_numeric_texts_written_once_per_group_are_each_rows_own_text(
    values, name, profile, against
):
    spec = FeatureSpec(name, "firmographic", "numeric", name)
    profile = profile and {"low": profile[0], "high": profile[1]}
    texts = _numeric_texts(spec, np.array(values), profile, against)
    assert texts.tolist() == [attribute_text(spec, v, profile, against) for v in values]
