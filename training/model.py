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

from icpfit.serving.treeshap import TreeShap

MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 100


def default_params(n_rows: int, seed: int) -> dict[str, Any]:
    """Settings that behave from 1k to 1M training rows; leaves grow with the data, not past it."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": 8,
        "min_data_in_leaf": max(20, n_rows // 2000),
        "min_data_per_group": 50,
        "cat_smooth": 10.0,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
    }


class BoostedFit:
    """LightGBM on native categoricals, early-stopped and Platt-calibrated on a later slice.

    `num_iterations` in params fixes the number of trees and turns early stopping off.
    """

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 42):
        self.params = params or {}
        self.seed = seed

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray
    ) -> BoostedFit:
        params = {**default_params(len(X), self.seed), **self.params}
        fixed_rounds = params.pop("num_iterations", None)
        train = lgb.Dataset(X, label=y, free_raw_data=False)
        valid = lgb.Dataset(X_val, label=y_val, reference=train)
        stopping = [lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)]
        self.booster_ = lgb.train(
            {**params, "metric": "binary_logloss"},
            train,
            num_boost_round=fixed_rounds or MAX_ROUNDS,
            valid_sets=[valid],
            callbacks=[] if fixed_rounds else stopping,
        )
        self.best_iteration_ = self.booster_.best_iteration or self.booster_.current_iteration()
        margin = self.raw_score(X_val).reshape(-1, 1)
        self.calibrator_ = LogisticRegression(C=1e6).fit(margin, y_val)
        return self

    @property
    def explainer(self) -> TreeShap:
        """Exact TreeSHAP of the early-stopped forest (built once, on first use)."""
        if getattr(self, "_explainer", None) is None:
            self._explainer = TreeShap.from_booster(self.booster_, self.best_iteration_)
        return self._explainer

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(X, raw_score=True, num_iteration=self.best_iteration_)

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
