"""Running the `icpfit` command in-process against a real MLflow store in a temp folder."""

from __future__ import annotations

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
    assert result.exit_code == code, result.output
    return result


@contextmanager
def store_in(root: Path) -> Iterator[Path]:
    """Work in `root` with an SQLite tracking store there (for module-scoped fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        yield root
