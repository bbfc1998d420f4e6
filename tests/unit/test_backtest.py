"""The rolling-origin backtest: folds in time, no fold sees its future, baselines on the same
folds, figures with intervals, and a recipe chosen by the folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.features.frame import FeatureSpec
from icpfit.training.backtest import (
    BacktestData,
    BestSingleColumn,
    Recipe,
    backtest_folds,
    evaluate_recipe,
    fold_training_rows,
    run_backtest,
)

LEVELS = ("Retail", "Software", "Media")
SPECS = (
    FeatureSpec("industry", "firmographic", "categorical", "industry", LEVELS),
    FeatureSpec("employees", "firmographic", "numeric", "employees"),
    FeatureSpec("noise", "behavioral", "numeric", "noise"),
)


def history(n: int = 2400, seed: int = 0) -> BacktestData:
    """Three years of decided accounts; software and mid-size companies are ideal."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"A{i:05d}" for i in range(n)], name="account_id")
    industry = rng.choice(LEVELS, n)
    employees = np.exp(rng.normal(5, 1.2, n))
    logit = -2.2 + 1.6 * (industry == "Software") - 0.5 * np.abs(np.log(employees) - 5.5)
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {
            "industry": pd.Categorical(industry, categories=LEVELS),
            "employees": employees,
            "noise": rng.normal(size=n),
        },
        index=ids,
    )
    decided = pd.Series(
        pd.Timestamp("2022-10-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), "D"), index=ids
    )
    lost = pd.Series(rng.random(n) < 0.3, index=ids) & (target == 0)
    return BacktestData(
        X=X,
        target=pd.Series(target, index=ids),
        decided=decided,
        ltv=pd.Series(np.where(target == 1, 5000.0, 800.0) * rng.uniform(0.5, 1.5, n), index=ids),
        lost=lost,
        disqualified=pd.Series(False, index=ids),
        specs=SPECS,
    )


def enough(train: pd.Series, test: pd.Series) -> bool:
    return train.sum() >= 20 and test.sum() >= 5 and (1 - test).sum() >= 5


def test_quarterly_folds_judge_each_quarter_on_a_model_of_its_past_only():
    data = history()
    scheme, folds = backtest_folds(data.decided, data.target, enough)
    assert scheme == "quarters" and len(folds) == 4
    assert all(a.end == b.start for a, b in zip(folds, folds[1:], strict=False))
    assert folds[-1].end > data.decided.max()
    for fold in folds:
        rows = fold_training_rows(Recipe(), data, fold)
        assert data.decided.loc[rows].max() < fold.start
    result = evaluate_recipe(Recipe(tree_shape="depth-2"), data, folds, {}, seed=1)
    for fold in folds:
        judged = data.decided.loc[result.oof.index[result.oof["fold"] == fold.name]]
        assert judged.min() >= fold.start and judged.max() < fold.end


def test_a_fold_never_sees_its_future():
    """Changing every label after the first fold changes nothing in the first fold."""
    data = history()
    _, folds = backtest_folds(data.decided, data.target, enough)
    later = data.decided >= folds[0].end
    flipped = BacktestData(
        **{**data.__dict__, "target": data.target.where(~later, 1 - data.target)}
    )
    recipe = Recipe(tree_shape="depth-3")
    before = evaluate_recipe(recipe, data, folds, {}, seed=1).oof
    after = evaluate_recipe(recipe, flipped, folds, {}, seed=1).oof
    first = before["fold"] == folds[0].name
    np.testing.assert_array_equal(before.loc[first, "model"], after.loc[first, "model"])
    assert not np.allclose(before.loc[~first, "model"], after.loc[~first, "model"])


def test_the_backtest_reports_every_fold_and_the_mean_with_an_interval():
    data = history()
    scheme, folds = backtest_folds(data.decided, data.target, enough)
    backtest = run_backtest(data, scheme, folds, {}, 1, 0.3, pinned={"tree_shape": "depth-2"})
    summary, per_fold = backtest.summary, backtest.per_fold
    assert list(summary.index) == ["model", "rules", "logistic", "single_column"]
    for scorer in summary.index:
        for metric in ("roc_auc", "pr_auc", "brier", "lift_top_decile", "ltv_share_tiers_ab"):
            point = per_fold.loc[scorer, metric].mean()
            assert summary.loc[scorer, metric] == pytest.approx(point)
            assert (
                summary.loc[scorer, f"{metric}_low"]
                <= point
                <= summary.loc[scorer, f"{metric}_high"]
            )
    assert summary.loc["model", "accounts"] == len(backtest.scores)
    assert summary.loc["model", "roc_auc"] > summary.loc["single_column", "roc_auc"]
    assert backtest.single_column == "industry"
    # the search kept the pinned shape and tried the population, the only other open part
    assert len(backtest.search) == 2 and backtest.chosen.recipe.tree_shape == "depth-2"
    assert backtest.chosen.tree_count >= 1


def test_the_best_single_column_finds_the_one_attribute_that_ranks():
    data = history()
    y = data.target
    model = BestSingleColumn().fit(data.X, y)
    assert model.column_ == "industry"
    p = model.predict_proba(data.X)
    software = (data.X["industry"] == "Software").to_numpy()
    assert p[software].min() > p[~software].max()
    numbers = data.X.assign(industry=pd.Categorical(["Retail"] * len(y), categories=LEVELS))
    assert BestSingleColumn().fit(numbers, y).column_ == "employees"
