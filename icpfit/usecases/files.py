"""The files of the scoring commands, checked before any work and read with errors in words:
an output that cannot be written, an input that is empty, repeats a column, is corrupt, has a
row with too many cells or is not UTF-8 text each end in one message naming the file and the
fix, never a reader's traceback."""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from icpfit.io import InputError
from icpfit.serving.batch import input_columns

PARQUET_SUFFIXES = (".parquet", ".pq")


def same_file(a: Path, b: Path) -> bool:
    """The same file by path (symlinks resolved) or, for two existing files, by inode."""
    if a.resolve() == b.resolve():
        return True
    return a.exists() and b.exists() and os.path.samefile(a, b)


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


def first_line(message: str, exc: Exception) -> str:
    return next(iter(message.strip().splitlines()), type(exc).__name__)
