"""Streaming batch scoring: pyarrow batches in, one scored row per input row out, written once.

Cells are read as text and typed by the scorer, so a bad value becomes that row's `error` instead
of failing the batch. The output goes to a temporary file renamed into place at the end
(`icpfit.io.atomic_path`, the one atomic writer) and repeated ids are counted in a scratch folder
beside it (`icpfit.io.temp_folder`): both are named `.<output>.icpfit-<kind>-<pid>`, so what a
killed run leaves is removed by the next run for the same output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icpfit.guards import pause_for_test
from icpfit.io import MISSING_WORDS, InputError, atomic_path, temp_folder
from icpfit.serving.schema import arrow_schema

BATCH_ROWS = 50_000
CSV_BLOCK_BYTES = 1 << 24


@dataclass(frozen=True)
class ScoringSummary:
    rows: int
    errors: int
    duplicate_ids: int
    tiers: dict[str, int]
    written: int | None = None
    """Rows written, when a delivery step kept only some of them (`--changed-only`)."""


def input_columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:  # Excel's BOM
            return next(csv.reader(handle), [])
    return pq.ParquetFile(path).schema_arrow.names


def read_batches(
    path: Path,
    batch_rows: int = BATCH_ROWS,
    id_columns: Collection[str] = ("account_id",),
    block_bytes: int = CSV_BLOCK_BYTES,
) -> Iterator[pd.DataFrame]:
    """Batches of about `batch_rows` rows (CSV: of `block_bytes`); CSV cells all as text, read
    as training reads them: blanks and `icpfit.io.MISSING_WORDS` ('NA', 'null', ...) are
    missing, except in `id_columns`, where an id is kept exactly as written ('NA' is an account).

    A quoted CSV cell may hold line breaks (an address, a note exported from a CRM): without
    `newlines_in_values` Arrow cuts blocks at any line break and fails when one falls inside
    such a cell. It costs nothing measurable here (300k rows, 30 MB: about 115 ms with or
    without): this reader streams, so its blocks are cut in one thread in any case. The file
    is read through `KeepCrlf` (Arrow bug 51368).

    Parquet is read without pre-buffering: with it, Arrow keeps every row group's raw bytes
    until the file is done, so memory grew with the file (about 30 MB per million rows)."""
    if path.suffix.lower() == ".csv":
        columns = input_columns(path)
        with path.open("rb") as raw:
            reader = pacsv.open_csv(
                KeepCrlf(raw),
                read_options=pacsv.ReadOptions(block_size=block_bytes),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in columns},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            last = None
            for batch in reader:
                if last is not None:
                    yield last
                last = _missing_cells(batch.to_pandas(), set(id_columns))
            if last is not None:
                check_closed_quotes(path, last)
                yield last
        return
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows):
        yield batch.to_pandas()


def check_closed_quotes(path: Path, last: pd.DataFrame) -> None:
    """Raise when the file ends inside a quoted cell of its last column: Arrow then reads the
    rest of the file, line breaks and all, as that one cell, without an error, and the rows
    after the quote would vanish. (A quote left open in another column leaves its row short of
    cells, which Arrow reports.)"""
    if last.empty or last.shape[1] == 0:
        return
    cell = last.iloc[-1, -1]
    if not isinstance(cell, str) or ("\n" not in cell and "\r" not in cell):
        return
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 64))
        tail = handle.read().rstrip(b"\r\n")
    if tail.endswith(b'"'):
        return
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    opened = lines + 1 - cell.count("\n")
    raise InputError(
        f"{path.name}: a quote opened on line {max(opened, 1)} (column '{last.columns[-1]}') is "
        "never closed, so the rest of the file reads as one cell; close it (a quote inside a "
        'value is written twice: "") and export the file again'
    )


class KeepCrlf(io.RawIOBase):
    """A binary file whose reads never end in a carriage return, except at its end.

    Arrow's CSV reader drops the line feed of a quoted "\\r\\n" whose carriage return ends
    one read of the file and whose line feed starts the next (apache/arrow#51368, open in
    pyarrow 25): the cell silently loses a byte. Held back, the carriage return starts the
    next read with its line feed."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self._held = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if 0 <= size <= len(self._held):
            data, self._held = self._held[:size], self._held[size:]
            return data
        fresh = self._raw.read(size - len(self._held) if size >= 0 else -1)
        data, self._held = self._held + fresh, b""
        kept = data.rstrip(b"\r")
        if kept and fresh:  # at the end of the file, or all carriage returns: as they are
            data, self._held = kept, data[len(kept) :]
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _missing_cells(batch: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """Missing words as missing (None), blanks only in id columns."""
    return batch.assign(
        **{
            c: batch[c].mask(batch[c].isin({""} if c in ids else MISSING_WORDS), None)
            for c in batch.columns
        }
    )


def score_file(
    source: Path,
    target: Path,
    score_batch: Callable[[pd.DataFrame], pd.DataFrame],
    on_rows: Callable[[int], None] = lambda n: None,
    batch_rows: int = BATCH_ROWS,
    deliver: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    excel: bool = False,
) -> ScoringSummary:
    """Score `source` batch by batch into `target`; nothing is left at `target` on failure.

    `score_batch` returns the scored table of `serving.schema`, provenance stamped; the summary
    counts it. `deliver` then turns each scored batch into the rows written (compared with a
    previous run, only the changed ones, a CRM's names). `excel`: CSV starts with a UTF-8 BOM.
    Anything `deliver` reads from `target` must be read before this starts: `target` is
    replaced when the run ends."""
    deliver = deliver or (lambda scored: scored)
    as_csv = target.suffix.lower() == ".csv"
    rows = errors = written = 0
    tiers: dict[str, int] = {}
    writer = None
    with atomic_path(target) as tmp, temp_folder(target, "ids") as ids:
        repeated = RepeatedIds(ids)
        for batch in read_batches(source, batch_rows):
            out = score_batch(batch)
            repeated.add(out["account_id"])
            rows += len(out)
            errors += int(out["error"].notna().sum())
            for tier, n in out["fit_tier"].value_counts().items():
                tiers[tier] = tiers.get(tier, 0) + int(n)
            kept = deliver(out)
            writer = _write(kept, tmp, writer, as_csv, excel)
            written += len(kept)
            on_rows(len(out))
            pause_for_test("batch")
        if writer is None:
            empty = pd.DataFrame({c: pd.Series(dtype=object) for c in input_columns(source)})
            writer = _write(deliver(score_batch(empty)), tmp, None, as_csv, excel)
        if isinstance(writer, pq.ParquetWriter):
            writer.close()
        duplicates = repeated.count()
    return ScoringSummary(rows, errors, duplicates, tiers, written)


def _write(out: pd.DataFrame, tmp: Path, writer, as_csv: bool, excel: bool = False):
    """Append a batch: CSV with the header once (after a BOM for Excel), Parquet with one
    fixed schema."""
    if as_csv:
        encoding = "utf-8-sig" if excel and writer is None else "utf-8"
        with tmp.open("a", encoding=encoding, newline="") as handle:
            handle.write(csv_text(out, header=writer is None))
        return "csv"
    schema = output_schema(out)
    table = pa.Table.from_pandas(
        out.astype({c: object for c in out.columns if schema.field(c).type == pa.string()}),
        schema=schema,
        preserve_index=False,
        nthreads=1,
    )
    writer = writer or pq.ParquetWriter(tmp, schema)
    writer.write_table(table)
    return writer


def csv_text(frame: pd.DataFrame, header: bool = True) -> str:
    """`frame` as CSV text in which every cell holding a line break, a carriage return, a
    comma or a quote is quoted. Python's csv writer (under pandas) quotes a lone carriage return
    only when the line terminator holds one, so any reader would break that row in two: a batch
    holding one anywhere is written with all its text quoted (numbers bare, a blank as ""),
    which every reader reads back as the same cells."""
    text = frame.to_csv(index=False, header=header)
    if "\r" not in text:
        return text
    return frame.to_csv(index=False, header=header, quoting=csv.QUOTE_NONNUMERIC)


def output_schema(out: pd.DataFrame) -> pa.Schema:
    """The scored table's types (`serving.schema`); a column it does not define (the change
    columns, a CRM's fields) typed by its pandas dtype: nullable integers, floats, else text."""
    known = arrow_schema(list(out.columns))
    types = []
    for column, dtype in out.dtypes.items():
        if pd.api.types.is_integer_dtype(dtype):
            types.append((column, pa.int64()))
        elif pd.api.types.is_float_dtype(dtype) and known.field(column).type == pa.string():
            types.append((column, pa.float64()))
        else:
            types.append((column, known.field(column).type))
    return pa.schema(types)


def read_previous(path: Path, columns: set[str]) -> pd.DataFrame:
    """The columns of a previous scored file (CSV or Parquet) that are in `columns`, as text,
    read whole: the file may be the output this run replaces."""
    if path.suffix.lower() == ".csv":
        return pd.read_csv(
            path,
            dtype=str,
            encoding="utf-8-sig",
            usecols=lambda c: c in columns,
            keep_default_na=False,
            na_values=[""],
        )
    names = [c for c in pq.ParquetFile(path).schema_arrow.names if c in columns]
    return pd.read_parquet(path, columns=names).astype("string")


def tech_stacks(path: Path, separator: str, renames: dict[str, str] | None = None) -> pd.Series:
    """A long technologies table (account_id, technology) as one delimited stack per account;
    `renames`: canonical name -> the export's, as the config maps them."""
    table = (
        pd.read_csv(path, dtype=str)
        if path.suffix.lower() == ".csv"
        else pd.read_parquet(path).astype("string")
    ).rename(columns={v: k for k, v in (renames or {}).items()})
    missing = [c for c in ("account_id", "technology") if c not in table.columns]
    if missing:
        raise ValueError(f"{path.name}: missing required column '{missing[0]}'")
    table = table.dropna(subset=["account_id", "technology"]).drop_duplicates(
        ["account_id", "technology"]
    )
    return table.groupby("account_id")["technology"].agg(separator.join)


def with_tech_stacks(
    batch: pd.DataFrame, stacks: pd.Series, column: str, id_column: str
) -> pd.DataFrame:
    return batch.assign(**{column: batch[id_column].map(stacks)})


class RepeatedIds:
    """Counts rows whose account_id came earlier in the file, in memory that does not grow
    with it: ids are hashed to 64 bits, buffered up to a million, then appended to one of 256
    files by their top byte; at the end each file is sorted on its own (10M rows sort 256 arrays
    of ~40k hashes)."""

    BUCKETS = 256

    def __init__(self, directory: Path, buffer_rows: int = 1_000_000) -> None:
        self._directory = directory
        self._buffer_rows = buffer_rows
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._written: set[int] = set()

    def add(self, ids: pd.Series) -> None:
        hashes = pd.util.hash_pandas_object(ids.dropna().astype(str), index=False).to_numpy()
        self._buffer.append(hashes)
        self._buffered += len(hashes)
        if self._buffered >= self._buffer_rows:
            self._flush()

    def count(self) -> int:
        self._flush()
        repeated = 0
        for b in sorted(self._written):
            hashes = np.fromfile(self._directory / f"{b:03d}", dtype=np.uint64)
            hashes.sort()
            repeated += int((hashes[1:] == hashes[:-1]).sum())
        return repeated

    def _flush(self) -> None:
        hashes = np.concatenate([np.empty(0, dtype=np.uint64), *self._buffer])
        self._buffer, self._buffered = [], 0
        bucket = (hashes >> np.uint64(56)).astype(np.intp)
        order = np.argsort(bucket, kind="stable")
        ends = np.cumsum(np.bincount(bucket, minlength=self.BUCKETS))
        for b, part in enumerate(np.split(hashes[order], ends[:-1])):
            if len(part):
                with (self._directory / f"{b:03d}").open("ab") as handle:
                    part.tofile(handle)
                self._written.add(b)
