"""The `icpfit` command line: the only place that reads and writes files."""

from __future__ import annotations

import sys
from datetime import date, datetime
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
    from icpfit.io import write_json, write_table, write_yaml

    with console.status(f"Generating {accounts:,} accounts (seed {seed})…"):
        sample = generate_sample(accounts=accounts, seed=seed)
    table = Table("file", "rows", title=f"Sample CRM export in {out}")
    for name, frame in sample.tables.items():
        write_table(frame, out / f"{name}.csv")
        table.add_row(f"{name}.csv", f"{len(frame):,}")
    write_yaml(sample.config, out / "icpfit.yaml")
    write_table(sample.truth, out / "truth" / "ground_truth.csv")
    write_json(sample.drivers, out / "truth" / "drivers.json")
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
