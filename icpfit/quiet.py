"""icpfit's output is its own (issue 17): MLflow's INFO lines ("Created version '2' of model
…"), its warnings about our own signature and its artifact download progress bars are hidden
unless `--verbose`. Errors still surface: as exceptions, through icpfit's one error path."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


def quiet_mlflow(verbose: bool) -> None:
    """Before any MLflow call of a command: MLflow logs at WARNING, its Python warnings and
    its progress bars are off. `verbose` leaves MLflow as it is."""
    if verbose:
        return
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # "🏃 View run … at: http…"
    os.environ["MLFLOW_LOGGING_LEVEL"] = "WARNING"  # read when mlflow is first imported
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # in case it already was
    warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


@contextmanager
def mlflow_prints_hidden() -> Iterator[None]:
    """Around MLflow calls that print to stderr whatever the log level (registering a model
    prints "Successfully registered model …" and "Created version …"), when MLflow's INFO
    lines are hidden too (`quiet_mlflow`: not with --verbose)."""
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM

    before = MLFLOW_LOGGING_STREAM.enabled
    shown = logging.getLogger("mlflow").isEnabledFor(logging.INFO)
    MLFLOW_LOGGING_STREAM.enabled = before and shown
    try:
        yield
    finally:
        MLFLOW_LOGGING_STREAM.enabled = before
