"""Two model versions side by side: each as a `ComparableModel` (the model and the evidence its
run logged), and the comparison of two on the same accounts.

Each retrain logs, besides the model: `importance.csv`, `icp_filter.yaml`, and under
`population/` its training population's features and its holdout accounts (raw rows with the
target and LTV); `icpfit.registry.load_comparable` reads them back. A version logged without
them still compares; those parts are left out. Nothing here talks to MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.frame import FeatureSpec
from icpfit.features.pipeline import LabelledExport, prepare
from icpfit.features.problems import RawTable
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
from icpfit.training.run_report import RunReport

POPULATION_ROWS = 50_000
TARGET, LTV = "__icpfit_target", "__icpfit_ltv"
OOF, DECIDED = "__icpfit_oof", "__icpfit_decided"
"""Holdout columns: the version's own out-of-fold score of each account (the backtest model that
had not seen it) and the date its label was decided."""


@dataclass(frozen=True)
class ComparableModel:
    """A model version (or this run's candidate) with what its run logged."""

    label: str
    model: IcpFitModel
    importance: pd.DataFrame | None = None
    icp_filter: dict | None = None
    population: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    """Raw account rows of the version's backtest accounts, with TARGET, LTV, OOF and DECIDED
    columns (older versions: TARGET and LTV only)."""

    @property
    def as_of(self) -> str:
        return str(self.model.bundle.get("as_of", ""))

    @property
    def trained_through(self) -> pd.Timestamp | None:
        """The newest decision date the version trained on (None when it did not record it)."""
        through = self.model.bundle.get("trained_through")
        return pd.Timestamp(through) if through else None

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        return specs_from_bundle(self.model.bundle)


def training_population(run: TrainingRun, prepared: LabelledExport, seed: int) -> pd.DataFrame:
    """The features of the accounts the model learned from (at most POPULATION_ROWS, sampled)."""
    frame = prepared.features.frame.loc[run.rows]
    if len(frame) > POPULATION_ROWS:
        frame = frame.sample(POPULATION_ROWS, random_state=seed).sort_index()
    return frame.reset_index(drop=True)


def holdout_accounts(run: TrainingRun, prepared: LabelledExport, config: IcpConfig) -> pd.DataFrame:
    """The backtest's accounts as model input, with their target, LTV, out-of-fold score and
    decision date: what a later comparison judges this version on."""
    scores = run.scores
    rows = raw_account_rows(prepared, config, scores.index)
    return rows.assign(
        **{
            TARGET: scores["target"].to_numpy(dtype=float),
            LTV: scores["ltv"].to_numpy(dtype=float),
            OOF: scores["model"].to_numpy(dtype=float),
            DECIDED: pd.to_datetime(scores["decided"]).dt.strftime("%Y-%m-%d").to_numpy(),
        }
    )


def candidate_model(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    report: RunReport,
    quarter: str,
    population: pd.DataFrame,
) -> ComparableModel:
    """This run as a comparable version, with the very bundle the registry will log;
    `population` is its `training_population`."""
    model = IcpFitModel.from_parts(scoring_bundle(run, prepared, config), run.model.booster_)
    return ComparableModel(
        label=f"this run ({quarter})",
        model=model,
        importance=report.importance,
        icp_filter=report.icp_filter,
        population=population,
        holdout=holdout_accounts(run, prepared, config),
    )


def score_rows(model: ComparableModel, rows: pd.DataFrame) -> pd.DataFrame:
    return model.model.predict(None, rows, {"reasons": 3})


def unseen_by(holdout: pd.DataFrame, other: ComparableModel) -> pd.DataFrame:
    """The holdout accounts `other` did not train on (decided after its training accounts)."""
    through = other.trained_through
    if through is None or DECIDED not in holdout:
        return holdout
    return holdout[pd.to_datetime(holdout[DECIDED]) > through]


def holdout_metrics(
    a: ComparableModel,
    b: ComparableModel,
    holdout: pd.DataFrame,
    top_share: float,
    owner: str = "b",
) -> pd.DataFrame:
    """Both models on the same accounts, and B minus A with a paired bootstrap interval: the
    numbers a comparison reports and a promotion is decided on.

    `holdout` is the `owner`'s (a or b) backtest accounts; the owner's scores are its
    out-of-fold scores (the model that had not seen the account), and only the accounts the
    other version did not train on are kept, so neither has seen any of them.
    """
    other = a if owner == "b" else b
    holdout = unseen_by(holdout, other)
    rows = holdout.drop(columns=[c for c in (TARGET, LTV, OOF, DECIDED) if c in holdout])

    def scores(model: ComparableModel, own: bool) -> np.ndarray:
        if own and OOF in holdout:
            return holdout[OOF].to_numpy(dtype=float)
        if not len(rows):
            return np.zeros(0)
        return score_rows(model, rows)["fit_probability"].to_numpy(dtype=float)

    return metric_deltas(
        holdout[TARGET].to_numpy(dtype=int),
        holdout[LTV].to_numpy(dtype=float),
        scores(a, owner == "a"),
        scores(b, owner == "b"),
        top_share,
    )


def top_tiers_share(model: ComparableModel) -> float:
    """The share of accounts in tiers A and B, as the model's config set them (a model logged
    before the shares were recorded: the share of its reference population above tier B)."""
    bundle = model.model.bundle
    if "tier_shares" in bundle:
        return float(bundle["tier_shares"]["A"] + bundle["tier_shares"]["B"])
    quantiles = np.asarray(bundle["reference_quantiles"], dtype=float)
    position = np.interp(
        bundle["tier_thresholds"]["B"], quantiles, np.linspace(0, 1, len(quantiles))
    )
    return round(1 - float(position), 2)


def compare_models(
    a: ComparableModel,
    b: ComparableModel,
    rows: pd.DataFrame,
    rows_before: pd.DataFrame | None = None,
    psi_threshold: float = 0.25,
    metrics: pd.DataFrame | None = None,
) -> Comparison:
    """A and B on the same accounts, plus every part their artifacts allow.

    The holdout metrics (`metrics`, else computed here) use the newer version's holdout (by
    as_of), which the older version has not seen either, and B's tier shares; drift is from the
    older version's training population to the newer one's.
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
    if metrics is None and newer.holdout is not None and len(newer.holdout):
        owner = "a" if newer is a else "b"
        metrics = holdout_metrics(a, b, newer.holdout, top_tiers_share(b), owner)
    if metrics is not None:
        parts["metrics"], parts["holdout_accounts"] = metrics, int(metrics.attrs["accounts"])
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
    previous: ComparableModel | None, population: pd.DataFrame, specs: tuple[FeatureSpec, ...]
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
