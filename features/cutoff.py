"""The cutoff against the data: `as_of` must fall where the export has data, or labels lie.

A customer whose outcome window runs past the end of the revenue data looks churned (with
bookings labels: past the last closed deal, it looks as if it never ordered again); before the
first closed deal nobody is labelled. Each is an error with the date to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.parsing import month_end
from icpfit.features.problems import Problem, list_values
from icpfit.features.validate import CrmExport


@dataclass(frozen=True)
class DataSpan:
    """Where an export's labels can be read from, as dates."""

    file: str
    first: pd.Timestamp
    """The first date a customer or a lost deal can be known: first closed deal or revenue month."""
    last: pd.Timestamp
    """The last revenue month's start (subscription) or the last close date (bookings)."""

    @property
    def end(self) -> date:
        """The latest sound `as_of`: the last day of the data's last month."""
        return month_end(pd.Series([self.last])).iloc[0].date()


def data_span(
    opportunities: pd.DataFrame, revenue: pd.DataFrame, files: dict[str, str], bookings: bool
) -> DataSpan | None:
    """Dates of closed deals and revenue months (typed, as `validate_export` returns them);
    None when the export has neither."""
    closed = opportunities.loc[opportunities["stage"].isin(["won", "lost"]), "close_date"].dropna()
    months = revenue["month"].dropna()
    starts = [closed.min() if len(closed) else None]
    if not bookings:
        starts.append(month_end(months).min() if len(months) else None)
    known = [d for d in starts if d is not None]
    last = closed.max() if bookings else months.max() if len(months) else None
    if not known or last is None or pd.isna(last):
        return None
    file = files.get("opportunities" if bookings else "revenue", "the export")
    return DataSpan(file, min(known), last)


def cutoff_problems(export: CrmExport, config: IcpConfig, as_of: date) -> list[Problem]:
    """Before labelling: an error when no deal ever closed, or when `as_of` is before the data."""
    bookings = config.labels.mode == "bookings"
    span = data_span(export.opportunities, export.revenue, export.files, bookings)
    if span is None:
        file = export.files.get("opportunities", "opportunities")
        accounts = export.files.get("accounts", "the accounts table")
        also = "" if bookings else " or revenue"
        return [
            Problem(
                "error",
                file,
                "stage",
                f"{file}: none of the {len(export.accounts):,} accounts in {accounts} has a won "
                f"or lost opportunity{also}, so no account can be labelled; fix: export the "
                "closed deals, and the accounts they belong to (labels come from won and lost "
                "deals)",
            )
        ]
    if pd.Timestamp(as_of) >= span.first:
        return []
    message = (
        f"as_of {as_of.isoformat()} is before the data: nothing is known until "
        f"{span.first:%Y-%m-%d} (the first closed deal or revenue month), so no account is a "
        f"customer or a lost deal yet; {_fix(span, config)}, the end of the data"
    )
    return [Problem("error", span.file, None, message)]


def past_the_data(
    labels: pd.DataFrame,
    export: CrmExport,
    config: IcpConfig,
    as_of: date,
    today: date | None = None,
) -> list[Problem]:
    """After labelling: an error when `as_of` is after the data's end and customers labelled
    at it have outcome windows that end after the data does (they would look churned)."""
    bookings = config.labels.mode == "bookings"
    span = data_span(export.opportunities, export.revenue, export.files, bookings)
    if span is None or pd.Timestamp(as_of) <= pd.Timestamp(span.end):
        return []
    matured = labels[labels["cohort"].isin(["ideal", "low_value", "churned"])]
    cut = matured.index[matured["window_end"] > pd.Timestamp(span.end)]
    if not len(cut):
        return []
    where = (
        f"the last closed deal in {span.file} is on {span.last:%Y-%m-%d}"
        if bookings
        else f"{span.file} ends in {span.last:%Y-%m}"
    )
    looks = "never ordering again" if bookings else "churned"
    message = (
        f"as_of {as_of.isoformat()}{_defaulted(config, as_of, today)} is after the end of the "
        f"data: {where}, and {len(cut):,} customers' first {config.labels.window_months} months "
        f"end after that (e.g. {list_values(cut, 3)}), so they would count as {looks}; "
        f"{_fix(span, config)}"
    )
    return [Problem("error", span.file, None, message, len(cut))]


def _fix(span: DataSpan, config: IcpConfig) -> str:
    config_name = config.source.name if config.source else "the config"
    return f"fix: set as_of: {span.end.isoformat()} in {config_name} (or --as-of {span.end})"


def _defaulted(config: IcpConfig, as_of: date, today: date | None) -> str:
    if config.as_of is None and as_of == (today or date.today()):
        return " (today: neither the config nor --as-of sets as_of)"
    return ""
