"""`icpfit train` / `promote` / `rollback` against a real MLflow SQLite store in a temp dir."""

from __future__ import annotations

import shutil

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from icpfit.cli import app
from tests.e2e.cli import invoke, runner, store_in


def champion_version(client) -> str:
    return str(client.get_model_version_by_alias("icp-fit", "champion").version)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    with store_in(root):
        invoke("sample-data", "--out", "data", "--accounts", "6000", "--seed", "4")
        first = invoke("train", "--config", "data/icpfit.yaml", "--as-of", "2026-06-30")
        second = invoke(
            "train",
            "--config",
            "data/icpfit.yaml",
            "--as-of",
            "2026-09-30",
            "--promote",
            "never",
            "--report",
            "reports/2026Q3.html",
        )
        yield root, MlflowClient(), first.stdout, second.stdout


def test_first_model_is_champion_and_never_makes_a_challenger(store):
    _, client, first, second = store
    assert "Registered icp-fit v1 as champion: first model" in first
    assert "Registered icp-fit v2 as challenger: --promote never" in second
    assert champion_version(client) == "1"
    assert str(client.get_model_version_by_alias("icp-fit", "challenger").version) == "2"
    for scorer in ("model", "rules", "logistic"):
        assert f"│ {scorer}" in second


def test_versions_carry_quarter_as_of_metrics_and_the_decision(store):
    _, client, *_ = store
    v2 = client.get_model_version("icp-fit", "2")
    assert v2.tags["quarter"] == "2026Q3" and v2.tags["as_of"] == "2026-09-30"
    assert v2.tags["decision"] == "challenger" and float(v2.tags["roc_auc"]) > 0.6
    assert "candidate AUC" in v2.description and "champion AUC" in v2.description
    run = client.get_run(v2.run_id)
    assert run.info.run_name == "2026Q3"
    assert {"model_roc_auc", "rules_roc_auc", "logistic_roc_auc"} <= set(run.data.metrics)
    assert run.data.params["cohort_ideal"] != "0" and "hash_accounts" in run.data.params
    artifacts = {a.path for a in client.list_artifacts(v2.run_id)}
    assert {
        "icp_filter.yaml",
        "icp_filter.sql",
        "importance.csv",
        "config.json",
        "report.html",
        "plots",
    } <= artifacts
    plots = {a.path for a in client.list_artifacts(v2.run_id, "plots")}
    assert {"plots/shap_summary.png", "plots/calibration.png", "plots/gains.png"} <= plots


def test_champion_loads_from_the_registry_and_scores_raw_rows(store):
    root, *_ = store
    rows = pd.read_csv(root / "data" / "accounts.csv").head(20)
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion")
    scored = model.predict(rows)
    assert list(scored["account_id"]) == list(rows["account_id"])
    assert scored["fit_tier"].isin(["A", "B", "C", "D", "X"]).all()
    assert scored["fit_probability"].between(0, 1).all()


def test_promote_then_rollback(store):
    _, client, *_ = store
    invoke("promote", "2")
    assert champion_version(client) == "2"
    result = invoke("rollback")
    assert "champion moved back from v2 to v1" in result.stdout
    assert champion_version(client) == "1"
    missing = runner.invoke(app, ["promote", "99"])
    assert missing.exit_code == 1 and "cannot promote icp-fit v99" in missing.stderr


def test_a_failed_run_leaves_aliases_and_versions_as_they_were(store):
    root, client, *_ = store
    before = {
        a: client.get_model_version_by_alias("icp-fit", a).version
        for a in ("champion", "challenger")
    }
    versions = len(client.search_model_versions("name='icp-fit'"))
    champion = client.get_model_version("icp-fit", before["champion"])
    artifacts = root / "mlruns"
    backup = root / "mlruns-backup"
    shutil.copytree(artifacts, backup)
    shutil.rmtree(artifacts)  # the champion cannot be re-scored: the run fails after registering
    try:
        result = runner.invoke(
            app, ["train", "--config", "data/icpfit.yaml", "--as-of", "2026-09-30"]
        )
    finally:
        shutil.rmtree(artifacts, ignore_errors=True)
        shutil.move(backup, artifacts)
    assert result.exit_code != 0
    after = {
        a: client.get_model_version_by_alias("icp-fit", a).version
        for a in ("champion", "challenger")
    }
    assert after == before
    assert len(client.search_model_versions("name='icp-fit'")) == versions
    assert champion.version == before["champion"]


def test_the_html_report_is_self_contained_with_every_section(store):
    root, *_ = store
    page = (root / "reports" / "2026Q3.html").read_text()
    for section in (
        "Data window and cohorts",
        "Holdout: model against the baselines",
        "Per segment",
        "Calibration",
        "Lift",
        "global SHAP",
        "The ICP filter",
        "Tier thresholds",
        "WHERE",
    ):
        assert section in page, section
    assert page.count('src="data:image/png;base64,') >= 5
    assert "http://" not in page and "https://" not in page
