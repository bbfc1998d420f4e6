"""Whether an export can train: ideal and non-ideal customers in each backtest fold (and before
it) against the configured minimums, said plainly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.training.fit import TooFewLabels, check_label_counts, readiness
from tests.conftest import make_config

HORIZON = pd.Timestamp("2025-09-30")


def accounts(per_month: int, ideal_every: int, months: int = 36, seed: int = 0):
    """`per_month` labelled accounts decided each month up to HORIZON, every `ideal_every`-th
    one ideal."""
    days = pd.date_range(end=HORIZON, periods=months, freq="MS")
    decided = np.repeat(days, per_month)
    target = (np.arange(len(decided)) % ideal_every == 0).astype(int)
    index = pd.Index([f"A{i}" for i in range(len(decided))], name="account_id")
    order = np.random.default_rng(seed).permutation(len(decided))
    return pd.Series(decided[order], index=index[order]), pd.Series(
        target[order], index=index[order]
    )


def test_enough_for_quarterly_folds():
    decided, target = accounts(per_month=20, ideal_every=5)
    ready = readiness(decided, target, make_config())
    assert ready.can_train and ready.verdict() == "enough to train"
    assert ready.scheme == "quarters" and len(ready.counts) == 4
    # each fold holds one quarter of accounts: 3 months x 20, a fifth of them ideal
    assert ready.counts[["ideal", "non_ideal"]].to_numpy().tolist() == [[12, 48]] * 4
    # training before the first fold: everything decided before it, never the fold itself
    assert ready.counts["train_ideal"].is_monotonic_increasing


def test_a_small_export_falls_back_to_half_years_and_says_so():
    decided, target = accounts(per_month=4, ideal_every=4)
    ready = readiness(decided, target, make_config())
    assert ready.scheme == "half-years" and len(ready.counts) == 2
    assert ready.can_train
    assert "too few for quarterly folds" in ready.verdict() and "wide" in ready.verdict()
    first, last = ready.folds
    assert first.end == last.start and last.end == decided.max() + pd.Timedelta(days=1)


def test_a_tiny_export_falls_back_to_repeated_cross_validation_and_says_so():
    decided, target = accounts(per_month=3, ideal_every=4)
    ready = readiness(decided, target, make_config())
    assert ready.scheme == "repeated" and ready.can_train
    assert "repeated cross-validation" in ready.verdict() and "wide" in ready.verdict()
    assert len(ready.folds) == 15 and len(ready.counts) == 5  # the first repeat's folds shown
    for repeat in range(3):  # each repeat's folds cover every account exactly once
        members = [m for f in ready.folds[5 * repeat : 5 * repeat + 5] for m in f.members]
        assert sorted(members) == sorted(decided.index)


def test_says_how_many_more_of_each_kind_and_where():
    decided, target = accounts(per_month=1, ideal_every=12, months=30)
    ready = readiness(decided, target, make_config())
    assert not ready.can_train
    verdict = ready.verdict()
    assert verdict.startswith("cannot train yet: need ")
    # 30 accounts, 3 ideal; cross-validation needs 5 folds of 5 ideal (and 20 to learn from)
    assert verdict == (
        "cannot train yet: need 22 more ideal customers (25 in all for the smallest backtest, "
        "3 now)"
    )


def test_minimums_come_from_the_config():
    decided, target = accounts(per_month=1, ideal_every=3, months=30)
    lenient = make_config(
        minimums={"ideal": {"train": 3, "fold": 1}, "non_ideal": {"train": 3, "fold": 1}}
    )
    assert readiness(decided, target, lenient).can_train
    strict = readiness(decided, target, make_config())
    assert not strict.can_train
    with pytest.raises(TooFewLabels, match=r"cannot train yet.*lower `minimums`"):
        check_label_counts(strict, len(decided))
    check_label_counts(readiness(decided, target, lenient), len(decided))
