"""The sample export through the real pipeline: every cohort, the leakage trap, the CLI."""

from __future__ import annotations

import filecmp
import json

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
def prepared():
    sample = generate_sample(accounts=3_000, seed=3)
    config = config_from_dict(sample.config)
    raw = {
        name: RawTable(name, f"{name}.parquet", frame.reset_index(drop=True))
        for name, frame in sample.tables.items()
    }
    result, problems = prepare(raw, config, config.as_of)
    assert not [p.message for p in problems if p.is_error]
    return sample, result


def test_every_cohort_is_populated(prepared):
    _, result = prepared
    counts = result.labels["cohort"].value_counts()
    assert all(counts.get(cohort, 0) > 0 for cohort in COHORTS), counts.to_dict()
    matured = counts[["ideal", "low_value", "churned"]].sum()
    assert 0.05 < counts["ideal"] / matured < 0.35


def test_leakage_trap_never_reaches_a_customers_features(prepared):
    sample, result = prepared
    trap = sample.drivers["leakage_trap"]["feature"]
    customers = result.labels["acquisition_date"].notna()
    flags = result.features.frame.loc[customers, trap]
    trap_rows = sample.tables["technologies"]
    adopters = trap_rows.loc[
        trap_rows["technology"] == sample.drivers["leakage_trap"]["technology"], "account_id"
    ]
    assert customers[customers.index.isin(adopters)].sum() > 20  # the trap is really there
    assert (flags.fillna(0) == 0).all()


def test_planted_drivers_are_features_and_the_disqualifier_column_is_not(prepared):
    sample, result = prepared
    columns = set(result.features.frame.columns)
    planted = set(sample.drivers["features"]) - {"business_model"}
    assert planted <= columns, planted - columns
    assert "business_model" not in columns


def test_ideal_customers_have_higher_true_fit(prepared):
    sample, result = prepared
    truth = sample.truth.set_index("account_id")["true_fit"]
    cohort = result.labels["cohort"]
    assert truth[cohort == "ideal"].mean() > truth[cohort.isin(["churned", "lost"])].mean()


def test_misrecorded_revenue_makes_some_labels_wrong(prepared):
    sample, result = prepared
    labels = result.labels
    truth = sample.truth.set_index("account_id").reindex(labels.index)
    matured = labels["cohort"].isin(["ideal", "low_value", "churned"])
    # billed in cents: kept paying and did not shrink, so its 100x LTV is in the top 20%
    grew = labels["retained"].eq(True) & (labels["expansion"] >= 1)
    in_cents = matured & truth["revenue_error"].eq("in_cents") & grew
    assert in_cents.sum() > 0
    assert (labels.loc[in_cents, "cohort"] == "ideal").all()
    # a missing month at the window's end: still paying, yet labelled churned
    last_month = labels["window_end"].dt.to_period("M")
    paying = truth["churn_month"].isna() | (truth["churn_month"].dt.to_period("M") > last_month)
    wrongly_churned = matured & labels["cohort"].eq("churned") & paying
    assert wrongly_churned.sum() > 0
    assert truth.loc[wrongly_churned, "revenue_error"].eq("missing_months").all()


def test_sample_data_command_is_reproducible_and_validates(tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = runner.invoke(
            app, ["sample-data", "--out", str(tmp_path / name), "--accounts", "600", "--seed", seed]
        )
        assert result.exit_code == 0, result.output
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
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert mismatch == [] and errors == []
    _, mismatch, _ = filecmp.cmpfiles(tmp_path / "a", tmp_path / "c", files[:5], shallow=False)
    assert len(mismatch) == 5
    assert json.loads((tmp_path / "a/truth/drivers.json").read_text())["leakage_trap"]
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "a" / "icpfit.yaml")])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout
    assert "Disqualified accounts (tier X at scoring): B2C business model" in result.stdout


def test_training_config_never_points_at_the_truth(tmp_path):
    sample = generate_sample(accounts=300, seed=1)
    assert not any("truth" in str(path) for path in sample.config["data"].values())
    assert "true_fit" not in pd.concat(sample.tables.values(), axis=1).columns
