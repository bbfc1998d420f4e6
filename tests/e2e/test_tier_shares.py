"""Tiers come from the config everywhere: the run's metrics, the report, the retrain's comparison
with the champion and `icpfit compare` all use the configured A+B share (here 25%, not 30%)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from icpfit.training.metrics import ltv_captured
from tests.e2e.cli import invoke, store_in

TIERS = {"A": 0.05, "B": 0.20, "C": 0.30}
TOP_SHARE = TIERS["A"] + TIERS["B"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiers")
    with store_in(root):
        invoke("sample-data", "--out", "data", "--accounts", "3000", "--seed", "21")
        config = yaml.safe_load((root / "data" / "icpfit.yaml").read_text())
        (root / "data" / "icpfit.yaml").write_text(yaml.safe_dump({**config, "tiers": TIERS}))
        first = invoke(
            "train", "--config", "data/icpfit.yaml", "--as-of", "2026-06-30", "--promote", "never"
        )
        champion_after_first = MlflowClient().get_registered_model("icp-fit").aliases
        invoke("promote", "1")
        invoke(
            "train",
            "--config",
            "data/icpfit.yaml",
            "--as-of",
            "2026-09-30",
            "--promote",
            "never",
            "--report",
            "q3.html",
        )
        yield root, first.stdout, champion_after_first


def test_promote_never_leaves_an_empty_registry_without_a_champion(store):
    _, first, aliases = store
    assert "Registered icp-fit v1 as challenger: --promote never: no champion yet" in first
    assert {k: str(v) for k, v in aliases.items()} == {"challenger": "1"}


def test_report_and_comparisons_use_the_configured_share(store):
    store, *_ = store
    client = MlflowClient()
    run_id = client.get_model_version("icp-fit", "2").run_id
    assert "top 25% by each scorer" in (store / "q3.html").read_text()
    in_run = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="compare/holdout_metrics.csv"
        )
    ).set_index("model")

    invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/1",
        "--model-b",
        "models:/icp-fit/2",
        "--input",
        store / "data" / "accounts.csv",
        "--technologies",
        store / "data" / "technologies.csv",
        "--signals",
        store / "data" / "signals.csv",
        "--as-of",
        "2026-09-30",
        "--output",
        store / "cmp",
    )
    table = pd.read_csv(store / "cmp" / "holdout_metrics.csv").set_index("model")
    holdout = pd.read_parquet(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="population/holdout_accounts.parquet"
        )
    )
    # B is judged by its out-of-fold scores on the accounts v1 did not train on
    v1 = mlflow.pyfunc.load_model("models:/icp-fit/1").unwrap_python_model().bundle
    unseen = holdout[pd.to_datetime(holdout["__icpfit_decided"]) > v1["trained_through"]]
    assert 0 < len(unseen) < len(holdout)
    scores = unseen["__icpfit_oof"]
    ltv = unseen["__icpfit_ltv"].to_numpy(dtype=float)
    expected = ltv_captured(ltv, scores.to_numpy(dtype=float), TOP_SHARE)
    assert table.loc["model B", "ltv_share_tiers_ab"] == pytest.approx(expected, abs=1e-9)
    # the retrain's own comparison judged the same accounts with the same share
    assert in_run.loc["model B", "ltv_share_tiers_ab"] == pytest.approx(expected, abs=1e-9)
    default = ltv_captured(ltv, scores.to_numpy(dtype=float), 0.3)
    assert expected != pytest.approx(default, abs=1e-6), "the data cannot tell 25% from 30%"
