"""Checks a CRM export against the contract (DESIGN §2) and returns it typed and clean.

Errors name the file, the column, the first offending lines and the fix. Warnings are counted
and reported; rows are never dropped without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from icpfit.config import REQUIRED_COLUMNS, DataPaths, IcpConfig, normalise_stage
from icpfit.features.cells import date_column, number_column
from icpfit.features.parsing import clean_text, is_member, month_end, month_start, unparsed
from icpfit.features.problems import Problem, RawTable, list_values
from icpfit.features.technologies import tech_stack_to_long

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


@dataclass
class _Check:
    """Problems found so far in one export; the helpers below append to it."""

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


def validate_export(
    raw: dict[str, RawTable], config: IcpConfig, as_of: date
) -> tuple[CrmExport | None, list[Problem]]:
    """Typed, de-duplicated tables and every problem found; None when a table is unusable."""
    check = _Check(config.source.name if config.source else "the config", data=config.data)
    if any(name not in raw for name in config.required_tables()):
        return None, check.problems
    if _empty_tables(raw, config, check):
        return None, check.problems
    bookings = config.labels.mode == "bookings"
    if bookings:
        _revenue_ignored(config, check)
        raw = {name: table for name, table in raw.items() if name != "revenue"}
    accounts = _accounts(raw["accounts"], config, check)
    opportunities = _opportunities(raw["opportunities"], config, check)
    revenue = no_revenue() if bookings else _revenue(raw["revenue"], check)
    technologies = _technologies(raw.get("technologies"), check)
    signals = _signals(raw.get("signals"), check)
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
    _after_as_of(raw, export, as_of, check)
    return export, check.problems


def _empty_tables(raw: dict[str, RawTable], config: IcpConfig, check: _Check) -> bool:
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


def _prepare(table: RawTable, required: tuple[str, ...], check: _Check) -> pd.DataFrame | None:
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


def _typed(
    table: RawTable,
    frame: pd.DataFrame,
    column: str,
    kind: str,
    check: _Check,
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


def _accounts(table: RawTable, config: IcpConfig, check: _Check) -> pd.DataFrame | None:
    frame = _prepare(table, REQUIRED_COLUMNS["accounts"], check)
    if frame is None:
        return None
    declared = config.features.account_columns()
    needed = [*declared, *(rule.column for rule in config.disqualifiers)]
    if config.tech_stack is not None:
        needed.append(config.tech_stack.column)
    for column in dict.fromkeys(c for c in needed if c not in frame.columns):
        check.error(
            table,
            column,
            f"{table.label}: column '{column}' is used in {check.config_name} but not in "
            f"the file (columns found: {list_values(frame.columns, 8)}); fix: map it "
            f"under columns.accounts or remove it from the config",
        )
    numeric = [*config.features.firmographic.numeric, *config.features.behavioral.numeric]
    typed = {c: _typed(table, frame, c, "number", check) for c in numeric if c in frame.columns}
    text = [c for c in frame.columns if c not in typed and c != "account_id"]
    frame = frame.assign(**typed, **{c: clean_text(frame[c]) for c in text})
    frame = frame[frame["account_id"].notna()]
    conflicting = frame["account_id"][frame["account_id"].duplicated(keep=False)].unique()
    if len(conflicting):
        check.error(
            table,
            "account_id",
            f"{table.label}: {len(conflicting)} account ids appear on several rows with "
            f"different values: {list_values(conflicting, 10)}; fix: keep one row per "
            "account in the export",
            len(conflicting),
        )
        return None
    return frame.reset_index(drop=True)


def _opportunities(table: RawTable, config: IcpConfig, check: _Check) -> pd.DataFrame | None:
    frame = _prepare(table, REQUIRED_COLUMNS["opportunities"], check)
    if frame is None:
        return None
    outcome_of = config.stages.outcome_of()
    raw_stage = clean_text(frame["stage"])
    stage = pd.Series(
        [outcome_of.get(normalise_stage(v)) if isinstance(v, str) else None for v in raw_stage],
        index=frame.index,
        dtype=object,
    )
    unmapped = stage.isna()
    if unmapped.any():
        values = raw_stage[unmapped].fillna("(empty)").value_counts()
        shown = ", ".join(f"'{v}' ({n})" for v, n in values.head(5).items())
        check.error(
            table,
            "stage",
            f"{table.label}: column 'stage' has values not mapped to won/lost/open: "
            f"{shown} at {table.where(frame.index[unmapped])}; fix: add them under "
            f"stages.won, stages.lost or stages.open in {check.config_name}",
            int(unmapped.sum()),
        )
    close = _typed(table, frame, "close_date", "date", check)
    created = _typed(table, frame, "created_date", "date", check)
    amount = _typed(table, frame, "amount", "number", check)
    undated = stage.isin(["won", "lost"]) & close.isna() & frame["close_date"].isna()
    if undated.any():
        check.error(
            table,
            "close_date",
            f"{table.label}: column 'close_date' is empty for {int(undated.sum()):,} won or "
            f"lost opportunities at {table.where(frame.index[undated])}; fix: closed "
            "deals need the date they closed",
            int(undated.sum()),
        )
    _closed_before_created(table, frame, stage, created, close, check)
    columns = {
        "opportunity_id": clean_text(frame["opportunity_id"]),
        "stage": stage,
        "close_date": close,
        "created_date": created,
        "amount": amount,
    }
    if "type" in frame.columns:
        columns["type"] = clean_text(frame["type"]).str.casefold()
    if config.labels.mode == "bookings":
        _booked_amounts(table, frame, stage.eq("won"), amount, check)
    return frame[["account_id"]].assign(**columns)


def _closed_before_created(
    table: RawTable,
    frame: pd.DataFrame,
    stage: pd.Series,
    created: pd.Series,
    close: pd.Series,
    check: _Check,
) -> None:
    """Won or lost deals whose close date is before their created date: a data-entry slip."""
    early = stage.isin(["won", "lost"]) & close.lt(created)
    if not early.any():
        return
    shown = [
        f"{opportunity} ({outcome}, created {made:%Y-%m-%d}, closed {closed:%Y-%m-%d})"
        for opportunity, outcome, made, closed in zip(
            frame["opportunity_id"][early].head(5),
            stage[early].head(5),
            created[early].head(5),
            close[early].head(5),
            strict=True,
        )
    ]
    more = f" (+{int(early.sum()) - 5} more)" if early.sum() > 5 else ""
    check.warn(
        table,
        "close_date",
        f"{table.label}: {int(early.sum()):,} won or lost opportunities closed before they "
        f"were created, at {table.where(frame.index[early])}: {'; '.join(shown)}{more}; each is "
        "known from its created date, so a cutoff between the two dates does not see it; "
        "fix: correct created_date or close_date in the export",
        int(early.sum()),
    )


def _booked_amounts(
    table: RawTable, frame: pd.DataFrame, won: pd.Series, amount: pd.Series, check: _Check
) -> None:
    """Bookings labels add up won amounts: the column must exist and every won deal needs one."""
    fix_mode = f"or set labels.mode: subscription in {check.config_name} with a revenue table"
    if "amount" not in frame.columns:
        check.error(
            table,
            "amount",
            f"{table.label}: missing column 'amount', which labels.mode: bookings needs (the "
            f"value of each won order) (columns found: {list_values(frame.columns, 8)}); fix: "
            f"add it to the export, map it under columns.opportunities.amount, {fix_mode}",
        )
        return
    empty = won & amount.isna() & ~unparsed(frame["amount"], amount)
    if empty.any():
        check.error(
            table,
            "amount",
            f"{table.label}: column 'amount' is empty for {int(empty.sum()):,} won "
            f"opportunities at {table.where(frame.index[empty])}; fix: labels.mode: bookings "
            f"adds up what won orders are worth, so fill them in, {fix_mode}",
            int(empty.sum()),
        )
    negative = won & amount.lt(0)
    if negative.any():
        check.warn(
            table,
            "amount",
            f"{table.label}: {int(negative.sum()):,} won opportunities with a negative amount "
            f"(credit notes) netted into their account's LTV and that day's order "
            f"({table.where(frame.index[negative])})",
            int(negative.sum()),
        )


def _revenue_ignored(config: IcpConfig, check: _Check) -> None:
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


def _revenue(table: RawTable, check: _Check) -> pd.DataFrame | None:
    frame = _prepare(table, REQUIRED_COLUMNS["revenue"], check)
    if frame is None:
        return None
    month = _typed(table, frame, "month", "date", check, required=True)
    mrr = _typed(table, frame, "mrr", "number", check, required=True)
    negative = mrr < 0
    if negative.any():
        check.warn(
            table,
            "mrr",
            f"{table.label}: {int(negative.sum()):,} rows with negative mrr (credit notes) "
            f"netted into their account's month ({table.where(frame.index[negative])})",
            int(negative.sum()),
        )
    return frame[["account_id"]].assign(month=month_start(month), mrr=mrr)


def _technologies(table: RawTable | None, check: _Check) -> pd.DataFrame | None:
    if table is None:
        return pd.DataFrame(columns=TECH_COLUMNS)
    frame = _prepare(table, REQUIRED_COLUMNS["technologies"], check)
    if frame is None:
        return None
    first_seen = _typed(table, frame, "first_seen", "date", check)
    return (
        frame[["account_id"]]
        .assign(technology=clean_text(frame["technology"]), first_seen=first_seen)
        .dropna(subset=["technology"])
    )


def _signals(table: RawTable | None, check: _Check) -> pd.DataFrame | None:
    if table is None:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    frame = _prepare(table, REQUIRED_COLUMNS["signals"], check)
    if frame is None:
        return None
    when = _typed(table, frame, "date", "date", check, required=True)
    value = _typed(table, frame, "value", "number", check)
    return frame[["account_id"]].assign(
        date=when, signal_type=clean_text(frame["signal_type"]), value=value
    )


def _known_accounts(
    table: RawTable, frame: pd.DataFrame, known: pd.Index, check: _Check
) -> pd.DataFrame:
    unknown = ~is_member(frame["account_id"], known)
    if unknown.any():
        ids = frame.loc[unknown, "account_id"].unique()
        check.warn(
            table,
            "account_id",
            f"{table.label}: {int(unknown.sum()):,} rows for {len(ids)} account ids not in "
            f"the accounts table, left out: {list_values(ids)}",
            int(unknown.sum()),
        )
    return frame[~unknown]


def _net_per_month(revenue: pd.DataFrame) -> pd.DataFrame:
    valid = revenue.dropna(subset=["month", "mrr"])
    return valid.groupby(["account_id", "month"], as_index=False, sort=True)["mrr"].sum()


def _after_as_of(raw: dict[str, RawTable], export: CrmExport, as_of: date, check: _Check) -> None:
    """Rows dated after the cutoff are kept in the export but never used for that cutoff."""
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
            check.warn(
                raw[name],
                None,
                f"{raw[name].label}: {int(later.sum()):,} rows dated after as_of "
                f"{as_of.isoformat()} are ignored for this cutoff",
                int(later.sum()),
            )
