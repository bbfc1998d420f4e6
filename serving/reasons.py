"""Reasons a sales rep reads in ten seconds: exact TreeSHAP contributions, in words.

Each feature is one business attribute (a categorical is one column, so one attribute). The top
positive contributions become `reason_*`, the most negative `risk_*`. A missing value is never
a reason for a good fit; it can be a risk ("Funding stage unknown").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icpfit.features.frame import TECH_STACK_ATTRIBUTE, FeatureSpec


def _label(spec: FeatureSpec) -> str:
    if spec.name == "tech_count":
        return "Technologies detected"
    if spec.name.startswith("techcat_"):
        return f"{spec.source} tools"
    if spec.name.startswith("signals_"):
        return f"{spec.source.replace('_', ' ').capitalize()} signals (last 12 months)"
    return spec.name.replace("_", " ").capitalize()


def _number(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size * 10:
            return f"{value / size:,.0f}{suffix}"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2g}"


def attribute_text(
    spec: FeatureSpec, value: object, profile: dict | None, against: bool = False
) -> str:
    """'Uses Snowflake', 'Employees 240 — in the range of best customers (120–900)', ...

    Against the fit, a value inside the best customers' range gets no range note: it would read
    as a contradiction to a sales rep.
    """
    label = _label(spec)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        if spec.kind == "flag" or spec.source == TECH_STACK_ATTRIBUTE:
            return "Tech stack unknown"
        return f"{label} unknown"
    if spec.kind == "flag":
        return f"Uses {spec.source}" if value >= 0.5 else f"Does not use {spec.source}"
    if spec.kind == "categorical":
        text = f"{label}: {value}"
        if profile and str(value) in profile.get("good", ()):
            return f"{text} — common among best customers"
        if profile and str(value) in profile.get("rare", ()):
            return f"{text} — rarely a good fit"
        return text if value in spec.levels else f"{text} (not seen in training: unknown)"
    show = (lambda v: f"{v:.0f}") if "year" in spec.name else _number
    text = f"{label} {show(float(value))}"
    if not profile:
        return text
    low, high = profile["low"], profile["high"]
    place = "in" if low <= value <= high else ("below" if value < low else "above")
    if against and place == "in":
        return text
    return f"{text} — {place} the range of best customers ({show(low)}–{show(high)})"


def reason_columns(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    specs: tuple[FeatureSpec, ...],
    profiles: dict[str, dict],
    count: int,
) -> pd.DataFrame:
    """reason_1..count (for) and risk_1..count (against), one row per row of `frame`.

    The text of an attribute depends only on its value, so each column is written once per
    distinct (attribute, value) it holds, not once per row.
    """
    rows = np.arange(len(frame))
    missing = frame.isna().to_numpy()
    for_fit = np.where(missing | (contributions <= 0), -np.inf, contributions)
    against = np.where(contributions >= 0, np.inf, contributions)
    order_for = _top(-for_fit, count)
    order_against = _top(against, count)
    columns: dict[str, np.ndarray] = {}
    for prefix, order, scores in (("reason", order_for, for_fit), ("risk", order_against, against)):
        for k in range(count):
            texts = np.full(len(frame), None, dtype=object)
            if order.shape[1] > k:
                picked = order[:, k]
                usable = np.isfinite(scores[rows, picked])
                for j in np.unique(picked[usable]):
                    where = rows[usable & (picked == j)]
                    texts[where] = _texts(
                        specs[j], frame.iloc[where, j], profiles.get(specs[j].name), prefix
                    )
            columns[f"{prefix}_{k + 1}"] = texts
    return pd.DataFrame(columns, index=frame.index)


def _top(keys: np.ndarray, count: int) -> np.ndarray:
    """Column indices of the `count` smallest keys per row, smallest first (ties by column)."""
    if keys.shape[1] > count:
        part = np.argpartition(keys, count - 1, axis=1)[:, :count]
        keys_part = np.take_along_axis(keys, part, axis=1)
        tie_break = np.lexsort((part, keys_part), axis=1)
        return np.take_along_axis(part, tie_break, axis=1)
    return np.argsort(keys, axis=1, kind="stable")


def _texts(spec: FeatureSpec, values: pd.Series, profile: dict | None, prefix: str) -> np.ndarray:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    words = np.array(
        [
            attribute_text(spec, plain_value(v), profile, against=prefix == "risk")
            for v in [*uniques, None]
        ],
        dtype=object,
    )
    return words[codes]


def plain_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return float(value)
    return value
