"""The quarterly workflow as Python calls, for notebooks and scripts; the CLI runs the same steps.

from icpfit import workflow
workflow.tracking()                                   # MLFLOW_TRACKING_URI or ./mlflow.db
q3 = workflow.retrain(workflow.load("data/icpfit.yaml"), date(2026, 9, 30))
print("\\n".join(q3.comparison.summary_lines()))
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import mlflow
import pandas as pd

from icpfit.config import IcpConfig, load_config
from icpfit.features.pipeline import LabelledExport, prepare
from icpfit.features.problems import errors_of
from icpfit.features.sample import SampleExport
from icpfit.io import read_export, write_json, write_table, write_yaml
from icpfit.serving.models import resolve_model
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.training.compare import Comparison
from icpfit.training.fit import TrainingRun, train_icp_model
from icpfit.training.promotion import Mode
from icpfit.training.registry import RegisteredVersion, log_and_register, promote_version
from icpfit.training.report import RunReport, build_report
from icpfit.training.versions import (
    candidate_side,
    champion_side,
    compare_versions,
    comparison_rows,
    drift_against,
    load_side,
    training_population,
)

load = load_config


class ExportError(ValueError):
    """The export has errors; the message has one line per error (file, column, rows, fix)."""


def tracking(uri: str | None = None) -> str:
    """Point MLflow at `uri`, else MLFLOW_TRACKING_URI, else an SQLite store in the working dir."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    mlflow.set_tracking_uri(uri)
    return uri


def write_sample(sample: SampleExport, folder: Path) -> Path:
    """The sample export as CSV files with its icpfit.yaml (returned) and the generator's truth."""
    folder = Path(folder)
    for name, frame in sample.tables.items():
        write_table(frame, folder / f"{name}.csv")
    write_yaml(sample.config, folder / "icpfit.yaml")
    write_table(sample.truth, folder / "truth" / "ground_truth.csv")
    write_json(sample.drivers, folder / "truth" / "drivers.json")
    return folder / "icpfit.yaml"


def quarter_of(cutoff: date) -> str:
    return f"{cutoff.year}Q{(cutoff.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Retrain:
    prepared: LabelledExport
    run: TrainingRun
    report: RunReport
    version: RegisteredVersion
    drift: pd.DataFrame | None
    """PSI per feature from the previous champion's training population; None for a first run."""
    comparison: Comparison | None
    """This run against the champion it may replace, on the current non-customers."""


def retrain(
    config: IcpConfig,
    as_of: date,
    quarter: str | None = None,
    promote: Mode = "auto",
    git_sha: str = "unknown",
    step: Callable[[str], object] = lambda message: None,
) -> Retrain:
    """Label, featurise, train, compare with the champion, log and register one quarter's model.

    Raises ExportError for an export with errors and TooFewLabels when there are too few
    matured customers; in both cases nothing is logged or registered.
    """
    quarter = quarter or quarter_of(as_of)
    step(f"Reading, labelling and featurising as of {as_of}…")
    raw, read_problems = read_export(config)
    prepared, problems = prepare(raw, config, as_of) if not read_problems else (None, [])
    if prepared is None:
        raise ExportError("\n".join(p.message for p in errors_of([*read_problems, *problems])))
    step("Training the model and the baselines…")
    run = train_icp_model(prepared, config)
    step("Loading the champion to compare with…")
    champion = champion_side(config)
    population = training_population(run, prepared, config.model.seed)
    drift = drift_against(champion, population, prepared.features.specs)
    step("Drawing the report…")
    report = build_report(run, prepared, config, quarter, drift)
    candidate = candidate_side(run, prepared, config, report, quarter, population)
    comparison = None
    if champion is not None:
        step(f"Comparing with {champion.label} on the current prospects…")
        rows, rows_before = comparison_rows(raw, config, prepared, champion.as_of)
        comparison = compare_versions(
            champion,
            candidate,
            rows,
            rows_before,
            config.drift.psi_threshold,
            config.tiers.A + config.tiers.B,
        )
    step("Logging to MLflow and registering…")
    version = log_and_register(
        run,
        prepared,
        config,
        quarter,
        report,
        git_sha,
        promote,
        candidate=candidate,
        drift=drift,
        comparison=comparison,
    )
    return Retrain(prepared, run, report, version, drift, comparison)


def promote(config: IcpConfig, version: str) -> str | None:
    """Make `version` the champion; returns the version it replaced."""
    return promote_version(config.registry.model_name, str(version))


def compare(
    model_a: str,
    model_b: str,
    rows: pd.DataFrame,
    rows_before: pd.DataFrame | None = None,
    psi_threshold: float = 0.25,
) -> Comparison:
    """`icpfit compare` on account rows in memory (the export's format)."""
    return compare_versions(
        load_side(model_a), load_side(model_b), rows, rows_before, psi_threshold
    )


def load_model(model: str) -> IcpFitModel:
    """The registered model's own object: `.bundle` (what it learned) and `.booster`."""
    return mlflow.pyfunc.load_model(model).unwrap_python_model()


def score(model: str, rows: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
    """Score account rows with a registered model, e.g. `models:/icp-fit@champion`; like
    `icpfit score`, each row names the model version that scored it, and a cell that is not a
    number gets a per-row `error` rather than failing the whole call."""
    name, version = resolve_model(model)
    scored = load_model(model).predict(None, rows, {"reasons": reasons})
    scored_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return scored.assign(model_name=name, model_version=version, scored_at=scored_at)
