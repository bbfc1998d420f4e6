"""The in-market (timing) model: which good fits to call this month (issue 16).

Rows are monthly snapshots (features/snapshots.py) of every account that was not a customer and
had no open opportunity; the label is a new opportunity within the horizon. Features: for each
trigger type, days since the last one and counts in recent windows; for each level type
(`timing.levels`), its latest reading and the change over LEVEL_LAG_DAYS; and the account's fit
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
from icpfit.features.snapshots import LEVEL_LAG_DAYS, Snapshots
from icpfit.training.promotion import Decision, Mode
from icpfit.training.timing_backtest import (  # noqa: F401 (the timing model's one import point)
    SCORERS,
    TRIGGER_DAYS,
    QueueBacktest,
    auc_interval,
    queue_backtest,
    ranking_scores,
    worked,
)
from icpfit.training.timing_frame import (  # noqa: F401
    FIT_FEATURE,
    TimingFrame,
    feature_names,
    timing_frame,
)

ROUNDS, STOPPING = 400, 30
KEEP_NEGATIVES, NEGATIVES_PER_POSITIVE = 60_000, 5
"""Snapshots without an opportunity kept to learn from (sampled, weighted): at least
KEEP_NEGATIVES, and NEGATIVES_PER_POSITIVE per snapshot with one."""


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
    levels: tuple[str, ...] = ()
    level_lag_days: int = LEVEL_LAG_DAYS

    def bundle(self, fit_model: dict[str, str], as_of: str) -> dict:
        """Plain data saved beside the booster: what the queue needs to build the features."""
        return {
            "kind": "icp-timing",
            "features": self.model.features,
            "triggers": list(self.triggers),
            "windows_days": list(self.settings.windows_days),
            "levels": list(self.levels),
            "level_lag_days": self.level_lag_days,
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
    features = feature_names(frame.triggers, settings.windows_days, frame.levels, frame.lag_days)
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
        levels=frame.levels,
        level_lag_days=frame.lag_days,
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
