"""The timing model's backtest: each held-out month, the top N accounts of each ranking are
"worked", and we count the new opportunities they opened within the horizon (issue 16).

Rankings: priority (P(ideal fit) x P(in market)), fit alone, any trigger in the last 30 days,
and timing alone. Intervals resample accounts (an account worked in several months is one
draw); gains are paired, on the same resampled accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icpfit.features.snapshots import any_trigger_within
from icpfit.training.metrics import classification_metrics
from icpfit.training.timing_frame import FIT_FEATURE, TimingFrame

TRIGGER_DAYS = 30
"""The "any trigger in the last 30 days" baseline."""
BOOTSTRAP_ROUNDS = 1000
SCORERS = {
    "priority": "priority (fit x timing)",
    "fit": "fit alone",
    "trigger": f"any trigger in the last {TRIGGER_DAYS} days",
    "timing": "timing alone",
}


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
