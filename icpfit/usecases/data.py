"""`sample-data` and `validate`: a sample export to try icpfit on, and the data report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from icpfit.config import IcpConfig
from icpfit.features.data_report import DataReport, data_report
from icpfit.features.pipeline import prepare
from icpfit.features.sample import SampleExport, generate_sample
from icpfit.io import read_export, write_json, write_table, write_yaml
from icpfit.training.fit import Readiness, readiness_of


@dataclass(frozen=True)
class Sample:
    folder: Path
    config_path: Path
    rows: dict[str, int]
    """Rows per table written, by table name."""
    truth_rows: int


def sample(out: Path, accounts: int, seed: int, business: str = "subscription") -> Sample:
    """A realistic sample CRM export with its icpfit.yaml and the generator's truth in `out`;
    a `transactional` business sells in repeat orders (no revenue table, bookings labels)."""
    export = generate_sample(accounts=accounts, seed=seed, business=business)
    config_path = write_sample(export, out)
    rows = {name: len(frame) for name, frame in export.tables.items()}
    return Sample(Path(out), config_path, rows, len(export.truth))


def write_sample(export: SampleExport, folder: Path) -> Path:
    """The sample export as CSV files with its icpfit.yaml (returned) and the generator's truth."""
    folder = Path(folder)
    for name, frame in export.tables.items():
        write_table(frame, folder / f"{name}.csv")
    write_yaml(export.config, folder / "icpfit.yaml")
    write_table(export.truth, folder / "truth" / "ground_truth.csv")
    write_json(export.drivers, folder / "truth" / "drivers.json")
    return folder / "icpfit.yaml"


@dataclass(frozen=True)
class Validation:
    report: DataReport
    readiness: Readiness | None
    """Labelled customers per backtest fold against the minimums; None with errors."""


def validate(config: IcpConfig, as_of: date) -> Validation:
    """Read the export, check it against the contract, label and featurise it as of `as_of`,
    and say whether it has enough labelled customers to train."""
    raw, read_problems = read_export(config)
    prepared, problems = prepare(raw, config, as_of) if not read_problems else (None, [])
    report = data_report(raw, prepared, [*read_problems, *problems], config, as_of)
    if prepared is None:
        return Validation(report, None)
    return Validation(report, readiness_of(prepared, config))
