"""The transactional sample (repeat orders, no MRR) through the real pipeline and the CLI."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest
from typer.testing import CliRunner

from icpfit.cli import app
from icpfit.config import config_from_dict
from icpfit.features.labels import COHORTS
from icpfit.features.pipeline import prepare
from icpfit.features.problems import RawTable
from icpfit.features.sample import generate_sample

runner = CliRunner()


@pytest.fixture(scope="module")
def sample():
    return generate_sample(accounts=3_000, seed=3, business="transactional")


@pytest.fixture(scope="module")
def prepared(sample):
    config = config_from_dict(sample.config)
    raw = {
        name: RawTable(name, f"{name}.parquet", frame.reset_index(drop=True))
        for name, frame in sample.tables.items()
    }
    result, problems = prepare(raw, config, config.as_of)
    assert [p.message for p in problems if p.is_error] == []
    return result


def test_no_revenue_table_and_a_bookings_config(sample):
    assert list(sample.tables) == ["accounts", "technologies", "opportunities", "signals"]
    config = config_from_dict(sample.config)
    assert config.labels.mode == "bookings" and config.data.revenue is None
    assert sample.drivers["business"] == "transactional"
    assert "revenue_errors" not in sample.drivers  # no revenue table, so nothing misrecorded
    assert sample.truth["revenue_error"].isna().all()


def test_same_accounts_technologies_and_signals_as_the_subscription_sample(sample):
    subscription = generate_sample(accounts=3_000, seed=3)
    for name in ("accounts", "technologies", "signals"):
        pd.testing.assert_frame_equal(sample.tables[name], subscription.tables[name])
    same = ["account_id", "outcome", "acquisition_date", "churn_month"]
    pd.testing.assert_frame_equal(sample.truth[same], subscription.truth[same])


def test_customers_reorder_with_amounts(sample):
    opportunities = sample.tables["opportunities"]
    assert set(opportunities["type"]) == {"new", "repeat"}
    won = opportunities[opportunities["stage"] == "won"]
    assert won["amount"].notna().all() and (won["amount"] > 0).all()
    orders = won.groupby("account_id").size()
    assert (orders > 1).mean() > 0.5  # most customers order again
    repeat = won[won["type"] == "repeat"]
    first_won = won.groupby("account_id")["close_date"].min()
    assert (repeat["close_date"] > repeat["account_id"].map(first_won)).all()
    assert opportunities["close_date"].max() <= pd.Timestamp("2026-09-30")


def test_every_cohort_is_populated_with_ideal_customers(prepared):
    counts = prepared.labels["cohort"].value_counts()
    assert all(counts.get(cohort, 0) > 0 for cohort in COHORTS), counts.to_dict()
    matured = counts[["ideal", "low_value", "churned"]].sum()
    assert 0.1 < counts["ideal"] / matured < 0.3
    assert counts["churned"] > 0.1 * matured  # one-off buyers exist


def test_ideal_customers_have_a_much_higher_true_fit(sample, prepared):
    truth = sample.truth.set_index("account_id")["true_fit"]
    cohort = prepared.labels["cohort"]
    ideal, others = truth[cohort == "ideal"].mean(), truth[cohort.isin(["churned", "lost"])].mean()
    assert ideal > 5 * others
    assert truth[cohort == "ideal"].mean() > truth[cohort == "low_value"].mean()


def test_sample_data_command_writes_a_transactional_export_that_validates(tmp_path):
    result = runner.invoke(
        app,
        ["sample-data", "--out", str(tmp_path), "--accounts", "600", "--business", "transactional"],
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "revenue.csv").exists()
    assert (tmp_path / "truth" / "ground_truth.csv").exists()
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "icpfit.yaml")])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout
    assert "no repeat order in the window" in result.stdout


def test_business_subscription_is_the_default(tmp_path):
    for name, extra in (("default", []), ("explicit", ["--business", "subscription"])):
        args = ["sample-data", "--out", str(tmp_path / name), "--accounts", "300", *extra]
        assert runner.invoke(app, args).exit_code == 0
    files = [
        "accounts.csv",
        "technologies.csv",
        "opportunities.csv",
        "revenue.csv",
        "signals.csv",
        "icpfit.yaml",
        "truth/ground_truth.csv",
        "truth/drivers.json",
    ]
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "default", tmp_path / "explicit", files, shallow=False
    )
    assert mismatch == [] and errors == []
