"""Each table of an export checked on its own and typed (`validate_export` runs them and the
checks across tables): errors and warnings go to the `Check`, and a table that cannot be used
is None."""

from __future__ import annotations

import pandas as pd

from icpfit.config import REQUIRED_COLUMNS, IcpConfig, normalise_stage
from icpfit.features.parsing import clean_text, month_start, unparsed
from icpfit.features.problems import RawTable, list_values
from icpfit.features.validate_prepare import Check, prepare, typed


def check_accounts(table: RawTable, config: IcpConfig, check: Check) -> pd.DataFrame | None:
    """One row per account: the columns the config uses present, numbers typed, text cleaned."""
    frame = prepare(table, REQUIRED_COLUMNS["accounts"], check)
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
    numbers = {c: typed(table, frame, c, "number", check) for c in numeric if c in frame.columns}
    text = [c for c in frame.columns if c not in numbers and c != "account_id"]
    frame = frame.assign(**numbers, **{c: clean_text(frame[c]) for c in text})
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


def check_opportunities(table: RawTable, config: IcpConfig, check: Check) -> pd.DataFrame | None:
    """Stages mapped to won / lost / open, dates and amounts typed; closed deals need a date."""
    frame = prepare(table, REQUIRED_COLUMNS["opportunities"], check)
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
    close = typed(table, frame, "close_date", "date", check)
    created = typed(table, frame, "created_date", "date", check)
    amount = typed(table, frame, "amount", "number", check)
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
    check: Check,
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
    table: RawTable, frame: pd.DataFrame, won: pd.Series, amount: pd.Series, check: Check
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


def check_revenue(table: RawTable, check: Check) -> pd.DataFrame | None:
    frame = prepare(table, REQUIRED_COLUMNS["revenue"], check)
    if frame is None:
        return None
    month = typed(table, frame, "month", "date", check, required=True)
    mrr = typed(table, frame, "mrr", "number", check, required=True)
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


def check_technologies(table: RawTable, check: Check) -> pd.DataFrame | None:
    frame = prepare(table, REQUIRED_COLUMNS["technologies"], check)
    if frame is None:
        return None
    first_seen = typed(table, frame, "first_seen", "date", check)
    return (
        frame[["account_id"]]
        .assign(technology=clean_text(frame["technology"]), first_seen=first_seen)
        .dropna(subset=["technology"])
    )


def check_signals(table: RawTable, check: Check) -> pd.DataFrame | None:
    frame = prepare(table, REQUIRED_COLUMNS["signals"], check)
    if frame is None:
        return None
    kind = clean_text(frame["signal_type"])
    untyped = frame.index[kind.isna()]
    if len(untyped):
        check.warn(
            table,
            "signal_type",
            f"{table.label}: {len(untyped):,} rows with an empty signal_type, left out "
            f"({table.where(untyped)}); fix: give every signal its type",
            len(untyped),
        )
        frame, kind = frame[kind.notna()], kind[kind.notna()]
    when = typed(table, frame, "date", "date", check, required=True)
    value = typed(table, frame, "value", "number", check)
    return frame[["account_id"]].assign(date=when, signal_type=kind, value=value)
