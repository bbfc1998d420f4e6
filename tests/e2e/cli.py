"""Running the `icpfit` command in-process against a real MLflow store in a temp folder."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpfit.cli import app

runner = CliRunner()


def invoke(*args, code: int = 0):
    """`icpfit ARGS`; fails the test unless it exits with `code`."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exit_code != code:
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        failure = "".join(traceback.format_exception(*result.exc_info)) if crashed else ""
        pytest.fail(
            f"icpfit {' '.join(map(str, args))} exited {result.exit_code}, not {code}:\n"
            f"{result.output}{failure}"
        )
    return result


@contextmanager
def store_in(root: Path) -> Iterator[Path]:
    """Work in `root` with an SQLite tracking store there (for module-scoped fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        yield root
