"""The team setup the README documents (issue 17): `python -m team.server`, what `make
team-server` runs, starts a real PostgreSQL and a real `mlflow server` with proxied artifacts on
localhost; train -> promote -> score runs through it; the registry lives in PostgreSQL and the
files under the server's artifacts destination; `python -m team.backup` backs it up and restores
it into a new folder."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import psycopg2
import pytest
import yaml
from mlflow import MlflowClient

from team import postgres
from team.server import local_cluster
from tests.e2e.cli import invoke
from tests.e2e.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = "icp-fit"
AS_OF = "2026-09-30"
READY = "export MLFLOW_TRACKING_URI="
QUICK = {
    "timing": {"enabled": False},
    "model": {
        "folds": 2,
        "recipe": {
            "tree_shape": "depth-3",
            "population": "customers_and_lost",
            "disqualified": "excluded",
            "headcount": "as_given",
        },
    },
}
"""The sample config made quick to train: no timing model, one recipe, two backtest folds."""


@dataclass(frozen=True)
class Team:
    url: str
    folder: Path
    """The server's --dir: postgres/ (the cluster), artifacts/, mlflow.log."""
    client_dir: Path
    """Where the CLI ran: the export and the scored file, nothing of the store."""

    def cluster(self) -> postgres.Cluster:
        return local_cluster(self.folder)


def query(cluster: postgres.Cluster, sql: str) -> list[tuple]:
    """Rows straight from the cluster's database, not through MLflow."""
    connection = psycopg2.connect(
        host=str(cluster.socket), port=cluster.port, user=cluster.user, dbname=cluster.database
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def registry_rows(cluster: postgres.Cluster) -> dict[str, list[tuple]]:
    return {
        "models": query(cluster, "SELECT name FROM registered_models"),
        "versions": query(
            cluster,
            "SELECT version, run_id, status FROM model_versions "
            f"WHERE name = '{MODEL}' ORDER BY version",
        ),
        "aliases": query(
            cluster,
            f"SELECT alias, version FROM registered_model_aliases WHERE name = '{MODEL}' "
            "ORDER BY alias",
        ),
        "runs": query(cluster, "SELECT run_uuid, name, status, artifact_uri FROM runs"),
    }


def reachable_folder() -> Path:
    """A new temp folder the cluster's owner can enter: under root that is the `postgres` user,
    and pytest's tmp_path is private to root."""
    folder = Path(tempfile.mkdtemp(prefix="icpfit-team-"))
    folder.chmod(0o711)
    return folder


def wait_ready(process: subprocess.Popen, out: Path, err: Path, log: Path) -> str:
    """The tracking URI the server prints once it answers; fails with its output if it ends
    or 240 s pass first (a first start creates the cluster and MLflow's tables)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        lines = out.read_text().splitlines()
        if uri := next((line.removeprefix(READY) for line in lines if READY in line), None):
            return uri
        if process.poll() is not None:
            break
        time.sleep(0.2)
    mlflow_log = log.read_text()[-3000:] if log.exists() else ""
    pytest.fail(
        f"python -m team.server did not print {READY!r} (exit {process.poll()}):\n"
        f"{out.read_text()}{err.read_text()}\n{log}:\n{mlflow_log}"
    )


def stop(process: subprocess.Popen, cluster: postgres.Cluster) -> list[str]:
    """SIGTERM, as systemd or `docker stop` would send; kills what is left if that fails.
    What did not stop by itself, in words."""
    left = []
    process.send_signal(signal.SIGTERM)
    try:
        if (code := process.wait(timeout=60)) != 0:
            left.append(f"python -m team.server exited {code} on SIGTERM")
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        left.append("python -m team.server did not stop within 60 s of SIGTERM")
    if postgres.is_running(cluster):
        postgres.stop(cluster)
        left.append("PostgreSQL was still running after the server stopped")
    return left


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Team]:
    """The team server, then the commands the README gives, run against it like a user would:

    icpfit sample-data --out data --accounts 1500 --seed 3     (made QUICK to train)
    icpfit train --config data/icpfit.yaml --as-of 2026-09-30 --promote never    # v1, challenger
    icpfit promote 1                                                             # v1, champion
    icpfit score --input data/accounts.csv ... --output scored.csv
    """
    postgres.find_bindir()  # no PostgreSQL: fail saying what to install, not somewhere deeper
    folder, client_dir = reachable_folder(), tmp_path_factory.mktemp("team-client")
    state, out, err = folder / "server", folder / "server.out", folder / "server.err"
    port = free_port()
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "team.server", "--dir", str(state), "--port", str(port)]
            + ["--workers", "1"],
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    cluster = local_cluster(state)
    try:
        url = wait_ready(process, out, err, state / "mlflow.log")
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(client_dir)
            patch.setenv("MLFLOW_TRACKING_URI", url)
            train_promote_and_score(client_dir)
        yield Team(url, state, client_dir)
    finally:
        mlflow.set_tracking_uri(None)
        left = stop(process, cluster)
        shutil.rmtree(folder, ignore_errors=True)
    assert not left, left


def train_promote_and_score(client_dir: Path) -> None:
    invoke("sample-data", "--out", "data", "--accounts", "1500", "--seed", "3")
    config_file = client_dir / "data" / "icpfit.yaml"
    config = yaml.safe_load(config_file.read_text())
    config_file.write_text(yaml.safe_dump({**config, **QUICK}))
    invoke("train", "--config", config_file, "--as-of", AS_OF, "--promote", "never")
    invoke("promote", "1")
    data = client_dir / "data"
    invoke(
        *("score", "--input", data / "accounts.csv", "--output", "scored.csv"),
        *("--technologies", data / "technologies.csv", "--signals", data / "signals.csv"),
        *("--as-of", AS_OF),
    )


def test_the_registry_lives_in_postgresql_and_the_files_behind_the_server(team: Team):
    client = MlflowClient(tracking_uri=team.url, registry_uri=team.url)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    aliases = {a: int(v) for a, v in client.get_registered_model(MODEL).aliases.items()}
    (run,) = client.search_runs([client.get_experiment_by_name(MODEL).experiment_id])
    assert str(champion.version) == "1" and champion.run_id == run.info.run_id

    # every scored row names the champion it came from
    scored = pd.read_csv(team.client_dir / "scored.csv")
    assert len(scored) == 1500
    assert set(scored["model_name"]) == {MODEL} and set(scored["model_version"]) == {1}

    # what the clients saw over HTTP is what PostgreSQL holds
    rows = registry_rows(team.cluster())
    assert rows["models"] == [(MODEL,)]
    assert rows["versions"] == [(1, run.info.run_id, "READY")]
    assert rows["aliases"] == sorted(aliases.items()) and ("champion", 1) in rows["aliases"]
    assert rows["runs"] == [(run.info.run_id, "2026Q3", "FINISHED", run.info.artifact_uri)]
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), "artifacts through the server"

    # the files are under the server's artifacts destination; none stayed with the client
    assert len(list((team.folder / "artifacts").rglob("MLmodel"))) == 1
    assert sorted(p.name for p in team.client_dir.iterdir()) == ["data", "scored.csv"]


def test_a_backup_restores_into_a_new_folder(team: Team, tmp_path: Path):
    """`python -m team.backup` while the server runs, then a restore into a new folder: the same
    registry rows and the same files."""
    backup, folder = tmp_path / "backup", reachable_folder()
    restored_dir = folder / "restored"
    try:
        team_backup("--dir", team.folder, "--to", backup)
        team_backup("--dir", restored_dir, "--restore", backup)
        restored = local_cluster(restored_dir)
        with postgres.running(restored):
            assert registry_rows(restored) == registry_rows(team.cluster())
        assert artifact_files(team.folder) == artifact_files(restored_dir) != []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def team_backup(*args) -> None:
    command = [sys.executable, "-m", "team.backup", *map(str, args)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def artifact_files(server_dir: Path) -> list[str]:
    artifacts = server_dir / "artifacts"
    return sorted(str(p.relative_to(artifacts)) for p in artifacts.rglob("*") if p.is_file())
