"""`compare`, `promote`, `rollback`: two registered versions side by side, and the champion."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException

from icpfit.io import InputError, temp_folder, write_table, write_text
from icpfit.registry import (
    load_comparable,
    pair_champions,
    promote_version,
    rollback_champion,
)
from icpfit.serving.batch import read_batches
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.training.comparable import ComparableModel, compare_models
from icpfit.training.compare import Comparison, with_shap
from icpfit.usecases.files import (
    check_input_families,
    check_input_file,
    check_output_folder,
    loading_model,
    reading,
)
from icpfit.usecases.joins import InputTables, Join, join_inputs

REPORT_FILES = (
    "compare.html",
    "tier_migration.csv",
    "tier_moves.csv",
    "feature_drift.csv",
    "importance_change.csv",
    "group_importance_change.csv",
    "icp_filter_diff.csv",
    "holdout_metrics.csv",
    "change_sources.csv",
)
"""What `compare --output` may write (`Comparison.tables` and the page), checked before any
work; the files a comparison has are checked again before they are written."""


@dataclass(frozen=True)
class Promotion:
    model_name: str
    version: str
    previous: str | None
    paired: tuple[str, ...] = ()
    """The versions of other models its run registered (the timing model) that followed it."""


@dataclass(frozen=True)
class Rollback:
    model_name: str
    from_version: str
    to_version: str
    paired: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComparisonReport:
    comparison: Comparison
    output: Path | None
    """The folder with compare.html and the CSV tables, if one was asked for."""


def promote(model_name: str, version: str, reason: str = "") -> Promotion:
    """Make `version` the champion; the version it replaces is recorded for rollback, who did
    it and `reason` are tagged."""
    try:
        previous = promote_version(model_name, str(version), reason)
    except MlflowException as exc:
        raise InputError(f"cannot promote {model_name} v{version}: {exc.message}") from None
    paired = tuple(pair_champions(model_name, version, reason))
    return Promotion(model_name, str(version), previous, paired)


def rollback(model_name: str, reason: str = "") -> Rollback:
    """Move champion back to the version the current champion replaced; who did it and
    `reason` are tagged."""
    try:
        current, previous = rollback_champion(model_name, reason)
    except MlflowException as exc:
        raise InputError(f"cannot roll back {model_name}: {exc.message}") from None
    paired = tuple(pair_champions(model_name, previous, reason))
    return Rollback(model_name, current, previous, paired)


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
    Signals are counted as of `tables.as_of` for both snapshots. Files and model URIs are
    checked as `score` checks them (`usecases.files`), before anything is scored."""
    inputs = given_files(input_path, input_before, tables)
    if output is not None:
        check_output_folder(output, "--output", REPORT_FILES, inputs)
    a, b = comparable_at(model_a), comparable_at(model_b)
    models = {f"{a.label} (A)": a.model, f"{b.label} (B)": b.model}
    joins = {label: join_inputs(model, tables).join for label, model in models.items()}
    rows, before = (account_rows(p, models, joins) for p in (input_path, input_before))
    try:
        comparison = compare_models(a, b, rows, before, psi_threshold)
    except (ValueError, KeyError) as exc:
        raise InputError(f"{input_path.name}: {exc}") from None
    comparison = with_shap(comparison, b.model, rows)
    if output is not None:
        write_report(comparison, output, inputs)
    return ComparisonReport(comparison, output)


def given_files(
    input_path: Path, input_before: Path | None, tables: InputTables
) -> dict[str, Path]:
    """The files compare reads, by option, each checked: the account files are CSV or Parquet
    files that exist, the tables exist."""
    check_input_file(input_path, "--input")
    if input_before is not None:
        check_input_file(input_before, "--input-before")
    for option, path in (("--technologies", tables.technologies), ("--signals", tables.signals)):
        if path is not None and not path.is_file():
            raise InputError(f"{option} {path}: file not found")
    given = {
        "--input": input_path,
        "--input-before": input_before,
        "--technologies": tables.technologies,
        "--signals": tables.signals,
    }
    return {option: path for option, path in given.items() if path is not None}


def comparable_at(uri: str) -> ComparableModel:
    """`load_comparable`, a URI that names no model said as `score` says it."""
    with loading_model(uri):
        return load_comparable(uri)


def account_rows(
    path: Path | None, models: dict[str, IcpFitModel], joins: dict[str, Join]
) -> pd.DataFrame | None:
    """A whole account file in memory, with the given input tables joined for each model (by
    label); its header is checked against what each model uses first, and reading it fails in
    words, as `score` reads it."""
    if path is None:
        return None
    for label, model in models.items():
        check_input_families(path, model, joins[label], label)
    with reading(path):
        batches = list(read_batches(path))
    if not sum(len(batch) for batch in batches):
        raise InputError(
            f"{path.name}: no account rows, only a header; compare scores the file's accounts "
            "with both models: give a file with rows"
        )
    frame = pd.concat(batches, ignore_index=True)
    for join in joins.values():
        frame = join(frame)
    return frame


def write_report(comparison: Comparison, output: Path, inputs: dict[str, Path]) -> None:
    """compare.html and the CSV tables the comparison has, in `output`; checked again by the
    names written, so no table can replace an input. All are written in a scratch folder
    beside `output` (`io.temp_folder`) and moved in only once every one is written, so a
    failure partway (a full disk, an interrupt) leaves `output` as it was."""
    tables = comparison.tables()
    names = [*tables, "compare.html"]
    check_output_folder(output, "--output", names, inputs)
    with temp_folder(output, "report") as scratch:
        for name, table in tables.items():
            write_table(table, scratch / name)
        write_text(comparison.html(), scratch / "compare.html")
        output.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.replace(scratch / name, output / name)
