"""Input families given as their own tables, joined onto account rows the way the model reads
them: technologies as the delimited stack column, signals as one 12-month count per type.

Each joiner reads its table once and returns a function over a batch of account rows (in the
export's names), so streaming scoring joins batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from icpfit.features.frame import signal_counts
from icpfit.features.parsing import clean_text, parse_dates, year_last_order
from icpfit.io import InputError, read_table
from icpfit.serving.batch import tech_stacks, with_tech_stacks
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.serving.scoring import specs_from_bundle

Join = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class InputTables:
    """Inputs given beside the account rows: a long technologies table, a signals table
    counted as of `as_of` (default today), and the rows' own tech-stack column name when it
    differs from the training export's."""

    technologies: Path | None = None
    signals: Path | None = None
    as_of: date | None = None
    tech_stack_column: str | None = None


@dataclass(frozen=True)
class Joined:
    join: Join
    notes: tuple[str, ...] = ()
    """What the user should know: rows of the tables that were not used, and why."""


def join_inputs(model: IcpFitModel, tables: InputTables) -> Joined:
    """One function joining every given table (and renaming a differently named stack column)."""
    steps: list[Join] = []
    notes: list[str] = []
    stack_column, given_column = model.bundle["tech_stack"]["column"], tables.tech_stack_column
    if given_column is not None and given_column != stack_column:
        steps.append(lambda rows: rows.rename(columns={given_column: stack_column}))
    if tables.technologies is not None:
        steps.append(technologies_joiner(model, tables.technologies))
    if tables.signals is not None:
        joined = signals_joiner(model, tables.signals, tables.as_of or date.today())
        steps.append(joined.join)
        notes += joined.notes

    def join(rows: pd.DataFrame) -> pd.DataFrame:
        for step in steps:
            rows = step(rows)
        return rows

    return Joined(join, tuple(notes))


def id_column(model: IcpFitModel) -> str:
    return model.bundle["accounts_columns"].get("account_id", "account_id")


def technologies_joiner(model: IcpFitModel, technologies: Path) -> Join:
    """A long technologies table (account_id, technology) as the model's stack column."""
    stack = model.bundle["tech_stack"]
    try:
        renames = model.bundle.get("technologies_columns", {})
        stacks = tech_stacks(technologies, stack["separator"], renames)
    except (OSError, ValueError) as exc:
        raise InputError(f"--technologies: {exc}") from None
    return lambda rows: with_tech_stacks(rows, stacks, stack["column"], id_column(model))


def signals_joiner(model: IcpFitModel, path: Path, as_of: date) -> Joined:
    """Each signal type's count in the 12 months up to `as_of`, per account, as the model's
    signal columns. An account the table does not mention had no signal: its counts are 0.
    Signals dated after `as_of` are not counted, and exact duplicate rows count once, as in
    training (both said in a note)."""
    table = read_signals(path, model.bundle.get("signals_columns", {}))
    return signal_table_joiner(model, table, as_of, path.name)


def signal_table_joiner(model: IcpFitModel, table: pd.DataFrame, as_of: date, label: str) -> Joined:
    """`signals_joiner` on a signals table already read and typed (account_id, date,
    signal_type): `icpfit queue` passes the validated export's, read with its date_format."""
    specs = tuple(s for s in specs_from_bundle(model.bundle) if s.name.startswith("signals_"))
    columns = [c for c in ("account_id", "date", "signal_type", "value") if c in table]
    table = table[columns]
    duplicated = table.duplicated(keep="first")  # exact duplicates, as training collapses them
    table = table[~duplicated]
    future = int((table["date"] > pd.Timestamp(as_of)).sum())
    accounts = pd.Index(table["account_id"].dropna().unique(), name="account_id")
    reference = pd.Series(pd.Timestamp(as_of), index=accounts)
    counts = signal_counts(table, reference, specs)
    notes = (f"{label}: {future:,} signals dated after {as_of} not counted",) if future else ()
    if duplicated.any():
        notes += (
            f"{label}: {int(duplicated.sum()):,} exact duplicate rows collapsed (as training does)",
        )

    def join(rows: pd.DataFrame) -> pd.DataFrame:
        if counts is None:
            return rows
        ids = clean_text(rows[id_column(model)].astype("string")).to_numpy()
        given = counts.reindex(ids).fillna(0.0)
        return rows.assign(**{c: given[c].to_numpy() for c in given.columns})

    return Joined(join, notes)


def read_signals(path: Path, renames: dict[str, str]) -> pd.DataFrame:
    """The signals table with canonical columns, its dates parsed; an error names the file,
    the column and the first rows that cannot be used."""
    if not path.is_file():
        raise InputError(f"--signals {path}: file not found")
    try:
        table = read_table(path).rename(columns={v: k for k, v in renames.items()})
    except Exception as exc:  # a corrupt file: say which and why
        raise InputError(f"--signals {path.name}: cannot be read: {exc}") from None
    missing = [c for c in ("account_id", "date", "signal_type") if c not in table.columns]
    if missing:
        raise InputError(
            f"--signals {path.name}: missing required column '{missing[0]}' "
            f"(columns found: {', '.join(map(str, table.columns[:8]))})"
        )
    order = year_last_order(table["date"])
    if order.needs_format():
        example = table["date"][order.ambiguous | order.day_first].iloc[0]
        raise InputError(
            f"--signals {path.name}: column 'date' has dates whose day and month icpfit will not "
            f"guess (e.g. {example!r}); write them as YYYY-MM-DD"
        )
    dates = parse_dates(table["date"])
    bad = dates.isna() & table["date"].notna()
    if bad.any():
        lines = ", ".join(str(i + 2) for i in table.index[bad][:5])
        raise InputError(
            f"--signals {path.name}: column 'date' has {int(bad.sum()):,} values that are not "
            f"dates (lines {lines}); use YYYY-MM-DD"
        )
    return table.assign(
        account_id=clean_text(table["account_id"].astype("string")),
        signal_type=clean_text(table["signal_type"].astype("string")),
        date=dates,
    )
