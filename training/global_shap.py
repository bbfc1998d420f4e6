"""Global explanations: mean |SHAP| per feature and per group, from exact TreeSHAP (the numbers
of LightGBM's pred_contrib, from icpfit's faster engine)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icpfit.features.frame import FeatureSpec
from icpfit.serving.treeshap import booster_matrix
from icpfit.training.model import BoostedFit


def contributions(model: BoostedFit, X: pd.DataFrame) -> pd.DataFrame:
    """Per-row SHAP values on the raw (log-odds) scale; the last column is the expected value."""
    values = model.explainer.contributions(booster_matrix(model.features(X), model.booster_))
    return pd.DataFrame(values, index=X.index, columns=[*X.columns, "expected_value"])


def global_importance(
    model: BoostedFit, X: pd.DataFrame, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame:
    """Mean |SHAP| per feature with its group, largest first."""
    shap = contributions(model, X).drop(columns="expected_value")
    group = {s.name: s.group for s in specs}
    table = pd.DataFrame({"feature": shap.columns, "mean_abs_shap": np.abs(shap).mean().to_numpy()})
    table = table.assign(group=table["feature"].map(group))
    return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def group_importance(importance: pd.DataFrame) -> pd.Series:
    return importance.groupby("group")["mean_abs_shap"].sum().sort_values(ascending=False)
