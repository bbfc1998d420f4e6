"""Real servers on localhost for the e2e tests: a free port, and the team server's own code to
start `mlflow server` (team/server.py), so the tests start it the way the README does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from team.server import ServerError, mlflow_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def sqlite_mlflow_server(folder: Path) -> Iterator[str]:
    """`mlflow server` on an SQLite store in `folder` (server.db), proxying artifacts to
    `folder`/artifacts, on a free port; its URL. Fails the test with the server's log if it
    does not come up; stopped afterwards."""
    backend = f"sqlite:///{folder / 'server.db'}"
    artifacts, port = str(folder / "artifacts"), free_port()
    try:
        with mlflow_server(
            backend, artifacts, host="127.0.0.1", port=port, log=folder / "mlflow.log", workers=1
        ) as server:
            yield server.url
    except ServerError as exc:
        pytest.fail(str(exc))
