"""A model version with what its run logged, for comparing two versions (I/O with MLflow).

Each retrain logs, besides the model: `importance.csv`, `icp_filter.yaml`, and under
`population/` its training population's features and its holdout accounts (raw rows with the
target and LTV). A version logged without them still compares; those parts are left out.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from icpfit.config import IcpConfig
from icpfit.features.frame import FeatureSpec
from icpfit.features.pipeline import LabelledExport, prepare
from icpfit.features.problems import RawTable
from icpfit.serving.models import URI, resolve_model
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.serving.scoring import specs_from_bundle
from icpfit.training.bundle import raw_account_rows, scoring_bundle
from icpfit.training.compare import (
    Comparison,
    change_sources,
    compare_scored,
    filter_diff,
    importance_change,
    metric_deltas,
)
from icpfit.training.drift import population_drift
from icpfit.training.fit import TrainingRun
from icpfit.training.report import RunReport

POPULATION_ROWS = 50_000
TARGET, LTV = "__icpfit_target", "__icpfit_ltv"


@dataclass(frozen=True)
class VersionSide:
    label: str
    model: IcpFitModel
    importance: pd.DataFrame | None = None
    icp_filter: dict | None = None
    population: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    """Raw account rows of the version's holdout, with TARGET and LTV columns."""

    @property
    def as_of(self) -> str:
        return str(self.model.bundle.get("as_of", ""))

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        return specs_from_bundle(self.model.bundle)


def training_population(run: TrainingRun, prepared: LabelledExport, seed: int) -> pd.DataFrame:
    """The features of the accounts the model learned from (at most POPULATION_ROWS, sampled)."""
    frame = prepared.features.frame.loc[run.split.index]
    if len(frame) > POPULATION_ROWS:
        frame = frame.sample(POPULATION_ROWS, random_state=seed).sort_index()
    return frame.reset_index(drop=True)


def holdout_accounts(run: TrainingRun, prepared: LabelledExport, config: IcpConfig) -> pd.DataFrame:
    ids = run.holdout_scores.index
    rows = raw_account_rows(prepared, config, ids)
    return rows.assign(
        **{
            TARGET: run.holdout_scores["target"].to_numpy(dtype=float),
            LTV: run.holdout_scores["ltv"].to_numpy(dtype=float),
        }
    )


def candidate_side(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    report: RunReport,
    quarter: str,
    population: pd.DataFrame,
) -> VersionSide:
    """This run as a comparable version; `population` is its `training_population`."""
    model = IcpFitModel.from_parts(scoring_bundle(run, prepared, config), run.model.booster_)
    return VersionSide(
        label=f"this run ({quarter})",
        model=model,
        importance=report.importance,
        icp_filter=report.icp_filter,
        population=population,
        holdout=holdout_accounts(run, prepared, config),
    )


def _run_id(uri: str) -> str | None:
    match = URI.match(uri)
    if match:
        name, version = resolve_model(uri)
        return MlflowClient().get_model_version(name, version).run_id
    if uri.startswith("runs:/"):
        return uri.removeprefix("runs:/").split("/", 1)[0]
    return None


def _artifact(run_id: str, path: str, folder: Path) -> Path | None:
    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=path, dst_path=str(folder)
            )
        )
    except (MlflowException, OSError):
        return None


def load_side(uri: str) -> VersionSide:
    """The model behind `uri` and its run's artifacts; raises ModelNotFound for a bad URI."""
    name, version = resolve_model(uri)
    label = f"{name} v{version}" if version != "n/a" else uri
    if "@" in uri:
        label += f" (@{uri.rsplit('@', 1)[1]})"
    model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    run_id = _run_id(uri)
    if run_id is None:
        return VersionSide(label, model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parts: dict[str, Any] = {}
        if path := _artifact(run_id, "importance.csv", folder):
            parts["importance"] = pd.read_csv(path)
        if path := _artifact(run_id, "icp_filter.yaml", folder):
            parts["icp_filter"] = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path := _artifact(run_id, "population/training_population.parquet", folder):
            parts["population"] = pd.read_parquet(path)
        if path := _artifact(run_id, "population/holdout_accounts.parquet", folder):
            parts["holdout"] = pd.read_parquet(path)
    return VersionSide(label, model, **parts)


def champion_side(config: IcpConfig) -> VersionSide | None:
    try:
        MlflowClient().get_model_version_by_alias(config.registry.model_name, "champion")
    except MlflowException:
        return None
    return load_side(f"models:/{config.registry.model_name}@champion")


def score_rows(side: VersionSide, rows: pd.DataFrame) -> pd.DataFrame:
    return side.model.predict(None, rows, {"reasons": 3})


def compare_versions(
    a: VersionSide,
    b: VersionSide,
    rows: pd.DataFrame,
    rows_before: pd.DataFrame | None = None,
    psi_threshold: float = 0.25,
    top_share: float = 0.3,
) -> Comparison:
    """A and B on the same accounts, plus every part their artifacts allow.

    The holdout metrics use the newer version's holdout (by as_of), which the older version has
    not seen either; drift is from the older version's training population to the newer one's.
    """
    older, newer = (a, b) if a.as_of <= b.as_of else (b, a)
    parts: dict[str, Any] = {}
    notes = []
    if a.importance is not None and b.importance is not None:
        parts["importance"], parts["group_importance"] = importance_change(
            a.importance, b.importance
        )
    if a.icp_filter is not None and b.icp_filter is not None:
        parts["icp_filter"] = filter_diff(a.icp_filter, b.icp_filter)
    if older.population is not None and newer.population is not None:
        parts["drift"] = population_drift(older.population, newer.population, newer.specs)
    if newer.holdout is not None and len(newer.holdout):
        holdout = newer.holdout.drop(columns=[TARGET, LTV])
        target = newer.holdout[TARGET].to_numpy(dtype=int)
        parts["metrics"] = metric_deltas(
            target,
            newer.holdout[LTV].to_numpy(dtype=float),
            score_rows(a, holdout)["fit_probability"].to_numpy(dtype=float),
            score_rows(b, holdout)["fit_probability"].to_numpy(dtype=float),
            top_share,
        )
        parts["holdout_accounts"] = len(holdout)
    else:
        notes.append("No holdout logged with the newer version: holdout metrics left out")
    scored_a, scored_b = score_rows(a, rows), score_rows(b, rows)
    if rows_before is not None:
        parts["sources"] = change_sources(
            score_rows(a, rows_before), score_rows(b, rows_before), scored_b
        )
    return compare_scored(
        a.label,
        b.label,
        scored_a,
        scored_b,
        psi_threshold=psi_threshold,
        notes=tuple(notes),
        **parts,
    )


def drift_against(
    previous: VersionSide | None, population: pd.DataFrame, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame | None:
    if previous is None or previous.population is None:
        return None
    return population_drift(previous.population, population, specs)


def comparison_rows(
    raw: dict[str, RawTable], config: IcpConfig, prepared: LabelledExport, before: str
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The accounts that are not customers (sales' universe) as model input, and the same
    accounts as of `before` (the champion's cutoff) when that is earlier, so that a change
    splits into what the model and what the account's data did."""
    prospects = prepared.labels.index[prepared.labels["cohort"].isin(["prospect", "lost"])]
    rows = raw_account_rows(prepared, config, prospects)
    if not before or date.fromisoformat(before) >= prepared.as_of:
        return rows, None
    earlier, _ = prepare(raw, config, date.fromisoformat(before))
    if earlier is None:
        return rows, None
    known = earlier.labels.index.intersection(prospects)
    return rows, raw_account_rows(earlier, config, known)
