"""The files and models of the commands that score accounts (`score`, `explain`, `compare`),
checked before any work and read with errors in words: an output that cannot be written or
would replace an input, an input that is empty, repeats a column, lacks what the model uses, is
corrupt, has a row with too many cells or is not UTF-8 text, a model URI that names no model
each end in one message naming the file (or URI) and the fix, never a reader's traceback."""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
from mlflow.exceptions import MlflowException

from icpfit.io import InputError
from icpfit.serving.batch import input_columns
from icpfit.serving.inputs import ModelInputs, missing_families
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.usecases.joins import Join

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
PARQUET_SUFFIXES = (".parquet", ".pq")
MODEL_URIS = "give models:/NAME@ALIAS, models:/NAME/VERSION or the path of a logged model"


def check_table_suffix(path: Path, role: str) -> None:
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"{role} {path}: use a .csv or .parquet file")


def check_input_file(path: Path, role: str) -> None:
    """`path` is an existing CSV or Parquet file."""
    check_table_suffix(path, role)
    if not path.is_file():
        raise InputError(f"{path}: input file not found")


def same_file(a: Path, b: Path) -> bool:
    """The same file by path (symlinks resolved) or, for two existing files, by inode."""
    if a.resolve() == b.resolve():
        return True
    return a.exists() and b.exists() and os.path.samefile(a, b)


def replaced_input(target: Path, inputs: Mapping[str, Path]) -> str | None:
    """The option of the first of `inputs` (option -> file) that `target` is (`same_file`)."""
    return next((option for option, path in inputs.items() if same_file(path, target)), None)


def check_output_path(target: Path, role: str) -> None:
    """A file can be written at `target`: it is not a folder, and its folder exists or can be
    made (the nearest existing one is a folder we may write in)."""
    if target.is_dir():
        raise InputError(
            f"{role} {target}: is a folder; give a file in it, like {target / 'scored.csv'}"
        )
    folder = target.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{role} {target}: {folder} is a file, not a folder; write elsewhere")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(
            f"{role} {target}: cannot write in {folder} (permission denied); write elsewhere"
        )


def check_output_folder(
    folder: Path, role: str, names: Iterable[str], inputs: Mapping[str, Path]
) -> None:
    """The files `names` can be written in `folder` (made if missing) without replacing one of
    the `inputs` (option -> file): `folder` is not a file, none of its `names` is a folder or an
    input, and the folder can be made and written in."""
    given = replaced_input(folder, inputs)
    if given is not None:
        raise InputError(
            f"{role} {folder} is the {given} file; {role} names a folder for the report's files: "
            "give another"
        )
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"{role} {folder}: is a file; {role} names a folder for the report's files (made if "
            "missing): give another, or remove that file"
        )
    for name in names:
        target = folder / name
        given = replaced_input(target, inputs)
        if given is not None:
            raise InputError(
                f"{role} {folder}: writing {name} there would replace the {given} file; "
                "give another folder"
            )
        if target.is_dir():
            raise InputError(
                f"{role} {folder}: {target} is a folder, where the report writes its file {name}; "
                "remove it or give another folder"
            )
        check_output_path(target, role)


@contextmanager
def loading_model(uri: str) -> Iterator[None]:
    """A URI that names no loadable model (a wrong path or run, a model whose files are gone)
    said in words; a registry name, version or alias it lacks is `ModelNotFound`, which lists
    what the registry has, and passes through."""
    try:
        yield
    except MlflowException as exc:
        raise InputError(f"no model at {uri}: {exc.message}; {MODEL_URIS}") from None
    except OSError as exc:
        raise InputError(f"no model at {uri}: {exc.strerror or exc}; {MODEL_URIS}") from None


def check_input_families(
    input_path: Path, model: IcpFitModel, join: Join, label: str | None = None
) -> None:
    """The file's header, with what `join` adds, against the inputs the model uses; `label`
    names the model in the message when there are two."""
    mapping = model.bundle["accounts_columns"]
    header = pd.DataFrame(columns=read_header(input_path), dtype="string")
    id_name = mapping.get("account_id", "account_id")
    where = f"{input_path.name}: {label}" if label else input_path.name
    if id_name not in header.columns:
        raise InputError(
            f"{where}: missing required column '{id_name}' "
            f"(columns found: {', '.join(map(str, header.columns[:8]))})"
        )
    columns = join(header).rename(columns={v: k for k, v in mapping.items()}).columns
    problems = missing_families(columns, ModelInputs.of(model.bundle))
    if problems:
        raise InputError("\n".join(f"{where}: {p}" for p in problems))


def read_header(path: Path) -> list[str]:
    """The input's column names; a file that cannot be read, is empty, or names a column twice
    is an InputError naming the file and the fix."""
    with reading(path):
        columns = input_columns(path)
    if not columns:
        raise InputError(
            f"{path.name}: the file is empty; it needs a header row naming its columns "
            "(account_id and the model's inputs) and one row per account"
        )
    repeated = [c for c, n in Counter(columns).items() if n > 1]
    if repeated:
        places = [i + 1 for i, c in enumerate(columns) if c == repeated[0]]
        raise InputError(
            f"{path.name}: column '{repeated[0]}' appears {len(places)} times in the header "
            f"(columns {', '.join(map(str, places))}); rename or remove the copies"
        )
    return columns


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Errors reading `path` (a corrupt or truncated Parquet file, a CSV row with more cells
    than the header, text that is not UTF-8) as an InputError naming the file and the fix; an
    error with an errno (a disk, a permission) and any other error pass through."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InputError(
            not_utf8(path, f"byte {exc.object[exc.start]:#04x} at {exc.start:,}")
        ) from None
    except (pa.ArrowInvalid, OSError, csv.Error) as exc:
        problem = unreadable(path, exc)
        if problem is None:
            raise
        raise InputError(problem) from None


def not_utf8(path: Path, where: str) -> str:
    """`path` is text in another encoding than UTF-8: which (UTF-16 has a byte-order mark;
    anything else is most often Latin-1) and how to convert it."""
    with path.open("rb") as handle:
        utf16 = handle.read(2) in (b"\xff\xfe", b"\xfe\xff")
    kind, source = ("UTF-16 text", "utf-16") if utf16 else ("not UTF-8 text", "latin1")
    return (
        f"{path.name}: {kind} ({where}); save it as UTF-8 (Excel: Save As > CSV UTF-8) or "
        f"convert it: iconv -f {source} -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}"
    )


RAGGED = re.compile(r"CSV parse error: Expected (\d+) columns, got (\d+): (.*)", re.DOTALL)
READ_PROBLEMS = ("CSV ", "Parquet", "parquet", "thrift", "Unexpected end", "Corrupt", "UTF8")
"""Words of pyarrow's errors about a file's content (its other ArrowInvalid errors are ours)."""


def unreadable(path: Path, exc: Exception) -> str | None:
    """What a reader's error says about the file (None: it is not about the file's content)."""
    message = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return None
    if isinstance(exc, pa.ArrowInvalid) and not any(p in message for p in READ_PROBLEMS):
        return None
    if "invalid UTF8" in message:
        return not_utf8(path, "a cell with bytes that are not UTF-8")
    if ragged := RAGGED.match(message):
        expected, got, row = ragged.groups()
        line = line_starting(path, row.removesuffix(" ...").strip())
        opened = unclosed_quote(path, line) if line and int(got) < int(expected) else None
        if opened is not None:
            return (
                f"{path.name}: a quote opened on line {opened} is never closed, so the rest of "
                "the file reads as one cell; close it (a quote inside a value is written twice: "
                '"") and export the file again'
            )
        where = f" line {line}" if line else ""
        return (
            f"{path.name}{where}: {got} cells where the header has {expected}; quote values "
            'that contain commas or line breaks ("Acme, Inc.") and export the file again'
        )
    kind = "Parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "CSV"
    return (
        f"{path.name}: cannot be read as {kind} ({first_line(message, exc)}); the file "
        f"may be cut short or not {kind} at all: export it again"
    )


def line_starting(path: Path, text: str) -> int | None:
    """The number of the first line of `path` that starts with `text` (None: no such line)."""
    first = text.splitlines()[0] if text else ""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return next(
            (n for n, line in enumerate(handle, 1) if first and line.startswith(first)), None
        )


QUOTE_OR_LINE_END = re.compile(r'["\r\n]')
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def unclosed_quote(path: Path, line: int) -> int | None:
    """The line of a quote opening a cell of the row that starts on `line` of `path`, which no
    later quote closes, so the row runs to the end of the file (None: the row ends). Lines are
    counted as `line_starting` counts them."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for _ in range(line - 1):
            next(handle, None)
        rest = handle.read()
    opened = open_quote(rest)
    return None if opened is None else line + len(LINE_BREAK.findall(rest, 0, opened))


def open_quote(text: str) -> int | None:
    """Where, in the first CSV row of `text`, a quoted cell opens that never closes (None: the
    row ends). As Arrow's reader: a quote opens a cell only as its first character; inside
    one, two quotes are a quote; elsewhere a quote is a character."""
    at = 0
    while (found := QUOTE_OR_LINE_END.search(text, at)) is not None:
        start = found.start()
        if found.group() != '"':
            return None
        if start > 0 and text[start - 1] != ",":
            at = start + 1
            continue
        close = text.find('"', start + 1)
        while close >= 0 and text.startswith('"', close + 1):
            close = text.find('"', close + 2)
        if close < 0:
            return start
        at = close + 1
    return None


def first_line(message: str, exc: Exception) -> str:
    return next(iter(message.strip().splitlines()), type(exc).__name__)
