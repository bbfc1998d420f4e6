"""One quarterly fit: temporal split -> model and baselines -> holdout metrics -> tiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.pipeline import LabelledExport
from icpfit.training.icp_filter import IcpFilter
from icpfit.training.metrics import classification_metrics, ltv_captured, segment_metrics
from icpfit.training.model import BoostedFit, LogisticBaseline
from icpfit.training.split import temporal_split
from icpfit.training.tiers import tier_thresholds

MIN_IDEAL_PER_SPLIT = {"train": 20, "validation": 5, "holdout": 5}
EMPLOYEE_BANDS = ([0, 50, 200, 1000, np.inf], ["1-49", "50-199", "200-999", "1000+"])


class TooFewLabels(ValueError):
    """Not enough matured or ideal customers to train and judge a model honestly."""


@dataclass(frozen=True)
class TrainingRun:
    model: BoostedFit
    logistic: LogisticBaseline
    icp_filter: IcpFilter
    """The readable ICP rules, also the rules-only baseline."""
    split: pd.Series
    """train / validation / holdout per labelled, not excluded, account."""
    metrics: pd.DataFrame
    """One row per scorer (model, rules, logistic) with the holdout metrics."""
    segments: pd.DataFrame
    thresholds: dict[str, float]
    reference_sorted: np.ndarray
    """Calibrated probabilities of the scored population, sorted: the fit_score scale."""
    holdout_scores: pd.DataFrame
    """Per holdout account: each scorer's score, the target and the LTV (for the report)."""


def training_rows(prepared: LabelledExport, config: IcpConfig) -> pd.Series:
    """Labelled accounts up to the label horizon, less those a disqualifier excludes.

    A customer's label is known only a window after its acquisition, a lost deal's at once. Lost
    deals decided after the newest matured customer's acquisition have no labelled peers (the
    customers won beside them are still immature), so they would fill the newest slice with
    negatives; they wait for a later retrain, like those customers.
    """
    labels = prepared.labels
    rules = [r for r in config.disqualifiers if r.exclude_from_training]
    accounts = prepared.export.accounts.set_index("account_id")
    excluded = disqualified_reason(accounts, rules).notna().reindex(labels.index).fillna(False)
    matured = labels["cohort"].isin(["ideal", "low_value", "churned"])
    horizon = labels.loc[matured, "acquisition_date"].max()
    return labels["target"].notna() & ~excluded & (labels["decided_date"] <= horizon)


def check_label_counts(split: pd.Series, target: pd.Series) -> None:
    ideal = target.groupby(split).sum()
    short = {
        s: int(ideal.get(s, 0)) for s, need in MIN_IDEAL_PER_SPLIT.items() if ideal.get(s, 0) < need
    }
    if short:
        counts = ", ".join(f"{s} {n} (need {MIN_IDEAL_PER_SPLIT[s]})" for s, n in short.items())
        raise TooFewLabels(
            f"too few ideal customers to train and judge a model: {counts}; labelled accounts: "
            f"{len(split):,}. Fix: a later --as-of or a shorter labels.window_months (more matured "
            "customers), or a larger labels.top_ltv_share / smaller labels.min_expansion"
        )


def train_icp_model(prepared: LabelledExport, config: IcpConfig) -> TrainingRun:
    rows = training_rows(prepared, config)
    labels = prepared.labels[rows]
    split = temporal_split(labels["decided_date"])
    target = labels["target"].astype(int)
    check_label_counts(split, target)
    X = prepared.features.frame
    part = {name: split.index[split == name] for name in ("train", "validation", "holdout")}
    model = BoostedFit(config.model.params, config.model.seed).fit(
        X.loc[part["train"]],
        target[part["train"]],
        X.loc[part["validation"]],
        target[part["validation"]],
    )
    train_X, train_y = X.loc[part["train"]], target[part["train"]]
    logistic = LogisticBaseline(config.model.seed).fit(train_X, train_y)
    rules = IcpFilter(prepared.features.specs, seed=config.model.seed).fit(
        train_X, model.predict_proba(train_X), train_y
    )
    accounts = prepared.export.accounts.set_index("account_id")
    scored = disqualified_reason(accounts, config.disqualifiers).isna()
    reference = np.sort(model.predict_proba(X.loc[scored[scored].index]))
    thresholds = tier_thresholds(reference, config.tiers)
    holdout = part["holdout"]
    y, ltv = target[holdout].to_numpy(), labels.loc[holdout, "ltv"].to_numpy()
    scores = {
        "model": model.predict_proba(X.loc[holdout]),
        "rules": rules.predict(X.loc[holdout]),
        "logistic": logistic.predict_proba(X.loc[holdout]),
    }
    metrics = pd.DataFrame(
        [
            {
                "scorer": name,
                **classification_metrics(y, s),
                "ltv_share_tiers_ab": ltv_captured(ltv, s, config.tiers.A + config.tiers.B),
            }
            for name, s in scores.items()
        ]
    ).set_index("scorer")
    segments = _segments(y, scores["model"], accounts.loc[holdout])
    holdout_scores = pd.DataFrame({**scores, "target": y, "ltv": ltv}, index=holdout)
    return TrainingRun(
        model, logistic, rules, split, metrics, segments, thresholds, reference, holdout_scores
    )


def _segments(y: np.ndarray, scores: np.ndarray, accounts: pd.DataFrame) -> pd.DataFrame:
    columns = {c: accounts[c] for c in ("industry", "region") if c in accounts}
    if "employees" in accounts:
        columns["employee_band"] = pd.cut(
            pd.to_numeric(accounts["employees"]),
            EMPLOYEE_BANDS[0],
            labels=EMPLOYEE_BANDS[1],
            right=False,
        )
    parts = [segment_metrics(y, scores, values).assign(by=name) for name, values in columns.items()]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
