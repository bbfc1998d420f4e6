"""Scoring builds features without the long technology table; it must give training's frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from icpfit.config import FeatureDeclarations, TechStack
from icpfit.features.frame import (
    build_feature_frame,
    category_codes,
    learn_feature_specs,
    scoring_feature_frame,
)
from icpfit.features.parsing import LARGEST_NUMBER, clean_text, parse_numbers
from icpfit.features.technologies import tech_stack_to_long

DECLARATIONS = FeatureDeclarations.model_validate(
    {
        "firmographic": {"categorical": ["industry"], "numeric": ["employees"]},
        "technographic": {
            "technologies": True,
            "categories": {"HubSpot": "CRM", "Microsoft Dynamics 365": "CRM", "dbt": "Data"},
        },
        "behavioral": {"signals": True},
    }
)
TRAINING_TECHNOLOGIES = ["HubSpot", "Snowflake", "dbt", "Microsoft Dynamics 365"]
STACK = TechStack(column="stack", separator=";")


def chunked(frame: pd.DataFrame) -> pd.DataFrame:
    """The same rows with each column in two Arrow chunks, as a large Parquet batch comes."""
    half = len(frame) // 2
    return pd.concat([frame.iloc[:half], frame.iloc[half:]], ignore_index=True)


def specs():
    accounts = pd.DataFrame({"account_id": ["T1", "T2"], "industry": ["Retail", "Software"]})
    technologies = pd.DataFrame(
        {"account_id": "T1", "technology": TRAINING_TECHNOLOGIES, "first_seen": pd.NaT}
    )
    signals = pd.DataFrame({"account_id": ["T1"], "date": ["2026-01-01"], "signal_type": ["Visit"]})
    return learn_feature_specs(accounts, technologies, signals, DECLARATIONS)


ENTRIES = st.sampled_from(
    ["HubSpot", " hubspot ", "HUBSPOT", "Snowflake", "dbt", "Microsoft Dynamics 365",
     "microsoft-dynamics 365", "Salesforce", "", "  ", "Ünïcode tool", "\tdbt"]
)  # fmt: skip
STACKS = st.one_of(
    st.none(), st.lists(ENTRIES, max_size=6).map(";".join), st.sampled_from([";", ";;", " "])
)
INDUSTRIES = st.one_of(
    st.none(), st.sampled_from(["Retail", " Software ", "software", "Government", "", " "])
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(STACKS, INDUSTRIES, st.sampled_from(["10", "x", None, " 7 "])),
                     min_size=1, max_size=12))  # fmt: skip
def test_scoring_frame_is_the_training_frame_of_the_same_rows(rows):
    accounts = chunked(
        pd.DataFrame(
            {
                "account_id": [f"row{i}" for i in range(len(rows))],
                "stack": [r[0] for r in rows],
                "industry": [r[1] for r in rows],
                "employees": [r[2] for r in rows],
            }
        ).astype("string")
    )
    learned = specs()
    today = pd.Series(pd.Timestamp("2026-11-24"), index=accounts["account_id"])
    expected = build_feature_frame(
        accounts,
        tech_stack_to_long(accounts, STACK),
        pd.DataFrame(columns=["account_id", "date", "signal_type"]),
        DECLARATIONS,
        today,
        learned,
    )
    scored = scoring_feature_frame(accounts, STACK, DECLARATIONS, learned)
    pd.testing.assert_frame_equal(scored.frame, expected.frame)
    pd.testing.assert_series_equal(scored.data_coverage, expected.data_coverage)


def test_stack_entries_count_once_per_technology_and_feed_their_category():
    accounts = pd.DataFrame(
        {"account_id": ["a", "b", "c"], "stack": ["HubSpot; hubspot;dbt;Salesforce", None, " ; "]}
    )
    frame = scoring_feature_frame(accounts, STACK, DECLARATIONS, specs()).frame
    assert frame.loc["a", "tech_hubspot"] == 1 and frame.loc["a", "tech_snowflake"] == 0
    assert frame.loc["a", "tech_count"] == 3  # HubSpot, dbt and the unseen Salesforce
    assert frame.loc["a", "techcat_crm"] == 1 and frame.loc["a", "techcat_data"] == 1
    assert frame.loc[["b", "c"], ["tech_hubspot", "tech_count", "techcat_crm"]].isna().all().all()
    assert (frame["signals_visit_12m"] == 0).all()


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from([" a", "a", "b ", "B", "", "c", "7", 7, 7.5])),
        max_size=15,
    ),
    levels=st.lists(st.sampled_from(["a", "b", "B", "7", "7.5"]), unique=True).map(sorted),
)
def test_category_codes_are_the_cleaned_values_that_are_levels(values, levels):
    series = pd.Series(values, dtype=object)
    cleaned = clean_text(series)
    known = cleaned.where(cleaned.isin(levels))
    expected = pd.Categorical(known.to_numpy(dtype=object, na_value=None), categories=levels)
    got = category_codes(series, tuple(levels))
    np.testing.assert_array_equal(got.codes, expected.codes)
    assert list(got.categories) == levels


NUMBER_TEXT = st.one_of(
    st.none(),
    st.text(alphabet="0123456789.-+eE ,_xinfatyI", max_size=8),
    st.floats(allow_nan=False).map(repr),
    st.integers(-(10**20), 10**20).map(str),
)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(NUMBER_TEXT, max_size=10))
def test_numbers_parse_as_pandas_reads_them(cells):
    text = chunked(pd.DataFrame({"cells": pd.Series(cells, dtype="string")}))["cells"]
    expected = pd.to_numeric(text.str.strip().replace("", pd.NA), errors="coerce").astype(float)
    expected = expected.where(np.isfinite(expected) & expected.abs().le(LARGEST_NUMBER))
    parsed = parse_numbers(text)
    assert parsed.index.equals(text.index)
    np.testing.assert_array_equal(parsed.to_numpy(), expected.to_numpy())
