"""Temporal split, tiers and metrics on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.config import TierShares
from icpfit.serving.scale import assign_tiers, fit_scores
from icpfit.training.metrics import classification_metrics, lift_at, ltv_captured
from icpfit.training.model import BoostedFit
from icpfit.training.tiers import tier_thresholds


def test_tiers_follow_the_configured_shares():
    reference = np.linspace(0, 1, 1001)
    thresholds = tier_thresholds(reference, TierShares(A=0.1, B=0.2, C=0.3))
    tiers = assign_tiers(reference, thresholds)
    shares = pd.Series(tiers).value_counts(normalize=True)
    assert shares["A"] == pytest.approx(0.1, abs=0.01)
    assert shares["B"] == pytest.approx(0.2, abs=0.01)
    assert shares["D"] == pytest.approx(0.4, abs=0.01)


def test_accounts_tied_at_a_threshold_stay_in_its_tier_through_float_noise():
    """Olist: 14% of accounts share the top probability, the A threshold is that value, and
    scoring recomputes it from the SHAP sum 2e-17 lower."""
    reference = np.r_[np.full(860, 0.0083), np.full(140, 0.020823838007868760)]
    thresholds = tier_thresholds(reference, TierShares(A=0.1, B=0.2, C=0.3))
    recomputed = np.r_[np.full(860, 0.0083), np.full(140, 0.020823838007868740)]
    assert (assign_tiers(recomputed, thresholds) == "A").sum() == 140
    assert (assign_tiers(np.array([0.0208238]), thresholds) != "A").all()


def test_fit_score_is_the_percentile_in_the_reference():
    reference = np.sort(np.arange(100) / 100)
    assert fit_scores(np.array([0.0, 0.875, 2.0]), reference).tolist() == [0, 88, 100]


def test_lift_and_ltv_captured():
    y = np.array([1] + [0] * 9 + [1] * 1 + [0] * 9)
    scores = np.arange(20)[::-1].astype(float)  # the first two rows rank highest
    assert lift_at(y, scores, top=0.10) == pytest.approx(5.0)  # 1 of 2 vs 2 of 20
    ltv = np.array([10, 30, np.nan, 60])
    assert ltv_captured(ltv, np.array([0.9, 0.1, 0.8, 0.7]), top_share=0.75) == 0.7
    assert ltv_captured(ltv, np.array([0.5, 0.5, 0.5, 0.5]), top_share=0.25) == 0.1
    metrics = classification_metrics(y, scores / 20)
    assert 0.5 < metrics["roc_auc"] < 1 and 0 < metrics["brier"] < 1


def test_segments_without_enough_ideal_customers_are_left_out():
    from icpfit.training.metrics import segment_metrics

    rng = np.random.default_rng(0)
    y = np.r_[rng.integers(0, 2, 100), np.zeros(99), [1]]
    segments = pd.Series(["big"] * 100 + ["one_ideal"] * 100)
    table = segment_metrics(y, rng.random(200), segments)
    assert table["segment"].tolist() == ["big"]


def test_fixed_num_iterations_turns_early_stopping_off():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    y = (X["a"] + rng.normal(scale=2.0, size=600) > 0).astype(int).to_numpy()
    stopped = BoostedFit({"learning_rate": 0.3}).fit(X[:400], y[:400], X[400:], y[400:])
    fixed = BoostedFit({"learning_rate": 0.3, "num_iterations": 150}).fit(
        X[:400], y[:400], X[400:], y[400:]
    )
    assert stopped.best_iteration_ < 150, "noisy data: early stopping ends well before 150 trees"
    assert fixed.best_iteration_ == fixed.booster_.num_trees() == 150


def test_training_shap_values_are_lightgbms_pred_contrib():
    from icpfit.training.global_shap import contributions

    rng = np.random.default_rng(4)
    n = 1500
    X = pd.DataFrame(
        {
            "industry": pd.Categorical(rng.choice(["Software", "Retail", "Bank", None], n)),
            "employees": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(5, 1, n)),
            "visits": rng.normal(size=n),
        }
    )
    y = ((X["industry"] == "Software") | (X["visits"] > 1)).astype(int).to_numpy()
    model = BoostedFit({"min_data_per_group": 5, "cat_smooth": 1.0}).fit(
        X[:1000], y[:1000], X[1000:], y[1000:]
    )
    reference = model.booster_.predict(X, pred_contrib=True, num_iteration=model.best_iteration_)
    ours = contributions(model, X)
    assert list(ours.columns) == [*X.columns, "expected_value"]
    assert np.abs(ours.to_numpy() - reference).max() < 1e-9
