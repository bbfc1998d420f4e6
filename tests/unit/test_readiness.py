"""Whether an export can train: ideal and non-ideal customers per part of the split against the
configured minimums, said plainly."""

from __future__ import annotations

import pandas as pd
import pytest

from icpfit.training.fit import TooFewLabels, check_label_counts, readiness
from tests.conftest import make_config


def split_of(train: tuple[int, int], validation: tuple[int, int], holdout: tuple[int, int]):
    """(ideal, non-ideal) per part as a split and a target over made-up account ids."""
    parts, target = [], []
    for part, (ideal, other) in zip(
        ("train", "validation", "holdout"), (train, validation, holdout), strict=True
    ):
        parts += [part] * (ideal + other)
        target += [1] * ideal + [0] * other
    index = pd.Index([f"A{i}" for i in range(len(parts))], name="account_id")
    return pd.Series(parts, index=index), pd.Series(target, index=index)


def test_enough_to_train_at_the_minimums():
    split, target = split_of((20, 20), (5, 5), (5, 5))
    ready = readiness(split, target, make_config())
    assert ready.can_train and ready.verdict() == "enough to train"
    assert ready.counts.loc["holdout", ["labelled", "ideal", "non_ideal"]].tolist() == [10, 5, 5]


def test_says_how_many_more_of_each_kind_and_where():
    split, target = split_of((9, 53), (0, 13), (1, 3))
    ready = readiness(split, target, make_config())
    assert not ready.can_train
    assert ready.verdict() == (
        "cannot train yet: need 20 more ideal customers (train 11, validation 5, holdout 4) and "
        "2 more non-ideal customers (holdout 2)"
    )


def test_minimums_come_from_the_config():
    split, target = split_of((9, 53), (2, 13), (2, 13))
    lenient = make_config(minimums={"ideal": {"train": 5, "validation": 2, "holdout": 2}})
    assert readiness(split, target, lenient).can_train
    assert not readiness(split, target, make_config()).can_train
    with pytest.raises(TooFewLabels, match=r"need 17 more ideal customers.*lower `minimums`"):
        check_label_counts(split, target, make_config())
    check_label_counts(split, target, lenient)
