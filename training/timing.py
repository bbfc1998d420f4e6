"""The in-market (timing) model: which good fits to call this month (issue 16).

Rows are monthly snapshots (features/snapshots.py) of every account that was not a customer and
had no open opportunity; the label is a new opportunity within the horizon. Features: for each
trigger type, days since the last one and counts in recent windows, and the account's fit
probability as of the snapshot (the fit model scored on what was known that day).

It is judged like the fit model, forward in time: the newest `holdout_months` labelled months
are held out; a fit model trained as of the holdout's first day (it has not seen those months'
outcomes) gives the fit feature, and a timing model learns from snapshots whose horizon ended by
then. Each month the top `capacity` accounts by each ranking are "worked": priority
(P(ideal fit) x P(in market)) against fit alone and "any trigger in the last 30 days", as
opportunities created per 100 accounts worked, with account-resampled intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from icpfit.config import TimingSettings
from icpfit.features.snapshots import (
    Snapshots,
    any_trigger_within,
    signal_features,
    trigger_feature_names,
)
from icpfit.training.metrics import classification_metrics
from icpfit.training.promotion import Decision, Mode

FIT_FEATURE = "fit_probability"
TRIGGER_DAYS = 30
"""The "any trigger in the last 30 days" baseline."""
ROUNDS, STOPPING = 400, 30
KEEP_NEGATIVES, NEGATIVES_PER_POSITIVE = 60_000, 5
"""Snapshots without an opportunity kept to learn from (sampled, weighted): at least
KEEP_NEGATIVES, and NEGATIVES_PER_POSITIVE per snapshot with one."""
BOOTSTRAP_ROUNDS = 1000
SCORERS = {
    "priority": "priority (fit x timing)",
    "fit": "fit alone",
    "trigger": f"any trigger in the last {TRIGGER_DAYS} days",
    "timing": "timing alone",
}


class NoTimingData(ValueError):
    """Too few snapshots or opportunities to learn or judge a timing model."""


def timing_params(seed: int) -> dict:
    return {
        "objective": "binary",
        "learning_rate": 0.1,
        "max_bin": 63,
        "num_leaves": 15,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.9,
        "lambda_l2": 1.0,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 0,
        "verbosity": -1,
    }


def trigger_types(signals: pd.DataFrame, settings: TimingSettings) -> tuple[str, ...]:
    """The configured trigger types (every type in the export when none are configured)."""
    present = sorted(signals["signal_type"].dropna().unique())
    if not settings.triggers:
        return tuple(present)
    triggers = tuple(dict.fromkeys(settings.triggers))
    missing = sorted(set(triggers) - set(present))
    if missing:
        raise NoTimingData(
            f"timing.triggers: {', '.join(missing)} never occur in the signals table "
            f"(its types: {', '.join(present) or 'none'}); fix: name types the export has"
        )
    return triggers


@dataclass(frozen=True)
class TimingFrame:
    """Snapshots with their features (one row each, in snapshot order)."""

    snapshots: Snapshots
    features: pd.DataFrame
    triggers: tuple[str, ...]

    def rows(self, keep: np.ndarray) -> TimingFrame:
        return TimingFrame(
            self.snapshots.subset(keep),
            self.features.loc[keep].reset_index(drop=True),
            self.triggers,
        )


def timing_frame(
    snapshots: Snapshots,
    signals: pd.DataFrame,
    triggers: tuple[str, ...],
    windows: tuple[int, ...],
    fit_at: np.ndarray,
) -> TimingFrame:
    """Every snapshot's trigger features and its fit probability (`fit_at[account, date]`)."""
    features = signal_features(
        signals, snapshots.accounts, snapshots.account, snapshots.day, triggers, windows
    )
    features[FIT_FEATURE] = fit_at[snapshots.account, snapshots.date].astype(np.float32)
    return TimingFrame(snapshots, features, triggers)


def feature_names(triggers: tuple[str, ...], windows: tuple[int, ...]) -> list[str]:
    return [*trigger_feature_names(triggers, windows), FIT_FEATURE]


@dataclass(frozen=True)
class TimingFit:
    booster: lgb.Booster
    rounds: int
    features: list[str]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(features[self.features], num_iteration=self.rounds)


def fit_timing(
    frame: TimingFrame, features: list[str], seed: int, rounds: int | None = None
) -> TimingFit:
    """LightGBM on the snapshots; early-stopped on the newest fifth of their months unless
    `rounds` is given (the final model grows the backtest's count on every snapshot). Beyond
    KEEP_NEGATIVES snapshots without an opportunity, a seeded sample of them is kept, weighted
    up by the inverse of its share, so probabilities stay calibrated and memory stays flat."""
    y = frame.snapshots.label.astype(int)
    keep, weight = negative_sample(y, seed)
    X, y = frame.features[features].iloc[keep], y[keep]
    params = timing_params(seed)
    if rounds is not None:
        data = lgb.Dataset(X, label=y, weight=weight)
        return TimingFit(lgb.train(params, data, num_boost_round=rounds), rounds, features)
    dates = np.unique(frame.snapshots.date)
    newest = dates[-max(1, len(dates) // 5) :]
    valid = np.isin(frame.snapshots.date[keep], newest)
    if len(dates) < 2 or y[valid].sum() == 0 or y[~valid].sum() == 0:
        raise NoTimingData("too few months with new opportunities to learn a timing model")
    train = lgb.Dataset(X[~valid], label=y[~valid], weight=weight[~valid])
    check = lgb.Dataset(X[valid], label=y[valid], weight=weight[valid], reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=ROUNDS,
        valid_sets=[check],
        callbacks=[lgb.early_stopping(STOPPING, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    return TimingFit(booster, best, features)


def negative_sample(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions kept (every positive and a seeded sample of the negatives) and weights."""
    negatives = int((y == 0).sum())
    kept = max(KEEP_NEGATIVES, NEGATIVES_PER_POSITIVE * int(y.sum()))
    share = min(1.0, kept / max(negatives, 1))
    if share >= 1.0:
        return np.arange(len(y)), np.ones(len(y))
    drawn = np.random.default_rng(seed).random(len(y)) < share
    keep = np.flatnonzero((y == 1) | drawn)
    return keep, np.where(y[keep] == 1, 1.0, 1.0 / share)


def ranking_scores(frame: TimingFrame, timing: np.ndarray) -> dict[str, np.ndarray]:
    """Each ranking's score per snapshot (higher is worked first)."""
    fit = frame.features[FIT_FEATURE].to_numpy(dtype=float)
    since = any_trigger_within(frame.features, frame.triggers, TRIGGER_DAYS)
    # the trigger baseline works the most recent triggers first; fit never breaks its ties
    trigger = np.where(np.isfinite(since), 1.0 + 1.0 / (1.0 + since), 0.0)
    return {"priority": fit * timing, "fit": fit, "trigger": trigger, "timing": timing}


def worked(frame: TimingFrame, score: np.ndarray, capacity: int) -> np.ndarray:
    """Positions of each month's top `capacity` snapshots by `score` (ties by account order)."""
    snaps = frame.snapshots
    order = np.lexsort((snaps.account, -score, snaps.date))
    dates = snaps.date[order]
    rank = np.arange(len(order)) - np.searchsorted(dates, dates, side="left")
    return order[rank < capacity]


@dataclass(frozen=True)
class QueueBacktest:
    """The queue's top N per held-out month, by each ranking."""

    months: list[str]
    capacity: int
    rates: pd.DataFrame
    """One row per ranking: worked, opportunities, per_100 with its 95% interval."""
    gains: pd.DataFrame
    """Priority minus each other ranking, opportunities per 100 worked, paired interval."""
    auc: pd.DataFrame
    """ROC-AUC of each score on every held-out snapshot, with its interval."""
    snapshots: int
    accounts: int
    positives: int
    rounds: int

    def headline(self) -> str:
        gain = self.gains.set_index("against").loc["fit"]
        row = self.rates.set_index("ranking")
        return (
            f"top {self.capacity:,} a month over {len(self.months)} held-out months: priority "
            f"{row.loc['priority', 'per_100']:.1f} opportunities per 100 worked, fit alone "
            f"{row.loc['fit', 'per_100']:.1f}; gain {gain['gain']:+.1f} [95% CI "
            f"{gain['low']:+.1f}, {gain['high']:+.1f}] per 100 "
            f"({row.loc['priority', 'worked']:,} accounts worked by each)"
        )


def queue_backtest(
    holdout: TimingFrame, timing: np.ndarray, capacity: int, seed: int, rounds: int
) -> QueueBacktest:
    """Opportunities per 100 worked in each month's top `capacity`, per ranking, with
    intervals from resampling accounts (an account worked in several months is resampled as
    one); gains are paired (the same resampled accounts for both rankings)."""
    scores = ranking_scores(holdout, timing)
    label = holdout.snapshots.label
    picks = {name: worked(holdout, score, capacity) for name, score in scores.items()}
    accounts = np.unique(np.concatenate([holdout.snapshots.account[p] for p in picks.values()]))
    weights = np.random.default_rng(seed).poisson(1.0, (BOOTSTRAP_ROUNDS, len(accounts)))
    drawn = {}
    rates = []
    for name, pick in picks.items():
        column = np.searchsorted(accounts, holdout.snapshots.account[pick])
        w = weights[:, column].astype(float)
        hits = label[pick].astype(float)
        drawn[name] = 100 * (w @ hits) / np.maximum(w.sum(axis=1), 1)
        low, high = np.percentile(drawn[name], [2.5, 97.5])
        rates.append(
            {
                "ranking": name,
                "description": SCORERS[name],
                "worked": len(pick),
                "opportunities": int(hits.sum()),
                "per_100": 100 * hits.mean() if len(pick) else float("nan"),
                "low": low,
                "high": high,
            }
        )
    rates_frame = pd.DataFrame(rates)
    per_100 = rates_frame.set_index("ranking")["per_100"]
    gains = []
    for other in ("fit", "trigger", "timing"):
        low, high = np.percentile(drawn["priority"] - drawn[other], [2.5, 97.5])
        gains.append(
            {
                "against": other,
                "gain": per_100["priority"] - per_100[other],
                "low": low,
                "high": high,
            }
        )
    snaps = holdout.snapshots
    return QueueBacktest(
        months=[d.strftime("%Y-%m") for d in snaps.dates[np.unique(snaps.date)]],
        capacity=capacity,
        rates=rates_frame,
        gains=pd.DataFrame(gains),
        auc=_auc_rows(label, scores),
        snapshots=len(snaps),
        accounts=len(np.unique(snaps.account)),
        positives=int(label.sum()),
        rounds=rounds,
    )


def _auc_rows(label: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """ROC-AUC per score with the Hanley-McNeil 95% interval (a bootstrap of 100k snapshots
    would take longer than the model)."""
    positives, negatives = int(label.sum()), int((~label).sum())
    rows = []
    for name, score in scores.items():
        auc = classification_metrics(label.astype(int), score)["roc_auc"]
        low, high = auc_interval(auc, positives, negatives)
        rows.append({"ranking": name, "roc_auc": auc, "low": low, "high": high})
    return pd.DataFrame(rows)


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """Hanley & McNeil (1982): the AUC's standard error from its value and the class sizes."""
    if not positives or not negatives or auc != auc:
        return float("nan"), float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    half = 1.96 * np.sqrt(max(variance, 0.0))
    return max(auc - half, 0.0), min(auc + half, 1.0)


@dataclass(frozen=True)
class TimingRun:
    """The registered timing model and what its backtest showed."""

    model: TimingFit
    triggers: tuple[str, ...]
    settings: TimingSettings
    backtest: QueueBacktest
    snapshots: int
    positives: int
    trained_through: pd.Timestamp
    """The newest snapshot date it learned from (its horizon ended by the as-of date)."""
    example: pd.DataFrame
    """A few input rows, for the logged model's signature and example."""

    def bundle(self, fit_model: dict[str, str], as_of: str) -> dict:
        """Plain data saved beside the booster: what the queue needs to build the features."""
        return {
            "kind": "icp-timing",
            "features": self.model.features,
            "triggers": list(self.triggers),
            "windows_days": list(self.settings.windows_days),
            "horizon_days": self.settings.horizon_days,
            "rounds": self.model.rounds,
            "fit_model": fit_model,
            "as_of": as_of,
            "trained_through": self.trained_through.strftime("%Y-%m-%d"),
        }


def split_months(snapshots: Snapshots, settings: TimingSettings) -> tuple[np.ndarray, np.ndarray]:
    """(learn, holdout) masks over the labelled snapshots: the newest `holdout_months` labelled
    months are held out; the model learns from months whose horizon ended before them."""
    labelled_dates = np.unique(snapshots.date[snapshots.labelled])
    if len(labelled_dates) <= settings.holdout_months:
        raise NoTimingData(
            f"{len(labelled_dates)} labelled snapshot months, but timing.holdout_months is "
            f"{settings.holdout_months}; fix: raise timing.history_months"
        )
    held = labelled_dates[-settings.holdout_months :]
    start = snapshots.dates[held[0]]
    learn_by = (start - pd.Timestamp("1970-01-01")).days - settings.horizon_days
    learn = snapshots.labelled & (snapshots.day <= learn_by)
    holdout = snapshots.labelled & np.isin(snapshots.date, held)
    if not learn.any():
        raise NoTimingData(
            "no snapshot month's horizon ended before the held-out months; fix: raise "
            "timing.history_months or lower timing.holdout_months"
        )
    return learn, holdout


def train_timing_model(
    frame: TimingFrame,
    holdout_frame: TimingFrame,
    learn: np.ndarray,
    held: np.ndarray,
    settings: TimingSettings,
    seed: int,
) -> TimingRun:
    """Learn on rows `learn` and judge on rows `held` of `holdout_frame` (its fit feature from
    the fit model as of the holdout's start), then grow the same number of trees on every
    labelled snapshot of `frame` (fit feature from this run's fit model)."""
    features = feature_names(frame.triggers, settings.windows_days)
    judged = fit_timing(holdout_frame.rows(learn), features, seed)
    holdout = holdout_frame.rows(held)
    backtest = queue_backtest(
        holdout, judged.predict(holdout.features), settings.capacity, seed, judged.rounds
    )
    every = frame.rows(frame.snapshots.labelled)
    if every.snapshots.label.sum() == 0:
        raise NoTimingData("no snapshot was followed by a new opportunity within the horizon")
    final = fit_timing(every, features, seed, rounds=judged.rounds)
    snaps = every.snapshots
    return TimingRun(
        model=final,
        triggers=frame.triggers,
        settings=settings,
        backtest=backtest,
        snapshots=len(snaps),
        positives=int(snaps.label.sum()),
        trained_through=snaps.dates[snaps.date.max()],
        example=every.features.head(3).reset_index(drop=True),
    )


def timing_decision(fit: Decision, backtest: QueueBacktest, mode: Mode) -> Decision:
    """The timing version's alias: it follows the fit version it learned from (a queue pairs the
    two), and stays challenger when its priority ranking works fewer opportunities than fit
    alone on the held-out months beyond noise."""
    gain = backtest.gains.set_index("against").loc["fit"]
    evidence = (
        f"priority vs fit alone on {len(backtest.months)} held-out months, top "
        f"{backtest.capacity:,} a month: {gain['gain']:+.1f} opportunities per 100 worked "
        f"[95% CI {gain['low']:+.1f}, {gain['high']:+.1f}]"
    )
    if mode == "force":
        return Decision("champion", f"forced by --promote force; {evidence}", forced=True)
    if mode == "never":
        return Decision("challenger", f"--promote never; {evidence}")
    if fit.alias != "champion":
        return Decision(
            "challenger",
            "the fit version it learned from is not champion (a queue pairs the two); " + evidence,
        )
    if gain["high"] < 0:
        return Decision("challenger", f"ranks worse than fit alone: {evidence}")
    return Decision("champion", evidence)
