"""Report plots as PNG bytes, drawn with matplotlib's object API (no pyplot global state)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.calibration import calibration_curve

SCORER_COLOURS = {
    "model": "#1f5fbf",
    "rules": "#d98c1a",
    "logistic": "#5a9e4b",
    "single_column": "#8c8c8c",
}
SCORER_LABELS = {
    "model": "model",
    "rules": "ICP rules",
    "logistic": "logistic regression",
    "single_column": "best single column",
}
VERSION_COLOURS = ("#8c8c8c", "#1f5fbf")
"""Model A (the older or the champion) grey, model B blue."""
LEVEL_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
OTHER_LEVELS, MISSING = "#7f7f7f", "#cccccc"
MISSING_LEVEL, OTHER_LEVEL = "(missing)", "(other levels)"


def _png(figure: Figure, outside: bool = False) -> bytes:
    """`outside`: a legend beside the axes, which the saved image is widened to hold."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight" if outside else None)
    return buffer.getvalue()


def is_categorical(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.CategoricalDtype)


def level_colours(values: pd.Series) -> dict[str, str]:
    """A colour per level of a categorical feature, by name: the most frequent levels first,
    the rarest sharing one colour; missing values grey."""
    counts = values.astype(object).dropna().astype(str).value_counts()
    named = dict(zip(counts.index[: len(LEVEL_PALETTE)], LEVEL_PALETTE, strict=False))
    if len(counts) > len(LEVEL_PALETTE):
        named[OTHER_LEVEL] = OTHER_LEVELS
    if values.isna().any():
        named[MISSING_LEVEL] = MISSING
    return named


def _level_points(values: pd.Series, colours: dict[str, str]) -> list[str]:
    names = values.astype(object).where(values.notna(), MISSING_LEVEL).astype(str)
    return [colours.get(name, OTHER_LEVELS) for name in names]


def _rank_colours(values: pd.Series) -> np.ndarray:
    """Each number's rank within its feature, 0-1, NaN kept for grey."""
    return pd.to_numeric(values, errors="coerce").rank(pct=True).to_numpy()


def shap_beeswarm(shap: pd.DataFrame, X: pd.DataFrame, features: list[str], seed: int = 0) -> bytes:
    """SHAP summary: one row per feature, each dot an account. Numbers are coloured low (blue)
    to high (red); categories by level, named in the legend (`level_colours`)."""
    rng = np.random.default_rng(seed)
    figure = Figure(figsize=(9, 0.45 * len(features) + 1.4))
    axes = figure.add_subplot()
    handles: dict[str, list[Line2D]] = {}
    for row, feature in enumerate(reversed(features)):
        jitter = row + rng.normal(0, 0.08, len(X))
        if is_categorical(X[feature]):
            colours = level_colours(X[feature])
            axes.scatter(
                shap[feature], jitter, s=4, c=_level_points(X[feature], colours), alpha=0.6
            )
            handles[feature] = [_swatch(f"{feature}: {level}", c) for level, c in colours.items()]
            continue
        colour = _rank_colours(X[feature])
        known = ~np.isnan(colour)
        axes.scatter(shap[feature][~known], jitter[~known], s=4, c=MISSING, alpha=0.5)
        axes.scatter(
            shap[feature][known],
            jitter[known],
            s=4,
            c=colour[known],
            cmap="coolwarm",
            vmin=0,
            vmax=1,
            alpha=0.6,
        )
    axes.set_yticks(range(len(features)), list(reversed(features)))
    axes.axvline(0, color="#888888", linewidth=0.8)
    axes.set_xlabel(
        "SHAP value (log-odds of an ideal customer)\n"
        "numbers: blue low → red high, grey missing; categories: one colour per level"
    )
    if handles:
        ordered = [h for feature in features for h in handles.get(feature, [])]
        axes.legend(
            handles=ordered, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False
        )
    return _png(figure, outside=bool(handles))


def _swatch(label: str, colour: str) -> Line2D:
    return Line2D([], [], marker="o", linestyle="", color=colour, markersize=5, label=label)


def dependence(shap: pd.DataFrame, X: pd.DataFrame, feature: str) -> bytes:
    figure = Figure(figsize=(5, 3.4))
    axes = figure.add_subplot()
    values = X[feature]
    if is_categorical(values):
        means = shap[feature].groupby(values.astype(object).fillna(MISSING_LEVEL)).mean()
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


def _sizes(scores: pd.DataFrame) -> str:
    return f"{len(scores):,} accounts, {int(scores['target'].sum()):,} ideal"


def calibration(
    scores: pd.DataFrame, scorers: dict[str, tuple[str, str]] | None = None, bins: int = 8
) -> bytes:
    """Observed ideal rate against predicted probability in quantile bins, per scorer column
    (`scorers`: column -> (label, colour); default the backtest's model)."""
    scorers = scorers or {"model": ("model", SCORER_COLOURS["model"])}
    figure = Figure(figsize=(4.6, 4))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8)
    top = 0.0
    for column, (label, colour) in scorers.items():
        observed, predicted = calibration_curve(
            scores["target"], scores[column], n_bins=bins, strategy="quantile"
        )
        axes.plot(predicted, observed, marker="o", color=colour, label=label)
        top = max(top, float(predicted.max()), float(observed.max()))
    axes.set_xlim(0, top * 1.1 or 1)
    axes.set_ylim(0, top * 1.1 or 1)
    axes.set_xlabel("predicted fit probability")
    axes.set_ylabel("observed ideal rate")
    axes.set_title(f"Calibration ({_sizes(scores)})", fontsize=10)
    if len(scorers) > 1:
        axes.legend(loc="upper left", fontsize=8)
    return _png(figure)


def gains(scores: pd.DataFrame, scorers: dict[str, tuple[str, str]] | None = None) -> bytes:
    """Cumulative share of ideal customers found by each scorer column, accounts taken best
    first (`scorers`: column -> (label, colour); default the backtest's scorers)."""
    scorers = scorers or {name: (SCORER_LABELS[name], c) for name, c in SCORER_COLOURS.items()}
    figure = Figure(figsize=(4.6, 4))
    axes = figure.add_subplot()
    share = np.arange(1, len(scores) + 1) / max(len(scores), 1)
    target = scores["target"].to_numpy(dtype=float)
    for column, (label, colour) in scorers.items():
        if column not in scores:
            continue
        order = np.argsort(-scores[column].to_numpy(dtype=float), kind="stable")
        axes.plot(share, np.cumsum(target[order]) / max(target.sum(), 1), label=label, color=colour)
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8, label="random")
    axes.set_xlabel("share of accounts, best scored first")
    axes.set_ylabel("share of ideal customers found")
    axes.set_title(f"Gain (lift) chart ({_sizes(scores)})", fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    return _png(figure)


def importance_shift(features: pd.DataFrame, labels: tuple[str, str], top: int = 12) -> bytes:
    """Mean |SHAP| per feature under A and B, for the `top` features that changed most
    (`features`: feature, importance_a, importance_b, largest change first)."""
    shown = features.head(top).iloc[::-1]
    rows = np.arange(len(shown))
    figure = Figure(figsize=(7, 0.32 * len(shown) + 1.3))
    axes = figure.add_subplot()
    for offset, column, label, colour in (
        (0.2, "importance_a", labels[0], VERSION_COLOURS[0]),
        (-0.2, "importance_b", labels[1], VERSION_COLOURS[1]),
    ):
        axes.barh(rows + offset, shown[column].to_numpy(float), 0.4, label=label, color=colour)
    axes.set_yticks(rows, shown["feature"].astype(str).tolist())
    axes.set_xlabel("mean |SHAP| over each version's training accounts")
    axes.legend(loc="lower right", fontsize=8)
    return _png(figure)
