"""File I/O at the edge: reading CRM tables, writing outputs atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from icpfit.config import TABLES, IcpConfig
from icpfit.features.parsing import ids_as_text
from icpfit.features.problems import Problem, RawTable
from icpfit.table_text import (
    UnreadableTable,
    csv_problem,
    decoded_text,
    other_separator,
    repeated_column,
)


class ExportError(ValueError):
    """The export has errors; the message has one line per error (file, column, rows, fix)."""


class InputError(ValueError):
    """A file or value given on the command line cannot be used; the message says which and
    what to do."""


ID_COLUMNS = ("account_id", "opportunity_id")
"""Read as text exactly as written: `NA`, `None`, `null`, `0012` are ids, not blanks or numbers."""
MISSING_WORDS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "<NA>", "N/A", "NA", "NULL", "None", "n/a", "null"}
)
"""CSV cells that mean 'no value' (pandas' list, without its spellings of NaN)."""
NAN_WORDS = frozenset({"nan", "NaN", "-nan", "-NaN", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN"})
"""Spellings of a float NaN: missing in a text column, a bad value in a numeric one."""


def read_table(
    path: Path,
    text_columns: Collection[str] = ID_COLUMNS,
    number_columns: Collection[str] = (),
) -> pd.DataFrame:
    """A CSV's cells as text, so that type problems are ours to report row by row; a Parquet
    file's columns as stored. `text_columns` (ids) are kept exactly as written, and Parquet
    integers there become their decimal text. Blank cells and `MISSING_WORDS` are missing;
    `NAN_WORDS` too, except in `number_columns`, where they are values to report."""
    if path.suffix.lower() == ".csv":
        return _missing_words(_read_csv(path), set(text_columns), set(number_columns))
    return _read_parquet(path, set(text_columns))


def _read_csv(path: Path) -> pd.DataFrame:
    text = decoded_text(path.read_bytes(), path.name)
    if not text.strip():
        raise UnreadableTable(
            f"{path.name}: the file is empty (no header, no rows); fix: export the table again "
            "with its header row"
        )
    header = next(csv.reader(io.StringIO(text), skipinitialspace=True))
    if (other := other_separator(header)) is not None:
        raise UnreadableTable(
            f"{path.name}: the header is one column, {header[0][:60]!r}: the file is separated "
            f"by {other}, not commas; fix: export it comma-separated (Excel: Save As 'CSV UTF-8')"
        )
    if (repeated := repeated_column(header)) is not None:
        raise UnreadableTable(f"{path.name}: {repeated}")
    try:
        return pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except pd.errors.ParserError as exc:
        raise UnreadableTable(
            f"{path.name}: not a well-formed CSV table: {csv_problem(exc)}"
        ) from None


def _missing_words(frame: pd.DataFrame, text: set[str], numbers: set[str]) -> pd.DataFrame:
    """Cells that mean 'no value' as missing: only blanks in `text` columns (ids)."""

    def words(column: str) -> frozenset[str]:
        if column in text:
            return frozenset({""})
        return MISSING_WORDS if column in numbers else MISSING_WORDS | NAN_WORDS

    return frame.assign(**{c: frame[c].mask(frame[c].isin(words(c))) for c in frame.columns})


def _read_parquet(path: Path, text_columns: set[str]) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableTable(
            f"{path.name}: not a readable Parquet file ({reason}); fix: export it again (a file "
            "cut short or still being written reads like this), or export the table as CSV"
        ) from None
    if (repeated := repeated_column(table.column_names)) is not None:
        raise UnreadableTable(f"{path.name}: {repeated}")
    for column in text_columns & set(table.column_names):
        position = table.column_names.index(column)
        table = table.set_column(position, column, ids_as_text(table.column(position)))
    return table.to_pandas()


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
        table, problem = _read_one(config, name, path)
        if problem is not None:
            problems.append(problem)
        if table is not None:
            tables[name] = table
    return tables, problems


def _read_one(config: IcpConfig, name: str, path: Path) -> tuple[RawTable | None, Problem | None]:
    """One table with canonical column names, or the problem that stops it being read."""
    exported = config.column_map(name)
    text = [exported.get(c, c) for c in ID_COLUMNS]
    numbers = [exported.get(c, c) for c in number_columns(config, name)]
    try:
        frame = read_table(path, text, numbers)
    except UnreadableTable as exc:
        message = str(exc) if str(exc).startswith(path.name) else f"{path.name}: {exc}"
        return None, Problem("error", path.name, None, message)
    except Exception as exc:  # any other unreadable file is a data problem, reported the same
        message = f"{path.name}: cannot be read as {path.suffix[1:]}: {exc}"
        return None, Problem("error", path.name, None, message)
    renames = {export: canonical for canonical, export in exported.items()}
    frame = frame.rename(columns=renames).reset_index(drop=True)
    clash = frame.columns[frame.columns.duplicated()].unique()
    if len(clash):
        canonical = clash[0]
        sources = [c for c in frame.columns if c == canonical]
        mapped = exported.get(canonical, canonical)
        return None, Problem(
            "error",
            path.name,
            canonical,
            f"{path.name}: both '{mapped}' (mapped under columns.{name}.{canonical} in "
            f"{_config_name(config)}) and a column named '{canonical}' would be '{canonical}' "
            f"({len(sources)} columns); fix: drop or rename one of them in the export",
        )
    return RawTable(name=name, path=str(path), frame=frame), None


def number_columns(config: IcpConfig, table: str) -> tuple[str, ...]:
    """The canonical columns of `table` that hold numbers."""
    if table == "accounts":
        features = config.features
        return (*features.firmographic.numeric, *features.behavioral.numeric)
    return {"opportunities": ("amount",), "revenue": ("mrr",), "signals": ("value",)}.get(table, ())


def _config_name(config: IcpConfig) -> str:
    return config.source.name if config.source else "the config"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary file beside `target` (`temp_name`), renamed onto it only if the block
    succeeds, with the mode a new file gets under the user's umask. What killed runs for the
    same `target` left (kill -9, a power cut) is removed first (`remove_leftovers`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    tmp = temp_name(target, "tmp")
    tmp.unlink(missing_ok=True)  # left by an earlier process that had our pid
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def temp_folder(target: Path, kind: str) -> Iterator[Path]:
    """A private scratch folder beside `target` (`temp_name`), removed when the block ends; one
    a killed run left is removed by the next run for the same `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    folder = temp_name(target, kind)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def temp_name(target: Path, kind: str) -> Path:
    """`.<name>.icpfit-<kind>-<pid>` beside `target`: a later run for the same target knows it
    by its name, and removes it once that process is gone. `kind`: letters only."""
    return target.parent / f".{target.name}.icpfit-{kind}-{os.getpid()}"


def leftovers(target: Path) -> list[Path]:
    """The `temp_name`s beside `target` whose process no longer runs."""
    prefix = f".{target.name}.icpfit-"
    found = []
    for entry in os.scandir(target.parent) if target.parent.is_dir() else []:
        kind, _, pid = entry.name.removeprefix(prefix).rpartition("-")
        named = entry.name.startswith(prefix) and kind.isalpha() and pid.isdigit()
        if named and not pid_alive(int(pid)):
            found.append(Path(entry.path))
    return found


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the temp files and folders that killed runs for `target` left beside it."""
    stale = leftovers(target)
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (another user's counts; so does any pid on
    Windows, where there is no harmless probe)."""
    if os.name == "nt" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_umask() -> int:
    """The process's umask: from /proc where Linux shows it, else set to 077 and back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_table(frame: pd.DataFrame, target: Path) -> None:
    """`frame` as CSV or Parquet at `target`, whole or not at all (`atomic_path`). CSV goes
    through `serving.batch.csv_text`, which quotes a cell holding a lone carriage return (pandas
    leaves it bare, so any reader would split its row in two); dates are written as days."""
    from icpfit.serving.batch import csv_text  # serving.batch imports this module

    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".csv":
            tmp.write_text(csv_text(dates_as_days(frame)), encoding="utf-8", newline="")
        else:
            frame.to_parquet(tmp, index=False)


def dates_as_days(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with its datetime columns as `YYYY-MM-DD` text (missing stays
    missing), as `to_csv(date_format="%Y-%m-%d")` writes them; by position, so repeated or
    non-text column names are fine."""
    is_date = pd.api.types.is_datetime64_any_dtype
    dates = [i for i, dtype in enumerate(frame.dtypes) if is_date(dtype)]
    if not dates:
        return frame
    days = frame.copy()
    for position in dates:
        days.isetitem(position, frame.iloc[:, position].dt.strftime("%Y-%m-%d"))
    return days


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
