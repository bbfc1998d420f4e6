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
    """reason_1..count (for) and risk_1..count (against), one row per row of `frame`."""
    values = frame.to_numpy(dtype=object)
    missing = frame.isna().to_numpy()
    for_fit = np.where(missing | (contributions <= 0), -np.inf, contributions)
    against = np.where(contributions >= 0, np.inf, contributions)
    top_for = np.argsort(-for_fit, axis=1, kind="stable")[:, :count]
    top_against = np.argsort(against, axis=1, kind="stable")[:, :count]
    columns: dict[str, list] = {}
    for prefix, order, scores, usable in (
        ("reason", top_for, for_fit, np.isfinite),
        ("risk", top_against, against, np.isfinite),
    ):
        for k in range(count):
            picked = order[:, k] if order.shape[1] > k else np.zeros(len(frame), dtype=int)
            rows = np.arange(len(frame))
            ok = usable(scores[rows, picked]) if order.shape[1] > k else np.zeros(len(frame), bool)
            columns[f"{prefix}_{k + 1}"] = [
                attribute_text(
                    specs[j],
                    plain_value(values[i, j]),
                    profiles.get(specs[j].name),
                    against=prefix == "risk",
                )
                if ok[i]
                else None
                for i, j in enumerate(picked)
            ]
    ordered = [f"reason_{k + 1}" for k in range(count)] + [f"risk_{k + 1}" for k in range(count)]
    return pd.DataFrame(columns, index=frame.index)[ordered]


def plain_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return float(value)
    return value
