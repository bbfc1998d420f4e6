"""The `icpfit` command line: parse options, call one use case (`icpfit.usecases`), render its
result (`icpfit.render`). Every error ends in the one error path (`_Commands`): a message and a
non-zero exit, never a traceback unless --debug (or ICPFIT_DEBUG=1) asks for one."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from icpfit import options as opt
from icpfit import render
from icpfit.config import ConfigError, IcpConfig, load_config
from icpfit.failures import failure
from icpfit.quiet import quiet_mlflow

DEBUG = "icpfit.debug"
"""The context key --debug sets; ICPFIT_DEBUG=1 in the environment does the same."""


class _Commands(TyperGroup):
    """Runs every command through the one error path: a user's error prints its message, any
    other exception one `internal error` line; typer's own exits and usage errors pass."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            if ctx.meta.get(DEBUG) or _debug_env():
                raise
            raise _fail(*failure(exc)) from None


app = typer.Typer(
    name="icpfit",
    help="Learn your ideal customer profile from your own CRM history.\n\n"
    "Quick start: icpfit sample-data --out demo && icpfit validate --config demo/icpfit.yaml",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=_Commands,
)
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)


@app.callback()
def _root(
    ctx: typer.Context,
    version: opt.Version = False,
    debug: opt.Debug = False,
    verbose: opt.Verbose = False,
) -> None:
    """Learn your ideal customer profile from your own CRM history."""
    ctx.meta[DEBUG] = debug or _debug_env()
    quiet_mlflow(verbose)


def _debug_env() -> bool:
    return os.environ.get("ICPFIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` (user values in it print literally, never as markup) and exit `code`."""
    for line in message.splitlines() or [""]:
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _registry_work():
    """Point MLflow at the tracking store (MLFLOW_TRACKING_URI, else ./mlflow.db); errors end
    in the one error path (`_Commands`)."""
    from icpfit.registry import tracking

    tracking()
    yield


def _date(value: str | None) -> date | None:
    try:
        return None if value is None else datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-09-30") from None


def _tables(technologies, signals, as_of: str | None, tech_stack_column=None):
    from icpfit.usecases import InputTables

    return InputTables(technologies, signals, _date(as_of), tech_stack_column)


def _settings(config: Path, as_of: str | None) -> tuple[IcpConfig, date]:
    try:
        settings = load_config(config)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    return settings, _date(as_of) or settings.as_of or date.today()


@app.command("sample-data", epilog=opt.EXAMPLES["sample-data"])
def sample_data(
    out: opt.Out,
    accounts: opt.Accounts = 20_000,
    seed: opt.Seed = 7,
    business: opt.BusinessKind = opt.Business.subscription,
) -> None:
    """Write a realistic sample CRM export, a ready icpfit.yaml, and the generator's truth."""
    from icpfit.usecases import sample

    with console.status(f"Generating {accounts:,} accounts (seed {seed})…"):
        result = sample(out, accounts, seed, business.value)
    render.print_sample(result, console)


@app.command(epilog=opt.EXAMPLES["validate"])
def validate(config: opt.Config, as_of: opt.AsOf = None) -> None:
    """Check a CRM export and print a data report: tables, coverage, cohorts, every problem.

    Exits non-zero when the export has errors; warnings are reported and counted.
    """
    from icpfit.usecases import validate as validate_export

    settings, cutoff = _settings(config, as_of)
    with console.status("Reading and checking the export…"):
        result = validate_export(settings, cutoff)
    render.print_validation(result, console)
    if (report := result.report).errors:
        lines = [p.message for p in report.errors]
        raise _fail("\n".join([*lines, f"{len(lines)} errors: the export cannot be used yet"]), 1)


@app.command(epilog=opt.EXAMPLES["train"])
def train(
    config: opt.Config,
    as_of: opt.AsOf = None,
    quarter: opt.Quarter = None,
    promote: opt.PromoteMode = opt.Promote.auto,
    report_path: opt.ReportPath = None,
) -> None:
    """Label, featurise, train and evaluate against baselines, then register a model version."""
    from icpfit.usecases import retrain

    settings, cutoff = _settings(config, as_of)
    with _registry_work(), console.status("Starting…") as status:
        step = render.step_shower(status)
        result = retrain(
            settings, cutoff, quarter, promote.value, step=step, report_path=report_path
        )
    if report_path is not None:
        console.print(f"Report written to {escape(str(report_path))}")
    render.print_retrain(result, console)


@app.command("promote", epilog=opt.EXAMPLES["promote"])
def promote_command(
    version: opt.VersionArgument,
    model_name: opt.ModelName = "icp-fit",
    reason: opt.Reason = "",
) -> None:
    """Make a registered version the champion (the one it replaces is recorded for rollback)."""
    from icpfit.usecases import promote

    with _registry_work():
        result = promote(model_name, version, reason)
    console.print(
        f"{model_name} v{version} is champion (was: {result.previous or 'none'})", markup=False
    )
    for line in result.paired:
        console.print(line, markup=False)


@app.command("rollback", epilog=opt.EXAMPLES["rollback"])
def rollback_command(model_name: opt.ModelName = "icp-fit", reason: opt.Reason = "") -> None:
    """Move champion back to the version the current champion replaced."""
    from icpfit.usecases import rollback

    with _registry_work():
        result = rollback(model_name, reason)
    console.print(
        f"{model_name}: champion moved back from v{result.from_version} to v{result.to_version}",
        markup=False,
    )
    for line in result.paired:
        console.print(line, markup=False)


@app.command(epilog=opt.EXAMPLES["compare"])
def compare(
    model_a: opt.ModelA,
    model_b: opt.ModelB,
    input_path: opt.CompareInput,
    input_before: opt.InputBefore = None,
    technologies: opt.CompareTechnologies = None,
    output: opt.CompareOutput = None,
    psi_threshold: opt.PsiThreshold = 0.25,
    signals: opt.Signals = None,
    as_of: opt.SignalsAsOf = None,
) -> None:
    """Two model versions on the same accounts: tier migration, moves with their reasons, score
    and input drift, importance and ICP filter changes, metrics on the newer holdout."""
    from icpfit.usecases import compare as compare_versions

    with _registry_work(), console.status("Loading both models, scoring the accounts with both…"):
        tables = _tables(technologies, signals, as_of)
        result = compare_versions(
            model_a, model_b, input_path, input_before, tables, psi_threshold, output
        )
    where = str(output / "compare.html") if output else "use --output DIR"
    render.print_comparison(result.comparison, "Comparison", where, console)


@app.command(epilog=opt.EXAMPLES["score"])
def score(
    input_path: opt.ScoreInput,
    output: opt.ScoreOutput,
    model: opt.ModelUri = "models:/icp-fit@champion",
    reasons: opt.Reasons = 3,
    contributions: opt.Contributions = False,
    engine: opt.EngineOption = opt.Engine.pandas,
    spark_master: opt.SparkMaster = "local[*]",
    technologies: opt.ScoreTechnologies = None,
    signals: opt.Signals = None,
    as_of: opt.SignalsAsOf = None,
    tech_stack_column: opt.TechStackColumn = None,
    previous: opt.Previous = None,
    changed_only: opt.ChangedOnly = False,
    crm: opt.CrmOption = None,
    excel: opt.Excel = False,
) -> None:
    """Score every account with the registered model: tier, score and reasons in words.

    One output row per input row, in input order; rows that cannot be scored keep their
    account_id and get an error. The output file appears only when the run succeeds. Each row
    carries input_digest, a digest of the inputs it was scored on; a run compared with the
    previous one (--previous, or the existing output) says how each tier moved and why.
    """
    from icpfit.usecases import score_file
    from icpfit.usecases.delivery import Delivery

    delivery = Delivery(previous, changed_only, crm.value if crm else None, excel)
    with _registry_work(), console.status("Scoring…") as status:
        tables = _tables(technologies, signals, as_of, tech_stack_column)
        counter = render.row_counter(status, "Scored {:,} accounts")
        engine_settings = {"engine": engine.value, "spark_master": spark_master, "on_rows": counter}
        result = score_file(
            input_path,
            output,
            model,
            reasons,
            contributions,
            tables,
            **engine_settings,
            delivery=delivery,
        )
    render.print_scored_file(result, console)


@app.command(epilog=opt.EXAMPLES["queue"])
def queue(
    config: opt.Config,
    capacity: opt.Capacity,
    output: opt.QueueOutput,
    as_of: opt.QueueAsOf = None,
    owners: opt.Owners = None,
    html: opt.QueueHtml = None,
    fit_model: opt.FitModel = None,
    timing_model: opt.TimingModel = None,
    value: opt.ByValue = None,
) -> None:
    """Write today's work queue: accounts to call, ranked by fit x timing, with why now.

    Accounts that are not customers, not disqualified and have no open opportunity, ranked by
    priority = P(ideal fit) x P(a new opportunity within the timing horizon).
    """
    from icpfit.usecases.queue import build_queue

    if value not in (None, "ltv"):
        raise _fail(f"--value: {value!r} is not a choice; the one value is 'ltv'", 2)
    try:
        settings = load_config(config)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    with _registry_work(), console.status("Starting…") as status:
        result = build_queue(
            settings,
            output,
            capacity,
            _date(as_of),
            owners,
            fit_model,
            timing_model,
            html,
            step=render.step_shower(status),
            by_value=value == "ltv",
        )
    render.print_queue(result, console)


@app.command(epilog=opt.EXAMPLES["explain"])
def explain(
    input_path: opt.ExplainInput,
    account_id: opt.AccountId,
    model: opt.ExplainModel = "models:/icp-fit@champion",
    technologies: opt.ExplainTechnologies = None,
    plot: opt.Plot = None,
    signals: opt.Signals = None,
    as_of: opt.SignalsAsOf = None,
    tech_stack_column: opt.TechStackColumn = None,
    top: opt.Top = 8,
    output_format: opt.Format = opt.ExplainFormat.text,
) -> None:
    """Why one account scores as it does: its largest contributions as steps from the average
    account's fit probability to its own, each beside the median A-tier account."""
    from icpfit.usecases import explain as explain_one

    with _registry_work():
        tables = _tables(technologies, signals, as_of, tech_stack_column)
        result = explain_one(input_path, account_id, model, tables, plot)
    render.print_explanation(result, console, top, output_format.value)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
