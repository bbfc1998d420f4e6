"""The quarterly retrain's comparison with the champion, and `icpfit compare`, on a real store."""

from __future__ import annotations

import shutil

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.cli import invoke, store_in


def run_of(client: MlflowClient, version: str):
    return client.get_run(client.get_model_version("icp-fit", version).run_id)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    with store_in(root):
        invoke("sample-data", "--out", "data", "--accounts", "5000", "--seed", "5")
        first = invoke("train", "--config", "data/icpfit.yaml", "--as-of", "2026-06-30")
        second = invoke(
            "train", "--config", "data/icpfit.yaml", "--as-of", "2026-09-30", "--promote", "never"
        )
        yield root, MlflowClient(), first.stdout, second.stdout


def test_the_first_retrain_has_nothing_to_compare_with(store):
    _, client, first, _ = store
    assert "No champion yet: nothing to compare with" in first
    run = run_of(client, "1")
    assert "compared_with" not in run.data.tags
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "population")}
    assert artifacts == {
        "population/training_population.parquet",
        "population/holdout_accounts.parquet",
    }


def test_a_retrain_compares_with_the_champion_prints_and_logs_it(store):
    root, client, _, second = store
    assert "Comparison with the champion" in second
    assert "Comparing icp-fit v1 (@champion) (A) with this run (2026Q3) (B)" in second
    assert "Newer holdout (" in second and "from the model" in second
    run = run_of(client, "2")
    assert run.data.tags["compared_with"] == "icp-fit v1 (@champion)"
    assert "drift_warnings" in run.data.tags
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "compare")}
    for name in ("compare.html", "tier_migration.csv", "tier_moves.csv", "holdout_metrics.csv"):
        assert f"compare/{name}" in logged
    folder = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="compare", dst_path=str(root / "logged")
    )
    migration = pd.read_csv(f"{folder}/tier_migration.csv").set_index("tier under A")
    prospects = pd.read_csv(f"{folder}/change_sources.csv")
    assert migration.to_numpy().sum() >= len(prospects) > 0
    metrics = pd.read_csv(f"{folder}/holdout_metrics.csv").set_index("model")
    delta = metrics.loc["model B", "roc_auc"] - metrics.loc["model A", "roc_auc"]
    assert metrics.loc["B - A", "roc_auc"] == pytest.approx(delta)


def test_compare_command_writes_html_and_csv_and_splits_model_from_data(store, tmp_path):
    root, _, _, _ = store
    accounts = pd.read_csv(root / "data/accounts.csv", dtype=str)
    techs = pd.read_csv(root / "data/technologies.csv", dtype=str)
    now = accounts.head(400)
    before = now.assign(employees=(pd.to_numeric(now["employees"]) // 3).astype("Int64"))
    now.to_csv(tmp_path / "now.csv", index=False)
    before.to_csv(tmp_path / "before.csv", index=False)
    techs.to_csv(tmp_path / "techs.csv", index=False)
    result = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/1",
        "--model-b",
        "models:/icp-fit@challenger",
        "--input",
        str(tmp_path / "now.csv"),
        "--input-before",
        str(tmp_path / "before.csv"),
        "--technologies",
        str(tmp_path / "techs.csv"),
        "--output",
        str(tmp_path / "out"),
    )
    assert "Comparing icp-fit v1 (A) with icp-fit v2 (@challenger) (B) on 400 accounts" in (
        result.stdout
    )
    out = tmp_path / "out"
    assert (out / "compare.html").read_text().startswith("<!doctype html>")
    migration = pd.read_csv(out / "tier_migration.csv").set_index("tier under A")
    assert migration.to_numpy().sum() == 400
    sources = pd.read_csv(out / "change_sources.csv")
    assert len(sources) == 400
    assert (sources["data_change"].abs() > 0).any(), "employees changed between the snapshots"
    total = sources["model_change"] + sources["data_change"]
    assert total.to_numpy() == pytest.approx(sources["total_change"].to_numpy())
    moves = pd.read_csv(out / "tier_moves.csv")
    changed = (migration.to_numpy().sum() - migration.to_numpy().trace()).item()
    assert len(moves) == changed
    for name in ("feature_drift.csv", "importance_change.csv", "icp_filter_diff.csv"):
        assert (out / name).is_file()


def test_compare_with_an_unknown_version_lists_what_the_registry_has(store, tmp_path):
    root, _, _, _ = store
    result = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/9",
        "--model-b",
        "models:/icp-fit/1",
        "--input",
        str(root / "data/accounts.csv"),
        code=1,
    )
    assert "models:/icp-fit/9: not in the registry; icp-fit has versions 1, 2" in result.output


def test_a_retrain_on_shifted_accounts_warns_of_drift_in_the_run_and_report(store):
    root, client, _, _ = store
    data = root / "data"
    shifted = root / "shifted"
    shutil.copytree(data, shifted)
    accounts = pd.read_csv(shifted / "accounts.csv", dtype=str)
    accounts["employees"] = (pd.to_numeric(accounts["employees"]) * 20).astype("Int64")
    accounts.to_csv(shifted / "accounts.csv", index=False)
    result = invoke(
        "train",
        "--config",
        "shifted/icpfit.yaml",
        "--as-of",
        "2026-09-30",
        "--promote",
        "never",
        "--report",
        "shifted.html",
    )
    assert "employees (PSI" in result.stdout
    run = run_of(client, "3")
    assert "employees" in run.data.tags["drift_warnings"].split(", ")
    assert run.data.metrics["drifted_features"] >= 1
    report = (root / "shifted.html").read_text()
    assert "moved beyond PSI 0.25" in report and "employees" in report
