"""Holdout metrics shared by the model and the baselines, overall and per segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

MIN_SEGMENT_ROWS = 50
MIN_SEGMENT_IDEAL = 5


def lift_at(y: np.ndarray, scores: np.ndarray, top: float = 0.10) -> float:
    """Ideal rate among the top `top` share of scores over the overall ideal rate."""
    y, scores = np.asarray(y, dtype=float), np.asarray(scores, dtype=float)
    if y.mean() == 0:
        return float("nan")
    count = max(int(round(len(y) * top)), 1)
    order = np.argsort(-scores, kind="stable")[:count]
    return float(y[order].mean() / y.mean())


def classification_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
    if len(np.unique(y)) < 2:
        nan = float("nan")
        return {"roc_auc": nan, "pr_auc": nan, "brier": nan, "lift_top_decile": nan}
    return {
        "roc_auc": float(roc_auc_score(y, scores)),
        "pr_auc": float(average_precision_score(y, scores)),
        "brier": float(brier_score_loss(y, np.clip(scores, 0, 1))),
        "lift_top_decile": lift_at(y, scores),
    }


INTERVAL_METRICS = ("roc_auc", "brier", "lift_top_decile")


def bootstrap_intervals(
    y: np.ndarray, scores: np.ndarray, rounds: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """A percentile bootstrap interval (accounts resampled with replacement) for ROC-AUC, Brier
    and lift in the top decile: what a holdout of this size can and cannot tell apart."""
    y, scores = np.asarray(y, dtype=float), np.asarray(scores, dtype=float)
    if len(y) == 0 or len(np.unique(y)) < 2:
        return {m: (float("nan"), float("nan")) for m in INTERVAL_METRICS}
    draw = np.random.default_rng(seed).integers(0, len(y), size=(rounds, len(y)))
    ys, ss = y[draw], scores[draw]
    positives = ys.sum(axis=1)
    negatives = len(y) - positives
    ranks = rankdata(ss, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * ys).sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)
        top = max(int(round(len(y) * 0.10)), 1)
        order = np.argsort(-ss, axis=1, kind="stable")[:, :top]
        lift = np.take_along_axis(ys, order, axis=1).mean(axis=1) / ys.mean(axis=1)
    brier = ((np.clip(ss, 0, 1) - ys) ** 2).mean(axis=1)
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    return {
        name: tuple(float(v) for v in np.nanpercentile(values, tails))
        for name, values in (("roc_auc", auc), ("brier", brier), ("lift_top_decile", lift))
    }


def figure_with_interval(row: pd.Series, metric: str, digits: int = 3) -> str:
    """'0.864 [0.817, 0.901]' when the row has the metric's interval, else the figure alone."""
    value = f"{row[metric]:.{digits}f}"
    low, high = row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if low is None or high is None or low != low or high != high:
        return value
    return f"{value} [{low:.{digits}f}, {high:.{digits}f}]"


def ltv_captured(ltv: np.ndarray, scores: np.ndarray, top_share: float) -> float:
    """Share of the holdout's LTV in its top `top_share` by score (tiers A+B sized as configured).

    Ranked within the holdout for every scorer alike (ties broken by position), so a baseline
    with coarse scores is not flattered by ties at a tier threshold.
    """
    ltv = np.nan_to_num(np.asarray(ltv, dtype=float))
    total = ltv.sum()
    if total <= 0:
        return float("nan")
    count = max(int(round(len(ltv) * top_share)), 1)
    top = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:count]
    return float(ltv[top].sum() / total)


def segment_metrics(
    y: np.ndarray, scores: np.ndarray, segments: pd.Series, min_rows: int = MIN_SEGMENT_ROWS
) -> pd.DataFrame:
    """The same metrics per segment value, where it has enough rows and ideal customers to mean
    something (a lift of 10 from one ideal account is noise, not a finding)."""
    rows = []
    frame = pd.DataFrame({"y": y, "score": scores, "segment": segments.to_numpy()})
    for value, part in frame.groupby("segment", observed=True, dropna=False):
        if len(part) < min_rows or not MIN_SEGMENT_IDEAL <= part["y"].sum() < len(part):
            continue
        metrics = classification_metrics(part["y"].to_numpy(), part["score"].to_numpy())
        rows.append(
            {"segment": str(value), "rows": len(part), "ideal": int(part["y"].sum()), **metrics}
        )
    return pd.DataFrame(rows)
