"""Rolling-origin backtest: how a recipe would have done, quarter after quarter (DESIGN §5).

Each fold trains on the accounts decided before a cutoff and is judged on the accounts decided
in the quarter after it; the folds are the last quarters before the label horizon. A fold's
model early-stops on the newest 15% of its own training accounts and is Platt-calibrated there,
so nothing of the quarter it is judged on reaches it. The backtest then

- chooses the recipe (tree shape, training population, disqualified accounts, a headcount
  estimate) by the mean ROC-AUC over folds, one choice at a time;
- gives the registered model its tree count (the folds' median) and its calibration (a Platt fit
  on the folds' out-of-fold margins);
- scores the baselines (ICP rules, logistic regression, the best single column) on the same
  folds, and reports each fold and the mean with a 95% bootstrap interval.

An export too small for quarterly folds is judged on its last two half-years instead: still
later accounts than training, but wide intervals, and the report says so. Below that, where
time-ordered folds would hold a handful of ideal customers each, the backtest
falls back to repeated stratified cross-validation (5 folds, 3 repeats): figures for a tiny
export, wide, and blind to drift; the report says that too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from icpfit.features.frame import FeatureSpec
from icpfit.training.icp_filter import IcpFilter
from icpfit.training.metrics import (
    DRAWN_METRICS,
    classification_metrics,
    drawn_metrics,
    ltv_captured,
    percentile_interval,
    rank_auc,
    resamples,
)
from icpfit.training.model import TREE_SHAPES, BoostedFit, LogisticBaseline

INNER_VALIDATION = 0.15
BOOTSTRAP_ROUNDS = 1000
SCORERS = ("model", "rules", "logistic", "single_column")
REPEATS, CV_FOLDS = 3, 5
Scheme = Literal["quarters", "half-years", "repeated"]


@dataclass(frozen=True)
class Recipe:
    """How the registered model is trained; the backtest picks each part."""

    tree_shape: str = "default"
    population: Literal["customers_and_lost", "customers"] = "customers_and_lost"
    disqualified: Literal["excluded", "kept"] = "excluded"
    headcount: Literal["as_given", "estimated"] = "as_given"

    def describe(self) -> str:
        shape = TREE_SHAPES[self.tree_shape]
        return (
            f"trees {self.tree_shape} ({shape['num_leaves']} leaves, depth {shape['max_depth']}); "
            f"trained on {self.population.replace('_', ' ')}; disqualified accounts "
            f"{self.disqualified} from training; headcount {self.headcount.replace('_', ' ')}"
        )


@dataclass(frozen=True)
class BacktestData:
    """What the backtest needs, indexed by account_id."""

    X: pd.DataFrame
    """Features of every labelled account (the model's input)."""
    target: pd.Series
    """1 ideal, 0 not, for every labelled account up to the label horizon."""
    decided: pd.Series
    ltv: pd.Series
    lost: pd.Series
    """True for a lost deal (never a customer)."""
    disqualified: pd.Series
    """True for an account a disqualifier excludes from training."""
    specs: tuple[FeatureSpec, ...]
    estimate: dict | None = None
    """The label-free headcount estimate, when the export has blanks to fill."""

    @property
    def evaluation(self) -> pd.Index:
        """The accounts every recipe is judged on: labelled and not disqualified."""
        return self.target.index[~self.disqualified.to_numpy(dtype=bool)]

    def training_rows(self, recipe: Recipe, before: pd.Timestamp | None = None) -> pd.Index:
        keep = pd.Series(True, index=self.target.index)
        if recipe.population == "customers":
            keep &= ~self.lost
        if recipe.disqualified == "excluded":
            keep &= ~self.disqualified
        if before is not None:
            keep &= self.decided < before
        return keep.index[keep.to_numpy(dtype=bool)]


@dataclass(frozen=True)
class Fold:
    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    """The test window [start, end) of decided dates; training is everything decided before."""
    members: tuple[str, ...] | None = None
    """Repeated cross-validation: the fold's test accounts (training is every other account)."""

    def split(self, decided: pd.Series) -> tuple[pd.Index, pd.Index]:
        """(training, test) accounts of `decided`'s index for this fold."""
        if self.members is not None:
            test = decided.index.intersection(pd.Index(self.members))
            return decided.index.difference(test, sort=False), test
        inside = (decided >= self.start) & (decided < self.end)
        return decided.index[decided < self.start], decided.index[inside]


@dataclass
class RecipeResult:
    recipe: Recipe
    models: list[BoostedFit]
    oof: pd.DataFrame
    """Per test account: fold, margin (raw score), model (calibrated in its fold), target, ltv."""

    @cached_property
    def fold_auc(self) -> pd.Series:
        return self.oof.groupby("fold", sort=False).apply(
            lambda part: _auc(part["target"], part["model"])
        )

    @property
    def mean_auc(self) -> float:
        return float(self.fold_auc.mean())

    @property
    def tree_count(self) -> int:
        """The folds' median early-stopped tree count, for the model refit on all rows."""
        return max(int(np.median([m.best_iteration_ for m in self.models])), 1)

    def calibrator(self) -> LogisticRegression:
        """Platt scaling fit on every fold's out-of-fold margins (time-ordered)."""
        margin = self.oof["margin"].to_numpy().reshape(-1, 1)
        return LogisticRegression(C=1e6).fit(margin, self.oof["target"].to_numpy(dtype=int))


@dataclass(frozen=True)
class Backtest:
    scheme: Scheme
    folds: tuple[Fold, ...]
    chosen: RecipeResult
    search: pd.DataFrame
    """One row per recipe tried: its description, mean ROC-AUC over folds, and each fold's."""
    fold_scores: pd.DataFrame
    """Per fold and test account: fold, each scorer's score, target, ltv, decided date (an
    account appears once per repeat under repeated cross-validation)."""
    per_fold: pd.DataFrame
    """Index (scorer, fold): each metric, accounts, ideal."""
    summary: pd.DataFrame
    """Index scorer: the mean over folds of each metric, its 95% interval, accounts, ideal."""
    single_column: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def scores(self) -> pd.DataFrame:
        """One row per judged account: its out-of-fold scores (averaged over repeats)."""
        frame = self.fold_scores
        if frame.index.is_unique:
            return frame
        scorers = [c for c in SCORERS if c in frame]
        first = frame.groupby(level=0, sort=False).first()
        means = frame[scorers].groupby(level=0, sort=False).mean()
        return first.assign(**{c: means[c] for c in scorers}, fold="repeated")

    @property
    def best_baseline(self) -> str:
        baselines = self.summary.drop(index="model", errors="ignore")["roc_auc"].dropna()
        return str(baselines.idxmax()) if len(baselines) else ""


def backtest_folds(
    decided: pd.Series,
    target: pd.Series,
    enough: Callable[[pd.Series, pd.Series], bool],
    quarters: int = 4,
    seed: int = 42,
) -> tuple[Scheme, tuple[Fold, ...]]:
    """The last `quarters` quarters before the label horizon, when every fold passes `enough`
    (its training and test targets); else the last two half-years; else repeated stratified
    cross-validation (whose folds may still fail `enough`: then the export cannot train)."""
    if decided.empty:
        return "repeated", ()
    for scheme, count, months in (("quarters", quarters, 3), ("half-years", 2, 6)):
        folds = _windows(decided, count, months)
        if all(enough(*_fold_targets(decided, target, f)) for f in folds):
            return scheme, folds
    return "repeated", _repeated(decided, target, seed)


def _windows(decided: pd.Series, count: int, months: int) -> tuple[Fold, ...]:
    """`count` consecutive windows of `months` months ending at the label horizon."""
    horizon = decided.max().normalize() + pd.Timedelta(days=1)
    starts = [horizon - pd.DateOffset(months=months * k) for k in range(count, -1, -1)]
    return tuple(
        Fold(f"{start.date()} to {(end - pd.Timedelta(days=1)).date()}", start, end)
        for start, end in zip(starts, starts[1:], strict=False)
    )


def _repeated(decided: pd.Series, target: pd.Series, seed: int) -> tuple[Fold, ...]:
    if len(decided) < CV_FOLDS:
        return ()
    start, end = decided.min(), decided.max() + pd.Timedelta(days=1)
    y = target.loc[decided.index].to_numpy(dtype=int)
    stratified = min(y.sum(), len(y) - y.sum()) >= CV_FOLDS
    folds = []
    for repeat in range(REPEATS):
        kind = StratifiedKFold if stratified else KFold
        cv = kind(CV_FOLDS, shuffle=True, random_state=seed + repeat)
        for k, (_, test) in enumerate(cv.split(np.zeros(len(y)), y)):
            members = tuple(str(i) for i in decided.index[test])
            folds.append(Fold(f"repeat {repeat + 1} fold {k + 1}", start, end, members))
    return tuple(folds)


def _fold_targets(decided: pd.Series, target: pd.Series, fold: Fold) -> tuple[pd.Series, pd.Series]:
    train, test = fold.split(decided)
    return target.loc[train], target.loc[test]


def evaluate_recipe(
    recipe: Recipe, data: BacktestData, folds: tuple[Fold, ...], params: dict, seed: int
) -> RecipeResult:
    """Each fold's model for `recipe`, and its out-of-fold scores on the fold's test accounts."""
    models, parts = [], []
    evaluation = data.decided.loc[data.evaluation]
    for fold in folds:
        rows = fold_training_rows(recipe, data, fold)
        _, test = fold.split(evaluation)
        model = fold_model(recipe, data, rows, params, seed)
        X = data.X.loc[test]
        margin = model.raw_score(X)
        probability = model.calibrator_.predict_proba(margin.reshape(-1, 1))[:, 1]
        models.append(model)
        parts.append(
            pd.DataFrame(
                {
                    "fold": fold.name,
                    "margin": margin,
                    "model": probability,
                    "target": data.target.loc[test].to_numpy(dtype=int),
                    "ltv": data.ltv.loc[test].to_numpy(dtype=float),
                    "decided": data.decided.loc[test].to_numpy(),
                },
                index=test,
            )
        )
    return RecipeResult(recipe, models, pd.concat(parts))


def fold_training_rows(recipe: Recipe, data: BacktestData, fold: Fold) -> pd.Index:
    """The recipe's training accounts that the fold's model may learn from."""
    rows = data.training_rows(recipe)
    train, _ = fold.split(data.decided.loc[rows])
    return train


def fold_model(
    recipe: Recipe, data: BacktestData, rows: pd.Index, params: dict, seed: int
) -> BoostedFit:
    """A model on `rows`, early-stopped and calibrated on their newest 15%."""
    decided = data.decided.loc[rows].sort_values(kind="stable")
    cut = decided.iloc[min(int(len(decided) * (1 - INNER_VALIDATION)), len(decided) - 1)]
    inner, validation = decided.index[decided < cut], decided.index[decided >= cut]
    if data.target.loc[validation].nunique() < 2 or data.target.loc[inner].nunique() < 2:
        inner, validation = decided.index, decided.index
    return recipe_model(recipe, data, params, seed).fit(
        data.X.loc[inner],
        data.target.loc[inner].to_numpy(dtype=int),
        data.X.loc[validation],
        data.target.loc[validation].to_numpy(dtype=int),
    )


def recipe_model(recipe: Recipe, data: BacktestData, params: dict, seed: int) -> BoostedFit:
    """An unfitted model with the recipe's tree shape and estimates (`params` override)."""
    estimates = (data.estimate,) if recipe.headcount == "estimated" and data.estimate else ()
    return BoostedFit({**TREE_SHAPES[recipe.tree_shape], **params}, seed, estimates)


def recipe_options(data: BacktestData, pinned: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Each recipe part with the values worth trying on this export (a pinned part: its value)."""
    options = [
        ("tree_shape", list(TREE_SHAPES)),
        ("population", ["customers_and_lost", "customers"] if data.lost.any() else []),
        ("disqualified", ["excluded", "kept"] if data.disqualified.any() else []),
        ("headcount", ["as_given", "estimated"] if data.estimate else []),
    ]
    return [
        (part, [pinned[part]] if part in pinned else values) for part, values in options if values
    ]


def search_recipe(
    data: BacktestData,
    folds: tuple[Fold, ...],
    params: dict,
    seed: int,
    pinned: dict[str, str] | None = None,
    step: Callable[[str], object] = lambda message: None,
) -> tuple[RecipeResult, pd.DataFrame]:
    """Greedy: each part in turn takes the value with the best mean fold ROC-AUC, the earlier
    parts fixed at their winners; an alternative must beat the current choice to replace it."""
    pinned = pinned or {}
    if "tree_shape" not in pinned and any(k in params for k in ("num_leaves", "max_depth")):
        pinned = {**pinned, "tree_shape": "default"}
    best = evaluate_recipe(Recipe(**pinned), data, folds, params, seed)
    tried = [best]
    for part, values in recipe_options(data, pinned):
        for value in values:
            candidate = replace(best.recipe, **{part: value})
            if candidate == best.recipe:
                continue
            step(f"Backtesting {part} = {value}…")
            result = evaluate_recipe(candidate, data, folds, params, seed)
            tried.append(result)
            if result.mean_auc > best.mean_auc:
                best = result
    search = pd.DataFrame(
        [
            {
                "recipe": r.recipe.describe(),
                "mean_roc_auc": r.mean_auc,
                **{f"roc_auc {fold}": auc for fold, auc in r.fold_auc.items()},
                "chosen": r is best,
            }
            for r in tried
        ]
    )
    return best, search


def baseline_scores(
    chosen: RecipeResult, data: BacktestData, folds: tuple[Fold, ...], seed: int
) -> tuple[pd.DataFrame, str]:
    """The chosen recipe's out-of-fold scores beside the baselines', fold by fold, and the
    column the newest fold's best-single-column baseline ranks by."""
    parts, column = [], ""
    for fold, model in zip(folds, chosen.models, strict=True):
        part = chosen.oof[chosen.oof["fold"] == fold.name].drop(columns="margin")
        train = fold_training_rows(chosen.recipe, data, fold)
        X, y = model.features(data.X.loc[train]), data.target.loc[train].astype(int)
        X_test = model.features(data.X.loc[part.index])
        rules = IcpFilter(data.specs, seed=seed).fit(X, model.predict_proba(X), y)
        single = BestSingleColumn().fit(X, y)
        column = single.column_
        parts.append(
            part.assign(
                rules=rules.predict(X_test),
                logistic=LogisticBaseline(seed).fit(X, y).predict_proba(X_test),
                single_column=single.predict_proba(X_test),
            )
        )
    return pd.concat(parts), column


def fold_metrics(scores: pd.DataFrame, top_share: float) -> pd.DataFrame:
    """Index (scorer, fold): the point metrics of each scorer in each fold."""
    rows = []
    for fold, part in scores.groupby("fold", sort=False):
        y, ltv = part["target"].to_numpy(dtype=int), part["ltv"].to_numpy(dtype=float)
        for scorer in SCORERS:
            s = part[scorer].to_numpy(dtype=float)
            rows.append(
                {
                    "scorer": scorer,
                    "fold": fold,
                    **classification_metrics(y, s),
                    "ltv_share_tiers_ab": ltv_captured(ltv, s, top_share),
                    "accounts": len(y),
                    "ideal": int(y.sum()),
                }
            )
    return pd.DataFrame(rows).set_index(["scorer", "fold"])


def mean_with_intervals(
    scores: pd.DataFrame, top_share: float, seed: int, rounds: int = BOOTSTRAP_ROUNDS
) -> pd.DataFrame:
    """Index scorer: the mean over folds of each metric, with a 95% bootstrap interval (each
    fold's accounts resampled within the fold, the same resamples for every scorer)."""
    per_fold = fold_metrics(scores, top_share)
    draws = {
        fold: resamples(len(part), rounds, seed + k)
        for k, (fold, part) in enumerate(scores.groupby("fold", sort=False))
    }
    rows = []
    for scorer in SCORERS:
        drawn = {m: [] for m in DRAWN_METRICS}
        for fold, part in scores.groupby("fold", sort=False):
            values = drawn_metrics(
                part["target"].to_numpy(),
                part[scorer].to_numpy(dtype=float),
                draws[fold],
                part["ltv"].to_numpy(dtype=float),
                top_share,
            )
            for metric in DRAWN_METRICS:
                drawn[metric].append(values[metric])
        point = per_fold.loc[scorer]
        row = {"scorer": scorer}
        for metric in DRAWN_METRICS:
            row[metric] = float(point[metric].mean())
            stacked = np.vstack(drawn[metric])
            mean = np.nanmean(stacked, axis=0) if not np.isnan(stacked).all() else stacked[0]
            row[f"{metric}_low"], row[f"{metric}_high"] = percentile_interval(mean)
        row["accounts"], row["ideal"] = int(point["accounts"].sum()), int(point["ideal"].sum())
        row["folds"] = len(point)
        rows.append(row)
    return pd.DataFrame(rows).set_index("scorer")


def run_backtest(
    data: BacktestData,
    scheme: Scheme,
    folds: tuple[Fold, ...],
    params: dict,
    seed: int,
    top_share: float,
    pinned: dict[str, str] | None = None,
    step: Callable[[str], object] = lambda message: None,
) -> Backtest:
    chosen, search = search_recipe(data, folds, params, seed, pinned, step)
    step("Scoring the baselines on the same folds…")
    scores, single_column = baseline_scores(chosen, data, folds, seed)
    notes = []
    if scheme == "half-years":
        notes.append(
            "Too few labelled accounts for quarterly folds: judged on the last two half-years "
            "instead. The figures are wide: read the intervals, not the point values."
        )
    if scheme == "repeated":
        notes.append(
            f"Too few labelled accounts for time-ordered folds: judged by repeated stratified "
            f"cross-validation ({REPEATS} repeats of {len(folds) // REPEATS} folds), which mixes "
            "old and new accounts and so cannot see drift. The figures are wide and lean "
            "optimistic: read the intervals, not the point values."
        )
    if len(search) > 1:
        notes.append(
            "The recipe was chosen on these folds, so the chosen recipe's figures lean slightly "
            "optimistic; the baselines' do not."
        )
    return Backtest(
        scheme,
        folds,
        chosen,
        search,
        scores,
        fold_metrics(scores, top_share),
        mean_with_intervals(scores, top_share, seed),
        single_column,
        tuple(notes),
    )


class BestSingleColumn:
    """The one attribute that alone ranks the training accounts best: the honest floor.

    Numbers rank by value (either direction, blanks at the median); categories and flags by
    their smoothed ideal rate on the training accounts (a blank is its own level). A Platt fit
    on the training accounts turns the ranking into a probability.
    """

    PRIOR = 20.0

    def fit(self, X: pd.DataFrame, y: pd.Series) -> BestSingleColumn:
        y = pd.Series(np.asarray(y, dtype=float), index=X.index)
        best = (-1.0, "", None)
        for column in X.columns:
            encode = self._encoder(X[column], y)
            auc = _auc(y, encode(X[column]))
            if auc == auc and abs(auc - 0.5) > best[0]:
                best = (abs(auc - 0.5), column, encode)
        _, self.column_, encode = best
        sign = 1.0 if _auc(y, encode(X[self.column_])) >= 0.5 else -1.0
        self.encode_ = lambda values: sign * encode(values)
        score = self.encode_(X[self.column_]).reshape(-1, 1)
        self.calibrator_ = LogisticRegression(C=1e6).fit(score, y.to_numpy(dtype=int))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        score = self.encode_(X[self.column_]).reshape(-1, 1)
        return self.calibrator_.predict_proba(score)[:, 1]

    def _encoder(self, values: pd.Series, y: pd.Series) -> Callable[[pd.Series], np.ndarray]:
        if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == bool:
            keys = values.astype(object).where(values.notna(), "(blank)")
            stats = y.groupby(keys.to_numpy()).agg(["sum", "count"])
            prior = float(y.mean())
            rate = (stats["sum"] + self.PRIOR * prior) / (stats["count"] + self.PRIOR)
            table = rate.to_dict()

            def encode(v: pd.Series) -> np.ndarray:
                k = v.astype(object).where(v.notna(), "(blank)")
                return k.map(table).fillna(prior).to_numpy(dtype=float)

            return encode
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        fill = float(numbers.median()) if numbers.notna().any() else 0.0

        def encode_number(v: pd.Series) -> np.ndarray:
            return pd.to_numeric(v, errors="coerce").astype(float).fillna(fill).to_numpy()

        return encode_number


_auc = rank_auc
"""The backtest's one AUC: `training.metrics.rank_auc`."""
