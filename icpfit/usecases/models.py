"""`compare`, `promote`, `rollback`: two registered versions side by side, and the champion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException

from icpfit.io import InputError, write_table, write_text
from icpfit.registry import load_comparable, promote_version, rollback_champion
from icpfit.serving.batch import read_batches
from icpfit.training.comparable import compare_models
from icpfit.training.compare import Comparison
from icpfit.usecases.joins import InputTables, Join, join_inputs


@dataclass(frozen=True)
class Promotion:
    model_name: str
    version: str
    previous: str | None


@dataclass(frozen=True)
class Rollback:
    model_name: str
    from_version: str
    to_version: str


@dataclass(frozen=True)
class ComparisonReport:
    comparison: Comparison
    output: Path | None
    """The folder with compare.html and the CSV tables, if one was asked for."""


def promote(model_name: str, version: str) -> Promotion:
    """Make `version` the champion; the version it replaces is recorded for rollback."""
    try:
        previous = promote_version(model_name, str(version))
    except MlflowException as exc:
        raise InputError(f"cannot promote {model_name} v{version}: {exc.message}") from None
    return Promotion(model_name, str(version), previous)


def rollback(model_name: str) -> Rollback:
    """Move champion back to the version the current champion replaced."""
    try:
        current, previous = rollback_champion(model_name)
    except MlflowException as exc:
        raise InputError(f"cannot roll back {model_name}: {exc.message}") from None
    return Rollback(model_name, current, previous)


def compare(
    model_a: str,
    model_b: str,
    input_path: Path,
    input_before: Path | None = None,
    tables: InputTables = InputTables(),
    psi_threshold: float = 0.25,
    output: Path | None = None,
) -> ComparisonReport:
    """Both versions on the same account file (and an earlier snapshot of it, to split model
    from data), with every part their runs' artifacts allow; written to `output` if given.
    Signals are counted as of `tables.as_of` for both snapshots."""
    for path in (input_path, input_before, tables.technologies, tables.signals):
        if path is not None and not path.is_file():
            raise InputError(f"{path}: file not found")
    a, b = load_comparable(model_a), load_comparable(model_b)
    joins = [join_inputs(m.model, tables).join for m in (a, b)]
    try:
        rows = account_rows(input_path, joins)
        before = account_rows(input_before, joins)
        comparison = compare_models(a, b, rows, before, psi_threshold)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{input_path}: {exc}") from None
    if output is not None:
        for name, table in comparison.tables().items():
            write_table(table, output / name)
        write_text(comparison.html(), output / "compare.html")
    return ComparisonReport(comparison, output)


def account_rows(path: Path | None, joins: list[Join]) -> pd.DataFrame | None:
    """A whole account file in memory, with the given input tables joined for each model."""
    if path is None:
        return None
    frame = pd.concat(list(read_batches(path)), ignore_index=True)
    for join in joins:
        frame = join(frame)
    return frame
