"""Typed columns from text cells, with the rows that did not parse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

LARGEST_NUMBER = float(np.finfo(np.float32).max)
"""The largest size a number may have: LightGBM and scikit-learn read features as 32-bit floats,
so a larger one (1e308) would overflow to infinity inside training."""
YEAR_LAST = r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T].*)?$"
"""Dates written with day and month as numbers and the year last: 03/04/2025, 3.4.25, 03-04-2025."""


@dataclass(frozen=True)
class DayMonthOrder:
    """Which readings of each year-last numeric date (`YEAR_LAST`) are valid dates."""

    ambiguous: pd.Series
    """Both readings are valid and differ: 03/04/2025 is 3 April or 4 March."""
    day_first: pd.Series
    """Only the day-first reading is valid: 13/04/2025."""
    month_first: pd.Series
    """Only the month-first reading is valid: 04/13/2025."""
    dates: pd.Series
    """The one valid reading where there is one (NaT where ambiguous or neither is valid)."""

    def needs_format(self) -> bool:
        """True when the order cannot be read from the cells alone: some cell reads both ways,
        or some cells only read day-first and others only month-first."""
        return bool(self.ambiguous.any() or (self.day_first.any() and self.month_first.any()))

    def suggested_format(self, example: str) -> str:
        """The `date_format` the cells point to, in the separator and year width of `example`."""
        parts = pd.Series([example]).str.extract(YEAR_LAST).iloc[0]
        sep, year = parts[1], "%Y" if len(str(parts[3])) == 4 else "%y"
        month_first = self.month_first.any() and not self.day_first.any()
        return sep.join(["%m", "%d", year] if month_first else ["%d", "%m", year])


def day_month_order(text: pd.Series) -> DayMonthOrder:
    """The day-first and month-first readings of the year-last numeric dates among `text`."""
    parts = text.astype("string").str.strip().str.extract(YEAR_LAST)
    first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[2])
    year = pd.to_numeric(parts[3])
    year = year.where(year >= 100, year + 2000)
    day_first = _calendar_date(year, second, first)
    month_first = _calendar_date(year, first, second)
    both = day_first.notna() & month_first.notna()
    ambiguous = both & first.ne(second)
    only_day = day_first.notna() & month_first.isna()
    only_month = month_first.notna() & day_first.isna()
    dates = day_first.where(~ambiguous & day_first.notna(), month_first.where(~ambiguous))
    return DayMonthOrder(ambiguous.fillna(False), only_day, only_month, dates)


def year_last_order(values: pd.Series) -> DayMonthOrder:
    """`day_month_order` of a whole column, reading only the cells that start like a year-last
    numeric date (an ISO column costs one vectorised match)."""
    text = values.astype("string").str.strip()
    maybe = text.str.match(r"\d{1,2}[/.\-]").fillna(False).astype(bool)
    order = day_month_order(text[maybe])
    none = pd.Series(False, index=values.index)
    return DayMonthOrder(
        none.mask(maybe, order.ambiguous).astype(bool),
        none.mask(maybe, order.day_first).astype(bool),
        none.mask(maybe, order.month_first).astype(bool),
        order.dates.reindex(values.index),
    )


def _calendar_date(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """The date of each (year, month, day), NaT where there is no such day."""
    parts = pd.DataFrame({"year": year, "month": month, "day": day}).astype("Float64")
    valid = parts.notna().all(axis=1) & parts["month"].between(1, 12) & parts["day"].ge(1)
    safe = parts.where(valid, pd.DataFrame({"year": 2000.0, "month": 1.0, "day": 1.0}, parts.index))
    dates = pd.to_datetime(safe.astype(int), errors="coerce")
    return dates.where(valid.to_numpy(dtype=bool)).astype("datetime64[ns]")


def parse_dates(values: pd.Series, date_format: str | None = None) -> pd.Series:
    """Dates as tz-naive day timestamps; unparseable cells become NaT (callers report them).

    With `date_format` (a strptime format such as '%d/%m/%Y') cells are read in it, and ISO dates
    are read too. Without it, ISO dates, dates with month names and year-last numeric dates whose
    day and month can only be read one way (13/04/2025); a date that reads two ways (03/04/2025)
    is never guessed: it becomes NaT, and `day_month_order` tells the caller why."""
    if ptypes.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_convert(None) if values.dt.tz is not None else values
        return parsed.dt.normalize().astype("datetime64[ns]")
    text = values.astype("string").str.strip().replace("", pd.NA)
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if date_format is not None:
        given = pd.to_datetime(text, errors="coerce", format=date_format, exact=False, utc=True)
        parsed = given.fillna(parsed)
    retry = parsed.isna() & text.notna()
    if retry.any() and date_format is None:
        parsed = parsed.mask(retry, _without_iso(text[retry]).reindex(text.index))
    return parsed.dt.tz_convert(None).dt.normalize().astype("datetime64[ns]")


def _without_iso(text: pd.Series) -> pd.Series:
    """Dates that are not ISO: year-last numeric ones in their only valid reading (NaT when
    they read two ways), the rest as pandas reads them (3 Apr 2025, April 3, 2025)."""
    year_last = text.str.fullmatch(YEAR_LAST).fillna(False).astype(bool)
    numeric = day_month_order(text[year_last]).dates.dt.tz_localize("UTC")
    named = pd.to_datetime(text[~year_last], errors="coerce", format="mixed", utc=True)
    return pd.concat([numeric, named])


def parse_numbers(values: pd.Series) -> pd.Series:
    """Floats; cells that are not numbers, or not finite ones (inf, nan, 1e400, or larger in
    size than `LARGEST_NUMBER`), become NaN (callers report them: `unparsed`).

    Arrow parses a column at once when every cell is a number; otherwise pandas does, cell by
    cell. Both read the same numbers (a property test holds them to it)."""
    return _finite(_floats(values))


def _floats(values: pd.Series) -> pd.Series:
    if ptypes.is_bool_dtype(values) or ptypes.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip().replace("", pd.NA)
    try:
        parsed = pc.cast(arrow_text(text), pa.float64()).to_numpy(zero_copy_only=False)
        return pd.Series(parsed, index=values.index, name=values.name)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype(float)


def _finite(numbers: pd.Series) -> pd.Series:
    with np.errstate(invalid="ignore"):
        return numbers.where(np.isfinite(numbers) & numbers.abs().le(LARGEST_NUMBER))


def not_finite(values: pd.Series) -> pd.Series:
    """Cells that are numbers but not finite ones: inf, -inf, nan, 1e400, 1e308 (see
    `parse_numbers`). A cell that is not a number at all ('lots') is not among them."""
    if ptypes.is_bool_dtype(values):
        return pd.Series(False, index=values.index)
    if ptypes.is_numeric_dtype(values):
        numbers = values.astype(float)
        return numbers.notna() & _finite(numbers).isna()
    floats = [_as_float(v) for v in values.astype("string").str.strip().fillna("")]
    reads = pd.Series([f is not None for f in floats], index=values.index)
    numbers = pd.Series([np.nan if f is None else f for f in floats], index=values.index)
    return reads & _finite(numbers.astype(float)).isna()


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


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


def ids_as_text(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """An id column as text: integers (and floats holding whole numbers, as an integer column
    with blanks is often stored) as their decimal digits; text as it is."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_floating(array.type):
        whole = pc.all(pc.equal(array, pc.floor(array))).as_py() is not False
        if whole and pc.all(pc.is_finite(array)).as_py() is not False:
            array = pc.cast(array, pa.int64())
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
