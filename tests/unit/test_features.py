"""The feature frame: leakage guard, groups, category levels, coverage, immutability."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from icpfit.config import TechStack
from icpfit.features.frame import build_feature_frame
from icpfit.features.pipeline import prepare
from icpfit.features.technologies import tech_stack_to_long
from tests.conftest import AS_OF, make_config, raw_tables


def prepared(frames, config=None):
    result, problems = prepare(raw_tables(**frames), config or make_config(), AS_OF)
    assert not [p for p in problems if p.is_error]
    return result


def test_technology_first_seen_after_acquisition_is_left_out(export_frames):
    features = prepared(export_frames).features.frame
    # A1 won 2026-01-15: Snowflake (2025-06) was there, HubSpot (2026-05) came after.
    assert features.loc["A1", "tech_snowflake"] == 1
    assert features.loc["A1", "tech_hubspot"] == 0
    assert features.loc["A1", "tech_count"] == 1


def test_non_customers_are_seen_as_of_the_cutoff(export_frames):
    techs = pd.concat(
        [
            export_frames["technologies"],
            pd.DataFrame(
                {
                    "account_id": ["A4", "A4"],
                    "technology": ["HubSpot", "Snowflake"],
                    "first_seen": ["2026-09-01", "2026-10-15"],
                }
            ),
        ]
    )
    features = prepared({**export_frames, "technologies": techs}).features.frame
    assert features.loc["A4", "tech_hubspot"] == 1
    assert features.loc["A4", "tech_snowflake"] == 0  # first seen after as_of


def test_unknown_tech_stack_is_missing_not_zero(export_frames):
    features = prepared(export_frames).features.frame
    assert features.loc["A4", ["tech_hubspot", "tech_count"]].isna().all()


def test_features_do_not_depend_on_revenue_amounts_or_deal_amounts(export_frames):
    baseline = prepared(export_frames).features.frame
    revenue = export_frames["revenue"].assign(mrr=["1", "9", "3", "7", "2", "5"])
    opps = export_frames["opportunities"].assign(amount=["1", "2", "3"])
    changed = prepared({**export_frames, "revenue": revenue, "opportunities": opps}).features
    pd.testing.assert_frame_equal(baseline, changed.frame)
    outcome_words = ("mrr", "ltv", "revenue_", "stage", "amount", "won", "lost", "target")
    assert not [c for c in changed.frame.columns if any(w in c for w in outcome_words)]


def test_signals_count_only_the_year_before_the_reference_date(export_frames):
    signals = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A1", "A4", "A4"],
            "date": ["2025-12-01", "2024-06-01", "2026-03-01", "2026-09-30", "2026-10-01"],
            "signal_type": ["funding_round"] * 5,
        }
    )
    config = make_config(
        data={
            "accounts": "a.csv",
            "opportunities": "o.csv",
            "revenue": "r.csv",
            "technologies": "t.csv",
            "signals": "s.csv",
        }
    )
    features = prepared({**export_frames, "signals": signals}, config).features.frame
    assert features.loc["A1", "signals_funding_round_12m"] == 1  # not 2024, not after acquisition
    assert features.loc["A4", "signals_funding_round_12m"] == 1  # not after as_of
    assert features.loc["A2", "signals_funding_round_12m"] == 0


def test_every_feature_carries_its_group_and_category_levels(export_frames):
    frame = prepared(export_frames).features
    groups = {s.name: s.group for s in frame.specs}
    assert groups["industry"] == "firmographic" and groups["tech_snowflake"] == "technographic"
    assert list(frame.frame.columns) == [s.name for s in frame.specs]
    industry = next(s for s in frame.specs if s.name == "industry")
    assert industry.levels == ("Retail", "Software")
    assert isinstance(frame.frame["industry"].dtype, pd.CategoricalDtype)


def test_unseen_category_levels_become_unknown_at_scoring(export_frames):
    config = make_config()
    trained = prepared(export_frames, config).features
    new = pd.DataFrame(
        {
            "account_id": ["N1", "N2"],
            "industry": ["Government", "Software"],
            "employees": ["10", "x"],
        }
    )
    scored = build_feature_frame(
        new,
        pd.DataFrame(columns=["account_id", "technology", "first_seen"]),
        pd.DataFrame(columns=["account_id", "date", "signal_type"]),
        config.features,
        pd.Series(dtype="datetime64[ns]"),
        trained.specs,
    )
    assert list(scored.frame.columns) == list(trained.frame.columns)
    assert pd.isna(scored.frame.loc["N1", "industry"])
    assert scored.frame.loc["N2", "industry"] == "Software"
    assert list(scored.frame["industry"].cat.categories) == ["Retail", "Software"]


def test_data_coverage_is_the_share_of_key_attributes_present(export_frames):
    coverage = prepared(export_frames).features.data_coverage
    # industry, employees and the tech stack: A3 has only industry, A1 has all three
    assert coverage["A1"] == 1.0
    assert np.isclose(coverage["A3"], 1 / 3)


def test_delimited_tech_stack_column(export_frames):
    accounts = export_frames["accounts"].assign(stack=["Snowflake; dbt", None, "", "HubSpot"])
    long = tech_stack_to_long(accounts, TechStack(column="stack", separator=";"))
    assert sorted(map(tuple, long[["account_id", "technology"]].to_numpy())) == [
        ("A1", "Snowflake"),
        ("A1", "dbt"),
        ("A4", "HubSpot"),
    ]
    config = make_config(
        data={"accounts": "a.csv", "opportunities": "o.csv", "revenue": "r.csv"},
        tech_stack={"column": "stack", "separator": ";"},
    )
    frames = {k: v for k, v in export_frames.items() if k != "technologies"}
    features = prepared({**frames, "accounts": accounts}, config).features.frame
    assert features.loc["A1", "tech_dbt"] == 1 and pd.isna(features.loc["A2", "tech_dbt"])


def test_pipeline_never_mutates_its_inputs(export_frames):
    raw = raw_tables(**export_frames)
    before = copy.deepcopy({name: table.frame for name, table in raw.items()})
    prepare(raw, make_config(), AS_OF)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(raw[name].frame, frame)
