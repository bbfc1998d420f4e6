"""Reasons a sales rep reads in ten seconds: exact TreeSHAP contributions, in words.

Each feature is one business attribute (a categorical is one column, so one attribute). The top
positive contributions become `reason_*`, the most negative `risk_*`. A missing value is never
a reason for a good fit; it can be a risk ("Funding stage unknown").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numba import njit, prange

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
    spec: FeatureSpec,
    value: object,
    profile: dict | None,
    against: bool = False,
    estimated: bool = False,
) -> str:
    """'Uses Snowflake', 'Employees 240 — in the range of best customers (120–900)', ...

    Against the fit, a value inside the best customers' range gets no range note: it would read
    as a contradiction to a sales rep. An `estimated` number (a blank filled by the bundle's
    estimate) reads 'Employees ~140 (estimated)'.
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
    show, notes = _number_wording(spec, profile, against)
    place = int(_places(np.array([float(value)]), profile)[0])
    return _number_text(label, show(float(value)), notes[place], estimated)


def _number_text(label: str, shown: str, note: str, estimated: bool) -> str:
    return f"{label} ~{shown} (estimated){note}" if estimated else f"{label} {shown}{note}"


def _number_wording(
    spec: FeatureSpec, profile: dict | None, against: bool
) -> tuple[Callable[[float], str], tuple[str, str, str]]:
    """How this attribute's numbers are shown, and the note after a number that is in, below
    or above the best customers' range."""
    show = (lambda v: f"{v:.0f}") if "year" in spec.name else _number
    if not profile:
        return show, ("", "", "")
    span = f"the range of best customers ({show(profile['low'])}–{show(profile['high'])})"
    notes = tuple(f" — {place} {span}" for place in ("in", "below", "above"))
    return show, ("" if against else notes[0], notes[1], notes[2])


def _places(values: np.ndarray, profile: dict | None) -> np.ndarray:
    """0 in the best customers' range, 1 below it, 2 above it (0 without a profile)."""
    if not profile:
        return np.zeros(len(values), dtype=np.int64)
    low, high = profile["low"], profile["high"]
    inside = (low <= values) & (values <= high)
    return np.where(inside, 0, np.where(values < low, 1, 2))


def reason_columns(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    specs: tuple[FeatureSpec, ...],
    profiles: dict[str, dict],
    count: int,
    estimated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """reason_1..count (for) and risk_1..count (against), one row per row of `frame`.

    The text of an attribute depends only on its value, so each attribute's texts are written
    once per distinct value among the rows it is a reason or risk for, not once per row.
    `estimated` (same rows as `frame`, a boolean column per estimated feature) marks values
    that were blank and filled by an estimate: their texts say so.
    """
    missing = frame.isna().to_numpy()
    flags = {} if estimated is None else {c: estimated[c].to_numpy(bool) for c in estimated}
    picks = _top_picks(np.asarray(contributions, dtype=np.float64), missing, count)
    texts = np.full((len(frame), 2 * count), None, dtype=object)
    for side, prefix in enumerate(("reason", "risk")):
        chosen = picks[:, side * count : (side + 1) * count]
        rows, ks = np.nonzero(chosen >= 0)
        if not len(rows):  # no row has a reason (or a risk) on this side
            continue
        features = chosen[rows, ks]
        order = np.argsort(features, kind="stable")
        rows, ks, features = rows[order], ks[order], features[order]
        starts = np.flatnonzero(np.diff(features, prepend=-1))
        for start, end in zip(starts, [*starts[1:], len(features)], strict=True):
            j = int(features[start])
            at_rows, at_ks = rows[start:end], ks[start:end] + side * count
            guessed = flags[specs[j].name][at_rows] if specs[j].name in flags else None
            texts[at_rows, at_ks] = _texts(
                specs[j], frame.iloc[at_rows, j], profiles.get(specs[j].name), prefix, guessed
            )
    names = [f"reason_{k + 1}" for k in range(count)] + [f"risk_{k + 1}" for k in range(count)]
    return pd.DataFrame(texts, index=frame.index, columns=names, dtype=object)


@njit(cache=True, parallel=True)
def _top_picks(contributions: np.ndarray, missing: np.ndarray, count: int) -> np.ndarray:
    """Per row, the columns of the `count` largest positive contributions of known values, then
    of the `count` most negative ones, strongest first (-1 when there are fewer); ties go to
    the lower column, as a stable sort would."""
    n, f = contributions.shape
    picks = np.full((n, 2 * count), -1, np.int64)
    for i in prange(n):
        row, out = contributions[i], picks[i]
        for j in range(f):
            value = row[j]
            if value > 0.0 and not missing[i, j]:
                weakest = out[count - 1]
                if weakest < 0 or value > row[weakest]:
                    _insert(out, row, 0, count, j, 1.0)
            elif value < 0.0:
                weakest = out[2 * count - 1]
                if weakest < 0 or value < row[weakest]:
                    _insert(out, row, count, count, j, -1.0)
    return picks


@njit(cache=True)
def _insert(
    picks: np.ndarray, row: np.ndarray, offset: int, count: int, j: int, sign: float
) -> None:
    """Put column j among the row's picks offset..offset+count, kept strongest first; an equal
    value stays behind the earlier (lower) column."""
    value = sign * row[j]
    for p in range(count):
        q = picks[offset + p]
        if q < 0 or value > sign * row[q]:
            for r in range(count - 1, p, -1):
                picks[offset + r] = picks[offset + r - 1]
            picks[offset + p] = j
            return


def _texts(
    spec: FeatureSpec,
    values: pd.Series,
    profile: dict | None,
    prefix: str,
    estimated: np.ndarray | None = None,
) -> np.ndarray:
    against = prefix == "risk"
    if spec.kind == "numeric":
        return _numeric_texts(spec, values.to_numpy(dtype=float), profile, against, estimated)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    words = np.array(
        [attribute_text(spec, plain_value(v), profile, against) for v in [*uniques, None]],
        dtype=object,
    )
    return words[codes]


def _numeric_texts(
    spec: FeatureSpec,
    values: np.ndarray,
    profile: dict | None,
    against: bool,
    estimated: np.ndarray | None = None,
) -> np.ndarray:
    """Numbers mostly differ from row to row but their texts do not ('Employees 12k — above
    ...'): rows are grouped by what the text shows (the rounded number, where it falls against
    the profile, whether it is estimated) and each group's text is written once, from one of
    its values."""
    known = ~np.isnan(values)
    shown, shape = _shown_number(values[known], "year" in spec.name)
    place = _places(values[known], profile)
    guessed = np.zeros(len(values), bool) if estimated is None else np.asarray(estimated, bool)
    guessed = guessed[known]
    key = shown + 1j * (shape + 8 * place + 32 * np.signbit(shown) + 64 * guessed)
    group, keys = pd.factorize(key)
    first = np.empty(len(keys), dtype=np.intp)
    first[group[::-1]] = np.arange(len(group))[::-1]
    label, (show, notes) = _label(spec), _number_wording(spec, profile, against)
    words = np.array(
        [
            _number_text(label, show(v), notes[p], g)
            for v, p, g in zip(
                values[known][first].tolist(),
                place[first].tolist(),
                guessed[first].tolist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    texts = np.full(len(values), attribute_text(spec, None, profile, against), dtype=object)
    texts[known] = words[group]
    return texts


def _shown_number(values: np.ndarray, year: bool) -> tuple[np.ndarray, np.ndarray]:
    """What `_number` (or a year's '.0f') shows: the number it rounds to, and which format."""
    if year:
        return np.round(values), np.zeros(len(values))
    size = np.select(
        [np.abs(values) >= 1e10, np.abs(values) >= 1e7, np.abs(values) >= 1e4], [1e9, 1e6, 1e3], 1.0
    )
    whole = (size > 1) | (np.abs(values) >= 100) | (values == np.floor(values))
    branch = np.select([size == 1e9, size == 1e6, size == 1e3, whole], [1, 2, 3, 0], 4)
    return np.where(whole, np.round(values / size), values), branch


def plain_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return float(value)
    return value
