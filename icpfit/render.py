"""The terminal view of each use case's result (rich); the CLI calls one per command."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from icpfit.features.data_report import DataReport
from icpfit.features.labels import COHORTS
from icpfit.serving.crm import CRMS
from icpfit.serving.delivery import CAUSES as CHANGE_CAUSES
from icpfit.training.metrics import figure_with_interval

if TYPE_CHECKING:
    from icpfit.training.compare import Comparison
    from icpfit.usecases import Explanation, Retrain, Sample, ScoredFile, Validation
    from icpfit.usecases.delivery import Delivered

TIERS = ("A", "B", "C", "D", "X")
SCORER_NAMES = {
    "rules": "ICP rules",
    "logistic": "logistic regression",
    "single_column": "best single column",
}
HOLDOUT_COLUMNS = ("roc_auc", "pr_auc", "brier", "lift_top_decile", "ltv_share_tiers_ab")

COHORT_MEANING = {
    "ideal": "retained, top LTV, expanded: target 1",
    "low_value": "retained, not ideal: target 0",
    "churned": "not paying at the window's end: target 0",
    "lost": "only lost deals: target 0",
    "immature": "customer, window not over yet: not labelled",
    "prospect": "no deal closed yet: scored, not labelled",
}
BOOKINGS_MEANING = COHORT_MEANING | {
    "ideal": "reordered, top LTV, orders grew: target 1",
    "low_value": "reordered, not ideal: target 0",
    "churned": "no repeat order in the window: target 0",
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
        console.print(f"Features: {sum(report.features.values())} ({escape(groups)})")
    if report.disqualified:
        fired = ", ".join(f"{reason}: {n:,}" for reason, n in report.disqualified.items())
        console.print(f"Disqualified accounts (tier X at scoring): {escape(fired)}")
    warnings = report.warnings
    console.print(f"\n[bold]{len(report.errors)} errors, {len(warnings)} warnings[/]")
    for problem in warnings:
        console.print(
            f"[yellow]warning:[/] {escape(problem.message)}", highlight=False, soft_wrap=True
        )


def print_validation(result: Validation, console: Console) -> None:
    print_data_report(result.report, console)
    if result.readiness is None:
        return
    counts = result.readiness.counts
    table = Table(
        "backtest fold",
        "ideal before",
        "non-ideal before",
        "ideal in fold",
        "non-ideal in fold",
        title="Enough to train?",
        title_justify="left",
    )
    for fold, row in counts.iterrows():
        table.add_row(
            str(fold),
            _against(row["train_ideal"], row["train_ideal_min"]),
            _against(row["train_non_ideal"], row["train_non_ideal_min"]),
            _against(row["ideal"], row["ideal_min"]),
            _against(row["non_ideal"], row["non_ideal_min"]),
        )
    table.caption = f"minimums from `minimums` in the config; {result.readiness.window}"
    console.print(table)
    style = "green" if result.readiness.can_train else "bold red"
    console.print(f"[{style}]{escape(result.readiness.verdict())}[/]")


def _against(count: int, minimum: int) -> str:
    text = f"{count:,} (min {minimum:,})"
    return text if count >= minimum else f"[red]{text}[/]"


def _frame_table(title: str, frame) -> Table:
    table = Table(*[escape(str(c)) for c in frame.columns], title=title, title_justify="left")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    return table


def _cell(value) -> str:
    """A table cell as text, a user's value escaped so it prints literally (never as markup)."""
    if value is None or value != value:
        return "–"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.0f}"
    return escape(str(value))


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
            escape(str(row.table)),
            escape(str(row.column)),
            f"[{style}]{row.coverage:.0%}[/]" if style else f"{row.coverage:.0%}",
        )
    return table


def _cohort_table(report: DataReport) -> Table:
    table = Table("cohort", "accounts", "meaning", title="Cohorts", title_justify="left")
    meaning = BOOKINGS_MEANING if report.label_mode == "bookings" else COHORT_MEANING
    for cohort in COHORTS:
        table.add_row(cohort, f"{report.cohorts.get(cohort, 0):,}", meaning[cohort])
    matured = sum(report.cohorts.get(c, 0) for c in ("ideal", "low_value", "churned"))
    if matured:
        share = report.cohorts.get("ideal", 0) / matured
        table.caption = f"{matured:,} matured customers, {share:.0%} ideal"
    return table


def step_shower(status: Status) -> Callable[[str], None]:
    """A callback showing each step's text in `status`, literally (a step may name a path)."""

    def show(text: str) -> None:
        status.update(escape(text))

    return show


def row_counter(status: Status, template: str) -> Callable[[int], None]:
    """A callback that adds up rows done and shows the running total in `status`."""
    done = [0]

    def advance(rows: int) -> None:
        done[0] += rows
        status.update(template.format(done[0]))

    return advance


def print_sample(sample: Sample, console: Console) -> None:
    table = Table("file", "rows", title=escape(f"Sample CRM export in {sample.folder}"))
    for name, rows in sample.rows.items():
        table.add_row(f"{name}.csv", f"{rows:,}")
    table.add_row("icpfit.yaml", "config")
    table.add_row("truth/ground_truth.csv", f"{sample.truth_rows:,} (tests and benchmarks only)")
    console.print(table)
    console.print(f"Next: icpfit validate --config {sample.config_path}", markup=False)


def print_retrain(result: Retrain, console: Console) -> None:
    run, version, tracking_uri = result.run, result.version, result.tracking_uri
    model = run.metrics.loc["model"]
    backtest = run.backtest
    table = Table(
        "scorer",
        "ROC-AUC [95% CI]",
        "PR-AUC [95% CI]",
        "Brier [95% CI]",
        "lift@10% [95% CI]",
        "LTV in A+B [95% CI]",
        title=f"Backtest: mean over {len(backtest.folds)} folds, {int(model['accounts']):,} "
        f"accounts judged, {int(model['ideal']):,} of them ideal",
        title_justify="left",
        caption="each fold's model learns only from accounts decided before the fold; [95% CI]: "
        "a bootstrap of each fold's accounts; a gap between scorers smaller than that may be "
        f"noise. Best single column: {escape(str(backtest.single_column))}",
    )
    for scorer, row in run.metrics.iterrows():
        digits = {"lift_top_decile": 2}
        cells = [figure_with_interval(row, k, digits.get(k, 3)) for k in HOLDOUT_COLUMNS]
        table.add_row(escape(SCORER_NAMES.get(str(scorer), str(scorer))), *cells)
    console.print(table)
    for note in backtest.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    console.print(
        f"Recipe: {escape(run.recipe.describe())}; {run.model.best_iteration_} trees; trained on "
        f"{len(run.rows):,} labelled accounts decided up to {run.trained_through.date()}",
        soft_wrap=True,
    )
    console.print(
        f"Registered {escape(version.name)} v{version.version} as [bold]"
        f"{escape(version.decision.alias)}[/]: {escape(version.decision.reason)}"
    )
    _print_timing(result, console)
    if result.comparison is not None:
        where = f"the run's artifacts (compare/) in {tracking_uri}"
        print_comparison(result.comparison, "Comparison with the champion", where, console)
    elif result.drift is None:
        console.print("No champion yet: nothing to compare with; this run starts the history.")
    console.print(
        f"Tracking store: {tracking_uri} · browse it with: mlflow ui --backend-store-uri "
        f"{tracking_uri}",
        markup=False,
    )


def print_comparison(comparison: Comparison, title: str, where: str, console: Console) -> None:
    console.rule(escape(title))
    for line in comparison.summary_lines():
        console.print(f"  {line}", markup=False, highlight=False)
    migration = Table("A ↓  B →", *map(str, comparison.migration.columns), title="Tier migration")
    for tier, counts in comparison.migration.iterrows():
        migration.add_row(str(tier), *(f"{int(c):,}" for c in counts))
    console.print(migration)
    if len(comparison.moves):
        moves = Table(
            "account", "tier", "score", "reasons gained", "reasons lost", title="Largest moves"
        )
        for move in comparison.moves.head(5).itertuples():
            moves.add_row(
                escape(str(move.account_id)),
                f"{move.tier_a} → {move.tier_b}",
                f"{move.fit_score_a:.0f} → {move.fit_score_b:.0f}",
                escape(str(move.reasons_gained or "–")),
                escape(str(move.reasons_lost or "–")),
            )
        console.print(moves)
    console.print(f"Full comparison (HTML and CSV): {where}", markup=False)


def print_scored_file(result: ScoredFile, console: Console) -> None:
    summary, model = result.summary, f"{result.model_name} v{result.model_version}"
    tiers = ", ".join(f"{t} {summary.tiers.get(t, 0):,}" for t in TIERS)
    where = f"{result.output} (a Parquet directory)" if result.engine == "spark" else result.output
    engine = " on Spark" if result.engine == "spark" else ""
    rows = f"{summary.rows:,} rows"
    if result.delivered is not None and result.delivered.changed_only:
        rows = f"{summary.written:,} of {summary.rows:,} rows (tier up, down or new, or an error),"
    console.print(
        f"Wrote {where}: {rows} scored by {model}{engine} ({tiers}); "
        f"{summary.errors:,} rows with an error",
        markup=False,
    )
    if result.delivered is not None:
        _print_delivery(result.delivered, console)
    if summary.duplicate_ids:
        console.print(
            f"[yellow]warning:[/] {summary.duplicate_ids:,} rows repeat an account_id "
            "seen before; all were scored and kept"
        )
    if result.gaps:
        blanks = ", ".join(f"{name} {rows:,}" for name, rows in sorted(result.gaps.items()))
        console.print(
            f"[yellow]warning:[/] inputs the model uses were blank in some rows, scored as "
            f"unknown there (data_coverage says how much): {escape(blanks)}"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def _print_delivery(delivered: Delivered, console: Console) -> None:
    """What the scoring run compared and how it wrote the file (`icpfit score` options)."""
    if (changes := delivered.changes) is not None:
        moves = ", ".join(f"{changes.tiers.get(c, 0):,} {c}" for c in ("up", "down", "new", "same"))
        causes = ", ".join(f"{c} {changes.causes.get(c, 0):,}" for c in CHANGE_CAUSES)
        console.print(
            f"Compared with the previous run in {escape(str(changes.compared_with))} "
            f"({changes.accounts:,} accounts): tier {moves}; moved by: {causes}; dropped since "
            f"the last run: {changes.dropped:,} (in the previous file, not in this input)",
            highlight=False,
        )
        if not changes.digests:
            console.print(
                "[yellow]note:[/] the previous file has no input_digest (scored before icpfit "
                "recorded it): a tier change is put down to the model when the version changed, "
                "else it is unknown"
            )
    if delivered.crm is not None:
        crm = CRMS[delivered.crm]
        console.print(
            f"Columns named as {crm.title} {crm.record} fields; records match on "
            f"{escape(delivered.id_name)} (README: Loading scores into your CRM)"
        )
        if cut := delivered.cut_texts:
            texts = "1 text longer than" if cut == 1 else f"{cut:,} texts longer than"
            console.print(
                f"[yellow]note:[/] {texts} {crm.text_limit} characters "
                f"{'was' if cut == 1 else 'were'} cut to {crm.text_limit}, ending in …"
            )
    if delivered.excel:
        console.print("CSV written as UTF-8 with a byte-order mark, for Excel")
    if delivered.excel and delivered.crm == "salesforce":
        console.print(
            "[yellow]note:[/] Salesforce Data Loader can refuse a CSV that starts with a "
            "byte-order mark: leave out --excel for a file it loads"
        )


def print_explanation(
    result: Explanation, console: Console, top: int = 8, output_format: str = "text"
) -> None:
    """`text` for the terminal (bars sized to its width), `markdown` for a CRM note, `json` for
    programs; the same facts in each."""
    steps = result.steps(top)
    if output_format == "json":
        console.out(json.dumps(explanation_json(result, steps), indent=2), highlight=False)
    elif output_format == "markdown":
        console.out(explanation_markdown(result, steps), highlight=False)
    else:
        print_explanation_text(result, steps, console)
    if result.plot is not None and output_format == "text":
        console.print(f"Waterfall written to {result.plot}", markup=False)


def explanation_heading(result: Explanation) -> str:
    scored, disqualified = result.scored, result.scored["disqualified_reason"]
    return (
        f"{result.account_id} · {result.model_name} v{result.model_version} · tier "
        f"{scored['fit_tier']} · fit score {int(scored['fit_score'])} · fit probability "
        f"{scored['fit_probability']:.1%}"
        + (f" · disqualified: {disqualified}" if isinstance(disqualified, str) else "")
    )


def median_a_note(result: Explanation) -> str:
    if result.a_accounts is None:
        return "this model did not record a median A-tier account (retrain to add it)"
    return f"median A account: the median of the {result.a_accounts:,} accounts the model puts in A"


def print_explanation_text(result: Explanation, steps, console: Console) -> None:
    console.print(f"[bold]{escape(explanation_heading(result))}[/]")
    console.print(
        f"From the average account's {result.average_probability:.1%} to this account's "
        f"{result.scored['fit_probability']:.1%}, largest steps first:"
    )
    bar_width = max(6, min(24, (console.width or 100) // 6))
    largest = max(float(steps["points"].abs().max()), 1e-9)
    view = Table("attribute", "this account", "median A", "step", "", box=None, pad_edge=False)
    for row in steps.itertuples(index=False):
        length = max(1, round(abs(row.points) / largest * bar_width))
        colour = "green" if row.points >= 0 else "red"
        view.add_row(
            escape(row.label),
            escape(row.this_account),
            escape(row.median_a),
            f"[{colour}]{row.points:+.1f} pts[/]",
            f"[{colour}]{'█' * length}[/]",
        )
    console.print(view)
    console.print(f"[dim]{escape(median_a_note(result))}; pts = percentage points[/]")


def explanation_markdown(result: Explanation, steps) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = [
        f"**{cell(explanation_heading(result))}**",
        "",
        f"From the average account's {result.average_probability:.1%} to this account's "
        f"{result.scored['fit_probability']:.1%}, largest steps first.",
        "",
        "| attribute | this account | median A account | step |",
        "| --- | --- | --- | ---: |",
        *(
            f"| {cell(r.label)} | {cell(r.this_account)} | {cell(r.median_a)} "
            f"| {r.points:+.1f} pts |"
            for r in steps.itertuples(index=False)
        ),
        "",
        f"_{median_a_note(result)}; pts = percentage points of fit probability._",
    ]
    return "\n".join(lines)


def explanation_json(result: Explanation, steps) -> dict:
    scored = result.scored
    disqualified = scored["disqualified_reason"]
    return {
        "account_id": result.account_id,
        "model_name": result.model_name,
        "model_version": result.model_version,
        "fit_tier": scored["fit_tier"],
        "fit_score": int(scored["fit_score"]),
        "fit_probability": round(float(scored["fit_probability"]), 6),
        "disqualified_reason": disqualified if isinstance(disqualified, str) else None,
        "average_probability": round(result.average_probability, 6),
        "median_a_accounts": result.a_accounts,
        "steps": [
            {
                "attribute": r.label,
                "feature": r.feature or None,
                "reads_as": r.reads_as or None,
                "this_account": r.this_account or None,
                "median_a_account": r.median_a or None,
                "log_odds": round(float(r.contribution), 6),
                "probability_before": round(float(r.before), 6),
                "probability_after": round(float(r.after), 6),
                "points": round(float(r.points), 3),
            }
            for r in steps.itertuples(index=False)
        ],
    }


def print_queue(result, console: Console) -> None:
    """The queue's first rows, what was left off the list and why, and where it was written."""
    rows = result.rows
    table = Table(
        "#",
        "account",
        "fit",
        "timing",
        "why now",
        title=f"Work queue as of {result.as_of}: {len(rows):,} accounts "
        f"(of {result.candidates:,} not customers, not disqualified, no open opportunity)",
        title_justify="left",
    )
    for row in rows.head(10).itertuples():
        table.add_row(
            str(row.rank),
            escape(str(row.account_id)),
            f"{escape(str(row.fit_tier))} ({row.fit_score})",
            f"{row.timing_score:.1%}",
            escape(str(row.why_now)),
        )
    console.print(table)
    if "expected_ltv" in rows.columns and len(rows):
        worth = rows.groupby("fit_tier")["expected_ltv"].first()
        each = ", ".join(f"{tier} {value:,.0f}" for tier, value in worth.items())
        console.print(f"Priority includes each fit tier's expected lifetime value: {each}")
    if result.excluded:
        left = ", ".join(f"{n:,} {escape(why)}" for why, n in sorted(result.excluded.items()))
        console.print(f"Not on the list: {left}", soft_wrap=True)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    console.print(
        f"Models: {escape(result.fit_version)} (fit) and {escape(result.timing_version)} (timing)"
    )
    console.print(f"Queue written to {escape(str(result.output))}")
    if result.html is not None:
        console.print(f"Page for reps: {escape(str(result.html))}")


def _print_timing(result: Retrain, console: Console) -> None:
    """The timing model's backtest and registration, or why there is none."""
    from icpfit.training.timing_report import timing_lines

    timing = result.timing
    if timing.run is None:
        if timing.skipped:
            console.print(f"[yellow]note:[/] {escape(timing.skipped)}", soft_wrap=True)
        return
    console.print("[bold]Timing[/] (who to call this month):")
    for line in timing_lines(timing.run):
        console.print(f"  {escape(line)}", soft_wrap=True)
    registered = result.version.timing
    if registered is not None:
        console.print(
            f"Registered {escape(registered.name)} v{registered.version} as [bold]"
            f"{escape(registered.decision.alias)}[/]: {escape(registered.decision.reason)}",
            soft_wrap=True,
        )
