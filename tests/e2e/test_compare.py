"""The quarterly retrain's comparison with the champion, and `icpfit compare`, on a real store."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from tests.e2e.cli import invoke

TIERS = ["A", "B", "C", "D", "X"]


def run_of(client: MlflowClient, version: str):
    return client.get_run(client.get_model_version("icp-fit", version).run_id)


def summary_lines(stdout: str) -> list[str]:
    """The comparison's summary: the indented lines between the rule and the migration table."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Comparing " in line)
    end = next(i for i, line in enumerate(lines) if "Tier migration" in line)
    return [line.strip() for line in lines[start:end] if line.strip()]


def test_the_first_retrain_has_nothing_to_compare_with(shared):
    client = shared.client()
    assert "No champion yet: nothing to compare with" in shared.first
    run = run_of(client, "1")
    assert "compared_with" not in run.data.tags
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "population")}
    assert artifacts == {
        "population/training_population.parquet",
        "population/holdout_accounts.parquet",
    }


def test_a_retrain_compares_with_the_champion_prints_and_logs_it(shared, tmp_path):
    client, second = shared.client(), shared.second
    assert "Comparison with the champion" in second
    assert "Comparing icp-fit v1 (@champion) (A) with this run (2026Q3) (B)" in second
    assert "accounts neither model trained on" in second and "from the model" in second
    assert "95% paired CI" in second
    run = run_of(client, "2")
    assert run.data.tags["compared_with"] == "icp-fit v1 (@champion)"
    assert "drift_warnings" in run.data.tags
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "compare")}
    for name in ("compare.html", "tier_migration.csv", "tier_moves.csv", "holdout_metrics.csv"):
        assert f"compare/{name}" in logged
    folder = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="compare", dst_path=str(tmp_path)
    )
    migration = pd.read_csv(f"{folder}/tier_migration.csv").set_index("tier under A")
    prospects = pd.read_csv(f"{folder}/change_sources.csv")
    assert migration.to_numpy().sum() >= len(prospects) > 0
    scored = int(re.search(r"\(B\) on ([\d,]+) accounts", second)[1].replace(",", ""))
    assert migration.to_numpy().sum() == scored
    metrics = pd.read_csv(f"{folder}/holdout_metrics.csv").set_index("model")
    delta = metrics.loc["model B", "roc_auc"] - metrics.loc["model A", "roc_auc"]
    assert metrics.loc["B - A", "roc_auc"] == pytest.approx(delta)
    low, high = metrics.loc["B - A", ["roc_auc_low", "roc_auc_high"]]
    assert low <= delta <= high  # the paired bootstrap interval of the difference
    page = html.unescape((tmp_path / "compare" / "compare.html").read_text())
    for line in summary_lines(second):
        assert line in page, line


def test_compare_command_writes_html_and_csv_and_splits_model_from_data(shared, tmp_path):
    accounts = pd.read_csv(shared.data / "accounts.csv", dtype=str)
    now = accounts.head(400)
    before = now.assign(employees=(pd.to_numeric(now["employees"]) // 3).astype("Int64"))
    now.to_csv(tmp_path / "now.csv", index=False)
    before.to_csv(tmp_path / "before.csv", index=False)
    result = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/1",
        "--model-b",
        "models:/icp-fit@challenger",
        "--input",
        tmp_path / "now.csv",
        "--input-before",
        tmp_path / "before.csv",
        *shared.inputs(),
        "--output",
        tmp_path / "out",
    )
    assert "Comparing icp-fit v1 (A) with icp-fit v2 (@challenger) (B) on 400 accounts" in (
        result.stdout
    )

    def scored(model: str, snapshot: str) -> pd.DataFrame:
        target = tmp_path / f"{snapshot}-{model[-1]}.csv"
        invoke(
            "score",
            "--model",
            model,
            "--input",
            tmp_path / f"{snapshot}.csv",
            *shared.inputs(),
            "--output",
            target,
        )
        return pd.read_csv(target).set_index("account_id")

    a_now, b_now = scored("models:/icp-fit/1", "now"), scored("models:/icp-fit/2", "now")
    a_before, b_before = (
        scored("models:/icp-fit/1", "before"),
        scored("models:/icp-fit/2", "before"),
    )
    out = tmp_path / "out"

    # the migration is the two models' tiers for the same 400 accounts, as `icpfit score` gives
    migration = pd.read_csv(out / "tier_migration.csv").set_index("tier under A")
    expected = pd.crosstab(a_now["fit_tier"], b_now["fit_tier"]).reindex(
        index=TIERS, columns=TIERS, fill_value=0
    )
    np.testing.assert_array_equal(migration.loc[TIERS, TIERS].to_numpy(), expected.to_numpy())
    assert migration.to_numpy().sum() == 400

    # the moves are exactly the accounts off the diagonal, with both scores
    moves = pd.read_csv(out / "tier_moves.csv").set_index("account_id")
    changed = a_now.index[a_now["fit_tier"] != b_now["fit_tier"]]
    assert sorted(moves.index) == sorted(changed)
    assert (moves["tier_a"] == a_now.loc[moves.index, "fit_tier"]).all()
    assert (moves["tier_b"] == b_now.loc[moves.index, "fit_tier"]).all()
    np.testing.assert_allclose(moves["fit_score_a"], a_now.loc[moves.index, "fit_score"])
    np.testing.assert_allclose(moves["fit_score_b"], b_now.loc[moves.index, "fit_score"])
    np.testing.assert_allclose(moves["score_change"], moves["fit_score_b"] - moves["fit_score_a"])
    up = moves["tier_b"].map(TIERS.index) < moves["tier_a"].map(TIERS.index)
    assert (np.sign(moves["steps"]) == np.where(up, 1, -1)).all()

    # the summary counts what the tables hold, and the HTML page shows the summary
    lines = summary_lines(result.stdout)
    moved = re.search(
        r"Tier changed for (\d+) accounts \([\d.]+%\): (\d+) up, (\d+) down", lines[1]
    )
    assert tuple(map(int, moved.groups())) == (len(changed), int(up.sum()), int((~up).sum()))
    page = html.unescape((out / "compare.html").read_text())
    assert page.startswith("<!doctype html>")
    for line in lines:
        assert line in page, line

    # each account's change is the model's part (same data) plus the data's part (same model)
    sources = pd.read_csv(out / "change_sources.csv").set_index("account_id")
    assert sorted(sources.index) == sorted(now["account_id"])
    ids = sources.index
    for column, frame in (("a_before", a_before), ("b_before", b_before), ("b_now", b_now)):
        np.testing.assert_allclose(sources[column], frame.loc[ids, "fit_probability"], rtol=1e-9)
    np.testing.assert_allclose(sources["model_change"], sources["b_before"] - sources["a_before"])
    np.testing.assert_allclose(sources["data_change"], sources["b_now"] - sources["b_before"])
    total = sources["model_change"] + sources["data_change"]
    assert total.to_numpy() == pytest.approx(sources["total_change"].to_numpy())
    assert (sources["data_change"].abs() > 0).any(), "employees changed between the snapshots"

    # every feature of the models, once, in the drift and importance tables
    client = shared.client()
    features = int(run_of(client, "2").data.params["features"])
    drift = pd.read_csv(out / "feature_drift.csv")
    importance = pd.read_csv(out / "importance_change.csv")
    assert len(drift) == features and drift["feature"].is_unique and (drift["psi"] >= 0).all()
    assert set(importance["feature"]) == set(drift["feature"]) and len(importance) == features
    np.testing.assert_allclose(
        importance["change"], importance["importance_b"] - importance["importance_a"]
    )

    # the ICP filter diff is the two versions' logged filters, rule by rule
    rules = {}
    for version in ("1", "2"):
        path = mlflow.artifacts.download_artifacts(
            run_id=run_of(client, version).info.run_id,
            artifact_path="icp_filter.yaml",
            dst_path=str(tmp_path / f"filter{version}"),
        )
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        rules[version] = {
            (kind, entry["rule"]): entry["lift"]
            for kind in ("icp", "anti_icp")
            for entry in document[kind]
        }
    diff = pd.read_csv(out / "icp_filter_diff.csv")
    keyed = {(r.kind, r.rule): r for r in diff.itertuples()}
    status = {key: row.status for key, row in keyed.items()}
    assert {k for k, s in status.items() if s in ("kept", "dropped")} == set(rules["1"])
    assert {k for k, s in status.items() if s in ("kept", "added")} == set(rules["2"])
    for key, row in keyed.items():
        assert row.lift_a == pytest.approx(rules["1"].get(key, np.nan), nan_ok=True)
        assert row.lift_b == pytest.approx(rules["2"].get(key, np.nan), nan_ok=True)
    counts = diff["status"].value_counts()
    assert (
        f"ICP filter: {counts.get('kept', 0)} rules kept, {counts.get('added', 0)} added, "
        f"{counts.get('dropped', 0)} dropped" in lines
    )


def test_compare_with_an_unknown_version_lists_what_the_registry_has(shared):
    result = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/9",
        "--model-b",
        "models:/icp-fit/1",
        "--input",
        shared.data / "accounts.csv",
        code=1,
    )
    assert "models:/icp-fit/9: not in the registry; icp-fit has versions 1, 2" in result.output


def test_a_retrain_on_shifted_accounts_warns_of_drift_in_the_run_and_report(
    registry, store_copy, tmp_path
):
    shifted = tmp_path / "shifted"
    shutil.copytree(registry.data, shifted)
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
    run = run_of(MlflowClient(tracking_uri=store_copy, registry_uri=store_copy), "3")
    assert "employees" in run.data.tags["drift_warnings"].split(", ")
    assert run.data.metrics["drifted_features"] >= 1
    report = (tmp_path / "shifted.html").read_text()
    assert "moved beyond PSI 0.25" in report and "employees" in report
