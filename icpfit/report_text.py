"""Rendering reports for the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from icpfit.features.labels import COHORTS
from icpfit.features.report import DataReport

COHORT_MEANING = {
    "ideal": "retained, top LTV, expanded: target 1",
    "low_value": "retained, not ideal: target 0",
    "churned": "not paying at the window's end: target 0",
    "lost": "only lost deals: target 0",
    "immature": "customer, window not over yet: not labelled",
    "prospect": "no deal closed yet: scored, not labelled",
}


def print_data_report(report: DataReport, console: Console) -> None:
    console.rule(f"icpfit data report · as of {report.as_of.isoformat()}")
    console.print(_frame_table("Tables", report.tables))
    if len(report.coverage):
        console.print(_coverage_table(report))
    if report.cohorts:
        console.print(_cohort_table(report))
    if report.features:
        groups = ", ".join(f"{g} {n}" for g, n in sorted(report.features.items()))
        console.print(f"Features: {sum(report.features.values())} ({groups})")
    if report.disqualified:
        fired = ", ".join(f"{reason}: {n:,}" for reason, n in report.disqualified.items())
        console.print(f"Disqualified accounts (tier X at scoring): {fired}")
    warnings = report.warnings
    console.print(f"\n[bold]{len(report.errors)} errors, {len(warnings)} warnings[/]")
    for problem in warnings:
        console.print(f"[yellow]warning:[/] {problem.message}", highlight=False, soft_wrap=True)


def _frame_table(title: str, frame) -> Table:
    table = Table(*[str(c) for c in frame.columns], title=title, title_justify="left")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    return table


def _cell(value) -> str:
    if value is None or value != value:
        return "–"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.0f}"
    return str(value)


def _coverage_table(report: DataReport) -> Table:
    table = Table(
        "table",
        "column",
        "coverage",
        title="Coverage (share of rows with a value)",
        title_justify="left",
    )
    for row in report.coverage.itertuples(index=False):
        style = "red" if row.coverage < 0.5 else ("yellow" if row.coverage < 0.9 else "")
        table.add_row(
            row.table,
            row.column,
            f"[{style}]{row.coverage:.0%}[/]" if style else f"{row.coverage:.0%}",
        )
    return table


def _cohort_table(report: DataReport) -> Table:
    table = Table("cohort", "accounts", "meaning", title="Cohorts", title_justify="left")
    for cohort in COHORTS:
        table.add_row(cohort, f"{report.cohorts.get(cohort, 0):,}", COHORT_MEANING[cohort])
    matured = sum(report.cohorts.get(c, 0) for c in ("ideal", "low_value", "churned"))
    if matured:
        share = report.cohorts.get("ideal", 0) / matured
        table.caption = f"{matured:,} matured customers, {share:.0%} ideal"
    return table
