"""Which tracking store icpfit talks to, and the lock that serializes trains on a local one."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import mlflow

from icpfit.guards import store_lock

_log = logging.getLogger("icpfit.registry")


def tracking(uri: str | None = None) -> str:
    """Point MLflow at `uri`, else MLFLOW_TRACKING_URI, else an SQLite store in the working dir."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    mlflow.set_tracking_uri(uri)
    return uri


def tracking_uri() -> str:
    return mlflow.get_tracking_uri()


def train_lock(uri: str, on_wait: Callable[[str], object]) -> AbstractContextManager[None]:
    """Serialize trains on one store: for an SQLite store, a lock on `<database>.icpfit-lock`
    beside the database; for a file store, on `.icpfit-lock` in its folder. `on_wait` gets the
    "waiting for another train" message when another process holds it. A tracking server or
    database server gets no lock (the README says what happens there)."""
    lock_file = _lock_file(uri)
    if lock_file is None:
        return nullcontext()

    def waiting(pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        message = f"waiting for another train on {uri} ({holder}) to finish…"
        _log.warning(message)
        on_wait(message)

    return store_lock(lock_file, waiting)


def _lock_file(uri: str) -> Path | None:
    """Where the lock of a local store lives; None for a server or an in-memory database."""
    scheme, _, rest = uri.partition(":")
    if scheme == "sqlite":
        database = Path(rest.removeprefix("///").split("?", 1)[0])
        if database.name in ("", ":memory:") or not database.parent.is_dir():
            return None
        return database.with_name(database.name + ".icpfit-lock")
    if scheme == "file":
        folder = Path(rest.removeprefix("//"))
    elif "://" not in uri and not uri.startswith("databricks"):
        folder = Path(uri)  # a plain path: a file store
    else:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder / ".icpfit-lock"
