"""Date and number columns parsed from their cells, with a problem for every cell that cannot be
used: each names the file, the column, the lines and the fix, and none is a guess."""

from __future__ import annotations

import pandas as pd

from icpfit.features.parsing import (
    LARGEST_NUMBER,
    not_finite,
    parse_dates,
    parse_numbers,
    unparsed,
    year_last_order,
)
from icpfit.features.problems import Problem, RawTable, list_values

ISO_FIX = "use ISO dates like 2026-09-30"
NUMBER_FIX = "use plain numbers like 1234.5 (no currency signs or thousands separators)"


def date_column(
    table: RawTable, frame: pd.DataFrame, column: str, date_format: str | None, config_name: str
) -> tuple[pd.Series, list[Problem]]:
    """The column as dates; a problem for dates whose day and month could be either (without
    `date_format`), and one for cells that are not dates at all."""
    raw = frame[column]
    parsed = parse_dates(raw, date_format)
    bad = unparsed(raw, parsed)
    problems = []
    if date_format is None:
        order = year_last_order(raw)
        if order.needs_format():
            problems.append(_order_problem(table, frame, column, order, config_name))
            bad &= ~(order.ambiguous | order.day_first | order.month_first)
    if bad.any():
        fix = ISO_FIX
        if date_format is not None:
            fix = (
                f"write them as data.date_format in {config_name} says ('{date_format}'), or {fix}"
            )
        problems.append(_bad_cells(table, frame, column, bad, "unparseable dates", fix))
    return parsed, problems


def _order_problem(
    table: RawTable, frame: pd.DataFrame, column: str, order, config_name: str
) -> Problem:
    """Dates written day and month as numbers, in an order the cells do not settle."""
    raw = frame[column].astype("string")

    def shown(mask: pd.Series) -> str:
        return f"{list_values(raw[mask].unique(), 3)} at {table.where(frame.index[mask], 3)}"

    if order.ambiguous.any():
        first = str(raw[order.ambiguous].iloc[0])
        what = f"has dates that read two ways, {shown(order.ambiguous)} (day/month or month/day)"
    else:
        first = str(raw[order.day_first | order.month_first].iloc[0])
        what = "mixes dates written day first and month first"
    evidence = [
        f"{shown(mask)} only read{'s' if mask.sum() == 1 else ''} {way}"
        for mask, way in ((order.day_first, "day first"), (order.month_first, "month first"))
        if mask.any()
    ]
    also = f"; {' and '.join(evidence)}" if evidence else ""
    suggested = order.suggested_format(first)
    other = suggested.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
    return Problem(
        "error",
        table.label,
        column,
        f"{table.label}: column '{column}' {what}{also}; icpfit does not guess which; fix: set "
        f"data.date_format: '{suggested}' in {config_name} (or '{other}' if the other order is "
        f"right), or use ISO dates like 2026-09-30",
        int(order.ambiguous.sum()),
    )


def number_column(
    table: RawTable, frame: pd.DataFrame, column: str
) -> tuple[pd.Series, list[Problem]]:
    """The column as finite numbers; a problem for cells that are not numbers, and one for
    numbers that are not finite (inf, nan, 1e400) or too large for the models (1e308)."""
    raw = frame[column]
    parsed = parse_numbers(raw)
    bad = unparsed(raw, parsed)
    infinite = not_finite(raw[bad]).reindex(raw.index, fill_value=False)
    problems = []
    if (bad & ~infinite).any():
        what = "non-numeric values"
        problems.append(_bad_cells(table, frame, column, bad & ~infinite, what, NUMBER_FIX))
    if infinite.any():
        fix = (
            f"leave unknown values empty; a number must be finite and at most "
            f"{LARGEST_NUMBER:.1e} in size"
        )
        what = "values that are not finite numbers"
        problems.append(_bad_cells(table, frame, column, infinite, what, fix))
    return parsed, problems


def _bad_cells(
    table: RawTable, frame: pd.DataFrame, column: str, bad: pd.Series, what: str, fix: str
) -> Problem:
    examples = list_values(frame[column][bad].unique(), 3)
    return Problem(
        "error",
        table.label,
        column,
        f"{table.label}: column '{column}' has {int(bad.sum()):,} {what} at "
        f"{table.where(frame.index[bad])}, e.g. {examples}; fix: {fix}",
        int(bad.sum()),
    )
