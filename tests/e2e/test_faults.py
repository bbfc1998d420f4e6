"""Faults, through real `icpfit` processes on a real SQLite store (issue 15, points 3-5).

Signals and kill -9 land at a named step through the test hook of `icpfit.guards`
(ICPFIT_TEST_PAUSE_AFTER=register|alias|timing|batch, ICPFIT_TEST_RESUME_FILE): the process says
`icpfit test hook: paused after <step>` on stderr and waits there, so each test signals exactly
after registration, after the alias moved, or after a scored batch was written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from icpfit.io import remove_leftovers, temp_name

ICPFIT = Path(sys.executable).with_name("icpfit")
MODEL = "icp-fit"
TIMING = "icp-timing"
AS_OF = "2026-09-30"
HOOK = "icpfit test hook: paused after"
RAW_ERRORS = ("Traceback", "database is locked", "UNIQUE constraint")


@dataclass(frozen=True)
class Store:
    """A working folder with an SQLite tracking store (mlflow.db, mlruns/) and the export."""

    root: Path
    data: Path

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ICPFIT_TEST_")}
        return {**env, "MLFLOW_TRACKING_URI": self.uri, **extra}

    def start(self, name: str, *args: str, **extra: str) -> subprocess.Popen:
        """`icpfit ARGS` in the background, stdout and stderr to `<name>.out` / `<name>.err`,
        with SIGINT at its default (a background job may inherit it ignored) and umask 022."""
        out, err = (self.root / f"{name}.{s}" for s in ("out", "err"))
        with out.open("w") as stdout, err.open("w") as stderr:  # the child keeps its own copies
            return subprocess.Popen(
                [str(ICPFIT), *args],
                cwd=self.root,
                env=self.env(**extra),
                stdout=stdout,
                stderr=stderr,
                preexec_fn=_child_defaults,
            )

    def run(self, name: str, *args: str, **extra: str) -> tuple[int, str]:
        """`icpfit ARGS` to the end: (exit code, stderr)."""
        code = self.start(name, *args, **extra).wait(timeout=120)
        return code, self.stderr(name)

    def stderr(self, name: str) -> str:
        return (self.root / f"{name}.err").read_text()

    def train(self, name: str, *args: str, **extra: str) -> subprocess.Popen:
        return self.start(name, "train", "--config", str(self.data / "icpfit.yaml"), *args, **extra)


def _child_defaults() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.umask(0o022)


def wait_for(store: Store, name: str, text: str, process: subprocess.Popen) -> None:
    """Until `text` is in the process's stderr; fails if it ends or 180 s pass first (a train
    learns a fit and a timing model before it registers; several run at once)."""
    deadline = time.monotonic() + 180
    while text not in store.stderr(name):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"never saw {text!r} (exit {process.poll()}):\n{store.stderr(name)}")
        time.sleep(0.1)


def state(client: MlflowClient, model: str = "icp-fit") -> dict:
    """The live versions of `model`, its aliases and every run's status."""
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{model}'"))
    aliases = dict(client.get_registered_model(model).aliases) if versions else {}
    experiment = client.get_experiment_by_name(MODEL)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return {
        "versions": versions,
        "aliases": {a: str(v) for a, v in aliases.items()},
        "runs": {r.info.run_id: r.info.status for r in runs},
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Store:
    """1,500 sample accounts and one forced train: v1 is champion."""
    root = tmp_path_factory.mktemp("faults")
    store = Store(root, root / "data")
    args = ("--out", "data", "--accounts", "1500", "--seed", "3")
    assert store.run("sample", "sample-data", *args)[0] == 0
    assert store.train("first", "--promote", "force").wait(timeout=120) == 0
    assert state(store.client())["aliases"] == {"champion": "1"}
    return store


def copy_store(trained: Store, folder: Path) -> Store:
    """A private copy of the trained store's database, beside the shared export; new runs write
    their artifacts next to the shared ones (the artifact URIs are absolute)."""
    folder.mkdir(exist_ok=True)
    shutil.copy(trained.root / "mlflow.db", folder / "mlflow.db")
    return Store(folder, trained.data)


@pytest.fixture
def copy_of(trained: Store, tmp_path: Path) -> Store:
    return copy_store(trained, tmp_path)


def test_a_signal_after_registration_undoes_it(trained: Store, tmp_path: Path):
    """SIGINT once the version is registered, SIGTERM once it is champion (two trains at once,
    each on its own copy of the store): each exits non-zero, its version is gone, the aliases
    are as before and its run is FAILED."""
    cases = {"SIGINT": "register", "SIGTERM": "alias"}
    stores = {sig: copy_store(trained, tmp_path / sig) for sig in cases}
    before = {sig: state(store.client()) for sig, store in stores.items()}
    trains = {
        sig: store.train("train", "--promote", "force", ICPFIT_TEST_PAUSE_AFTER=cases[sig])
        for sig, store in stores.items()
    }
    for sig, store in stores.items():
        wait_for(store, "train", HOOK, trains[sig])
        during = state(store.client())
        assert during["versions"] == [1, 2], "the signal must land after registration"
        moved = {"champion": "2"} if cases[sig] == "alias" else {"champion": "1"}
        assert during["aliases"] == moved
        trains[sig].send_signal(getattr(signal, sig))
    for sig, store in stores.items():
        assert trains[sig].wait(timeout=60) != 0
        after, stderr = state(store.client()), store.stderr("train")
        assert after["versions"] == before[sig]["versions"] == [1], sig
        assert after["aliases"] == before[sig]["aliases"] == {"champion": "1"}, sig
        new_runs = {r: s for r, s in after["runs"].items() if r not in before[sig]["runs"]}
        assert list(new_runs.values()) == ["FAILED"], sig
        assert "icp-fit v2 deleted" in stderr and "Traceback" not in stderr, stderr


def test_b_an_unwritable_report_registers_nothing(copy_of: Store):
    (copy_of.root / "blocker").write_text("a file where the report's folder should be")
    before = state(copy_of.client())
    code, stderr = copy_of.run(
        "train", "train", "--config", str(copy_of.data / "icpfit.yaml"), "--promote", "force",
        "--report", "blocker/report.html",
    )  # fmt: skip
    assert code != 0
    assert "blocker/report.html: cannot write the report" in stderr
    assert "nothing was registered" in stderr and "Traceback" not in stderr
    assert state(copy_of.client()) == before


def test_c_promote_refuses_an_orphan_version(copy_of: Store):
    """A version whose run never finished (a train stopped before its undo could run)."""
    client = copy_of.client()
    champion = client.get_model_version_by_alias(MODEL, "champion")
    run = client.create_run(client.get_experiment_by_name(MODEL).experiment_id)
    source = f"{run.info.artifact_uri}/model"
    orphan = client.create_model_version(MODEL, source, run_id=run.info.run_id)
    code, stderr = copy_of.run("promote", "promote", str(orphan.version))
    assert code != 0
    assert f"icp-fit v{orphan.version} is an orphan" in stderr
    assert f"its run {run.info.run_id} is RUNNING, not FINISHED" in stderr
    assert "Traceback" not in stderr
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion.version


def test_d_two_trains_at_once_on_one_store_take_turns(trained: Store, tmp_path: Path):
    """On a new store, both trains start together; the one that gets the lock first pauses
    after registering, the other says it waits for that pid; then both finish."""
    store, resume = Store(tmp_path, trained.data), tmp_path / "resume"
    hook = {"ICPFIT_TEST_PAUSE_AFTER": "register", "ICPFIT_TEST_RESUME_FILE": str(resume)}
    trains = {name: store.train(name, "--promote", "never", **hook) for name in ("t1", "t2")}
    deadline = time.monotonic() + 90
    while not (paused := [n for n in trains if HOOK in store.stderr(n)]):
        ended = {n: t.poll() for n, t in trains.items() if t.poll() is not None}
        assert time.monotonic() < deadline and not ended, {n: store.stderr(n) for n in trains}
        time.sleep(0.1)
    first, second = paused[0], next(n for n in trains if n != paused[0])
    wait_for(store, second, f"waiting for another train on {store.uri}", trains[second])
    assert f"(pid {trains[first].pid})" in store.stderr(second)
    resume.touch()
    assert [t.wait(timeout=90) for t in trains.values()] == [0, 0]
    for name in trains:
        assert not any(e in store.stderr(name) for e in RAW_ERRORS), store.stderr(name)
    after = state(store.client())
    assert after["versions"] == [1, 2] and sorted(after["runs"].values()) == ["FINISHED"] * 2


def test_e_kill_9_during_score_leaves_nothing_after_the_next_run(trained: Store, tmp_path: Path):
    accounts = pd.read_csv(trained.data / "accounts.csv", dtype=str)
    pd.concat([accounts] * 40, ignore_index=True).to_csv(tmp_path / "big.csv", index=False)
    store, out = trained, tmp_path / "out"
    out.mkdir()
    score = (
        *("score", "--input", str(tmp_path / "big.csv"), "--output", str(out / "scored.csv")),
        *("--technologies", str(trained.data / "technologies.csv")),
        *("--signals", str(trained.data / "signals.csv"), "--as-of", AS_OF),
    )
    killed = store.start("killed", *score, ICPFIT_TEST_PAUSE_AFTER="batch")
    wait_for(store, "killed", HOOK, killed)
    left = {f".scored.csv.icpfit-tmp-{killed.pid}", f".scored.csv.icpfit-ids-{killed.pid}"}
    assert {p.name for p in out.iterdir()} == left
    killed.kill()
    assert killed.wait(timeout=30) == -signal.SIGKILL
    assert {p.name for p in out.iterdir()} == left
    code, stderr = store.run("rerun", *score)
    assert code == 0, stderr
    assert [p.name for p in out.iterdir()] == ["scored.csv"]
    assert (out / "scored.csv").stat().st_mode & 0o777 == 0o644
    with (out / "scored.csv").open() as handle:
        assert sum(1 for _ in handle) == 1 + 40 * len(accounts)


def test_leftovers_of_a_running_process_are_kept(tmp_path: Path):
    target = tmp_path / "scored.csv"
    ours = temp_name(target, "tmp")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f".scored.csv.icpfit-ids-{dead.pid}"
    other = tmp_path / f".other.csv.icpfit-tmp-{dead.pid}"
    for path in (ours, other):
        path.write_text("")
    gone.mkdir()
    assert remove_leftovers(target) == [gone]
    assert ours.exists() and other.exists() and not gone.exists()


def test_f_a_tampered_model_file_is_refused_by_name(trained: Store, tmp_path: Path):
    client = trained.client()
    champion = client.get_model_version_by_alias(MODEL, "champion")
    model_id = champion.source.removeprefix("models:/")
    location = client.get_logged_model(model_id).artifact_location
    module = Path(location.removeprefix("file://")) / "code/icpfit/serving/scoring.py"
    original = module.read_bytes()
    accounts = pd.read_csv(trained.data / "accounts.csv", dtype=str).head(200)
    accounts.to_csv(tmp_path / "few.csv", index=False)
    store = trained
    score = (
        *("score", "--input", str(tmp_path / "few.csv"), "--output", str(tmp_path / "s.csv")),
        *("--technologies", str(trained.data / "technologies.csv")),
        *("--signals", str(trained.data / "signals.csv"), "--as-of", AS_OF),
    )
    try:
        module.write_bytes(original + b"\nraise SystemExit('code someone slipped in ran')\n")
        code, stderr = store.run("tampered", *score)
        assert code != 0 and not (tmp_path / "s.csv").exists()
        assert f"icp-fit v{champion.version}: refusing to load it" in stderr
        assert "code/icpfit/serving/scoring.py changed" in stderr and "Traceback" not in stderr
    finally:
        module.write_bytes(original)
    code, stderr = store.run("restored", *score)
    assert code == 0, stderr
    assert len(pd.read_csv(tmp_path / "s.csv")) == 200
