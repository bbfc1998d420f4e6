"""Which attributes become reasons and risks: the compiled picker against a plain sort."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from icpfit.features.frame import FeatureSpec
from icpfit.serving.reasons import (
    Wording,
    _numeric_texts,
    _top_picks,
    attribute_text,
    audit_reasons,
    contribution_text,
    reason_columns,
    sayable,
)


def reference_picks(
    contributions: np.ndarray,
    can_for: np.ndarray,
    can_against: np.ndarray,
    facts: np.ndarray,
    unknown_tech: np.ndarray,
    count: int,
) -> np.ndarray:
    """Plain Python: strongest first by |contribution| (stable), each side up to `count`, one
    fact once per row (an unknown tech stack is one fact)."""
    picks = np.full((len(contributions), 2 * count), -1)
    for i, row in enumerate(contributions):
        given, used = [0, 0], set()
        for j in sorted(range(len(row)), key=lambda j: -abs(row[j])):
            side = (
                0
                if row[j] > 0 and can_for[i, j]
                else 1
                if row[j] < 0 and can_against[i, j]
                else None
            )
            if side is None or given[side] >= count:
                continue
            fact = "tech" if unknown_tech[i, j] else facts[j]
            if fact in used:
                continue
            picks[i, side * count + given[side]] = j
            given[side] += 1
            used.add(fact)
    return picks


@settings(max_examples=80, deadline=None)
@given(
    rows=st.integers(1, 30),
    features=st.integers(1, 9),
    count=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_picks_equal_a_plain_sort_with_ties_zeros_unsayable_values_and_shared_facts(
    rows, features, count, seed
):
    rng = np.random.default_rng(seed)
    contributions = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0], size=(rows, features))
    contributions += rng.choice([0.0, 0.01], size=(rows, features))
    can_for = rng.random((rows, features)) < 0.7
    can_against = rng.random((rows, features)) < 0.7
    facts = rng.integers(0, max(features - 1, 1), features)
    unknown_tech = rng.random((rows, features)) < 0.2
    args = (contributions, can_for, can_against, facts, unknown_tech, count)
    assert np.array_equal(_top_picks(*args), reference_picks(*args))


SPECS = (
    FeatureSpec("industry", "firmographic", "categorical", "industry", ("Software", "Retail")),
    FeatureSpec("employees", "firmographic", "numeric", "employees"),
    FeatureSpec("tech_snowflake", "technographic", "flag", "Snowflake"),
    FeatureSpec("techcat_data_warehouse", "technographic", "count", "Data warehouse"),
    FeatureSpec("signals_tech_install_12m", "behavioral", "count", "tech_install"),
)
PROFILES = {
    "industry": {
        "known": 1.0,
        "good": ["Software"],
        "rare": ["Retail"],
        "shares": {"Software": 0.4, "Retail": 0.02},
    },
    "employees": {"known": 0.9, "low": 120.0, "high": 900.0},
    "tech_snowflake": {"known": 0.8, "share": 0.71},
    "techcat_data_warehouse": {"known": 0.8, "low": 0.0, "high": 2.0, "some": 0.75},
    "signals_tech_install_12m": {"known": 1.0, "low": 0.0, "high": 3.0, "some": 0.1},
}
WORDING = Wording({"employees": "Headcount"}, {"Snowflake": "Data warehouse"})


def test_words_point_the_way_of_their_contribution_and_say_each_fact_once():
    frame = pd.DataFrame(
        {
            "industry": pd.Categorical(
                ["Software", None, "Retail", "Software"], ["Software", "Retail"]
            ),
            "employees": [240.0, 12.0, np.nan, 5000.0],
            "tech_snowflake": [1.0, 0.0, np.nan, 1.0],
            "techcat_data_warehouse": [1.0, 0.0, np.nan, 1.0],
            "signals_tech_install_12m": [0.0, 0.0, 2.0, 1.0],
        }
    )
    contributions = np.array(
        [
            [0.9, 0.5, 0.3, 0.2, 0.4],  # a zero count is never a reason; Snowflake is said once
            [0.8, -0.7, -0.1, -0.2, -0.3],  # missing industry is no reason; 10% have signals
            [-0.6, 0.4, -0.3, -0.2, 0.1],  # unknown tech stack: one item; rare level as a risk
            [-0.5, 0.3, 0.2, 0.1, -0.1],  # common level is no risk; 5000 is no reason
        ]
    )
    words = reason_columns(contributions, frame, SPECS, PROFILES, 2, wording=WORDING)
    assert list(words.columns) == ["reason_1", "reason_2", "risk_1", "risk_2"]
    assert words.iloc[0].tolist() == [
        "Industry: Software — often a good fit (40% of best customers)",
        "Headcount 240 — within best customers' range (120–900)",
        None,
        None,
    ]
    assert words.iloc[1].tolist() == [
        None,
        None,
        "Headcount 12 — best customers have 120–900",
        "No data warehouse tools — 75% of best customers have one",
    ]
    assert words.iloc[2].tolist() == [
        "Tech install signals (last 12 months) 2 — within best customers' range (0–3)",
        None,
        "Industry: Retail — rarely a good fit (2% of best customers)",
        "Tech stack unknown — known for 80% of best customers",
    ]
    assert words.iloc[3].tolist() == [
        "Uses Snowflake — as 71% of best customers do",
        None,
        None,
        None,
    ]
    assert audit_reasons(words, {"Snowflake": "Data warehouse"}) == dict.fromkeys(
        ("contradictions", "vacuous", "risks_without_comparison", "duplicated_facts"), 0
    )


def test_the_audit_catches_what_the_old_wording_said():
    old = pd.DataFrame(
        {
            "reason_1": [
                "Annual revenue 9,380k — below the range of best customers (18M–248M)",
                "Uses Snowflake",
            ],
            "reason_2": ["Does not use Microsoft Azure", "Data warehouse tools 1"],
            "risk_1": [
                "Web visits monthly 630",
                "Tech install signals (last 12 months) 0 — in the range of best customers (0–3)",
            ],
        }
    )
    assert audit_reasons(old, {"Snowflake": "Data warehouse"}) == {
        "contradictions": 3,
        "vacuous": 2,
        "risks_without_comparison": 1,
        "duplicated_facts": 1,
    }


def test_explain_compares_only_in_the_direction_of_the_contribution():
    spec, profile = SPECS[1], PROFILES["employees"]
    assert contribution_text(spec, 240.0, profile, 0.3) == (
        "Employees 240 — within best customers' range (120–900)"
    )
    assert contribution_text(spec, 240.0, profile, -0.3) == "Employees 240"
    assert (
        contribution_text(spec, 12.0, profile, -0.3) == "Employees 12 — best customers have 120–900"
    )
    assert contribution_text(spec, 12.0, profile, 0.3) == "Employees 12"


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
)
def test_numeric_texts_written_once_per_group_are_each_rows_own_text(values, name, profile):
    spec = FeatureSpec(name, "firmographic", "numeric", name)
    profile = profile and {"low": profile[0], "high": profile[1]}
    texts = _numeric_texts(spec, np.array(values), profile)
    assert texts.tolist() == [attribute_text(spec, v, profile) for v in values]


def test_the_audit_tells_a_missing_value_from_a_level_named_unknown():
    said = pd.DataFrame(
        {
            "reason_1": ["Origin: unknown — 19% of best customers", "Employees unknown"],
            "risk_1": ["Tech stack unknown — known for 80% of best customers", None],
        }
    )
    assert audit_reasons(said, {})["contradictions"] == 1


def test_a_zero_is_never_a_reason_for_fit():
    spec = FeatureSpec("total_funding", "firmographic", "numeric", "total_funding")
    profile = {"known": 1.0, "low": 0.0, "high": 2e8}
    can_for, _ = sayable(spec, pd.Series([0.0, 5e6]), profile)
    assert can_for.tolist() == [False, True]
