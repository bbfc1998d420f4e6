"""One trained registry for the whole e2e suite, and MLflow's global state reset after each test.

The session's registry is built once through the command line, like a user would:

    icpfit sample-data --out data --accounts 6000 --seed 4
    icpfit train --config data/icpfit.yaml --as-of 2026-06-30           # v1, champion
    icpfit train --config data/icpfit.yaml --as-of 2026-09-30 \\
        --promote never --report reports/2026Q3.html                    # v2, challenger

Tests that only read it take `shared`; a test that moves aliases or registers versions takes
`store_copy`, a private copy of the store's database (it still reads the shared run artifacts,
whose URIs are absolute; new runs write new artifact folders next to them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.cli import invoke, store_in

MODEL = "icp-fit"
AS_OF = "2026-09-30"


@dataclass(frozen=True)
class Registry:
    root: Path
    """The working folder: data/ (the export), reports/, mlflow.db and mlruns/."""
    uri: str
    first: str
    """What `icpfit train` printed for v1 (as of 2026-06-30), stdout and stderr."""
    second: str
    """What `icpfit train --promote never --report reports/2026Q3.html` printed for v2."""

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def config(self) -> Path:
        return self.data / "icpfit.yaml"

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def inputs(self) -> tuple[str, ...]:
        """`icpfit score` options for the tables the models read beside the account rows."""
        return (
            *("--technologies", str(self.data / "technologies.csv")),
            *("--signals", str(self.data / "signals.csv")),
            *("--as-of", AS_OF),
        )

    def model_rows(self, n: int, as_of: str = AS_OF) -> pd.DataFrame:
        """The first `n` accounts as a pyfunc call or a REST request carries them: the export's
        columns, the technologies as one delimited `tech_stack` column and each signal type's
        count over the 12 months up to `as_of` (`signals_<type>_12m`)."""
        rows = pd.read_csv(self.data / "accounts.csv").head(n)
        technologies = pd.read_csv(self.data / "technologies.csv", dtype=str)
        stacks = technologies.groupby("account_id")["technology"].agg(";".join)
        signals = pd.read_csv(self.data / "signals.csv", parse_dates=["date"])
        end = pd.Timestamp(as_of)
        recent = signals[
            (signals["date"] > end - pd.Timedelta(days=365)) & (signals["date"] <= end)
        ]
        counts = pd.crosstab(recent["account_id"], recent["signal_type"]).reindex(
            index=rows["account_id"], columns=sorted(signals["signal_type"].unique()), fill_value=0
        )
        return rows.assign(
            tech_stack=rows["account_id"].map(stacks).to_numpy(),
            **{f"signals_{kind}_12m": counts[kind].to_numpy(float) for kind in counts.columns},
        )


def registry_state(client: MlflowClient) -> dict:
    """Versions with their tags, descriptions and aliases, and the runs: what a test could move."""
    versions = {
        str(v.version): (v.run_id, v.description, dict(v.tags), sorted(v.aliases))
        for v in client.search_model_versions(f"name='{MODEL}'")
    }
    experiment = client.get_experiment_by_name(MODEL)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return {"versions": versions, "runs": sorted((r.info.run_id, r.info.status) for r in runs)}


def use_store(monkeypatch: pytest.MonkeyPatch, uri: str) -> None:
    """Point MLflow (and the CLI, which reads MLFLOW_TRACKING_URI) at `uri` for one test."""
    mlflow.set_tracking_uri(None)  # unpins a URI the last CLI call set; this also clears the env
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)


@pytest.fixture(autouse=True)
def _mlflow_global_tracking_uri_is_restored() -> Iterator[None]:
    """`icpfit` commands call mlflow.set_tracking_uri, which pins a process-wide URI and writes
    MLFLOW_TRACKING_URI into os.environ; neither may leak into the next test."""
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow.set_tracking_uri(None)
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    root = tmp_path_factory.mktemp("registry")
    try:
        with store_in(root):
            invoke("sample-data", "--out", "data", "--accounts", "6000", "--seed", "4")
            first = invoke("train", "--config", "data/icpfit.yaml", "--as-of", "2026-06-30")
            second = invoke(
                "train",
                "--config",
                "data/icpfit.yaml",
                "--as-of",
                "2026-09-30",
                "--promote",
                "never",
                "--report",
                "reports/2026Q3.html",
            )
    finally:
        mlflow.set_tracking_uri(None)
    return Registry(root, f"sqlite:///{root / 'mlflow.db'}", first.output, second.output)


@pytest.fixture
def shared(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """The session's registry, read-only: the test runs in its folder against its store, and
    fails if it changed a version, an alias or a run."""
    monkeypatch.chdir(registry.root)
    use_store(monkeypatch, registry.uri)
    before = registry_state(registry.client())
    yield registry
    assert registry_state(registry.client()) == before, "a read-only test changed the registry"


@pytest.fixture
def store_copy(registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the session's store for a test that writes to the registry; the test
    runs in its own tmp_path. Returns the copy's tracking URI."""
    shutil.copy(registry.root / "mlflow.db", tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    use_store(monkeypatch, uri)
    return uri
