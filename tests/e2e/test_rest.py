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

from icpfit.registry import load_model
from icpfit.serving.inputs import ModelInputs
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
    return post_records(url, records_of(rows))


def records_of(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records"))


def post_records(url: str, records: list[dict]) -> tuple[int, str]:
    """POST `records` as `dataframe_records`; the status and body."""
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


CHAMPION = "models:/icp-fit@champion"


def model_inputs() -> ModelInputs:
    """What the champion reads (its account columns, technologies, signal counts)."""
    return ModelInputs.of(load_model(CHAMPION).model.bundle)


def without(record: dict, *keys: str) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


def test_only_the_account_id_is_required_by_the_logged_signature(shared):
    inputs = mlflow.models.get_model_info(CHAMPION).signature.inputs
    assert inputs.required_input_names() == ["account_id"]
    assert "tech_stack" in inputs.optional_input_names()


def test_a_record_that_omits_a_key_is_scored_as_if_its_cell_were_null(shared, server):
    """JSON clients often leave a key out instead of sending null. The other records still have
    it, so the column is there and that record's cell is blank: it is scored as a null is."""
    inputs = model_inputs()
    left_out = [*inputs.account_columns[:2], inputs.tech_stack_column, *inputs.signal_columns[:1]]
    given = records_of(shared.model_rows(len(left_out) + 2))
    pairs = list(zip(given, left_out, strict=False))  # record i leaves out left_out[i]
    omitted = [*(without(r, column) for r, column in pairs), *given[len(pairs) :]]
    nulled = [*(dict(r, **{column: None}) for r, column in pairs), *given[len(pairs) :]]

    answer, as_null, as_given = (
        pd.DataFrame(strict_json(post_records(server, body)[1])["predictions"])
        for body in (omitted, nulled, given)
    )

    assert answer["error"].isna().all()
    pd.testing.assert_frame_equal(
        answer.drop(columns="scored_at"), as_null.drop(columns="scored_at")
    )
    changed = answer["data_coverage"] < as_given["data_coverage"]
    # an account column or the tech stack left out is read as unknown (coverage drops), not
    # ignored; the two whole records are untouched
    assert list(changed[:3]) == [True, True, True] and not changed.iloc[-2:].any()


def test_a_column_the_model_uses_missing_from_every_record_is_refused_by_name(shared, server):
    """Absent from every record, the column is absent from the request: the model refuses
    (MissingInputs, HTTP 400) naming it, rather than score every account as unknown for it."""
    inputs = model_inputs()
    absent = inputs.account_columns[:2]
    records = [without(r, *absent) for r in records_of(shared.model_rows(3))]

    status, body = post_records(server, records)

    assert status == 400, body
    refused = strict_json(body)
    assert refused["error_code"] == "INVALID_PARAMETER_VALUE" and "stack_trace" not in refused
    names = ", ".join(inputs.export_name(c) for c in absent)
    assert (
        f"this model uses the account column(s) {names}, which the input lacks"
        in (refused["message"])
    )
    assert "Traceback" not in body


def test_a_refusal_does_not_echo_the_request(shared, server):
    rows = shared.model_rows(3).drop(columns=["tech_stack"])
    status, body = post(server, rows)
    assert status == 400 and "this model uses technologies" in body
    assert not any(account in body for account in rows["account_id"]), body
