"""`train`: one quarter's retrain, from the export to a registered version with its alias."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.pipeline import LabelledExport, prepare
from icpfit.features.problems import RawTable, errors_of
from icpfit.io import ExportError, InputError, read_export, write_text
from icpfit.registry import (
    RegisteredVersion,
    load_champion,
    log_and_register,
    recover_dead_trains,
    tracking_uri,
    train_lock,
)
from icpfit.training.comparable import (
    ComparableModel,
    candidate_model,
    compare_models,
    comparison_rows,
    drift_against,
    holdout_metrics,
    training_population,
)
from icpfit.training.compare import Comparison, with_shap
from icpfit.training.fit import TrainingRun, train_icp_model
from icpfit.training.promotion import (
    Decision,
    Mode,
    PairedDifference,
    paired_difference,
    should_promote,
)
from icpfit.training.run_report import RunReport, build_report
from icpfit.training.timing import timing_decision
from icpfit.usecases.timing import TimingOutcome, timing_for


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
    tracking_uri: str
    timing: TimingOutcome = TimingOutcome()
    """The timing model trained beside the fit (issue 16), or why there is none."""


def git_sha() -> str:
    """The commit of the icpfit code that trains, for the run's provenance."""
    try:
        command = ["git", "rev-parse", "--short", "HEAD"]
        folder = Path(__file__).parent
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=folder)
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def quarter_of(cutoff: date) -> str:
    return f"{cutoff.year}Q{(cutoff.month - 1) // 3 + 1}"


def retrain(
    config: IcpConfig,
    as_of: date,
    quarter: str | None = None,
    promote: Mode = "auto",
    git_commit: str | None = None,
    step: Callable[[str], object] = lambda message: None,
    report_path: Path | None = None,
) -> Retrain:
    """Label, featurise, train, compare with the champion, decide, write the report to
    `report_path` (if given), then log and register: the registry changes last.

    From loading the champion to the end, trains on the same SQLite or file store wait for each
    other (`step` says so). The champion is loaded once and both models score the candidate's
    holdout once: the comparison reports those numbers and the promotion is decided on them.
    Raises ExportError for an export with errors, TooFewLabels when there are too few matured
    customers, InputError when the report cannot be written; in each case nothing is logged or
    registered. A failure or signal during registration undoes it (`log_and_register`); what a
    train killed outright left behind is cleaned up first, under the lock
    (`recover_dead_trains`).
    """
    quarter = quarter or quarter_of(as_of)
    step(f"Reading, labelling and featurising as of {as_of}…")
    raw, prepared = labelled_export(config, as_of)
    step("Backtesting the recipes and the baselines on the last quarters…")
    run = train_icp_model(prepared, config, step)
    timing = timing_for(config, raw, prepared, run, step)
    with train_lock(tracking_uri(), step):
        recover_dead_trains(config.registry.model_name, config.registry.experiment)
        return judge_and_register(
            config, raw, prepared, run, quarter, promote, git_commit, step, report_path, timing
        )


def judge_and_register(
    config: IcpConfig,
    raw: dict[str, RawTable],
    prepared: LabelledExport,
    run: TrainingRun,
    quarter: str,
    promote: Mode,
    git_commit: str | None,
    step: Callable[[str], object],
    report_path: Path | None,
    timing: TimingOutcome = TimingOutcome(),
) -> Retrain:
    """The part of `retrain` that reads and writes the registry (run under the store's lock)."""
    step("Loading the champion to compare with…")
    champion = load_champion(config.registry.model_name)
    population = training_population(run, prepared, config.model.seed)
    drift = drift_against(champion, population, prepared.features.specs)
    step("Drawing the report…")
    report = build_report(run, prepared, config, quarter, drift)
    candidate = candidate_model(run, prepared, config, report, quarter, population)
    comparison, decision = (
        None,
        should_promote(None, against_best_baseline(run), has_champion=False, mode=promote),
    )
    if champion is not None:
        step(f"Comparing with {champion.label} on this run's holdout and the prospects…")
        comparison, decision = judge(champion, candidate, raw, prepared, config, promote)
    report = report.decided(decision, comparison, timing.run, timing.skipped)
    timed = None
    if timing.run is not None:
        timed = (timing.run, timing_decision(decision, timing.run.backtest, promote))
    if report_path is not None:
        step(f"Writing the report to {report_path}…")
        write_report(report.html, report_path)
    step("Logging to MLflow and registering…")
    version = log_and_register(
        run,
        prepared,
        config,
        quarter,
        report,
        candidate,
        decision,
        git_commit or git_sha(),
        drift,
        comparison,
        timed,
    )
    return Retrain(prepared, run, report, version, drift, comparison, tracking_uri(), timing)


def write_report(html: str, path: Path) -> None:
    """The run's HTML report at `path`, before anything is registered; InputError if it cannot
    be written."""
    try:
        write_text(html, path)
    except OSError as exc:
        why = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
        raise InputError(
            f"{path}: cannot write the report ({why}); nothing was registered; fix: give "
            "--report a path in a folder you can write to, with space left"
        ) from None


def labelled_export(config: IcpConfig, as_of: date) -> tuple[dict[str, RawTable], LabelledExport]:
    """The export read, checked, labelled and featurised; ExportError lists every error."""
    raw, read_problems = read_export(config)
    prepared, problems = prepare(raw, config, as_of) if not read_problems else (None, [])
    if prepared is None:
        raise ExportError("\n".join(p.message for p in errors_of([*read_problems, *problems])))
    return raw, prepared


def against_best_baseline(run: TrainingRun) -> PairedDifference | None:
    """The model's out-of-fold scores against the best baseline's on every backtest account:
    the standard a first version is held to."""
    best = run.backtest.best_baseline
    if not best:
        return None
    scores = run.scores
    name = BASELINE_NAMES.get(best, best)
    if best == "single_column":
        name = f"{name} ({run.backtest.single_column})"
    return paired_difference(
        scores["target"].to_numpy(),
        scores[best].to_numpy(dtype=float),
        scores["model"].to_numpy(dtype=float),
        seed=0,
        incumbent_label=f"best baseline ({name})",
    )


BASELINE_NAMES = {
    "rules": "the ICP rules",
    "logistic": "logistic regression",
    "single_column": "the best single column",
}


def judge(
    champion: ComparableModel,
    candidate: ComparableModel,
    raw: dict[str, RawTable],
    prepared: LabelledExport,
    config: IcpConfig,
    mode: Mode,
) -> tuple[Comparison, Decision]:
    """The champion (A) against the candidate (B): both score the candidate's holdout once, and
    the written promotion rule is applied to the same numbers the comparison reports."""
    top_share = config.tiers.A + config.tiers.B
    metrics = holdout_metrics(champion, candidate, candidate.holdout, top_share, owner="b")
    evidence = replace(metrics.attrs["paired"], incumbent_label="champion")
    decision = should_promote(evidence, None, has_champion=True, mode=mode)
    rows, rows_before = comparison_rows(raw, config, prepared, champion.as_of)
    comparison = compare_models(
        champion, candidate, rows, rows_before, config.drift.psi_threshold, metrics
    )
    return with_shap(comparison, candidate.model, rows), decision
