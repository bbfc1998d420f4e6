"""The remote path: a real `mlflow server` on a free localhost port, train -> promote -> load."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.cli import invoke
from tests.e2e.servers import sqlite_mlflow_server


@pytest.fixture
def mlflow_server(tmp_path):
    """`mlflow server` on SQLite, started as `python -m team.server` starts it on PostgreSQL."""
    with sqlite_mlflow_server(tmp_path) as url:
        yield url


def test_train_promote_and_load_champion_through_a_real_server(
    mlflow_server, registry, tmp_path, monkeypatch
):
    """The shared export, trained twice against a real `mlflow server`; nothing is written
    locally, and what the server stores is what its clients read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    rows = registry.model_rows(50)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    for args in (
        ["train", "--config", registry.config, "--as-of", "2026-06-30"],
        ["train", "--config", registry.config, "--promote", "never"],
        ["promote", "2"],
        ["score", "--input", "rows.csv", "--output", "scored.csv"],
    ):
        invoke(*args)
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()

    # what the server's clients see over HTTP
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    experiment = client.get_experiment_by_name("icp-fit")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert [(r.info.run_name, r.info.status) for r in runs] == [
        ("2026Q2", "FINISHED"),
        ("2026Q3", "FINISHED"),
    ]
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:") for r in runs), (
        "artifacts go through the server's proxy, not to a local path"
    )
    versions = {str(v.version): v.run_id for v in client.search_model_versions("name='icp-fit'")}
    assert versions == {"1": runs[0].info.run_id, "2": runs[1].info.run_id}
    champion = client.get_model_version_by_alias("icp-fit", "champion")
    assert str(champion.version) == "2" and champion.tags["previous_champion"] == "1"
    compared = {a.path for a in client.list_artifacts(runs[1].info.run_id, "compare")}
    assert {"compare/compare.html", "compare/tier_migration.csv"} <= compared

    # the server's own store and artifact folder hold the same
    local = f"sqlite:///{tmp_path / 'server.db'}"
    backend = MlflowClient(tracking_uri=local, registry_uri=local)
    assert backend.get_model_version_by_alias("icp-fit", "champion").run_id == runs[1].info.run_id
    # each run logged its fit model and its timing model
    assert len(list((tmp_path / "artifacts").rglob("MLmodel"))) == 4
    assert len(list((tmp_path / "artifacts").rglob("compare.html"))) == 1

    # scoring read the champion from the server: its version, and its numbers
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert set(scored["model_version"].astype(str)) == {str(champion.version)}
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion")
    direct = model.predict(rows)
    assert list(direct["account_id"]) == list(scored["account_id"])
    np.testing.assert_allclose(direct["fit_probability"], scored["fit_probability"], rtol=1e-9)
