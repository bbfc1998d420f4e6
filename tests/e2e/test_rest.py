"""Real-time scoring is MLflow's own server: `mlflow models serve` answers like the batch path.

One server of the champion for the module. No params are sent: the answers must name the model
version on their own, as batch rows do.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from tests.e2e.cli import invoke
from tests.e2e.conftest import Registry


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: int = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def server(registry: Registry, tmp_path_factory) -> Iterator[str]:
    """One `mlflow models serve` of the champion for the whole module; yields its base URL."""
    folder = tmp_path_factory.mktemp("rest")
    port, log = free_port(), folder / "server.log"
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/icp-fit@champion"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={
                **os.environ,
                "MLFLOW_TRACKING_URI": registry.uri,
                "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            },
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def post(url: str, rows: pd.DataFrame) -> tuple[int, str]:
    """POST `rows` as `dataframe_records` (blank cells as JSON null); the status and body."""
    records = json.loads(rows.to_json(orient="records"))
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps({"dataframe_records": records}, allow_nan=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def strict_json(text: str):
    """`text` parsed as JSON proper: the tokens NaN and Infinity are refused."""

    def refuse(token: str):
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def answers(url: str, rows: pd.DataFrame) -> pd.DataFrame:
    status, text = post(url, rows)
    assert status == 200, text[-2000:]
    return pd.DataFrame(strict_json(text)["predictions"])


def batch_scores(rows: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """`icpfit score` on `rows` written as a CSV file: the batch path's answers."""
    rows.to_csv(folder / "in.csv", index=False)
    invoke("score", "--input", folder / "in.csv", "--output", folder / "out.csv")
    return pd.read_csv(folder / "out.csv")


def accounts_with_blanks(rows: pd.DataFrame) -> pd.DataFrame:
    """The accounts with the most blank attributes, one without a tech stack, one complete."""
    blanks = rows.isna().sum(axis=1).sort_values(ascending=False, kind="stable")
    picked = [*blanks.index[:6], rows["tech_stack"].isna().idxmax(), blanks.index[-1]]
    return rows.loc[list(dict.fromkeys(picked))].reset_index(drop=True)


def assert_same_scores(answer: pd.DataFrame, batch: pd.DataFrame) -> None:
    assert list(answer["account_id"]) == list(batch["account_id"])
    np.testing.assert_allclose(
        answer["fit_probability"].astype(float), batch["fit_probability"], rtol=1e-9
    )
    words = ["fit_tier", *(f"{kind}_{k}" for kind in ("reason", "risk") for k in (1, 2, 3))]
    for column in words:
        assert list(answer[column].fillna("")) == list(batch[column].fillna("")), column


def champion_version(shared: Registry) -> str:
    return str(shared.client().get_model_version_by_alias("icp-fit", "champion").version)


def test_each_account_alone_and_all_together_answer_as_batch_and_name_the_version(
    shared, server, tmp_path
):
    rows = accounts_with_blanks(shared.model_rows(300))
    blank = rows.isna()
    assert blank.sum(axis=1).iloc[0] >= 5  # accounts sent alone with several null attributes
    assert blank[["industry", "employees", "tech_stack"]].any().all()
    batch = batch_scores(rows, tmp_path)

    before = pd.Timestamp.now(tz="UTC").floor("s")
    alone = pd.concat([answers(server, rows.iloc[[i]]) for i in range(len(rows))])
    together = answers(server, rows)
    after = pd.Timestamp.now(tz="UTC")

    for answer in (alone.reset_index(drop=True), together):
        assert_same_scores(answer, batch)
        assert set(answer["model_name"]) == {"icp-fit"}  # no params sent: the model knows
        assert set(answer["model_version"]) == {champion_version(shared)}
        scored_at = pd.to_datetime(answer["scored_at"], utc=True)
        assert scored_at.between(before, after).all()
        assert answer["error"].isna().all()


def test_one_bad_cell_gets_its_own_error_and_the_other_rows_are_scored(shared, server, tmp_path):
    rows = shared.model_rows(5).astype(object)
    rows.loc[2, "employees"] = "lots"
    batch = batch_scores(rows, tmp_path)

    answer = answers(server, rows)  # HTTP 200, and JSON proper (no NaN for the blank scores)

    assert answer.loc[2, "error"] == batch.loc[2, "error"] == "employees: 'lots' is not a number"
    assert answer.loc[2, ["fit_probability", "fit_tier", "reason_1"]].isna().all()
    others = answer.drop(index=2)
    assert others["error"].isna().all()
    assert_same_scores(others, batch.drop(index=2))
    assert set(answer["model_version"]) == {champion_version(shared)}  # the error row too


def test_the_logged_serving_example_is_json_with_nulls_and_the_server_takes_it(
    shared, server, tmp_path
):
    model = Path(mlflow.artifacts.download_artifacts("models:/icp-fit@champion", dst_path=tmp_path))
    text = (model / "serving_input_example.json").read_text()
    example = strict_json(text)["dataframe_split"]
    assert any(value is None for row in example["data"] for value in row)  # blanks are null
    request = urllib.request.Request(
        f"{server}/invocations", data=text.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        scored = strict_json(response.read().decode())["predictions"]
    assert len(scored) == len(example["data"]) and not any(r["error"] for r in scored)


def test_a_request_without_the_tech_stack_is_refused(shared, server):
    status, message = post(server, shared.model_rows(3).drop(columns=["tech_stack"]))
    # refused, not scored as if nobody had technologies
    assert status == 400 and "this model uses technologies" in message
