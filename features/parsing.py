"""Typed columns from text cells, with the rows that did not parse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates as tz-naive day timestamps; unparseable cells become NaT (callers report them)."""
    if ptypes.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_convert(None) if values.dt.tz is not None else values
        return parsed.dt.normalize().astype("datetime64[ns]")
    text = values.astype("string").str.strip().replace("", pd.NA)
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    retry = parsed.isna() & text.notna()
    if retry.any():
        parsed = parsed.copy()
        parsed[retry] = pd.to_datetime(text[retry], errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_convert(None).dt.normalize().astype("datetime64[ns]")


def parse_numbers(values: pd.Series) -> pd.Series:
    """Floats; cells that are not numbers become NaN (callers report them).

    Arrow parses a column at once when every cell is a number; otherwise pandas does, cell by
    cell. Both read the same numbers (a property test holds them to it)."""
    if ptypes.is_bool_dtype(values):
        return values.astype(float)
    if ptypes.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip().replace("", pd.NA)
    try:
        parsed = pc.cast(arrow_text(text), pa.float64()).to_numpy(zero_copy_only=False)
        return pd.Series(parsed, index=values.index, name=values.name)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype(float)


def unparsed(raw: pd.Series, parsed: pd.Series) -> pd.Series:
    """Cells that had a value but did not parse."""
    present = raw.notna()
    if raw.dtype == object or ptypes.is_string_dtype(raw):
        present &= raw.astype("string").str.strip().ne("").fillna(False).astype(bool)
    return present & parsed.isna()


def clean_text(values: pd.Series) -> pd.Series:
    """Stripped text with empty cells as missing; numbers from Parquet become their text."""
    text = values.astype("string").str.strip()
    return text.mask(text.eq(""))


def month_start(dates: pd.Series) -> pd.Series:
    return dates.dt.to_period("M").dt.to_timestamp()


def month_end(dates: pd.Series) -> pd.Series:
    return dates.dt.to_period("M").dt.to_timestamp(how="end").dt.normalize()


def is_member(values: pd.Series | pd.Index, universe: pd.Series | pd.Index) -> np.ndarray:
    """`values.isin(universe)` by hashing; Arrow string `isin` is slow for large universes."""
    return pd.Index(universe).unique().get_indexer(values) >= 0


def arrow_text(values: pd.Series) -> pa.Array:
    """The column as one Arrow string array (pandas may hold it in several chunks)."""
    array = pa.array(values.astype("string"))
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
