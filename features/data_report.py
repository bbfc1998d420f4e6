"""The data report of `icpfit validate`: what was read, how complete it is, what it labels to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import LabelledExport
from icpfit.features.problems import Problem, RawTable

DATE_COLUMNS = {
    "opportunities": "close_date",
    "revenue": "month",
    "technologies": "first_seen",
    "signals": "date",
}


@dataclass(frozen=True)
class DataReport:
    as_of: date
    tables: pd.DataFrame
    """table, file, rows read, rows used, accounts, first and last date."""
    coverage: pd.DataFrame
    """table, column, share of rows with a value."""
    cohorts: dict[str, int]
    features: dict[str, int]
    disqualified: dict[str, int]
    problems: list[Problem]
    label_mode: str = "subscription"
    """`labels.mode` of the config: where LTV, retention and expansion came from."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def data_report(
    raw: dict[str, RawTable],
    prepared: LabelledExport | None,
    problems: list[Problem],
    config: IcpConfig,
    as_of: date,
) -> DataReport:
    """Everything `validate` prints; with errors only the tables and the problems are known."""
    if prepared is None:
        empty = pd.DataFrame()
        return DataReport(
            as_of, _tables(raw, None), empty, {}, {}, {}, problems, config.labels.mode
        )
    export = prepared.export
    reasons = disqualified_reason(export.accounts, config.disqualifiers).value_counts()
    groups = pd.Series([s.group for s in prepared.features.specs]).value_counts()
    return DataReport(
        as_of=as_of,
        tables=_tables(raw, prepared),
        coverage=_coverage(raw),
        cohorts=cohort_counts(prepared.labels),
        features={str(group): int(n) for group, n in groups.items()},
        disqualified={str(reason): int(n) for reason, n in reasons.items()},
        problems=problems,
        label_mode=config.labels.mode,
    )


def _tables(raw: dict[str, RawTable], prepared: LabelledExport | None) -> pd.DataFrame:
    rows = []
    for name, table in raw.items():
        used = getattr(prepared.export, name) if prepared is not None else None
        column = DATE_COLUMNS.get(name)
        dates = pd.to_datetime(used[column]) if used is not None and column else None
        rows.append(
            {
                "table": name,
                "file": table.label,
                "rows read": len(table.frame),
                "rows used": len(used) if used is not None else None,
                "accounts": used["account_id"].nunique() if used is not None else None,
                "from": dates.min().date() if dates is not None and dates.notna().any() else None,
                "to": dates.max().date() if dates is not None and dates.notna().any() else None,
            }
        )
    return pd.DataFrame(rows)


def _coverage(raw: dict[str, RawTable]) -> pd.DataFrame:
    rows = []
    for name, table in raw.items():
        frame = table.frame
        if frame.empty:  # a table with only a header has no coverage to show
            continue
        for column in frame.columns:
            if column == "account_id":
                continue
            filled = frame[column].notna()
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                filled &= frame[column].astype("string").str.strip().ne("").fillna(False)
            rows.append({"table": name, "column": column, "coverage": float(filled.mean())})
    return pd.DataFrame(rows, columns=["table", "column", "coverage"])
