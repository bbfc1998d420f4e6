"""The noise-aware promotion rule: a paired bootstrap of the difference on the same accounts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from icpfit.training.promotion import PromotionRule, paired_difference, should_promote


def accounts(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A target and a latent fit that predicts it."""
    rng = np.random.default_rng(seed)
    fit = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * fit - 1.5)))).astype(int)
    return y, fit


def noisy(fit: np.ndarray, sd: float, seed: int) -> np.ndarray:
    return fit + np.random.default_rng(seed).normal(scale=sd, size=len(fit))


def test_the_difference_is_sklearns_auc_difference_on_all_accounts():
    y, fit = accounts(800)
    a, b = noisy(fit, 1.0, 1), noisy(fit, 0.3, 2)
    d = paired_difference(y, a, b, rounds=500)
    assert d.difference == pytest.approx(roc_auc_score(y, b) - roc_auc_score(y, a))
    assert d.low < d.difference < d.high
    assert d.accounts == 800 and d.ideal == int(y.sum())


def test_a_clearly_better_candidate_is_promoted():
    y, fit = accounts(2000)
    better = paired_difference(y, noisy(fit, 1.5, 1), noisy(fit, 0.2, 2))
    assert PromotionRule().holds(better)
    decision = should_promote(better, None, has_champion=True)
    assert decision.alias == "champion" and "rule holds" in decision.reason
    assert "95% CI" in decision.reason and "2,000 accounts" in decision.reason


def test_noise_is_not_promoted():
    """Two equally good models (the same fit, different noise): never beyond noise, on a small
    export or a large one, whichever is called candidate."""
    promoted = 0
    for seed in range(20):
        y, fit = accounts(150, seed)
        a, b = noisy(fit, 0.8, 100 + seed), noisy(fit, 0.8, 200 + seed)
        promoted += PromotionRule().holds(paired_difference(y, a, b, rounds=500, seed=seed))
    assert promoted <= 2  # a 95% interval: about one in forty by chance, one-sided
    y, fit = accounts(150, 3)
    same = paired_difference(y, fit, fit.copy())
    assert same.difference == 0 and same.low == 0 and not PromotionRule().holds(same)
    decision = should_promote(same, None, has_champion=True)
    assert decision.alias == "challenger" and decision.reason.startswith("kept the champion")


def test_the_first_model_must_beat_the_best_baseline():
    y, fit = accounts(600)
    worse = paired_difference(y, fit, noisy(fit, 3.0, 1), incumbent_label="best baseline")
    decision = should_promote(None, worse, has_champion=False)
    assert decision.alias == "challenger"
    assert "registered but not made champion" in decision.reason
    assert "best baseline" in decision.reason
    better = paired_difference(y, noisy(fit, 3.0, 1), fit, incumbent_label="best baseline")
    assert should_promote(None, better, has_champion=False).alias == "champion"


def test_promote_never_never_makes_a_champion_not_even_the_first():
    y, fit = accounts(2000)
    better = paired_difference(y, noisy(fit, 1.5, 1), fit)
    first = should_promote(None, better, has_champion=False, mode="never")
    assert first.alias == "challenger" and "--promote never" in first.reason
    assert should_promote(better, None, has_champion=True, mode="never").alias == "challenger"


def test_force_promotes_and_records_the_numbers():
    y, fit = accounts(500)
    worse = paired_difference(y, fit, noisy(fit, 3.0, 1))
    forced = should_promote(worse, None, has_champion=True, mode="force")
    assert forced.alias == "champion" and forced.forced and "ROC-AUC" in forced.reason


def test_no_accounts_to_judge_on_keeps_the_champion():
    empty = paired_difference(np.zeros(0), np.zeros(0), np.zeros(0))
    decision = should_promote(empty, None, has_champion=True)
    assert decision.alias == "challenger" and "no accounts" in decision.reason
    y = np.zeros(14, dtype=int)  # accounts, but no ideal one among them
    none_ideal = paired_difference(y, np.random.default_rng(0).random(14), np.zeros(14))
    decision = should_promote(none_ideal, None, has_champion=True)
    assert decision.alias == "challenger" and "nothing to judge it against" in decision.reason
    assert "needs ideal and non-ideal accounts" in decision.reason
