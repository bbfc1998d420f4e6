"""The sample CRM export: deterministic, canonical, realistic gaps, and a planted ICP."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
import yaml

from icpfit.config import config_from_dict
from icpfit.features.sample import SIGNALS, SampleExport, generate_sample
from icpfit.features.snapshots import (
    any_trigger_within,
    month_ends,
    signal_features,
    timing_snapshots,
)

AS_OF = date(2026, 9, 30)
CANONICAL = {
    "accounts": [
        "account_id", "industry", "employees", "annual_revenue", "country", "region",
        "founded_year", "funding_stage", "total_funding", "ownership", "business_model",
        "web_visits_monthly", "open_job_postings",
    ],
    "technologies": ["account_id", "technology", "first_seen"],
    "opportunities": [
        "opportunity_id", "account_id", "stage", "created_date", "close_date", "amount", "type",
    ],
    "revenue": ["account_id", "month", "mrr"],
    "signals": ["account_id", "date", "signal_type", "value"],
}  # fmt: skip


@pytest.fixture(scope="module")
def export() -> SampleExport:
    return generate_sample(accounts=2_000, seed=11, as_of=AS_OF)


def _acquisitions(export: SampleExport) -> pd.Series:
    opportunities = export.tables["opportunities"]
    won = opportunities[opportunities["stage"] == "won"]
    return won.groupby("account_id")["close_date"].min()


def test_same_seed_gives_identical_frames(export: SampleExport) -> None:
    again = generate_sample(accounts=2_000, seed=11, as_of=AS_OF)
    for name, table in export.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name])
    pd.testing.assert_frame_equal(export.truth, again.truth)
    assert export.config == again.config
    assert export.drivers == again.drivers


def test_different_seed_gives_different_frames(export: SampleExport) -> None:
    other = generate_sample(accounts=2_000, seed=12, as_of=AS_OF)
    for name in ("accounts", "technologies", "opportunities", "revenue", "signals"):
        assert not export.tables[name].equals(other.tables[name]), name
    assert not np.allclose(export.truth["true_fit"], other.truth["true_fit"])


def test_config_is_valid_after_a_yaml_round_trip(export: SampleExport) -> None:
    config = config_from_dict(yaml.safe_load(yaml.safe_dump(export.config, sort_keys=False)))
    assert config.as_of == AS_OF
    assert str(config.data.revenue) == "revenue.csv"
    assert str(config.data.signals) == "signals.csv"
    assert (config.labels.window_months, config.labels.top_ltv_share) == (12, 0.2)
    assert "business_model" not in config.features.account_columns()
    rules = {(rule.column, rule.equals, rule.less_than) for rule in config.disqualifiers}
    assert rules == {("business_model", "B2C", None), ("employees", None, 10.0)}
    used = set(export.tables["technologies"]["technology"])
    assert used <= set(config.features.technographic.categories)
    assert 35 <= len(config.features.technographic.categories) <= 45


def test_every_table_has_its_canonical_columns(export: SampleExport) -> None:
    assert set(export.tables) == set(CANONICAL)
    for name, columns in CANONICAL.items():
        assert list(export.tables[name].columns) == columns, name
    accounts = export.tables["accounts"]
    assert accounts["account_id"].is_unique
    assert accounts["account_id"].iloc[0] == "ACC-000001"
    assert export.tables["opportunities"]["opportunity_id"].is_unique
    for column in ("employees", "annual_revenue", "total_funding", "web_visits_monthly"):
        assert pd.api.types.is_numeric_dtype(accounts[column]), column


def test_enrichment_gaps_look_like_a_data_provider(export: SampleExport) -> None:
    missing = export.tables["accounts"].isna().mean()
    assert 0.32 < missing["annual_revenue"] < 0.48
    assert 0.22 < missing["funding_stage"] < 0.38
    assert 0.22 < missing["total_funding"] < 0.38
    assert missing["employees"] == pytest.approx(0.20, abs=0.03)  # a fifth of headcounts blank
    for column in ("industry", "country", "web_visits_monthly"):
        assert 0.0 < missing[column] < 0.1, column
    assert missing["account_id"] == 0
    with_stack = export.tables["technologies"]["account_id"].nunique()
    assert 0.17 < 1 - with_stack / len(export.tables["accounts"]) < 0.33


def test_nothing_is_dated_after_as_of(export: SampleExport) -> None:
    dated = {
        "technologies": ["first_seen"],
        "opportunities": ["created_date", "close_date"],
        "revenue": ["month"],
        "signals": ["date"],
    }
    for name, columns in dated.items():
        for column in columns:
            assert export.tables[name][column].max() <= pd.Timestamp(AS_OF), (name, column)
    assert (export.tables["revenue"]["month"].dt.day == 1).all()


def test_funnel_has_every_kind_of_account(export: SampleExport) -> None:
    opportunities = export.tables["opportunities"]
    outcomes = export.truth["outcome"].value_counts(normalize=True)
    assert 0.12 < outcomes["customer"] < 0.35
    assert outcomes["lost"] > 0.1 and outcomes["prospect"] > 0.3 and outcomes["open"] > 0.01
    is_open = opportunities["stage"] == "open"
    assert opportunities.loc[is_open, "close_date"].isna().all()
    assert opportunities.loc[~is_open, "close_date"].notna().all()
    recent = pd.Timestamp(AS_OF) - pd.Timedelta(days=365)
    assert (opportunities.loc[is_open, "created_date"] > recent).all()
    new = opportunities[opportunities["type"] == "new"].sort_values("created_date")
    history = new.groupby("account_id")["stage"].agg(list)
    assert history.map(lambda stages: stages[:2] == ["lost", "won"]).sum() > 0
    assert (opportunities["type"] == "expansion").sum() > 0


def test_leakage_trap_is_adopted_only_after_acquisition(export: SampleExport) -> None:
    technologies = export.tables["technologies"]
    trap = technologies[technologies["technology"] == export.drivers["leakage_trap"]["technology"]]
    acquired = _acquisitions(export)
    customers = trap[trap["account_id"].isin(acquired.index)]
    assert len(customers) > 20
    assert (customers["first_seen"] > customers["account_id"].map(acquired)).all()
    others = trap["account_id"].nunique() - customers["account_id"].nunique()
    non_customers = len(export.tables["accounts"]) - len(acquired)
    assert 0 < others / non_customers < 0.03


def test_other_technologies_are_mostly_seen_before_entry(export: SampleExport) -> None:
    technologies = export.tables["technologies"]
    entry = technologies["account_id"].map(export.truth.set_index("account_id")["entry_date"])
    later = (technologies["first_seen"] > entry).mean()
    assert 0.05 < later < 0.4


def test_b2c_segment_is_about_eight_percent(export: SampleExport) -> None:
    share = (export.tables["accounts"]["business_model"] == "B2C").mean()
    assert 0.05 < share < 0.11
    assert (export.truth["segment"] == "B2C").mean() == pytest.approx(0.08, abs=0.03)


def test_credit_notes_are_smaller_than_that_months_mrr(export: SampleExport) -> None:
    revenue = export.tables["revenue"]
    credits = revenue[revenue["mrr"] < 0]
    assert len(credits) > 0.005 * len(revenue)
    positive = revenue[revenue["mrr"] > 0].set_index(["account_id", "month"])["mrr"]
    assert positive.index.is_unique
    paid = positive.reindex(pd.MultiIndex.from_frame(credits[["account_id", "month"]]))
    assert paid.notna().all()
    assert (credits["mrr"].abs().to_numpy() < paid.to_numpy()).all()


def test_true_fit_is_higher_for_ideal_looking_customers(export: SampleExport) -> None:
    truth = export.truth.set_index("account_id")
    assert truth["true_fit"].between(0, 1).all()
    acquired = _acquisitions(export)
    matured = acquired[acquired <= pd.Timestamp(AS_OF) - pd.DateOffset(months=13)].index
    revenue = export.tables["revenue"]
    revenue = revenue[revenue["account_id"].isin(matured)]
    month = revenue["month"].dt.to_period("M")
    offset = (month - month.groupby(revenue["account_id"]).transform("min")).map(lambda d: d.n)
    window = revenue[offset < 12]
    ltv = window.groupby("account_id")["mrr"].sum()
    retained = ltv.index.intersection(revenue.loc[offset == 11, "account_id"])
    churned = matured.difference(retained)
    ideal_looking = ltv[retained].nlargest(len(matured) // 5).index
    assert len(churned) > 20 and len(ideal_looking) > 20
    assert truth.loc[ideal_looking, "true_fit"].mean() > 2 * truth.loc[churned, "true_fit"].mean()


def test_drivers_describe_the_planted_icp_and_its_shift(export: SampleExport) -> None:
    drivers = json.loads(json.dumps(export.drivers))
    moving = {"industry=Healthcare", "tech_hubspot", "employees=10-49", "employees=1000-4999"}
    assert moving | {"funding_stage=Series A", "funding_stage=Series C"} <= set(drivers["shifts"])
    healthcare = drivers["shifts"]["industry=Healthcare"]
    assert healthcare["start"] < 0 < healthcare["end"]
    for key, shift in drivers["shifts"].items():
        assert drivers["effects_at_start"][key] == shift["start"] != shift["end"], key
        assert drivers["effects_at_end"][key] == shift["end"], key
    assert {"tech_snowflake", "tech_salesforce", "industry=Software"} <= set(drivers["positive"])
    assert {"industry=Government", "employees=10-49"} <= set(drivers["negative"])
    assert drivers["b2c_disqualifier"]["column"] == "business_model"
    window, drift = drivers["entry_window"], drivers["drift"]
    assert window["start"] < drift["from"] < drift["to"] < window["end"]
    entry = export.truth["entry_date"]
    assert entry.min() < pd.Timestamp("2022-03-01") and entry.max() > pd.Timestamp("2026-06-01")


def test_the_icp_drifts_in_the_simulation_as_the_drivers_say(export: SampleExport) -> None:
    truth, drivers = export.truth, export.drivers
    band = np.digitize(truth["employees"], [10, 50, 100, 1000, 5000])
    logit = truth["fit_logit"]

    def large_over_mid(entered: pd.Series) -> float:
        """Mean fit logit of 1000-4999 employees over that of 100-999, among `entered`."""
        return logit[entered & (band == 4)].mean() - logit[entered & (band == 3)].mean()

    early = large_over_mid(truth["entry_date"] <= pd.Timestamp(drivers["drift"]["from"]))
    late = large_over_mid(truth["entry_date"] >= pd.Timestamp(drivers["drift"]["to"]))
    planted = {
        when: drivers[f"effects_at_{when}"]["employees=1000-4999"]
        - drivers[f"effects_at_{when}"]["employees=100-999"]
        for when in ("start", "end")
    }
    assert early < -1.0 and late > 0.3  # large companies went from poor fits to good ones
    assert late - early == pytest.approx(planted["end"] - planted["start"], abs=1.0)


def test_a_few_customers_revenue_is_recorded_in_cents(export: SampleExport) -> None:
    errors = export.truth.set_index("account_id")["revenue_error"]
    revenue, opportunities = export.tables["revenue"], export.tables["opportunities"]
    paid = revenue[revenue["mrr"] > 0].sort_values("month", kind="stable")
    first_mrr = paid.groupby("account_id")["mrr"].first()
    won = opportunities[(opportunities["type"] == "new") & (opportunities["stage"] == "won")]
    ratio = (first_mrr / (won.groupby("account_id")["amount"].first() / 12)).dropna()
    in_cents = ratio.index[ratio > 50]
    assert 0 < len(in_cents) < 0.05 * len(ratio)
    assert set(in_cents) == set(ratio.index[errors.reindex(ratio.index).eq("in_cents")])
    assert ratio.drop(in_cents).between(0.5, 2).all()


def test_a_few_customers_lose_revenue_months_and_the_truth_names_them(
    export: SampleExport,
) -> None:
    errors = export.truth.set_index("account_id")["revenue_error"]
    revenue = export.tables["revenue"]
    paid = revenue[revenue["mrr"] > 0]
    months = paid["month"].dt.to_period("M").groupby(paid["account_id"])
    span = (months.max() - months.min()).map(lambda offset: offset.n + 1)
    holes = span.index[span > months.nunique()]
    assert len(holes) > 5
    assert errors[holes].eq("missing_months").all()
    customers = export.truth[export.truth["outcome"] == "customer"]
    shares = customers["revenue_error"].value_counts() / len(customers)
    assert shares["missing_months"] == pytest.approx(0.05, abs=0.02)
    assert shares["in_cents"] == pytest.approx(0.02, abs=0.015)
    assert export.truth.loc[export.truth["outcome"] != "customer", "revenue_error"].isna().all()
    described = export.drivers["revenue_errors"]
    assert described["in_cents"]["share_of_customers"] == 0.02
    assert described["missing_months"]["share_of_customers"] == 0.05


def test_signals_bring_first_opportunities_forward_as_the_truth_says(export: SampleExport):
    """Issue 16: a signal raises the chance of a first opportunity soon after it, for good and
    bad fits alike; the truth names the signal that opened each such opportunity."""
    truth = export.truth.set_index("account_id")
    signals = export.tables["signals"]
    deals = export.tables["opportunities"]
    first = deals.groupby("account_id")["created_date"].min()
    assert (
        truth["first_opportunity_date"].dropna()
        == first.reindex(truth["first_opportunity_date"].dropna().index)
    ).all()
    triggered = truth["trigger_date"].dropna()
    assert 0.05 < len(triggered) / len(first) < 0.5
    # each recorded trigger is a real signal of that account, shortly before the opportunity
    pairs = signals.merge(
        triggered.rename("date").reset_index(), on=["account_id", "date"], how="inner"
    )
    assert set(pairs["account_id"]) == set(triggered.index)
    gap = (truth.loc[triggered.index, "first_opportunity_date"] - triggered).dt.days
    assert gap.between(3, 400).all() and gap.median() < 40
    # month by month, an account without a deal yet opens one in the next 60 days far more
    # often when it had a signal in the last 30 days, for the best and the worst fits alike
    accounts, as_of = pd.Index(truth.index), pd.Timestamp(AS_OF)
    won = deals[deals["stage"].eq("won")].groupby("account_id")["close_date"].min()
    dates = month_ends(as_of - pd.DateOffset(months=36), as_of)
    snapshots = timing_snapshots(accounts, deals, won, dates, 60, as_of)
    snapshots = snapshots.subset(snapshots.labelled)
    recent = signal_features(signals, accounts, snapshots.account, snapshots.day, SIGNALS, (30,))
    signalled = any_trigger_within(recent, SIGNALS, 30) < np.inf
    fit = truth["fit_logit"].to_numpy()[snapshots.account]
    contacted = truth["entry_date"].to_numpy()[snapshots.account] <= dates[snapshots.date]
    label = snapshots.label
    for part in (fit < np.quantile(fit, 0.3), fit > np.quantile(fit, 0.7), fit == fit):
        with_signal = label[part & contacted & signalled].mean()
        without = label[part & contacted & ~signalled].mean()
        assert with_signal > 1.4 * without, (with_signal, without)
    assert export.drivers["timing"]["signal_types"] == list(SIGNALS)
