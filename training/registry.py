"""MLflow (DESIGN §7): one run per retrain, the pyfunc model, a registry version, its alias.

Aliases move last: a retrain that fails at any step leaves `champion` and `challenger` where they
were, and a version registered before the failure is deleted again.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

from icpfit.config import IcpConfig
from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import LabelledExport
from icpfit.serving.pyfunc import DEFAULT_PARAMS, IcpFitModel
from icpfit.training.bundle import raw_account_rows, scoring_bundle
from icpfit.training.compare import Comparison
from icpfit.training.fit import TrainingRun
from icpfit.training.metrics import classification_metrics
from icpfit.training.promotion import Decision, Mode, PromotionRule, should_promote
from icpfit.training.report import RunReport
from icpfit.training.versions import VersionSide

HEADLINE = ("roc_auc", "pr_auc", "lift_top_decile", "ltv_share_tiers_ab")
REQUIREMENTS = ["lightgbm", "pandas", "numpy", "scikit-learn", "pydantic", "pyyaml", "mlflow"]


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    decision: Decision


def table_hash(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def log_and_register(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    report: RunReport,
    git_sha: str = "unknown",
    mode: Mode = "auto",
    rule: PromotionRule = PromotionRule(),
    candidate: VersionSide | None = None,
    drift: pd.DataFrame | None = None,
    comparison: Comparison | None = None,
) -> RegisteredVersion:
    """`candidate` (this run as a comparable version) logs the training population and holdout
    that later comparisons read; `drift` and `comparison` (against the champion) are logged too."""
    mlflow.set_experiment(config.registry.experiment)
    holdout_ids = run.split.index[run.split == "holdout"]
    holdout_rows = raw_account_rows(prepared, config, holdout_ids)
    with mlflow.start_run(run_name=quarter) as active, tempfile.TemporaryDirectory() as tmp:
        _log_run(run, prepared, config, quarter, git_sha, report, Path(tmp))
        _log_comparison(candidate, drift, comparison, config, Path(tmp))
        info = _log_model(run, prepared, config, holdout_rows, Path(tmp))
        version = mlflow.register_model(info.model_uri, config.registry.model_name)
        try:
            decision = _decide(config, holdout_rows, prepared, holdout_ids, run, mode, rule)
            _record(config, version.version, quarter, prepared, run, git_sha, decision)
        except Exception:
            MlflowClient().delete_model_version(config.registry.model_name, version.version)
            raise
        mlflow.set_tags({"model_version": version.version, "alias": decision.alias})
    return RegisteredVersion(
        config.registry.model_name, version.version, active.info.run_id, decision
    )


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
            **{
                f"rows_{k}": int((run.split == k).sum()) for k in ("train", "validation", "holdout")
            },
            **{
                f"hash_{n}": table_hash(getattr(export, n))
                for n in ("accounts", "opportunities", "revenue", "technologies", "signals")
            },
            "best_iteration": run.model.best_iteration_,
            "features": prepared.features.frame.shape[1],
        }
    )
    for scorer, values in run.metrics.iterrows():
        mlflow.log_metrics({f"{scorer}_{k}": float(v) for k, v in values.items() if v == v})
    mlflow.log_dict(config.model_dump(mode="json", exclude={"source"}), "config.json")
    mlflow.log_text(
        yaml.safe_dump(report.icp_filter, sort_keys=False, allow_unicode=True), "icp_filter.yaml"
    )
    mlflow.log_text(report.icp_filter["sql"]["icp"] + "\n", "icp_filter.sql")
    mlflow.log_text(report.importance.to_csv(index=False), "importance.csv")
    mlflow.log_text(report.html, "report.html")
    for name, png in report.images.items():
        (tmp / name).write_bytes(png)
        mlflow.log_artifact(str(tmp / name), artifact_path="plots")
    if len(run.segments):
        mlflow.log_text(run.segments.to_csv(index=False), "segments.csv")
    labelled = prepared.labels.loc[run.split.index, ["cohort", "target"]]
    mlflow.log_input(
        mlflow.data.from_pandas(
            prepared.features.frame.loc[run.split.index]
            .join(labelled)
            .astype({"cohort": str, "target": float})
            .reset_index(),
            name="labelled_accounts",
            targets="target",
        ),
        context="training",
    )


def _log_comparison(
    candidate: VersionSide | None,
    drift: pd.DataFrame | None,
    comparison: Comparison | None,
    config: IcpConfig,
    tmp: Path,
) -> None:
    folder = tmp / "population"
    folder.mkdir(exist_ok=True)
    if candidate is not None:
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


def _log_model(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    example_rows: pd.DataFrame,
    tmp: Path,
):
    booster_path, bundle_path = tmp / "booster.txt", tmp / "bundle.json"
    run.model.booster_.save_model(str(booster_path), num_iteration=run.model.best_iteration_)
    bundle_path.write_text(json.dumps(scoring_bundle(run, prepared, config)))
    example = example_rows.head(3)
    model = IcpFitModel()
    model.load_context(
        type(
            "Context", (), {"artifacts": {"bundle": str(bundle_path), "booster": str(booster_path)}}
        )()
    )
    inferred = infer_signature(example, model.predict(None, example), params=DEFAULT_PARAMS)
    optional = Schema(
        [ColSpec(c.type, c.name, required=c.name == "account_id") for c in inferred.inputs.inputs]
    )
    signature = ModelSignature(inputs=optional, outputs=inferred.outputs, params=inferred.params)
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=model,
        artifacts={"booster": str(booster_path), "bundle": str(bundle_path)},
        signature=signature,
        input_example=example,
        pip_requirements=REQUIREMENTS,
    )


def _decide(
    config: IcpConfig,
    holdout_rows: pd.DataFrame,
    prepared: LabelledExport,
    holdout_ids: pd.Index,
    run: TrainingRun,
    mode: Mode,
    rule: PromotionRule,
) -> Decision:
    """The champion is re-scored on the candidate's holdout, so both face the same accounts."""
    candidate = run.metrics.loc["model"].to_dict()
    try:
        MlflowClient().get_model_version_by_alias(config.registry.model_name, "champion")
    except MlflowException:
        return should_promote(candidate, None, rule, mode)
    champion = mlflow.pyfunc.load_model(f"models:/{config.registry.model_name}@champion")
    scores = champion.predict(holdout_rows)["fit_probability"].to_numpy(dtype=float)
    y = prepared.labels.loc[holdout_ids, "target"].astype(int).to_numpy()
    return should_promote(candidate, classification_metrics(y, np.nan_to_num(scores)), rule, mode)


def _record(
    config: IcpConfig,
    version: str,
    quarter: str,
    prepared: LabelledExport,
    run: TrainingRun,
    git_sha: str,
    decision: Decision,
) -> None:
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
    client.update_model_version(name, version, description=f"{quarter}: {decision.reason}")
    if decision.alias == "champion":
        try:
            previous = client.get_model_version_by_alias(name, "champion").version
            client.set_model_version_tag(name, version, "previous_champion", str(previous))
        except MlflowException:
            pass
    client.set_registered_model_alias(name, decision.alias, version)


def promote_version(name: str, version: str) -> str | None:
    """Make `version` the champion by hand; returns the previous champion's version."""
    client = MlflowClient()
    client.get_model_version(name, version)
    try:
        previous = str(client.get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        previous = None
    if previous is not None and previous != str(version):
        client.set_model_version_tag(name, version, "previous_champion", previous)
    client.set_model_version_tag(name, version, "decision", "champion")
    client.set_registered_model_alias(name, "champion", version)
    return previous


def rollback(name: str) -> tuple[str, str]:
    """Move `champion` back to the version it replaced, as recorded on the current champion."""
    client = MlflowClient()
    current = client.get_model_version_by_alias(name, "champion")
    previous = current.tags.get("previous_champion")
    if not previous:
        raise MlflowException(f"{name} v{current.version} has no recorded previous champion")
    client.set_registered_model_alias(name, "champion", previous)
    client.set_model_version_tag(name, current.version, "rolled_back", "true")
    return str(current.version), previous
