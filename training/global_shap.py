"""Global explanations: mean |SHAP| per feature and per group, from exact TreeSHAP (the numbers
of LightGBM's pred_contrib, from icpfit's faster engine), and the SHAP summary plot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icpfit.features.frame import FeatureSpec
from icpfit.serving.estimates import apply_estimates
from icpfit.serving.scoring import account_features, specs_from_bundle
from icpfit.serving.treeshap import booster_matrix
from icpfit.training import plots
from icpfit.training.model import BoostedFit

if TYPE_CHECKING:
    from icpfit.serving.pyfunc import IcpFitModel

SHAP_SAMPLE = 2000
TOP_FEATURES = 12


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


@dataclass(frozen=True)
class ShapSummary:
    """The SHAP summary plot of one model on some accounts, with the colour of each level of
    its categorical features, so the page can name them."""

    png: bytes
    legends: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    """(feature, ((level, colour), ...)) for each categorical feature plotted."""
    accounts: int
    """How many accounts the plot shows: an even sample of `total`."""
    total: int
    model: str
    population: str
    """Which accounts, in words ("training accounts")."""


def shap_summary(
    shap: pd.DataFrame,
    X: pd.DataFrame,
    features: list[str],
    model: str,
    population: str,
    total: int,
) -> ShapSummary:
    legends = tuple(
        (feature, tuple(plots.level_colours(X[feature]).items()))
        for feature in features
        if plots.is_categorical(X[feature])
    )
    png = plots.shap_beeswarm(shap, X, features)
    return ShapSummary(png, legends, len(X), total, model, population)


def every_nth(rows: pd.DataFrame | pd.Index, limit: int = SHAP_SAMPLE):
    """An even sample of at most about `limit` rows, in order (deterministic)."""
    return rows[:: max(1, len(rows) // limit)]


def registered_summary(
    model: IcpFitModel, rows: pd.DataFrame, label: str, population: str
) -> ShapSummary | None:
    """The SHAP summary of a registered model on raw account rows (an even sample), with the
    features and estimates its scoring uses; None without rows."""
    sample = every_nth(rows)
    if not len(sample):
        return None
    bundle = model.bundle
    renames = {export: canonical for canonical, export in bundle["accounts_columns"].items()}
    keyed = sample.rename(columns=renames).reset_index(drop=True)
    keyed = keyed.assign(account_id=[f"row{i}" for i in range(len(keyed))])
    features = account_features(keyed, bundle, specs_from_bundle(bundle))
    X, _ = apply_estimates(features.frame, bundle.get("estimates", []))
    values = model.explainer.contributions(booster_matrix(X, model.booster))
    shap = pd.DataFrame(values[:, :-1], index=X.index, columns=X.columns)
    top = shap.abs().mean().sort_values(ascending=False).index[:TOP_FEATURES].tolist()
    return shap_summary(shap, X, top, label, population, len(rows))
