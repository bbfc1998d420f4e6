"""Checks a CRM export against the contract (DESIGN §2) and returns it typed and clean.

Errors name the file, the column, the first offending lines and the fix. Warnings are counted
and reported; rows are never dropped without one. Each table is checked on its own in
`validate_tables` (with the steps of `validate_prepare`); here the export as a whole: required
tables with rows, rows for accounts the accounts table lacks, rows dated after the cutoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.parsing import is_member, month_end
from icpfit.features.problems import Problem, RawTable, list_values
from icpfit.features.technologies import tech_stack_to_long
from icpfit.features.validate_prepare import Check
from icpfit.features.validate_tables import (
    check_accounts,
    check_opportunities,
    check_revenue,
    check_signals,
    check_technologies,
)

TECH_COLUMNS = ["account_id", "technology", "first_seen"]
SIGNAL_COLUMNS = ["account_id", "date", "signal_type", "value"]


def no_revenue() -> pd.DataFrame:
    """The revenue table of an export labelled from bookings: typed, with no rows."""
    return pd.DataFrame(
        {
            "account_id": pd.Series(dtype=object),
            "month": pd.Series(dtype="datetime64[ns]"),
            "mrr": pd.Series(dtype=float),
        }
    )


@dataclass(frozen=True)
class CrmExport:
    """The typed tables of one export. Opportunity stages are won / lost / open."""

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    revenue: pd.DataFrame = field(default_factory=no_revenue)
    """Monthly mrr; no rows with `labels.mode: bookings`."""
    technologies: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TECH_COLUMNS))
    signals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SIGNAL_COLUMNS))
    files: dict[str, str] = field(default_factory=dict)
    """Table name -> file name, for messages and the report."""


def validate_export(
    raw: dict[str, RawTable], config: IcpConfig, as_of: date
) -> tuple[CrmExport | None, list[Problem]]:
    """Typed, de-duplicated tables and every problem found; None when a table is unusable."""
    check = Check(config.source.name if config.source else "the config", data=config.data)
    if any(name not in raw for name in config.required_tables()):
        return None, check.problems
    if _empty_tables(raw, config, check):
        return None, check.problems
    bookings = config.labels.mode == "bookings"
    if bookings:
        _revenue_ignored(config, check)
        raw = {name: table for name, table in raw.items() if name != "revenue"}
    accounts = check_accounts(raw["accounts"], config, check)
    opportunities = check_opportunities(raw["opportunities"], config, check)
    revenue = no_revenue() if bookings else check_revenue(raw["revenue"], check)
    technologies = _optional(raw, "technologies", check_technologies, TECH_COLUMNS, check)
    signals = _optional(raw, "signals", check_signals, SIGNAL_COLUMNS, check)
    if any(t is None for t in (accounts, opportunities, revenue, technologies, signals)):
        return None, check.problems
    if config.tech_stack is not None:
        stack = tech_stack_to_long(accounts, config.tech_stack)
        technologies = pd.concat([technologies, stack], ignore_index=True)
    known = pd.Index(accounts["account_id"])
    opportunities = _known_accounts(raw["opportunities"], opportunities, known, check)
    if "revenue" in raw:
        revenue = _known_accounts(raw["revenue"], revenue, known, check)
    if "technologies" in raw:
        technologies = _known_accounts(raw["technologies"], technologies, known, check)
    if "signals" in raw:
        signals = _known_accounts(raw["signals"], signals, known, check)
    export = CrmExport(
        accounts=accounts,
        opportunities=opportunities,
        revenue=_net_per_month(revenue),
        technologies=technologies.reset_index(drop=True),
        signals=signals.reset_index(drop=True),
        files={name: table.label for name, table in raw.items()},
    )
    positioned = {"signals": signals["date"]}  # file positions, before the reset above
    if config.tech_stack is None:
        positioned["technologies"] = technologies["first_seen"]
    _after_as_of(raw, export, as_of, check, positioned)
    return export, check.problems


def _empty_tables(raw: dict[str, RawTable], config: IcpConfig, check: Check) -> bool:
    """Required tables with a header and no rows: nothing can be labelled from them."""
    empty = [raw[name] for name in config.required_tables() if raw[name].frame.empty]
    for table in empty:
        check.error(
            table,
            None,
            f"{table.label}: no rows, only a header (the {table.name} table is required); "
            f"fix: export the {table.name} table with its rows",
        )
    return bool(empty)


def _optional(
    raw: dict[str, RawTable],
    name: str,
    check_table: Callable[[RawTable, Check], pd.DataFrame | None],
    columns: list[str],
    check: Check,
) -> pd.DataFrame | None:
    """An optional table checked, or with no rows (and `columns`) when the export lacks it."""
    table = raw.get(name)
    return pd.DataFrame(columns=columns) if table is None else check_table(table, check)


def _revenue_ignored(config: IcpConfig, check: Check) -> None:
    if config.data.revenue is None:
        return
    name = config.data.revenue.name
    check.problems.append(
        Problem(
            "warning",
            name,
            None,
            f"{name}: not read: labels.mode is bookings in {check.config_name}, so LTV, "
            "retention and expansion come from won opportunity amounts, not from mrr; fix: "
            "remove data.revenue, or set labels.mode: subscription to label from monthly revenue",
        )
    )


def _known_accounts(
    table: RawTable, frame: pd.DataFrame, known: pd.Index, check: Check
) -> pd.DataFrame:
    unknown = ~is_member(frame["account_id"], known)
    if unknown.any():
        ids = frame.loc[unknown, "account_id"].unique()
        check.warn(
            table,
            "account_id",
            f"{table.label}: {int(unknown.sum()):,} rows for {len(ids)} account ids not in "
            f"the accounts table, left out: {list_values(ids)} "
            f"({table.where(frame.index[unknown])})",
            int(unknown.sum()),
        )
    return frame[~unknown]


def _net_per_month(revenue: pd.DataFrame) -> pd.DataFrame:
    valid = revenue.dropna(subset=["month", "mrr"])
    return valid.groupby(["account_id", "month"], as_index=False, sort=True)["mrr"].sum()


def _after_as_of(
    raw: dict[str, RawTable],
    export: CrmExport,
    as_of: date,
    check: Check,
    positioned: dict[str, pd.Series],
) -> None:
    """Rows dated after the cutoff are kept in the export but never used for that cutoff;
    `positioned`: a table's dates indexed by file position, so the warning names lines."""
    cutoff = pd.Timestamp(as_of)
    dated = {
        "opportunities": export.opportunities["close_date"].fillna(
            export.opportunities["created_date"]
        ),
        "revenue": month_end(export.revenue["month"]),
        "technologies": export.technologies["first_seen"],
        "signals": export.signals["date"],
    }
    for name, dates in dated.items():
        later = pd.to_datetime(dates) > cutoff
        if name in raw and later.any():
            where = ""
            if name in positioned:
                after = positioned[name][pd.to_datetime(positioned[name]) > cutoff]
                where = f" ({raw[name].where(after.index)})"
            check.warn(
                raw[name],
                None,
                f"{raw[name].label}: {int(later.sum()):,} rows dated after as_of "
                f"{as_of.isoformat()} are ignored for this cutoff{where}",
                int(later.sum()),
            )
