"""File I/O at the edge: reading CRM tables, writing outputs atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import yaml

from icpfit.config import TABLES, IcpConfig
from icpfit.features.problems import Problem, RawTable


class ExportError(ValueError):
    """The export has errors; the message has one line per error (file, column, rows, fix)."""


class InputError(ValueError):
    """A file or value given on the command line cannot be used; the message says which and
    what to do."""


def read_table(path: Path) -> pd.DataFrame:
    """CSV cells are read as text so that type problems are ours to report, row by row."""
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True)
    return pd.read_parquet(path)


def read_export(config: IcpConfig) -> tuple[dict[str, RawTable], list[Problem]]:
    """Read every configured table and rename its columns to canonical names.

    With `labels.mode: bookings` a configured revenue table is not read (`validate_export` warns).
    """
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for name in TABLES:
        path = config.path_of(name)
        if path is None:
            continue
        if name == "revenue" and config.labels.mode == "bookings":
            continue
        if not path.is_file():
            key = f"data.{name}"
            required = "required" if name in config.required_tables() else "configured"
            problems.append(
                Problem(
                    "error",
                    path.name,
                    None,
                    f"{path.name}: file not found at {path} ({required} table '{name}'); "
                    f"fix: correct {key} in {_config_name(config)}",
                )
            )
            continue
        try:
            frame = read_table(path)
        except Exception as exc:  # a corrupt file is a data problem, reported like the others
            problems.append(
                Problem(
                    "error",
                    path.name,
                    None,
                    f"{path.name}: cannot be read as {path.suffix[1:]}: {exc}",
                )
            )
            continue
        renames = {export: canonical for canonical, export in config.column_map(name).items()}
        frame = frame.rename(columns=renames).reset_index(drop=True)
        tables[name] = RawTable(name=name, path=str(path), frame=frame)
    return tables, problems


def _config_name(config: IcpConfig) -> str:
    return config.source.name if config.source else "the config"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_table(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        else:
            frame.to_parquet(tmp, index=False)


def write_text(text: str, target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(data: bytes, target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_yaml(data: dict, target: Path) -> None:
    write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), target)


def write_json(data: dict, target: Path) -> None:
    write_text(json.dumps(data, indent=2, default=str) + "\n", target)
