"""The fit model and the logistic baseline, both scikit-learn style: fit returns self."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from icpfit.serving.estimates import apply_estimates
from icpfit.serving.treeshap import TreeShap

MAX_ROUNDS = 2000
SINGLE_THREAD_ROWS = 50_000
"""Below this many rows one thread fits faster than several: a boosting round on a few
thousand rows is shorter than an OpenMP barrier, and a busy core (another process, or the
TreeSHAP engine's idle workers) turns each barrier into a wait."""
EARLY_STOPPING_ROUNDS = 100


def max_rounds(n_rows: int) -> int:
    """The cap on early-stopped trees: MAX_ROUNDS, fewer on a tiny export, where trees that can
    barely split keep shaving the validation loss by nothing for thousands of rounds."""
    return int(min(MAX_ROUNDS, max(200, 2 * n_rows)))


TREE_SHAPES = {
    "default": {"num_leaves": 31, "max_depth": 8},
    "depth-3": {"num_leaves": 8, "max_depth": 3},
    "depth-2": {"num_leaves": 4, "max_depth": 2},
}
"""Tree shapes the backtest chooses between (DESIGN §5): deep trees fit interactions, shallow
ones generalise better on a small or drifting export."""


def default_params(n_rows: int, seed: int) -> dict[str, Any]:
    """Settings that behave from 100 to 1M training rows; leaves grow with the data, not past
    it, and a tiny export (a backtest fold of a few dozen accounts) can still split."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": 8,
        "min_data_in_leaf": max(min(20, n_rows // 10), n_rows // 2000, 3),
        "min_data_per_group": max(min(50, n_rows // 10), 3),
        "cat_smooth": 10.0,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1 if n_rows < SINGLE_THREAD_ROWS else 0,
    }


class BoostedFit:
    """LightGBM on native categoricals with a Platt calibration of its margin.

    Two ways to fit: `fit` early-stops on a later slice and calibrates on it (a backtest fold's
    model); `refit` grows a fixed number of trees on every row and takes its calibration from
    elsewhere (the registered model: tree count and calibration from the backtest's folds).
    `estimates` (serving.estimates) fill blank inputs, such as headcount, before the trees see
    them; `features` applies them.
    """

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 42, estimates: tuple = ()):
        self.params = params or {}
        self.seed = seed
        self.estimates = tuple(e for e in estimates if e)

    def _params(self, n_rows: int) -> dict[str, Any]:
        return {**default_params(n_rows, self.seed), **self.params, "metric": "binary_logloss"}

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray
    ) -> BoostedFit:
        X, X_val = self.features(X), self.features(X_val)
        params = self._params(len(X))
        fixed_rounds = params.pop("num_iterations", None)
        train = lgb.Dataset(X, label=y, free_raw_data=False)
        valid = lgb.Dataset(X_val, label=y_val, reference=train)
        stopping = [lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)]
        self.booster_ = lgb.train(
            params,
            train,
            num_boost_round=fixed_rounds or max_rounds(len(X)),
            valid_sets=[valid],
            callbacks=[] if fixed_rounds else stopping,
        )
        self.best_iteration_ = self.booster_.best_iteration or self.booster_.current_iteration()
        margin = self.raw_score(X_val).reshape(-1, 1)
        self.calibrator_ = LogisticRegression(C=1e6).fit(margin, y_val)
        return self

    def refit(
        self, X: pd.DataFrame, y: np.ndarray, rounds: int, calibrator: LogisticRegression
    ) -> BoostedFit:
        """`rounds` trees on all of X, then `calibrator` (fit on out-of-fold margins)."""
        X = self.features(X)
        params = self._params(len(X))
        params.pop("num_iterations", None)
        self.booster_ = lgb.train(
            params, lgb.Dataset(X, label=y, free_raw_data=False), num_boost_round=rounds
        )
        self.best_iteration_ = self.booster_.current_iteration()
        self.calibrator_ = calibrator
        return self

    def features(self, X: pd.DataFrame) -> pd.DataFrame:
        """X as the trees see it: blanks the estimates cover filled in."""
        if not self.estimates:
            return X
        return apply_estimates(X, list(self.estimates))[0]

    @property
    def explainer(self) -> TreeShap:
        """Exact TreeSHAP of the forest (built once, on first use)."""
        if getattr(self, "_explainer", None) is None:
            self._explainer = TreeShap.from_booster(self.booster_, self.best_iteration_)
        return self._explainer

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(
            self.features(X), raw_score=True, num_iteration=self.best_iteration_
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrator_.predict_proba(self.raw_score(X).reshape(-1, 1))[:, 1]


class LogisticBaseline:
    """Logistic regression on one-hot categoricals and scaled, imputed numerics."""

    def __init__(self, seed: int = 42):
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LogisticBaseline:
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        numeric = [c for c in X.columns if c not in categorical]
        encode = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)"),
            OneHotEncoder(handle_unknown="ignore", min_frequency=10),
        )
        scale = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
        )
        self.categorical_, self.pipeline_ = (
            categorical,
            make_pipeline(
                ColumnTransformer(
                    [("categorical", encode, categorical), ("numeric", scale, numeric)]
                ),
                LogisticRegression(max_iter=2000, C=0.5, random_state=self.seed),
            ),
        )
        self.pipeline_.fit(self._as_objects(X), y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(self._as_objects(X))[:, 1]

    def _as_objects(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.astype({c: object for c in self.categorical_})
