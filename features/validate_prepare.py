"""The first steps of checking one table of an export (`validate_export`): where its problems
go (`Check`), its required columns and ids (`prepare`), one column parsed as dates or numbers
(`typed`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from icpfit.config import DataPaths
from icpfit.features.cells import date_column, number_column
from icpfit.features.parsing import clean_text, unparsed
from icpfit.features.problems import Problem, RawTable, list_values


@dataclass
class Check:
    """Problems found so far in one export; every check of its tables appends to it."""

    config_name: str
    problems: list[Problem] = field(default_factory=list)
    data: DataPaths | None = None
    """Where dates' formats are given (`data.date_format`)."""

    def date_format(self, table: RawTable) -> str | None:
        return self.data.date_format_of(table.name) if self.data is not None else None

    def error(self, table: RawTable, column: str | None, message: str, rows: int = 0) -> None:
        self.problems.append(Problem("error", table.label, column, message, rows))

    def warn(self, table: RawTable, column: str | None, message: str, rows: int = 0) -> None:
        self.problems.append(Problem("warning", table.label, column, message, rows))


def prepare(table: RawTable, required: tuple[str, ...], check: Check) -> pd.DataFrame | None:
    """Required columns present, ids cleaned, exact duplicate rows collapsed (with a warning)."""
    frame = table.frame
    missing = [c for c in required if c not in frame.columns]
    if missing:
        for column in missing:
            check.error(
                table,
                column,
                f"{table.label}: missing required column '{column}' (columns found: "
                f"{list_values(frame.columns, 8)}); fix: rename it in the export or map it under "
                f"columns.{table.name}.{column} in {check.config_name}",
            )
        return None
    frame = frame.assign(account_id=clean_text(frame["account_id"]))
    no_id = frame.index[frame["account_id"].isna()]
    if len(no_id):
        check.error(
            table,
            "account_id",
            f"{table.label}: column 'account_id' is empty at {table.where(no_id)}; "
            "fix: every row needs the account it belongs to",
            len(no_id),
        )
    duplicated = frame.duplicated(keep="first")
    if duplicated.any():
        check.warn(
            table,
            None,
            f"{table.label}: {int(duplicated.sum()):,} exact duplicate rows collapsed "
            f"({table.where(frame.index[duplicated])})",
            int(duplicated.sum()),
        )
        frame = frame[~duplicated]
    return frame


def typed(
    table: RawTable,
    frame: pd.DataFrame,
    column: str,
    kind: str,
    check: Check,
    required: bool = False,
) -> pd.Series:
    """One column parsed as dates or numbers; bad and (if required) empty cells are errors."""
    if column not in frame.columns:
        return pd.Series(pd.NaT if kind == "date" else float("nan"), index=frame.index)
    raw = frame[column]
    if kind == "date":
        parsed, problems = date_column(
            table, frame, column, check.date_format(table), check.config_name
        )
    else:
        parsed, problems = number_column(table, frame, column)
    check.problems.extend(problems)
    bad = unparsed(raw, parsed)
    if required:
        empty = raw.isna() & ~bad
        if empty.any():
            check.error(
                table,
                column,
                f"{table.label}: column '{column}' is empty at "
                f"{table.where(frame.index[empty])}; fix: fill it in",
                int(empty.sum()),
            )
    return parsed
