"""Writing a retrain: one run with everything needed to audit it, its model registered as a
version, and, last, the version's alias. Any failure, SIGINT or SIGTERM before the run has
ended is undone (`undo_registration`); what kill -9 leaves, the next train cleans up
(`icpfit.registry_recovery`)."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from icpfit.config import IcpConfig
from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import LabelledExport
from icpfit.guards import pause_for_test, signals_held, signals_raise
from icpfit.registry_aliases import (
    Standing,
    alias_versions,
    describe_model,
    undo_registration,
    write_standings,
)
from icpfit.registry_descriptions import fit_version_description, today
from icpfit.registry_model import register_and_log_model
from icpfit.registry_params import TABLES, log_inputs, settings_params
from icpfit.registry_promotion import move_alias
from icpfit.registry_recovery import NOT_SET, previous_tag, process_tags
from icpfit.registry_timing import log_timing_run, record_timing, register_timing_model
from icpfit.training.comparable import ComparableModel
from icpfit.training.compare import Comparison
from icpfit.training.fit import TrainingRun
from icpfit.training.promotion import Decision
from icpfit.training.run_report import RunReport
from icpfit.training.timing import TimingRun

_log = logging.getLogger("icpfit.registry")

HEADLINE = ("roc_auc", "pr_auc", "lift_top_decile", "ltv_share_tiers_ab")


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    decision: Decision
    timing: RegisteredVersion | None = None
    """The timing model registered by the same run (issue 16), when there is one."""


def table_hash(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def log_and_register(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    report: RunReport,
    candidate: ComparableModel,
    decision: Decision,
    git_sha: str = "unknown",
    drift: pd.DataFrame | None = None,
    comparison: Comparison | None = None,
    timing: tuple[TimingRun, Decision] | None = None,
) -> RegisteredVersion:
    """Log the run (with `candidate`'s training population and holdout, which later
    comparisons read), log `candidate.model`, register it with its files' digests and, last,
    give it `decision`'s alias. On any failure, SIGINT or SIGTERM before the run has ended, the
    aliases go back to where they were, the version is deleted and the run is marked FAILED.
    The run records its process when it starts and the version the alias named before it
    moves, so that the next train can do the same after a kill -9 (`recover_dead_trains`).
    `timing`: the timing model and its decision, logged in the same run and registered as
    `timing.model_name` after the fit version, undone with it."""
    name, timing_name = config.registry.model_name, config.timing.model_name
    mlflow.set_experiment(config.registry.experiment)
    aliases = alias_versions(MlflowClient(), name)
    timing_aliases = alias_versions(MlflowClient(), timing_name)
    timed = None
    started: list[str] = []
    try:
        with (
            signals_raise(),
            mlflow.start_run(run_name=quarter, tags=process_tags()) as active,
            tempfile.TemporaryDirectory() as tmp,
        ):
            started.append(active.info.run_id)
            _log_run(run, prepared, config, quarter, git_sha, report, Path(tmp))
            _log_comparison(candidate, drift, comparison, config, Path(tmp))
            version = register_and_log_model(candidate, name, Path(tmp))
            pause_for_test("register")
            mlflow.set_tags({"model_version": version.version, "alias": decision.alias})
            before = alias_versions(MlflowClient(), name).get(decision.alias, NOT_SET)
            mlflow.set_tag(previous_tag(decision.alias), before)
            standings = _record(config, version.version, quarter, prepared, run, git_sha, decision)
            pause_for_test("alias")
            if timing is not None:
                as_of = prepared.as_of.isoformat()
                timed, moved = _register_timing(
                    timing, name, version.version, config, quarter, as_of, tmp
                )
                standings += moved
                pause_for_test("timing")
    except BaseException:
        with signals_held():
            run_id = started[0] if started else None
            undo_registration(name, aliases, run_id)
            if timing is not None and _registered(timing_name, run_id):
                undo_registration(timing_name, timing_aliases, run_id)
        raise
    _describe_the_others(standings)
    return RegisteredVersion(name, version.version, active.info.run_id, decision, timed)


def _describe_the_others(standings: list[Standing]) -> None:
    """The versions this retrain displaced say so, once the retrain has ended well; a registry
    error now only leaves their words behind, which a warning says."""
    try:
        write_standings(MlflowClient(), standings)
    except MlflowException as exc:
        _log.warning("warning: could not update the descriptions of replaced versions: %s", exc)


def _registered(name: str, run_id: str | None) -> bool:
    """Whether `run_id` registered a version of `name` (or moved its aliases: then it did)."""
    if run_id is None:
        return False
    try:
        return bool(MlflowClient().search_model_versions(f"name='{name}' and run_id='{run_id}'"))
    except MlflowException:
        return True  # cannot tell: undo, which is safe


def _register_timing(
    timing: tuple[TimingRun, Decision],
    fit_name: str,
    fit_version: str,
    config: IcpConfig,
    quarter: str,
    as_of: str,
    tmp: str,
) -> tuple[RegisteredVersion, list[Standing]]:
    """The timing model into the active run and the registry, with the fit version it learned
    from; its alias last. The version the alias named before is recorded for recovery.
    Returns it, with what the versions it displaced should now say (`move_alias`)."""
    run, decision = timing
    name = config.timing.model_name
    fit = {"name": fit_name, "version": str(fit_version)}
    log_timing_run(run)
    version = register_timing_model(run, fit, name, as_of, Path(tmp))
    mlflow.set_tags({"timing_model_version": version.version, "timing_alias": decision.alias})
    before = alias_versions(MlflowClient(), name).get(decision.alias, NOT_SET)
    mlflow.set_tag(previous_tag(decision.alias, name), before)
    standings = record_timing(name, version.version, run, fit, quarter, decision)
    run_id = mlflow.active_run().info.run_id
    return RegisteredVersion(name, version.version, run_id, decision), standings


def _log_run(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    git_sha: str,
    report: RunReport,
    tmp: Path,
) -> None:
    export = prepared.export
    mlflow.set_tags({"quarter": quarter, "as_of": prepared.as_of.isoformat(), "git_sha": git_sha})
    mlflow.log_params(
        {
            "as_of": prepared.as_of.isoformat(),
            **{f"label_{k}": v for k, v in config.labels.model_dump().items()},
            **{f"cohort_{k}": v for k, v in cohort_counts(prepared.labels).items()},
            "rows_trained": len(run.rows),
            "rows_backtest": len(run.scores),
            "trained_through": run.trained_through.date().isoformat(),
            "backtest_scheme": run.backtest.scheme,
            "backtest_folds": len(run.backtest.folds),
            **{f"recipe_{k}": v for k, v in asdict(run.recipe).items()},
            **{f"hash_{n}": table_hash(getattr(export, n)) for n in TABLES},
            "best_iteration": run.model.best_iteration_,
            "features": prepared.features.frame.shape[1],
        }
    )
    for scorer, values in run.metrics.iterrows():
        mlflow.log_metrics({f"{scorer}_{k}": float(v) for k, v in values.items() if v == v})
    mlflow.log_text(run.backtest.per_fold.reset_index().to_csv(index=False), "backtest/folds.csv")
    mlflow.log_text(run.backtest.search.to_csv(index=False), "backtest/recipes.csv")
    mlflow.log_dict(config.model_dump(mode="json", exclude={"source"}), "config.json")
    mlflow.log_text(
        yaml.safe_dump(report.icp_filter, sort_keys=False, allow_unicode=True), "icp_filter.yaml"
    )
    mlflow.log_text(report.icp_filter["sql"]["icp"] + "\n", "icp_filter.sql")
    sql = report.icp_filter["sql"]
    runnable = f"{sql['view']}\n\n-- ICP\n{sql['query']['icp']}\n\n-- anti-ICP\n"
    mlflow.log_text(runnable + sql["query"]["anti_icp"] + "\n", "icp_filter_query.sql")
    mlflow.log_text(report.importance.to_csv(index=False), "importance.csv")
    mlflow.log_text(report.html, "report.html")
    for name, png in report.images.items():
        (tmp / name).write_bytes(png)
        mlflow.log_artifact(str(tmp / name), artifact_path="plots")
    if len(run.segments):
        mlflow.log_text(run.segments.to_csv(index=False), "segments.csv")
    mlflow.log_params(
        settings_params(config, run.model.booster_.params, run.thresholds), synchronous=True
    )
    frames = {t: getattr(export, t) for t in TABLES}
    log_inputs(config, {t: f for t, f in frames.items() if f is not None})


def _log_comparison(
    candidate: ComparableModel,
    drift: pd.DataFrame | None,
    comparison: Comparison | None,
    config: IcpConfig,
    tmp: Path,
) -> None:
    folder = tmp / "population"
    folder.mkdir(exist_ok=True)
    for name, frame in (
        ("training_population", candidate.population),
        ("holdout_accounts", candidate.holdout),
    ):
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
            mlflow.log_artifact(str(folder / f"{name}.parquet"), artifact_path="population")
    if drift is not None:
        flagged = drift.loc[drift["psi"] > config.drift.psi_threshold, "feature"]
        mlflow.log_text(drift.to_csv(index=False), "drift.csv")
        mlflow.log_metric("drifted_features", len(flagged))
        mlflow.set_tag("drift_warnings", ", ".join(flagged)[:5000] or "none")
    if comparison is not None:
        for name, table in comparison.tables().items():
            mlflow.log_text(table.to_csv(index=False), f"compare/{name}")
        mlflow.log_text(comparison.html(), "compare/compare.html")
        mlflow.log_text("\n".join(comparison.summary_lines()) + "\n", "compare/summary.txt")
        mlflow.set_tag("compared_with", comparison.label_a)


def _record(
    config: IcpConfig,
    version: str,
    quarter: str,
    prepared: LabelledExport,
    run: TrainingRun,
    git_sha: str,
    decision: Decision,
) -> list[Standing]:
    client, name = MlflowClient(), config.registry.model_name
    tags = {
        "quarter": quarter,
        "as_of": prepared.as_of.isoformat(),
        "git_sha": git_sha,
        "decision": decision.alias,
        "forced": str(decision.forced).lower(),
        **{k: f"{run.metrics.loc['model', k]:.4f}" for k in HEADLINE},
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    when = today()
    how = "forced" if decision.forced else "by the promotion rule"
    description = fit_version_description(
        quarter,
        prepared.as_of.isoformat(),
        run.trained_through.date().isoformat(),
        len(run.rows),
        run.metrics.loc["model"],
        len(run.backtest.folds),
        decision.reason,
        f"{decision.alias} since {when} ({how})",
    )
    client.update_model_version(name, version, description=description)
    describe_model(client, name, "fit")
    return move_alias(client, name, str(version), decision.alias, when)
