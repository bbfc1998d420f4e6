"""The `icpfit` command line: the only place that reads and writes files."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from icpfit import __version__
from icpfit.config import ConfigError, IcpConfig, load_config

app = typer.Typer(
    name="icpfit",
    help="Learn your ideal customer profile from your own CRM history.\n\n"
    "Quick start: icpfit sample-data --out demo && icpfit validate --config demo/icpfit.yaml",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)


def _version(value: bool) -> None:
    if value:
        console.print(f"icpfit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Learn your ideal customer profile from your own CRM history."""


def _fail(message: str, code: int = 1) -> typer.Exit:
    for line in message.splitlines():
        err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load(config: Path) -> IcpConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-09-30") from None


AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Cutoff date YYYY-MM-DD; rows dated later are ignored. "
        "Default: as_of in the config, else today.",
        show_default=False,
    ),
]


@app.command(
    "sample-data", epilog="Example: icpfit sample-data --out demo --accounts 5000 --seed 1"
)
def sample_data(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the export into.")],
    accounts: Annotated[
        int, typer.Option("--accounts", min=100, help="Number of accounts.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 7,
) -> None:
    """Write a realistic sample CRM export, a ready icpfit.yaml, and the generator's truth."""
    from icpfit.features.sample import generate_sample
    from icpfit.workflow import write_sample

    with console.status(f"Generating {accounts:,} accounts (seed {seed})…"):
        sample = generate_sample(accounts=accounts, seed=seed)
        write_sample(sample, out)
    table = Table("file", "rows", title=f"Sample CRM export in {out}")
    for name, frame in sample.tables.items():
        table.add_row(f"{name}.csv", f"{len(frame):,}")
    table.add_row("icpfit.yaml", "config")
    table.add_row("truth/ground_truth.csv", f"{len(sample.truth):,} (tests and benchmarks only)")
    console.print(table)
    console.print(f"Next: icpfit validate --config {out / 'icpfit.yaml'}")


@app.command(epilog="Example: icpfit validate --config icpfit.yaml --as-of 2026-06-30")
def validate(
    config: Annotated[Path, typer.Option("--config", help="The icpfit.yaml of your export.")],
    as_of: AsOf = None,
) -> None:
    """Check a CRM export and print a data report: tables, coverage, cohorts, every problem.

    Exits non-zero when the export has errors; warnings are reported and counted.
    """
    from icpfit.features.pipeline import prepare
    from icpfit.features.report import data_report
    from icpfit.io import read_export
    from icpfit.report_text import print_data_report

    settings = _load(config)
    cutoff = _parse_date(as_of) or settings.as_of or date.today()
    with console.status("Reading and checking the export…"):
        raw, read_problems = read_export(settings)
        prepared, problems = prepare(raw, settings, cutoff) if not read_problems else (None, [])
    report = data_report(raw, prepared, [*read_problems, *problems], settings, cutoff)
    print_data_report(report, console)
    if report.errors:
        lines = [p.message for p in report.errors]
        raise _fail("\n".join([*lines, f"{len(lines)} errors: the export cannot be used yet"]), 1)


def _tracking() -> str:
    """MLFLOW_TRACKING_URI if set, else an embedded SQLite store in the working directory."""
    from icpfit.workflow import tracking

    return tracking()


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Engine(str, Enum):
    pandas = "pandas"
    spark = "spark"


class Promote(str, Enum):
    auto = "auto"
    never = "never"
    force = "force"


@app.command(
    epilog="Example: icpfit train --config icpfit.yaml --as-of 2026-06-30 --quarter 2026Q2"
)
def train(
    config: Annotated[Path, typer.Option("--config", help="The icpfit.yaml of your export.")],
    as_of: AsOf = None,
    quarter: Annotated[
        str | None,
        typer.Option("--quarter", help="Run name; default: the quarter of as_of, like 2026Q3."),
    ] = None,
    promote: Annotated[
        Promote,
        typer.Option(
            "--promote",
            help="auto: champion only if the "
            "promotion rule holds; never: challenger; force: "
            "champion, recorded as forced.",
        ),
    ] = Promote.auto,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write the run's HTML report here.")
    ] = None,
) -> None:
    """Label, featurise, train and evaluate against baselines, then register a model version."""
    from icpfit.io import write_text
    from icpfit.training.fit import TooFewLabels
    from icpfit.workflow import ExportError, retrain

    settings = _load(config)
    cutoff = _parse_date(as_of) or settings.as_of or date.today()
    uri = _tracking()
    try:
        with console.status("Starting…") as status:
            result = retrain(
                settings, cutoff, quarter, promote.value, _git_sha(), step=status.update
            )
    except (ExportError, TooFewLabels) as exc:
        raise _fail(str(exc)) from None
    run, report, version = result.run, result.report, result.version
    comparison, drift = result.comparison, result.drift
    if report_path is not None:
        write_text(report.html, report_path)
        console.print(f"Report written to {report_path}")
    table = Table(
        "scorer",
        "ROC-AUC",
        "PR-AUC",
        "Brier",
        "lift@10%",
        "LTV in A+B",
        title=f"Holdout ({int((run.split == 'holdout').sum()):,} newest accounts)",
        title_justify="left",
    )
    for scorer, row in run.metrics.iterrows():
        table.add_row(
            str(scorer),
            *(
                f"{row[k]:.3f}"
                for k in ("roc_auc", "pr_auc", "brier", "lift_top_decile", "ltv_share_tiers_ab")
            ),
        )
    console.print(table)
    console.print(
        f"Registered {version.name} v{version.version} as [bold]{version.decision.alias}"
        f"[/]: {version.decision.reason}"
    )
    if comparison is not None:
        _print_comparison(
            comparison, "Comparison with the champion", f"the run's artifacts (compare/) in {uri}"
        )
    elif drift is None:
        console.print("No champion yet: nothing to compare with; this run starts the history.")
    console.print(f"Tracking store: {uri} · browse it with: mlflow ui --backend-store-uri {uri}")


def _print_comparison(comparison, title: str, where: str) -> None:
    console.rule(title)
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
                str(move.account_id),
                f"{move.tier_a} → {move.tier_b}",
                f"{move.fit_score_a:.0f} → {move.fit_score_b:.0f}",
                move.reasons_gained or "–",
                move.reasons_lost or "–",
            )
        console.print(moves)
    console.print(f"Full comparison (HTML and CSV): {where}")


@app.command("promote", epilog="Example: icpfit promote 3")
def promote_command(
    version: Annotated[str, typer.Argument(help="The registered version to make champion.")],
    model_name: Annotated[str, typer.Option("--model-name", help="Registered model.")] = "icp-fit",
) -> None:
    """Make a registered version the champion (the one it replaces is recorded for rollback)."""
    from mlflow.exceptions import MlflowException

    from icpfit.training.registry import promote_version

    _tracking()
    try:
        previous = promote_version(model_name, version)
    except MlflowException as exc:
        raise _fail(f"cannot promote {model_name} v{version}: {exc.message}") from None
    console.print(f"{model_name} v{version} is champion (was: {previous or 'none'})")


@app.command("rollback", epilog="Example: icpfit rollback")
def rollback_command(
    model_name: Annotated[str, typer.Option("--model-name", help="Registered model.")] = "icp-fit",
) -> None:
    """Move champion back to the version the current champion replaced."""
    from mlflow.exceptions import MlflowException

    from icpfit.training.registry import rollback

    _tracking()
    try:
        current, previous = rollback(model_name)
    except MlflowException as exc:
        raise _fail(f"cannot roll back {model_name}: {exc.message}") from None
    console.print(f"{model_name}: champion moved back from v{current} to v{previous}")


@app.command(
    epilog="Example: icpfit compare --model-a models:/icp-fit/1 --model-b models:/icp-fit@champion "
    "--input accounts.csv --output compare/"
)
def compare(
    model_a: Annotated[
        str, typer.Option("--model-a", help="The earlier model, e.g. models:/icp-fit/1.")
    ],
    model_b: Annotated[
        str, typer.Option("--model-b", help="The newer model, e.g. models:/icp-fit@challenger.")
    ],
    input_path: Annotated[
        Path, typer.Option("--input", help="Account rows (CSV or Parquet) both models score.")
    ],
    input_before: Annotated[
        Path | None,
        typer.Option(
            "--input-before",
            help="An earlier snapshot of the same accounts: splits changes into model and data.",
        ),
    ] = None,
    technologies: Annotated[
        Path | None,
        typer.Option("--technologies", help="A long (account_id, technology) table to join."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="A folder for compare.html and the CSV tables.")
    ] = None,
    psi_threshold: Annotated[
        float, typer.Option("--psi-threshold", help="Flag features drifting beyond this PSI.")
    ] = 0.25,
) -> None:
    """Two model versions on the same accounts: tier migration, moves with their reasons, score
    and input drift, importance and ICP filter changes, metrics on the newer holdout."""
    import pandas as pd

    from icpfit.io import write_table, write_text
    from icpfit.serving.batch import read_batches, tech_stacks, with_tech_stacks
    from icpfit.serving.models import ModelNotFound
    from icpfit.training.versions import compare_versions, load_side

    for path in (input_path, input_before, technologies):
        if path is not None and not path.is_file():
            raise _fail(f"{path}: file not found")
    _tracking()
    try:
        with console.status("Loading both models and their runs' artifacts…"):
            a, b = load_side(model_a), load_side(model_b)
    except ModelNotFound as exc:
        raise _fail(str(exc)) from None

    stack = b.model.bundle["tech_stack"]
    id_column = b.model.bundle["accounts_columns"].get("account_id", "account_id")

    def rows(path: Path | None, stacks: pd.Series | None) -> pd.DataFrame | None:
        if path is None:
            return None
        frame = pd.concat(list(read_batches(path)), ignore_index=True)
        if stacks is None:
            return frame
        return with_tech_stacks(frame, stacks, stack["column"], id_column)

    try:
        with console.status("Scoring the accounts with both models…"):
            stacks = tech_stacks(technologies, stack["separator"]) if technologies else None
            comparison = compare_versions(
                a, b, rows(input_path, stacks), rows(input_before, stacks), psi_threshold
            )
    except (OSError, ValueError, KeyError) as exc:
        raise _fail(f"{input_path}: {exc}") from None
    if output is not None:
        for name, table in comparison.tables().items():
            write_table(table, output / name)
        write_text(comparison.html(), output / "compare.html")
    _print_comparison(
        comparison, "Comparison", str(output / "compare.html") if output else "use --output DIR"
    )


@app.command(
    epilog="Example: icpfit score --model models:/icp-fit@champion --input accounts.csv "
    "--output scored.parquet --reasons 3"
)
def score(
    input_path: Annotated[
        Path,
        typer.Option(
            "--input",
            help="Account rows, CSV or Parquet, in the export's format (tech stack as a column).",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", help="Scored rows, CSV or Parquet.")],
    model: Annotated[
        str,
        typer.Option(
            "--model", help="models:/NAME@ALIAS, models:/NAME/VERSION or any MLflow model URI."
        ),
    ] = "models:/icp-fit@champion",
    reasons: Annotated[
        int, typer.Option("--reasons", min=0, max=10, help="Reasons for and against per account.")
    ] = 3,
    contributions: Annotated[
        bool, typer.Option("--contributions", help="Add every attribute's SHAP value as JSON.")
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="pandas (streaming, one machine) or spark (Parquet in and out, mlflow spark_udf).",
        ),
    ] = Engine.pandas,
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL for --engine spark.")
    ] = "local[*]",
    technologies: Annotated[
        Path | None,
        typer.Option(
            "--technologies",
            help="A long table (account_id, technology) to join as the tech stack.",
        ),
    ] = None,
) -> None:
    """Score every account with the registered model: tier, score and reasons in words.

    One output row per input row, in input order; rows that cannot be scored keep their
    account_id and get an error. The output file appears only when the run succeeds.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from icpfit.serving.batch import input_columns, score_file

    for path, role in ((input_path, "--input"), (output, "--output")):
        if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise _fail(f"{role} {path}: use a .csv or .parquet file")
    name, version, loaded = _load_model(model, input_path)
    renames = {v: k for k, v in loaded.bundle["accounts_columns"].items()}
    columns = [renames.get(c, c) for c in input_columns(input_path)]
    if "account_id" not in columns:
        export_name = loaded.bundle["accounts_columns"].get("account_id", "account_id")
        raise _fail(
            f"{input_path.name}: missing required column '{export_name}' "
            f"(columns found: {', '.join(columns[:8])})"
        )
    if engine is Engine.spark:
        _score_with_spark(
            model,
            input_path,
            output,
            name,
            version,
            spark_master,
            reasons,
            technologies or contributions,
        )
        return
    params = {"reasons": reasons, "contributions": contributions}
    score_batch = _batch_scorer(loaded, params, technologies)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
        task = bar.add_task("Scoring…", total=None)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            bar.update(task, description=f"Scored {done[0]:,} accounts")

        summary = score_file(input_path, output, score_batch, name, version, advance)
    tiers = ", ".join(f"{t} {summary.tiers.get(t, 0):,}" for t in ("A", "B", "C", "D", "X"))
    console.print(
        f"Wrote {output}: {summary.rows:,} rows scored by {name} v{version} ({tiers}); "
        f"{summary.errors:,} rows with an error"
    )
    if summary.duplicate_ids:
        console.print(
            f"[yellow]warning:[/] {summary.duplicate_ids:,} rows repeat an account_id "
            "seen before; all were scored and kept"
        )


@app.command(
    epilog="Example: icpfit explain --input accounts.csv --account-id ACC-000050 --plot why.png"
)
def explain(
    input_path: Annotated[Path, typer.Option("--input", help="Account rows, CSV or Parquet.")],
    account_id: Annotated[str, typer.Option("--account-id", help="The account to explain.")],
    model: Annotated[str, typer.Option("--model", help="Model URI.")] = "models:/icp-fit@champion",
    technologies: Annotated[
        Path | None, typer.Option("--technologies", help="A long technologies table to join.")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a waterfall PNG here.")] = None,
) -> None:
    """Why one account scores as it does: every attribute's value and exact contribution."""

    from icpfit.io import atomic_path
    from icpfit.serving.batch import read_batches, tech_stacks, with_tech_stacks
    from icpfit.serving.explain import explain_account, waterfall_png

    name, version, loaded = _load_model(model, input_path)
    id_column = loaded.bundle["accounts_columns"].get("account_id", "account_id")
    matches = (b[b[id_column].astype(str) == account_id] for b in read_batches(input_path))
    row = next((m for m in matches if len(m)), None)
    if row is None:
        raise _fail(f"{input_path.name}: no row with {id_column} = {account_id!r}")
    if technologies is not None:
        stack = loaded.bundle["tech_stack"]
        row = with_tech_stacks(
            row, tech_stacks(technologies, stack["separator"]), stack["column"], id_column
        )
    scored = loaded.predict(None, row.head(1), {"reasons": 0}).iloc[0]
    table, base = explain_account(row, loaded.bundle, loaded.booster, loaded.explainer)
    disqualified = scored["disqualified_reason"]
    console.print(
        f"[bold]{account_id}[/] · {name} v{version} · tier [bold]{scored['fit_tier']}"
        f"[/] · fit score {scored['fit_score']} · probability "
        f"{scored['fit_probability']:.3f}"
        + (f" · disqualified: {disqualified}" if isinstance(disqualified, str) else "")
    )
    view = Table(
        "attribute",
        "reads as",
        "contribution",
        title="Every attribute, largest first",
        title_justify="left",
    )
    for attribute, text, value in table[["attribute", "reads as", "contribution"]].itertuples(
        index=False
    ):
        colour = "green" if value > 0 else "red"
        view.add_row(attribute, text, f"[{colour}]{value:+.3f}[/]")
    console.print(view)
    console.print(
        f"Average account: {base:+.3f} log-odds; this account: "
        f"{base + table['contribution'].sum():+.3f}"
    )
    if plot is not None:
        with atomic_path(plot) as tmp:
            tmp.write_bytes(waterfall_png(table, base, f"{account_id}: tier {scored['fit_tier']}"))
        console.print(f"Waterfall written to {plot}")


def _load_model(model: str, input_path: Path):
    """(registered name, version, the pyfunc's python model) after checking the input exists."""
    import mlflow

    from icpfit.serving.models import ModelNotFound, resolve_model

    if not input_path.is_file():
        raise _fail(f"{input_path}: input file not found")
    _tracking()
    try:
        name, version = resolve_model(model)
        return name, version, mlflow.pyfunc.load_model(model).unwrap_python_model()
    except ModelNotFound as exc:
        raise _fail(str(exc)) from None


def _score_with_spark(
    model: str,
    source: Path,
    target: Path,
    name: str,
    version: str,
    master: str,
    reasons: int,
    unsupported: object,
) -> None:
    from icpfit.serving.spark import score_with_spark

    if unsupported:
        raise _fail(
            "--engine spark takes the tech stack as a column and no --contributions; "
            "join technologies upstream"
        )
    if source.suffix.lower() not in (".parquet", ".pq") or target.suffix.lower() not in (
        ".parquet",
        ".pq",
    ):
        raise _fail(
            "--engine spark reads and writes Parquet: use .parquet for --input and --output"
        )
    with console.status(f"Scoring on Spark ({master})…"):
        rows = score_with_spark(model, source, target, name, version, master, reasons)
    console.print(
        f"Wrote {target} (a Parquet directory): {rows:,} rows scored by {name} v{version} on Spark"
    )


def _batch_scorer(loaded, params: dict, technologies: Path | None):
    """The model's own predict (schema typing is the scorer's, per row), with a joined stack."""
    from icpfit.serving.batch import tech_stacks, with_tech_stacks

    if technologies is None:
        return lambda batch: loaded.predict(None, batch, params)
    stack = loaded.bundle["tech_stack"]
    id_column = loaded.bundle["accounts_columns"].get("account_id", "account_id")
    try:
        stacks = tech_stacks(technologies, stack["separator"])
    except (OSError, ValueError) as exc:
        raise _fail(f"--technologies: {exc}") from None
    return lambda batch: loaded.predict(
        None, with_tech_stacks(batch, stacks, stack["column"], id_column), params
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
