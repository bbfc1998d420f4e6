"""The remote path: a real `mlflow server` on a free localhost port, train -> promote -> load."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from icpfit.cli import app

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    process = subprocess.Popen(
        [
            str(mlflow_bin),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited: {process.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not answer /health within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_train_promote_and_load_champion_through_a_real_server(
    mlflow_server, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    for args in (
        ["sample-data", "--out", "data", "--accounts", "5000", "--seed", "8"],
        ["train", "--config", "data/icpfit.yaml", "--as-of", "2026-06-30"],
        ["train", "--config", "data/icpfit.yaml", "--promote", "never"],
        ["promote", "2"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert not (tmp_path / "mlflow.db").exists()  # everything went to the server
    assert any((tmp_path / "artifacts").rglob("MLmodel"))
    assert any((tmp_path / "artifacts").rglob("compare.html")), (
        "compared via the server's artifacts"
    )
    mlflow.set_tracking_uri(mlflow_server)
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("icp-fit", "champion").version) == "2"
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion")
    rows = pd.read_csv(tmp_path / "data" / "accounts.csv").head(5)
    assert list(model.predict(rows)["account_id"]) == list(rows["account_id"])
    assert os.environ["MLFLOW_TRACKING_URI"] == mlflow_server
