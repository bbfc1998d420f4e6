"""Problems found in a CRM export: errors stop a run, warnings are counted and reported."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning"]


class DataError(ValueError):
    """An export that cannot be used. The message has one line per error."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(p.message for p in self.problems))


@dataclass(frozen=True)
class Problem:
    severity: Severity
    table: str
    column: str | None
    message: str
    """One line: the file, the column, the first offending rows and the fix."""
    rows: int = 0

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass(frozen=True)
class RawTable:
    """One table as read from its file, columns already renamed to canonical names.

    The frame keeps the file's row positions as its index so problems can name lines.
    """

    name: str
    path: str
    frame: pd.DataFrame

    @property
    def label(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def where(self, positions: Iterable[int], limit: int = 5) -> str:
        """'lines 3, 8 (+2 more)' for CSV (header is line 1), 'rows ...' for Parquet."""
        positions = list(positions)
        csv = self.path.lower().endswith(".csv")
        shown = [str(p + 2 if csv else p + 1) for p in positions[:limit]]
        more = f" (+{len(positions) - limit} more)" if len(positions) > limit else ""
        noun = "line" if csv else "row"
        return f"{noun}{'s' if len(positions) > 1 else ''} {', '.join(shown)}{more}"


def list_values(values: Iterable[object], limit: int = 5) -> str:
    values = list(values)
    shown = ", ".join(repr(str(v)) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def raise_on_errors(problems: Iterable[Problem]) -> None:
    errors = errors_of(problems)
    if errors:
        raise DataError(errors)
