"""The ICP filter's SQL: WHERE clauses over `icp_accounts`, and that view over the export.

`filter_document` writes, under `sql`, each kind's WHERE clause, the view (`view`, in SQLite's
dialect) and a runnable query per kind. The view reads the export's tables (named like their
config keys: accounts, technologies, signals) by the export's own column names and computes each
feature the filter uses as the pipeline does:

- text is trimmed (of spaces: tabs and line breaks around a cell are not removed); a category is
  known only if it is one of the feature's training levels, compared case-sensitively, so a
  blank, `N/A` or a new value is unknown, as in the feature frame;
- numbers: blank cells and the words icpfit reads as missing (`NA`, `N/A`, `NULL`, …) are NULL;
  any other cell must be a number (`icpfit validate` refuses the rest; SQLite reads 'lots' as 0);
- technologies come from the delimited stack column (split on its separator, each entry
  trimmed) and/or the technologies table, all rows whatever their first_seen (the accounts as
  they are now); an account without any is unknown. A technology matches by its whole name,
  ignoring ASCII case; icpfit also merges spellings with the same slug ('Hub-Spot', 'Hub Spot'),
  the SQL does not;
- signal counts: the signals table's rows in the 365 days up to as_of (ISO dates), or without
  a signals table or as_of, the accounts column named like the feature (as `icpfit score` reads).

Without a config (`ExportLayout.of(None)`) the view reads canonical names and a `tech_stack`
column separated by ';', the account rows `icpfit score` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from icpfit.config import IcpConfig
from icpfit.features.frame import SIGNAL_LOOKBACK, FeatureSpec
from icpfit.io import MISSING_WORDS, NAN_WORDS
from icpfit.training.icp_filter import (
    Bounds,
    Condition,
    IcpFilter,
    Segment,
    clauses,
    number_text,
)

VIEW = "icp_accounts"
ACCOUNTS, SIGNALS = (
    f'(SELECT DISTINCT * FROM "{table}") AS {alias}'
    for table, alias in (("accounts", "a"), ("signals", "g"))
)
"""Exact duplicate rows count once, as icpfit collapses them."""
LIKE_ESCAPE = "!"


def quoted(name: str) -> str:
    """An SQL identifier: any column name, spaces and quotes included."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """An SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _listed(values: Iterable[str]) -> str:
    return ", ".join(literal(v) for v in values)


def _like_text(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '!'."""
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def condition_sql(
    condition: Condition | Bounds, specs: dict[str, FeatureSpec], stack: str, separator: str
) -> str:
    """One clause over `icp_accounts`; `stack` is its delimited technologies column."""
    if isinstance(condition, Bounds):
        column = quoted(condition.column)
        parts = [
            f"{column} {op} {number_text(value, thousands=False)}"
            for op, value in ((">=", condition.low), ("<", condition.high))
            if value is not None
        ]
        expression = " AND ".join(parts)
        if condition.includes_missing and len(parts) > 1:
            expression = f"({expression})"
        column_sql = column
    elif "=" in condition.column:
        name, level = condition.column.split("=", 1)
        column_sql = quoted(name)
        expression = f"{column_sql} {'=' if condition.op == '>' else '<>'} {literal(level)}"
    else:
        column_sql = quoted(stack)
        entry = _like_text(separator + specs[condition.column].source + separator)
        negation = "" if condition.op == ">" else "NOT "
        expression = (
            f"({literal(separator)} || LOWER({column_sql}) || {literal(separator)}) "
            f"{negation}LIKE LOWER({literal('%' + entry + '%')}) ESCAPE {literal(LIKE_ESCAPE)}"
        )
    if not condition.includes_missing:
        return expression
    return f"({column_sql} IS NULL OR {expression})"


def where_clause(
    segments: list[Segment],
    specs: dict[str, FeatureSpec],
    stack: str = "tech_stack",
    separator: str = ";",
) -> str:
    """SQL WHERE over `icp_accounts` for the union of segments."""
    selected = [
        " AND ".join(condition_sql(c, specs, stack, separator) for c in clauses(s)) or "TRUE"
        for s in segments
    ]
    return "\n   OR ".join(f"({c})" for c in selected) if selected else "FALSE"


@dataclass(frozen=True)
class ExportLayout:
    """Where the view reads each input: the export's tables, by the export's column names."""

    accounts: Mapping[str, str] = field(default_factory=dict)
    """Canonical account column -> the export's name (the config's `columns.accounts`)."""
    stack_column: str | None = "tech_stack"
    """The delimited technologies column of the accounts (canonical), if any."""
    separator: str = ";"
    technologies: Mapping[str, str] | None = None
    """The technologies table's column names, when the export has one."""
    signals: Mapping[str, str] | None = None
    categories: Mapping[str, str] = field(default_factory=dict)
    as_of: date | None = None

    @classmethod
    def of(cls, config: IcpConfig | None, as_of: date | None = None) -> ExportLayout:
        if config is None:
            return cls(as_of=as_of)
        stack = config.tech_stack
        return cls(
            accounts=config.column_map("accounts"),
            stack_column=stack.column if stack else None,
            separator=stack.separator if stack else ";",
            technologies=config.column_map("technologies") if config.data.technologies else None,
            signals=config.column_map("signals") if config.data.signals else None,
            categories=dict(config.features.technographic.categories),
            as_of=as_of or config.as_of,
        )

    @property
    def stack_name(self) -> str:
        """The view's delimited technologies column."""
        return self.stack_column or "tech_stack"

    def account(self, column: str) -> str:
        return "a." + quoted(self.accounts.get(column, column))


def _missing_cells() -> str:
    """The CTE of the cells icpfit reads as missing (`icpfit.io`): in every column blank,
    'N/A', 'NULL', …; in text columns also 'nan'."""
    words = sorted(MISSING_WORDS | NAN_WORDS)
    rows = ", ".join(f"({literal(w)}, {int(w in MISSING_WORDS)})" for w in words)
    return f"missing_cells (word, in_numbers) AS (\n    VALUES {rows}\n)"


def _is_missing(cell: str, number: bool = False, negated: bool = False) -> str:
    only = " WHERE in_numbers = 1" if number else ""
    return f"LTRIM({cell}) {'NOT ' if negated else ''}IN (SELECT word FROM missing_cells{only})"


def _feature_sql(spec: FeatureSpec, layout: ExportLayout) -> str:
    """The view's expression of one account column or signal count feature."""
    if spec.kind == "categorical":
        cell = layout.account(spec.source)
        if not spec.levels:
            return "CAST(NULL AS TEXT)"
        guard = ""
        if set(spec.levels) & (MISSING_WORDS | NAN_WORDS):
            guard = f" AND {_is_missing(cell, negated=True)}"
        return f"CASE WHEN TRIM({cell}) IN ({_listed(spec.levels)}){guard} THEN TRIM({cell}) END"
    if spec.kind == "numeric" or layout.signals is None or layout.as_of is None:
        cell = layout.account(spec.source if spec.kind == "numeric" else spec.name)
        known = _is_missing(cell, number=True, negated=True)
        return f"CAST(CASE WHEN {known} THEN TRIM({cell}) END AS DOUBLE PRECISION)"
    return f"COALESCE(g.{quoted(spec.name)}, 0)"


def _technology_sql(
    flags: list[FeatureSpec], counts: list[FeatureSpec], layout: ExportLayout
) -> tuple[list[str], list[str]]:
    """(CTEs, view columns) of the technologies: every (account, technology) of the stack
    column and the technologies table, then per account its stack and counts."""
    sep, account_id = literal(layout.separator), f"TRIM({layout.account('account_id')})"
    sources = []
    ctes = []
    if layout.stack_column is not None:
        cell = layout.account(layout.stack_column)
        stack = f"CASE WHEN {_is_missing(cell)} THEN NULL ELSE {cell} END"
        ctes.append(
            "stack_entries (account_id, entry, rest) AS (\n"
            f"    SELECT {account_id}, NULL, {stack} || {sep}\n"
            f"    FROM {ACCOUNTS}\n    UNION ALL\n"
            f"    SELECT account_id, TRIM(SUBSTR(rest, 1, INSTR(rest, {sep}) - 1)),\n"
            f"        SUBSTR(rest, INSTR(rest, {sep}) + {len(layout.separator)})\n"
            "    FROM stack_entries WHERE rest <> ''\n)"
        )
        sources.append("    SELECT account_id, entry FROM stack_entries WHERE entry <> ''")
    if layout.technologies is not None:
        names = {
            c: "t." + quoted(layout.technologies.get(c, c)) for c in ("account_id", "technology")
        }
        sources.append(
            f"    SELECT TRIM({names['account_id']}), TRIM({names['technology']})\n"
            f'    FROM "technologies" AS t WHERE {_is_missing(names["technology"], negated=True)}'
        )
    if not sources:
        return [], [f"CAST(NULL AS TEXT) AS {quoted(layout.stack_name)}"]
    ctes.append(
        "account_technologies (account_id, technology) AS (\n"
        + "\n    UNION ALL\n".join(sources)
        + "\n)"
    )
    columns = [f"s.stack AS {quoted(layout.stack_name)}"]
    per_account = [f"group_concat(technology, {sep}) AS stack"]
    for spec in counts:
        members = [f.source for f in flags if layout.categories.get(f.source) == spec.source]
        if spec.name == "tech_count":
            counted = "LOWER(technology)"
        elif members:
            lowered = ", ".join(f"LOWER({literal(m)})" for m in members)
            counted = f"CASE WHEN LOWER(technology) IN ({lowered}) THEN LOWER(technology) END"
        else:
            columns.append(f"0 AS {quoted(spec.name)}")
            continue
        per_account.append(f"COUNT(DISTINCT {counted}) AS {quoted(spec.name)}")
        columns.append(f"s.{quoted(spec.name)} AS {quoted(spec.name)}")
    ctes.append(
        "stacks AS (\n    SELECT account_id, "
        + ", ".join(per_account)
        + "\n    FROM account_technologies GROUP BY account_id\n)"
    )
    return ctes, columns


def _signal_sql(signals: list[FeatureSpec], layout: ExportLayout) -> list[str]:
    """The CTE counting each signal type in the 365 days up to as_of (ISO dates)."""
    if not signals or layout.signals is None or layout.as_of is None:
        return []
    names = {
        c: "g." + quoted(layout.signals.get(c, c)) for c in ("account_id", "date", "signal_type")
    }
    day = f"SUBSTR(TRIM({names['date']}), 1, 10)"
    start = layout.as_of - timedelta(days=SIGNAL_LOOKBACK.days)
    counts = ", ".join(
        f"SUM(CASE WHEN TRIM({names['signal_type']}) = {literal(s.source)} THEN 1 ELSE 0 END) "
        f"AS {quoted(s.name)}"
        for s in signals
    )
    return [
        f"signal_counts AS (\n    SELECT TRIM({names['account_id']}) AS account_id, {counts}\n"
        f"    FROM {SIGNALS}\n    WHERE {day} > {literal(start.isoformat())} "
        f"AND {day} <= {literal(layout.as_of.isoformat())}\n"
        f"    GROUP BY TRIM({names['account_id']})\n)"
    ]


def view_sql(used: list[FeatureSpec], flags: list[FeatureSpec], layout: ExportLayout) -> str:
    """CREATE VIEW icp_accounts: one row per account, a column per feature in `used` (and the
    delimited technologies column for the flags), read from the export as the pipeline reads it."""
    account_id = layout.account("account_id")
    columns = [f"TRIM({account_id}) AS {quoted('account_id')}"]
    columns += [
        f"{_feature_sql(s, layout)} AS {quoted(s.name)}"
        for s in used
        if s.kind in ("categorical", "numeric") or s.name.startswith("signals_")
    ]
    counts = [s for s in used if s.kind == "count" and s.group == "technographic"]
    technographic = any(s.group == "technographic" for s in used)
    ctes, stack_columns = _technology_sql(flags, counts, layout) if technographic else ([], [])
    signals = [s for s in used if s.name.startswith("signals_")]
    signal_ctes = _signal_sql(signals, layout)
    joins = []
    if any("stacks AS" in c for c in ctes):
        joins.append(f"LEFT JOIN stacks AS s ON s.account_id = TRIM({account_id})")
    if signal_ctes:
        joins.append(f"LEFT JOIN signal_counts AS g ON g.account_id = TRIM({account_id})")
    ctes = [_missing_cells(), *ctes, *signal_ctes]
    header = (
        f"-- {VIEW}: one row per account of the export with the columns the ICP filter reads,\n"
        "-- computed as icpfit computes its features (SQLite). Load each export file as a table\n"
        "-- named like its config key (accounts, technologies, signals), columns as exported.\n"
    )
    return (
        f"{header}CREATE VIEW {VIEW} AS\nWITH RECURSIVE "
        + ",\n".join(ctes)
        + "\nSELECT\n    "
        + ",\n    ".join([*columns, *stack_columns])
        + f"\nFROM {ACCOUNTS}\n"
        + "".join(j + "\n" for j in joins)
        + f"WHERE NULLIF(TRIM({account_id}), '') IS NOT NULL;"
    )


def _used_specs(segments: Iterable[Segment], specs: tuple[FeatureSpec, ...]) -> list[FeatureSpec]:
    names = {c.column.split("=", 1)[0] for s in segments for c in s.conditions}
    return [s for s in specs if s.name in names]


def filter_sql(icp: IcpFilter, layout: ExportLayout) -> dict:
    """The `sql` of `filter_document`: the WHERE clause of each kind's segments over the view
    `icp_accounts`, the view over the export as `layout` reads it (`view`), and a runnable query
    per kind (`query`)."""
    specs = {s.name: s for s in icp.specs}
    where = {
        kind: where_clause(
            [s for s in icp.segments_ if s.kind == kind], specs, layout.stack_name, layout.separator
        )
        for kind in ("icp", "anti_icp")
    }
    flags = [s for s in icp.specs if s.kind == "flag"]
    used = _used_specs(icp.segments_, icp.specs)
    return {
        **where,
        "view": view_sql(used, flags, layout),
        "query": {
            kind: f"SELECT {quoted('account_id')} FROM {VIEW}\nWHERE {clause};"
            for kind, clause in where.items()
        },
    }
