"""Real-time scoring is MLflow's own server: `mlflow models serve` answers like the batch path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.e2e.cli import invoke


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: int = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds} s")


def test_models_serve_scores_three_accounts_like_batch(shared, tmp_path):
    rows = shared.model_rows(3)
    rows.to_csv(tmp_path / "three.csv", index=False)
    invoke("score", "--input", tmp_path / "three.csv", "--output", tmp_path / "three-out.csv")
    batch = pd.read_csv(tmp_path / "three-out.csv")

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/icp-fit@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", server)
        answer = pd.DataFrame(post(port, rows)["predictions"])
        without_stack = rows.drop(columns=["tech_stack"])
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(port, without_stack)
        message = refused.value.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert list(answer["account_id"]) == list(batch["account_id"])
    np.testing.assert_allclose(answer["fit_probability"], batch["fit_probability"], rtol=1e-9)
    assert list(answer["fit_tier"]) == list(batch["fit_tier"])
    assert list(answer["reason_1"].fillna("")) == list(batch["reason_1"].fillna(""))
    # a request without the tech stack is refused, not scored as if nobody had technologies
    assert refused.value.code == 400 and "this model uses technologies" in message


def post(port: int, rows: pd.DataFrame) -> dict:
    records = json.loads(rows.to_json(orient="records"))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps({"dataframe_records": records}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
