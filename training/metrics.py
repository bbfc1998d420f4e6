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
DRAWN_METRICS = ("roc_auc", "pr_auc", "brier", "lift_top_decile", "ltv_share_tiers_ab")
ROUNDS_PER_BLOCK = 200


def resamples(n: int, rounds: int, seed: int) -> np.ndarray:
    """`rounds` bootstrap draws of n row positions (with replacement), one row per draw."""
    return np.random.default_rng(seed).integers(0, n, size=(rounds, n))


def drawn_metrics(
    y: np.ndarray,
    scores: np.ndarray,
    draws: np.ndarray,
    ltv: np.ndarray | None = None,
    top_share: float = 0.3,
) -> dict[str, np.ndarray]:
    """Each metric on each resample (`draws`: row positions, one resample per row), vectorised.

    ROC-AUC is exact (mid-ranks for ties, as scikit-learn); PR-AUC is average precision with ties
    broken by position; lift is in the top 10%; `ltv_share_tiers_ab` is the share of LTV in the
    top `top_share` (NaN without `ltv`). Computed in blocks of rows to bound memory.
    """
    y, scores = np.asarray(y, dtype=float), np.asarray(scores, dtype=float)
    ltv = None if ltv is None else np.nan_to_num(np.asarray(ltv, dtype=float))
    parts = [
        _block_metrics(y, scores, draws[lo : lo + ROUNDS_PER_BLOCK], ltv, top_share)
        for lo in range(0, len(draws), ROUNDS_PER_BLOCK)
    ]
    return {name: np.concatenate([p[name] for p in parts]) for name in DRAWN_METRICS}


def _block_metrics(
    y: np.ndarray, scores: np.ndarray, draw: np.ndarray, ltv: np.ndarray | None, top_share: float
) -> dict[str, np.ndarray]:
    ys, ss = y[draw], scores[draw]
    n = draw.shape[1]
    positives = ys.sum(axis=1)
    negatives = n - positives
    ranks = rankdata(ss, axis=1)
    order = np.argsort(-ss, axis=1, kind="stable")
    ranked = np.take_along_axis(ys, order, axis=1)
    top = max(int(round(n * 0.10)), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * ys).sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)
        precision = np.cumsum(ranked, axis=1) / np.arange(1, n + 1)
        pr_auc = (precision * ranked).sum(axis=1) / positives
        lift = ranked[:, :top].mean(axis=1) / ys.mean(axis=1)
        if ltv is None:
            share = np.full(len(draw), np.nan)
        else:
            values = np.take_along_axis(ltv[draw], order, axis=1)
            count = max(int(round(n * top_share)), 1)
            share = values[:, :count].sum(axis=1) / values.sum(axis=1)
    undefined = (positives == 0) | (negatives == 0)
    auc[undefined] = pr_auc[undefined] = lift[undefined] = np.nan
    brier = ((np.clip(ss, 0, 1) - ys) ** 2).mean(axis=1)
    return {
        "roc_auc": auc,
        "pr_auc": pr_auc,
        "brier": brier,
        "lift_top_decile": lift,
        "ltv_share_tiers_ab": share,
    }


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    if np.isnan(values).all():
        return float("nan"), float("nan")
    low, high = np.nanpercentile(values, tails)
    return float(low), float(high)


def bootstrap_intervals(
    y: np.ndarray, scores: np.ndarray, rounds: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """A percentile bootstrap interval (accounts resampled with replacement) for ROC-AUC, Brier
    and lift in the top decile: what a holdout of this size can and cannot tell apart."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or len(np.unique(y)) < 2:
        return {m: (float("nan"), float("nan")) for m in INTERVAL_METRICS}
    drawn = drawn_metrics(y, scores, resamples(len(y), rounds, seed))
    return {name: percentile_interval(drawn[name], level) for name in INTERVAL_METRICS}


def rank_auc(y: np.ndarray | pd.Series, scores: np.ndarray | pd.Series) -> float:
    """ROC-AUC of one sample by the rank-sum (Mann-Whitney) formula, ties at half, as
    `_block_metrics` computes it per resample: scikit-learn's number without its input checks,
    which cost 5 ms a call where a backtest makes a thousand calls per train. NaN with one
    class only."""
    y = np.asarray(y, dtype=int)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


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
