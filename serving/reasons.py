"""Reasons a sales rep reads in ten seconds: exact TreeSHAP contributions, in words.

Each feature is one business attribute (a categorical is one column, so one attribute). The top
positive contributions become `reason_*`, the most negative `risk_*`. A missing value is never
a reason for a good fit; it can be a risk ("Funding stage unknown").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

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

    The text of an attribute depends only on its value, so each attribute's texts are written
    once per distinct value among the rows it is a reason or risk for, not once per row.
    """
    missing = frame.isna().to_numpy()
    picks = _top_picks(np.ascontiguousarray(contributions, dtype=np.float64), missing, count)
    texts = np.full((len(frame), 2 * count), None, dtype=object)
    for side, prefix in enumerate(("reason", "risk")):
        chosen = picks[:, side * count : (side + 1) * count]
        rows, ks = np.nonzero(chosen >= 0)
        features = chosen[rows, ks]
        order = np.argsort(features, kind="stable")
        rows, ks, features = rows[order], ks[order], features[order]
        starts = np.flatnonzero(np.diff(features, prepend=-1))
        for start, end in zip(starts, [*starts[1:], len(features)], strict=True):
            j = int(features[start])
            at_rows, at_ks = rows[start:end], ks[start:end] + side * count
            texts[at_rows, at_ks] = _texts(
                specs[j], frame.iloc[at_rows, j], profiles.get(specs[j].name), prefix
            )
    names = [f"reason_{k + 1}" for k in range(count)] + [f"risk_{k + 1}" for k in range(count)]
    return pd.DataFrame(texts, index=frame.index, columns=names, dtype=object)


@njit(cache=True)
def _top_picks(contributions: np.ndarray, missing: np.ndarray, count: int) -> np.ndarray:
    """Per row, the columns of the `count` largest positive contributions of known values, then
    of the `count` most negative ones, strongest first (-1 when there are fewer); ties go to
    the lower column, as a stable sort would."""
    n, f = contributions.shape
    picks = np.full((n, 2 * count), -1, np.int64)
    for i in range(n):
        for side in range(2):
            for k in range(count):
                best, best_value = -1, 0.0
                for j in range(f):
                    value = contributions[i, j] if side == 0 else -contributions[i, j]
                    if value <= 0.0 or (side == 0 and missing[i, j]):
                        continue
                    taken = False
                    for q in range(k):
                        if picks[i, side * count + q] == j:
                            taken = True
                    if not taken and (best < 0 or value > best_value):
                        best, best_value = j, value
                picks[i, side * count + k] = best
    return picks


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
