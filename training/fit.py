"""One quarterly fit: backtest and recipe -> the model refit on all labelled history -> tiers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.pipeline import LabelledExport
from icpfit.training.backtest import (
    CV_FOLDS,
    Backtest,
    BacktestData,
    Fold,
    Recipe,
    backtest_folds,
    recipe_model,
    run_backtest,
)
from icpfit.training.estimates import fit_headcount_estimate
from icpfit.training.icp_filter import IcpFilter
from icpfit.training.metrics import segment_metrics
from icpfit.training.model import BoostedFit, LogisticBaseline
from icpfit.training.tiers import tier_thresholds

EMPLOYEE_BANDS = ([0, 50, 200, 1000, np.inf], ["1-49", "50-199", "200-999", "1000+"])


class TooFewLabels(ValueError):
    """Not enough matured or ideal customers to train and judge a model honestly."""


@dataclass(frozen=True)
class TrainingRun:
    model: BoostedFit
    """Refit on every training account up to the label horizon, with the backtest's recipe,
    tree count and out-of-fold calibration."""
    logistic: LogisticBaseline
    icp_filter: IcpFilter
    """The readable ICP rules, fit on the same accounts as the model."""
    rows: pd.Index
    """The accounts the registered model was trained on."""
    backtest: Backtest
    metrics: pd.DataFrame
    """One row per scorer (model, rules, logistic, single_column): the backtest's mean over
    folds with 95% intervals, accounts and ideal."""
    segments: pd.DataFrame
    thresholds: dict[str, float]
    reference_sorted: np.ndarray
    """Calibrated probabilities of the scored population, sorted: the fit_score scale."""
    trained_through: pd.Timestamp
    """The newest decision date among the training accounts: accounts decided later are unseen."""

    @property
    def recipe(self) -> Recipe:
        return self.backtest.chosen.recipe

    @property
    def scores(self) -> pd.DataFrame:
        """Per backtest test account: fold, each scorer's out-of-fold score, target, LTV."""
        return self.backtest.scores


def labelled_pool(prepared: LabelledExport, config: IcpConfig) -> pd.DataFrame:
    """Labelled accounts up to the label horizon: target, decided date, LTV, whether a lost
    deal, whether a disqualifier excludes it from training.

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
    keep = labels["target"].notna() & (labels["decided_date"] <= horizon)
    pool = labels.loc[keep]
    return pd.DataFrame(
        {
            "target": pool["target"].astype(int),
            "decided": pool["decided_date"],
            "ltv": pool["ltv"].astype(float),
            "lost": pool["cohort"].astype(str).eq("lost"),
            "disqualified": excluded.loc[pool.index].astype(bool),
        }
    )


def training_rows(prepared: LabelledExport, config: IcpConfig) -> pd.Series:
    """True for the labelled accounts up to the label horizon that no disqualifier excludes:
    the accounts every recipe is judged on."""
    pool = labelled_pool(prepared, config)
    rows = pool.index[~pool["disqualified"]]
    return pd.Series(prepared.labels.index.isin(rows), index=prepared.labels.index)


@dataclass(frozen=True)
class Readiness:
    """Whether an export can train: ideal and non-ideal customers in each backtest fold (and
    before the first) against the configured minimums."""

    counts: pd.DataFrame
    """Index: fold; columns: train_ideal, train_non_ideal (decided before the fold), ideal and
    non_ideal (in the fold), their minimums, and the shortfalls (0 when enough)."""
    scheme: str
    """'quarters' (the last quarters before the label horizon), 'half-years' (a small export) or
    'repeated' (cross-validation, a tiny one)."""
    window: str
    folds: tuple[Fold, ...] = ()
    ideal: int = 0
    non_ideal: int = 0
    needed: dict[str, int] = field(default_factory=dict)
    """The fewest ideal and non-ideal customers the smallest backtest (repeated
    cross-validation) needs: each fold and its training part at their minimums."""

    @property
    def can_train(self) -> bool:
        shortfall = int(self.counts[list(SHORTFALLS)].to_numpy().sum()) if len(self.counts) else 1
        return shortfall == 0

    def verdict(self) -> str:
        """'enough to train', or what is missing in total and per fold."""
        if self.can_train:
            if self.scheme == "half-years":
                return (
                    "enough to train, but too few for quarterly folds: judged on the last two "
                    "half-years, and the figures will be wide"
                )
            if self.scheme == "repeated":
                return (
                    "enough to train, but too few for time-ordered folds: judged by repeated "
                    "cross-validation, and the figures will be wide"
                )
            return "enough to train"
        needs = [
            f"{short:,} more {kind.replace('_', '-')} customers ({self.needed[kind]:,} in all "
            f"for the smallest backtest, {self.have[kind]:,} now)"
            for kind in ("ideal", "non_ideal")
            if (short := self.needed[kind] - self.have[kind]) > 0
        ]
        if not needs:
            return "cannot train yet: a backtest fold has fewer customers than the minimums"
        return f"cannot train yet: need {' and '.join(needs)}"

    @property
    def have(self) -> dict[str, int]:
        return {"ideal": self.ideal, "non_ideal": self.non_ideal}


SHORTFALLS = ("ideal_short", "non_ideal_short", "train_ideal_short", "train_non_ideal_short")


def readiness(decided: pd.Series, target: pd.Series, config: IcpConfig) -> Readiness:
    """Ideal and non-ideal customers per backtest fold against `config.minimums`: quarterly
    folds when each has enough, else time-ordered blocks (a small export)."""
    need = config.minimums

    def enough(train: pd.Series, test: pd.Series) -> bool:
        return bool(
            train.sum() >= need.ideal.train
            and (1 - train).sum() >= need.non_ideal.train
            and test.sum() >= need.ideal.fold
            and (1 - test).sum() >= need.non_ideal.fold
        )

    scheme, folds = backtest_folds(decided, target, enough, config.model.folds, config.model.seed)
    rows = []
    shown = [f for f in folds if f.name.startswith("repeat 1 ")] if scheme == "repeated" else folds
    for fold in shown:
        train, inside = fold.split(decided)
        before, test = target.loc[train], target.loc[inside]
        rows.append(
            {
                "fold": fold.name,
                "train_ideal": int(before.sum()),
                "train_non_ideal": int((1 - before).sum()),
                "ideal": int(test.sum()),
                "non_ideal": int((1 - test).sum()),
                "train_ideal_min": need.ideal.train,
                "train_non_ideal_min": need.non_ideal.train,
                "ideal_min": need.ideal.fold,
                "non_ideal_min": need.non_ideal.fold,
            }
        )
    columns = ["fold", "train_ideal", "train_non_ideal", "ideal", "non_ideal"]
    columns += [f"{c}_min" for c in columns[1:]]
    counts = pd.DataFrame(rows, columns=columns).set_index("fold")
    for column in ("ideal", "non_ideal", "train_ideal", "train_non_ideal"):
        counts[f"{column}_short"] = (counts[f"{column}_min"] - counts[column]).clip(lower=0)
    window = {
        "quarters": "each fold trains on the accounts decided before it and is judged on those "
        "decided in it; the folds are the last quarters before the label horizon",
        "half-years": "too few accounts per quarter: each half-year's model trains on the "
        "accounts decided before it and is judged on those decided in it",
        "repeated": "too few accounts for time-ordered folds: repeated stratified "
        "cross-validation (the first repeat's folds shown; 'before' = the other folds)",
    }[scheme]
    needed = {
        kind: max(
            -(-getattr(need, kind).train * CV_FOLDS // (CV_FOLDS - 1)),
            CV_FOLDS * getattr(need, kind).fold,
        )
        for kind in ("ideal", "non_ideal")
    }
    ideal = int(target.sum())
    return Readiness(counts, scheme, window, folds, ideal, len(target) - ideal, needed)


def readiness_of(prepared: LabelledExport, config: IcpConfig) -> Readiness:
    pool = labelled_pool(prepared, config)
    pool = pool[~pool["disqualified"]]
    return readiness(pool["decided"], pool["target"], config)


def check_label_counts(ready: Readiness, labelled: int) -> None:
    if not ready.can_train:
        raise TooFewLabels(
            f"too few labelled customers to train and judge a model: {ready.verdict()}; "
            f"labelled accounts: {labelled:,}; {ready.window}. Fix: a later --as-of or a shorter "
            "labels.window_months (more matured customers), or a larger labels.top_ltv_share / "
            "smaller labels.min_expansion (more ideal customers), or lower `minimums` in the "
            "config if you accept judging a model on fewer accounts"
        )


def backtest_data(prepared: LabelledExport, config: IcpConfig) -> BacktestData:
    pool = labelled_pool(prepared, config)
    frame = prepared.features.frame
    return BacktestData(
        X=frame.loc[pool.index],
        target=pool["target"],
        decided=pool["decided"],
        ltv=pool["ltv"],
        lost=pool["lost"],
        disqualified=pool["disqualified"],
        specs=prepared.features.specs,
        # label-free: blank headcounts estimated from every account's other attributes
        estimate=fit_headcount_estimate(frame, prepared.features.specs, config.model.seed),
    )


def train_icp_model(
    prepared: LabelledExport,
    config: IcpConfig,
    step: Callable[[str], object] = lambda message: None,
) -> TrainingRun:
    """Backtest, choose the recipe, refit on every labelled account, calibrate out of fold."""
    data = backtest_data(prepared, config)
    judged = data.evaluation
    ready = readiness(data.decided.loc[judged], data.target.loc[judged], config)
    check_label_counts(ready, len(judged))
    scheme, folds = ready.scheme, ready.folds
    seed, top_share = config.model.seed, config.tiers.A + config.tiers.B
    pinned = config.model.recipe.model_dump(exclude_none=True)
    backtest = run_backtest(data, scheme, folds, config.model.params, seed, top_share, pinned, step)
    step("Refitting the chosen recipe on every labelled account…")
    chosen = backtest.chosen
    rows = data.training_rows(chosen.recipe)
    X, y = data.X.loc[rows], data.target.loc[rows].to_numpy(dtype=int)
    model = recipe_model(chosen.recipe, data, config.model.params, seed).refit(
        X, y, chosen.tree_count, chosen.calibrator()
    )
    seen = model.features(X)
    logistic = LogisticBaseline(seed).fit(seen, y)
    rules = IcpFilter(prepared.features.specs, seed=seed).fit(
        seen, model.predict_proba(seen), pd.Series(y, index=rows)
    )
    accounts = prepared.export.accounts.set_index("account_id")
    scored = disqualified_reason(accounts, config.disqualifiers).isna()
    reference = np.sort(model.predict_proba(prepared.features.frame.loc[scored[scored].index]))
    thresholds = tier_thresholds(reference, config.tiers)
    scores = backtest.scores
    segments = _segments(
        scores["target"].to_numpy(), scores["model"].to_numpy(), accounts.loc[scores.index]
    )
    return TrainingRun(
        model,
        logistic,
        rules,
        rows,
        backtest,
        backtest.summary,
        segments,
        thresholds,
        reference,
        data.decided.loc[rows].max(),
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
