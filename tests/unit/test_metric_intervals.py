"""Every quality figure with its interval: the bootstrap of the holdout's accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from icpfit.training.metrics import (
    bootstrap_intervals,
    classification_metrics,
    figure_with_interval,
)


def holdout(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    scores = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1).round(2)  # ties on purpose
    return y, scores


def test_the_vectorised_auc_is_sklearns_on_each_resample():
    y, scores = holdout(300)
    draws = np.random.default_rng(0).integers(0, 300, size=(1000, 300))
    aucs = [roc_auc_score(y[d], scores[d]) for d in draws if 0 < y[d].sum() < 300]
    low, high = bootstrap_intervals(y, scores, rounds=1000, seed=0)["roc_auc"]
    np.testing.assert_allclose((low, high), np.percentile(aucs, [2.5, 97.5]), rtol=1e-12)


def test_intervals_hold_the_estimate_and_narrow_with_more_accounts():
    small, large = holdout(150), holdout(3000)
    widths = []
    for y, scores in (small, large):
        point = classification_metrics(y, scores)
        intervals = bootstrap_intervals(y, scores)
        for metric, (low, high) in intervals.items():
            assert low <= point[metric] <= high, metric
        widths.append(intervals["roc_auc"][1] - intervals["roc_auc"][0])
    assert widths[1] < widths[0] / 3
    assert bootstrap_intervals(*small, seed=3) == bootstrap_intervals(*small, seed=3)


def test_one_class_gives_no_interval_and_the_figure_reads_with_its_interval():
    low, high = bootstrap_intervals(np.zeros(50), np.random.default_rng(0).random(50))["roc_auc"]
    assert np.isnan(low) and np.isnan(high)
    row = pd.Series(
        {"roc_auc": 0.8641, "roc_auc_low": 0.8172, "roc_auc_high": 0.9012, "brier": 0.1}
    )
    assert figure_with_interval(row, "roc_auc") == "0.864 [0.817, 0.901]"
    assert figure_with_interval(row, "brier") == "0.100"


def test_the_backtests_rank_auc_is_sklearns_ties_included():
    from icpfit.training.backtest import _auc

    rng = np.random.default_rng(5)
    for n in (7, 60, 500):
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        scores = rng.integers(0, 6, n).astype(float)  # many ties
        assert _auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert np.isnan(_auc(np.ones(5), np.arange(5.0)))
