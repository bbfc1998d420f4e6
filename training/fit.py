"""One quarterly fit: temporal split -> model and baselines -> holdout metrics -> tiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.pipeline import LabelledExport
from icpfit.training.icp_filter import IcpFilter
from icpfit.training.metrics import (
    bootstrap_intervals,
    classification_metrics,
    ltv_captured,
    segment_metrics,
)
from icpfit.training.model import BoostedFit, LogisticBaseline
from icpfit.training.split import SPLITS, temporal_split
from icpfit.training.tiers import tier_thresholds

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


@dataclass(frozen=True)
class Readiness:
    """Whether an export can train: labelled accounts per part of the temporal split against
    the configured minimums."""

    counts: pd.DataFrame
    """Index train / validation / holdout; columns labelled, ideal, non_ideal, their minimums,
    and the shortfalls (how many more are needed, 0 when enough)."""
    window: str
    """The data window, to say what to change."""

    @property
    def can_train(self) -> bool:
        return int(self.counts[["ideal_short", "non_ideal_short"]].to_numpy().sum()) == 0

    def verdict(self) -> str:
        """'enough to train', or what is missing in total and per part of the split."""
        if self.can_train:
            return "enough to train"
        needs = []
        for kind, short in (("ideal", "ideal_short"), ("non-ideal", "non_ideal_short")):
            per_part = self.counts[short][self.counts[short] > 0]
            if len(per_part):
                parts = ", ".join(f"{part} {int(n)}" for part, n in per_part.items())
                needs.append(f"{int(per_part.sum())} more {kind} customers ({parts})")
        return f"cannot train yet: need {' and '.join(needs)}"


def readiness(split: pd.Series, target: pd.Series, config: IcpConfig) -> Readiness:
    """Ideal and non-ideal customers per part of `split` against `config.minimums`."""
    ideal = target.groupby(split).sum().reindex(SPLITS, fill_value=0).astype(int)
    labelled = split.value_counts().reindex(SPLITS, fill_value=0).astype(int)
    need = config.minimums
    counts = pd.DataFrame(
        {
            "labelled": labelled,
            "ideal": ideal,
            "non_ideal": labelled - ideal,
            "ideal_min": [getattr(need.ideal, s) for s in SPLITS],
            "non_ideal_min": [getattr(need.non_ideal, s) for s in SPLITS],
        },
        index=pd.Index(SPLITS, name="part"),
    )
    counts["ideal_short"] = (counts["ideal_min"] - counts["ideal"]).clip(lower=0)
    counts["non_ideal_short"] = (counts["non_ideal_min"] - counts["non_ideal"]).clip(lower=0)
    window = (
        "each part is a slice of the labelled accounts by decision date: train the oldest 70%, "
        "validation the next 15%, holdout the newest 15%"
    )
    return Readiness(counts, window)


def split_labels(prepared: LabelledExport, config: IcpConfig) -> tuple[pd.Series, pd.Series]:
    """The temporal split of the training rows and their target."""
    labels = prepared.labels[training_rows(prepared, config)]
    return temporal_split(labels["decided_date"]), labels["target"].astype(int)


def check_label_counts(split: pd.Series, target: pd.Series, config: IcpConfig) -> None:
    ready = readiness(split, target, config)
    if not ready.can_train:
        raise TooFewLabels(
            f"too few labelled customers to train and judge a model: {ready.verdict()}; "
            f"labelled accounts: {len(split):,}; {ready.window}. Fix: a later --as-of or a shorter "
            "labels.window_months (more matured customers), or a larger labels.top_ltv_share / "
            "smaller labels.min_expansion (more ideal customers), or lower `minimums` in the "
            "config if you accept judging a model on fewer accounts"
        )


def train_icp_model(prepared: LabelledExport, config: IcpConfig) -> TrainingRun:
    split, target = split_labels(prepared, config)
    check_label_counts(split, target, config)
    labels = prepared.labels.loc[split.index]
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
                **interval_columns(bootstrap_intervals(y, s, seed=config.model.seed)),
                "accounts": len(y),
                "ideal": int(y.sum()),
            }
            for name, s in scores.items()
        ]
    ).set_index("scorer")
    segments = _segments(y, scores["model"], accounts.loc[holdout])
    holdout_scores = pd.DataFrame({**scores, "target": y, "ltv": ltv}, index=holdout)
    return TrainingRun(
        model, logistic, rules, split, metrics, segments, thresholds, reference, holdout_scores
    )


def interval_columns(intervals: dict[str, tuple[float, float]]) -> dict[str, float]:
    """{metric}_low and {metric}_high, the 95% bootstrap interval beside each headline figure."""
    return {
        f"{metric}_{end}": value
        for metric, bounds in intervals.items()
        for end, value in zip(("low", "high"), bounds, strict=True)
    }


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
