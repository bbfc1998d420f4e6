"""Report plots as PNG bytes, drawn with matplotlib's object API (no pyplot global state)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve

SCORER_COLOURS = {
    "model": "#1f5fbf",
    "rules": "#d98c1a",
    "logistic": "#5a9e4b",
    "single_column": "#8c8c8c",
}


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _colour_values(values: pd.Series) -> np.ndarray:
    """Each value's rank within its feature, 0-1 (categories by code), NaN kept for grey."""
    numeric = (
        values.cat.codes.where(values.notna())
        if isinstance(values.dtype, pd.CategoricalDtype)
        else pd.to_numeric(values, errors="coerce")
    )
    return numeric.rank(pct=True).to_numpy()


def shap_beeswarm(shap: pd.DataFrame, X: pd.DataFrame, features: list[str], seed: int = 0) -> bytes:
    """SHAP summary: one row per feature, each dot an account, coloured low (blue) to high (red)."""
    rng = np.random.default_rng(seed)
    figure = Figure(figsize=(8, 0.45 * len(features) + 1.2))
    axes = figure.add_subplot()
    for row, feature in enumerate(reversed(features)):
        colour = _colour_values(X[feature])
        jitter = rng.normal(0, 0.08, len(X))
        known = ~np.isnan(colour)
        axes.scatter(shap[feature][~known], row + jitter[~known], s=4, c="#bbbbbb", alpha=0.5)
        axes.scatter(
            shap[feature][known],
            row + jitter[known],
            s=4,
            c=colour[known],
            cmap="coolwarm",
            vmin=0,
            vmax=1,
            alpha=0.6,
        )
    axes.set_yticks(range(len(features)), list(reversed(features)))
    axes.axvline(0, color="#888888", linewidth=0.8)
    axes.set_xlabel("SHAP value (log-odds of an ideal customer); colour: feature value low→high")
    return _png(figure)


def dependence(shap: pd.DataFrame, X: pd.DataFrame, feature: str) -> bytes:
    figure = Figure(figsize=(5, 3.4))
    axes = figure.add_subplot()
    values = X[feature]
    if isinstance(values.dtype, pd.CategoricalDtype):
        means = shap[feature].groupby(values.astype(object).fillna("(unknown)")).mean()
        means = means.sort_values()
        axes.barh([str(i) for i in means.index], means.to_numpy(), color="#1f5fbf")
        axes.set_xlabel("mean SHAP value")
    else:
        axes.scatter(
            pd.to_numeric(values, errors="coerce"), shap[feature], s=4, alpha=0.4, color="#1f5fbf"
        )
        axes.set_xlabel(feature)
        axes.set_ylabel("SHAP value")
        if values.dropna().gt(0).all() and values.max() > 100 * max(values.min(), 1e-9):
            axes.set_xscale("log")
    axes.set_title(f"Dependence: {feature}")
    return _png(figure)


def calibration(holdout: pd.DataFrame, bins: int = 8) -> bytes:
    figure = Figure(figsize=(4.6, 4))
    axes = figure.add_subplot()
    observed, predicted = calibration_curve(
        holdout["target"], holdout["model"], n_bins=bins, strategy="quantile"
    )
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8)
    axes.plot(predicted, observed, marker="o", color=SCORER_COLOURS["model"])
    top = max(float(predicted.max()), float(observed.max())) * 1.1
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.set_xlabel("predicted fit probability")
    axes.set_ylabel("observed ideal rate (backtest folds)")
    axes.set_title("Calibration")
    return _png(figure)


def gains(holdout: pd.DataFrame) -> bytes:
    """Cumulative share of ideal customers found by each scorer, accounts taken best first."""
    figure = Figure(figsize=(4.6, 4))
    axes = figure.add_subplot()
    share = np.arange(1, len(holdout) + 1) / len(holdout)
    for scorer, colour in SCORER_COLOURS.items():
        if scorer not in holdout:
            continue
        order = np.argsort(-holdout[scorer].to_numpy(), kind="stable")
        found = np.cumsum(holdout["target"].to_numpy()[order]) / max(holdout["target"].sum(), 1)
        axes.plot(share, found, label=scorer, color=colour)
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8, label="random")
    axes.set_xlabel("share of backtest accounts, best scored first")
    axes.set_ylabel("share of ideal customers found")
    axes.set_title("Gain (lift) chart")
    axes.legend(loc="lower right")
    return _png(figure)
