"""Reasons a sales rep reads in ten seconds and believes: exact TreeSHAP contributions, in words.

Each feature is one business attribute (a categorical is one column, so one attribute). The
strongest positive contributions become `reason_*`, the most negative `risk_*`, under rules that
keep the words honest (issue 14):

- A reason's words point toward fit, a risk's away from it. A value is a reason only where it
  looks like the best customers' (a number inside their 10th-90th percentile range, a level
  that is not rare among them, a technology used); a risk only where it does not (a number
  outside the range, a level that is not often a good fit, a technology most best customers
  have and this account lacks, or one few of them have). An attribute whose value cannot be
  said that way is passed over for the next one.
- Every risk compares the account with the best customers ("Web visits monthly 630 — best
  customers have 3,200–82k"); without a profile to compare with, an attribute is never a risk.
- Nothing about an absent or zero count unless the absence is the point, said as such ("No data
  warehouse tools — 71% of best customers have one"); a zero is never a reason for fit. A
  missing value is never a reason; it is a risk only as "unknown", with how often it is known
  among the best customers.
- One fact once: a technology and the category it counts toward are one item, and an unknown
  tech stack is one item however many technology features it blanks.

`audit_reasons` counts what these rules forbid, reading the words as a rep would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from icpfit.features.frame import TECH_STACK_ATTRIBUTE, FeatureSpec

COMMON = 0.25
"""A technology (or a non-zero count) held by at least this share of best customers makes its
absence a risk; one held by fewer makes its presence one."""
SIGNAL_PREFIX = "signals_"


@dataclass(frozen=True)
class Wording:
    """How attributes are named: the config's `features.labels`, else the export's own column
    names; and which category each technology counts toward (for one fact once)."""

    labels: dict[str, str] = field(default_factory=dict)
    """Account column, technology category or signal type -> the label a rep reads."""
    categories: dict[str, str] = field(default_factory=dict)
    """Technology -> its category."""

    @classmethod
    def of(cls, bundle: dict[str, Any]) -> Wording:
        exported = {c: _humane(e) for c, e in bundle.get("accounts_columns", {}).items()}
        declarations = bundle.get("declarations", {})
        categories = declarations.get("technographic", {}).get("categories", {})
        return cls({**exported, **declarations.get("labels", {})}, dict(categories))

    def label(self, spec: FeatureSpec) -> str:
        if spec.name == "tech_count":
            return self.labels.get("tech_count", "Technologies detected")
        if spec.name.startswith("techcat_"):
            return self.labels.get(spec.source, f"{spec.source} tools")
        if spec.kind == "flag":
            return self.labels.get(spec.source, spec.source)
        if spec.name.startswith(SIGNAL_PREFIX):
            kind = self.labels.get(spec.source, _humane(spec.source))
            return f"{kind} signals (last 12 months)"
        return self.labels.get(spec.source, _humane(spec.source))

    def fact(self, spec: FeatureSpec) -> str:
        """What a feature is about: a technology and its category are one fact."""
        if spec.kind == "flag":
            return f"category:{self.categories.get(spec.source, spec.source)}"
        if spec.name.startswith("techcat_"):
            return f"category:{spec.source}"
        return spec.name


def _humane(name: str) -> str:
    """A snake_case column name as words ('web_visits_monthly' -> 'Web visits monthly'); any
    other name as the export spells it."""
    if re.fullmatch(r"[a-z0-9_]+", name):
        return name.replace("_", " ").capitalize()
    return name


def _number(value: float) -> str:
    """For people: '4,500', '12k', '7.6M', '76M', '2.1B'."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size * 10:
            return f"{value / size:,.0f}{suffix}"
        if abs(value) >= size and size > 1e3:
            return f"{value / size:.1f}{suffix}"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2g}"


def _share(value: float) -> str:
    return f"{value:.0%}"


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


# which values can be said as a reason, which as a risk --------------------------------------------


def sayable(
    spec: FeatureSpec, values: pd.Series, profile: dict | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per value: whether it can be a reason (for fit) and whether it can be a risk, in words
    that point the same way as the contribution."""
    profile = profile or {}
    known_share = profile.get("known")
    missing = values.isna().to_numpy()
    unknown_risk = missing & (known_share is not None)
    if spec.kind == "categorical":
        text = values.astype(object)
        good = text.isin(list(profile.get("good", ()))).to_numpy()
        rare = text.isin(list(profile.get("rare", ()))).to_numpy()
        compared = "shares" in profile
        return ~missing & ~rare, (~missing & ~good & compared) | unknown_risk
    number = values.to_numpy(dtype=float)
    if spec.kind == "flag":
        share = profile.get("share")
        if share is None:
            return number >= 0.5, unknown_risk
        lacks = (number < 0.5) & (share >= COMMON)
        uncommon = (number >= 0.5) & (share < COMMON)
        return number >= 0.5, lacks | uncommon | unknown_risk
    place = _places(number, profile)
    ranged = "low" in profile
    count = spec.kind == "count"
    zero = count & (number == 0)
    nothing = (number == 0) & ("year" not in spec.name)  # no funding, no postings: no reason
    for_fit = ~missing & ~nothing & (place == 0)
    outside = ~missing & ~zero & ranged & (place != 0)
    absent = zero & (profile.get("some", 0.0) >= COMMON)
    return for_fit, outside | absent | unknown_risk


def _places(values: np.ndarray, profile: dict | None) -> np.ndarray:
    """0 in the best customers' range, 1 below it, 2 above it (0 without a profile)."""
    if not profile or "low" not in profile:
        return np.zeros(len(values), dtype=np.int64)
    low, high = profile["low"], profile["high"]
    inside = (low <= values) & (values <= high)
    return np.where(inside, 0, np.where(values < low, 1, 2))


# words ------------------------------------------------------------------------------------------


def attribute_text(
    spec: FeatureSpec,
    value: object,
    profile: dict | None,
    estimated: bool = False,
    wording: Wording | None = None,
    against: bool = False,
) -> str:
    """The words for one value, with the best customers beside it where the profile has them:
    'Uses Snowflake — as 71% of best customers do', 'Employees 46 — best customers have
    109–1,033', ... An `estimated` number (a blank filled by the bundle's estimate) reads
    'Employees ~140 (estimated)'. Without a profile, the value alone ('Employees 46')."""
    wording = wording or Wording()
    label, profile = wording.label(spec), profile or {}
    if _is_missing(value):
        tech = spec.kind == "flag" or spec.source == TECH_STACK_ATTRIBUTE
        text = "Tech stack unknown" if tech else f"{label} unknown"
        known = profile.get("known")
        return text if known is None else f"{text} — known for {_share(known)} of best customers"
    if spec.kind == "flag":
        return _flag_text(spec.source, float(value) >= 0.5, profile.get("share"), against)
    if spec.kind == "categorical":
        return _level_text(label, str(value), profile)
    show, notes = _number_wording(spec, profile)
    number = float(value)
    if spec.kind == "count" and number == 0:
        return _absent_text(spec, label, profile)
    place = int(_places(np.array([number]), profile)[0])
    none = number == 0 and place == 1 and "year" not in spec.name
    return _number_text(label, show(number), notes[place], estimated, none)


def _lower(label: str) -> str:
    """'Open job postings' -> 'open job postings' after 'No'; 'CRM seats' stays as it is."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def contribution_text(
    spec: FeatureSpec,
    value: object,
    profile: dict | None,
    contribution: float,
    estimated: bool = False,
    wording: Wording | None = None,
) -> str:
    """One attribute's words beside its contribution (`explain` lists every attribute): the
    comparison with the best customers only where it points the way the contribution does."""
    can_for, can_against = sayable(spec, pd.Series([value], dtype=object), profile)
    fits = can_for[0] if contribution > 0 else can_against[0] if contribution < 0 else False
    if spec.kind != "categorical" and spec.kind != "flag" and not _is_missing(value):
        value = float(value)
    shown = profile if fits else None
    return attribute_text(spec, value, shown, estimated, wording, against=contribution < 0)


def _flag_text(technology: str, uses: bool, share: float | None, against: bool) -> str:
    if share is None:
        return f"Uses {technology}" if uses else f"Does not use {technology}"
    if not uses:
        return f"Does not use {technology} — {_share(share)} of best customers do"
    if share < COMMON:
        if not against:
            return f"Uses {technology}"
        return f"Uses {technology} — only {_share(share)} of best customers do"
    return f"Uses {technology} — as {_share(share)} of best customers do"


def _level_text(label: str, level: str, profile: dict) -> str:
    text = f"{label}: {level}"
    share = profile["shares"].get(level, 0.0) if "shares" in profile else None
    note = "" if share is None else f" ({_share(share)} of best customers)"
    if level in profile.get("good", ()):
        return f"{text} — often a good fit{note}"
    if level in profile.get("rare", ()):
        return f"{text} — rarely a good fit{note}"
    return text if share is None else f"{text} — {_share(share)} of best customers"


def _absent_text(spec: FeatureSpec, label: str, profile: dict) -> str:
    some = profile.get("some")
    if some is None:
        return f"No {_lower(label)}"
    have = "one" if spec.name.startswith("techcat_") else "some"
    return f"No {_lower(label)} — {_share(some)} of best customers have {have}"


def _number_text(label: str, shown: str, note: str, estimated: bool, none: bool = False) -> str:
    """`none`: a zero below the best customers' range, said as an absence."""
    if estimated:
        return f"{label} ~{shown} (estimated){note}"
    return f"No {_lower(label)}{note}" if none else f"{label} {shown}{note}"


def _number_wording(
    spec: FeatureSpec, profile: dict | None
) -> tuple[Callable[[float], str], tuple[str, str, str]]:
    """How this attribute's numbers are shown, and the note after a number that is in, below
    or above the best customers' range."""
    show = (lambda v: f"{v:.0f}") if "year" in spec.name else _number
    if not profile or "low" not in profile:
        return show, ("", "", "")
    span = f"{show(profile['low'])}–{show(profile['high'])}"
    outside = f" — best customers have {span}"
    return show, (f" — within best customers' range ({span})", outside, outside)


# picking ----------------------------------------------------------------------------------------


def reason_columns(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    specs: tuple[FeatureSpec, ...],
    profiles: dict[str, dict],
    count: int,
    estimated: pd.DataFrame | None = None,
    wording: Wording | None = None,
) -> pd.DataFrame:
    """reason_1..count (for) and risk_1..count (against), one row per row of `frame`.

    The text of an attribute depends only on its value and side, so each attribute's texts are
    written once per distinct value among the rows it is a reason or risk for, not once per
    row. `estimated` (same rows as `frame`, a boolean column per estimated feature) marks values
    that were blank and filled by an estimate: their texts say so.
    """
    wording = wording or Wording()
    n, f = len(frame), len(specs)
    can_for, can_against = np.zeros((n, f), bool), np.zeros((n, f), bool)
    for j, spec in enumerate(specs):
        can_for[:, j], can_against[:, j] = sayable(spec, frame.iloc[:, j], profiles.get(spec.name))
    facts = pd.factorize(pd.Series([wording.fact(s) for s in specs]))[0].astype(np.int64)
    tech = np.array([s.group == "technographic" for s in specs])
    unknown_tech = frame.isna().to_numpy() & tech
    flags = {} if estimated is None else {c: estimated[c].to_numpy(bool) for c in estimated}
    picks = _top_picks(
        np.asarray(contributions, dtype=np.float64),
        can_for,
        can_against,
        facts,
        unknown_tech,
        count,
    )
    texts = np.full((n, 2 * count), None, dtype=object)
    for side in (0, 1):
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
                specs[j],
                frame.iloc[at_rows, j],
                profiles.get(specs[j].name),
                guessed,
                wording,
                against=side == 1,
            )
    names = [f"reason_{k + 1}" for k in range(count)] + [f"risk_{k + 1}" for k in range(count)]
    return pd.DataFrame(texts, index=frame.index, columns=names, dtype=object)


@njit(cache=True, parallel=True)
def _top_picks(
    contributions: np.ndarray,
    can_for: np.ndarray,
    can_against: np.ndarray,
    facts: np.ndarray,
    unknown_tech: np.ndarray,
    count: int,
) -> np.ndarray:
    """Per row, the columns of the `count` largest positive contributions that can be said as
    reasons, then of the `count` most negative ones that can be said as risks, strongest first
    (-1 when there are fewer). A column whose fact (`facts`; an unknown tech stack is one fact)
    was already picked in the row, on either side, is passed over. Ties go to the lower column,
    as a stable sort would."""
    n, f = contributions.shape
    picks = np.full((n, 2 * count), -1, np.int64)
    tech_fact = f + facts.max() + 1 if f else 0
    for i in prange(n):
        row, out = contributions[i], picks[i]
        order = np.argsort(-np.abs(row), kind="mergesort")
        used = np.full(2 * count, -1, np.int64)
        taken, given = 0, np.zeros(2, np.int64)
        for j in order:
            value = row[j]
            if value > 0.0 and can_for[i, j]:
                side = 0
            elif value < 0.0 and can_against[i, j]:
                side = 1
            else:
                continue
            if given[side] >= count:
                continue
            fact = tech_fact if unknown_tech[i, j] else facts[j]
            seen = False
            for t in range(taken):
                if used[t] == fact:
                    seen = True
                    break
            if seen:
                continue
            out[side * count + given[side]] = j
            given[side] += 1
            used[taken] = fact
            taken += 1
            if given[0] >= count and given[1] >= count:
                break
    return picks


def _texts(
    spec: FeatureSpec,
    values: pd.Series,
    profile: dict | None,
    estimated: np.ndarray | None = None,
    wording: Wording | None = None,
    against: bool = False,
) -> np.ndarray:
    if spec.kind == "numeric":
        return _numeric_texts(spec, values.to_numpy(dtype=float), profile, estimated, wording)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    words = np.array(
        [
            attribute_text(spec, plain_value(v), profile, wording=wording, against=against)
            for v in [*uniques, None]
        ],
        dtype=object,
    )
    return words[codes]


def _numeric_texts(
    spec: FeatureSpec,
    values: np.ndarray,
    profile: dict | None,
    estimated: np.ndarray | None = None,
    wording: Wording | None = None,
) -> np.ndarray:
    """Numbers mostly differ from row to row but their texts do not ('Employees 12k — best
    customers have ...'): rows are grouped by what the text shows (the rounded number, where it
    falls against the profile, whether it is estimated) and each group's text is written once,
    from one of its values."""
    wording = wording or Wording()
    known = ~np.isnan(values)
    shown, shape = _shown_number(values[known], "year" in spec.name)
    place = _places(values[known], profile)
    guessed = np.zeros(len(values), bool) if estimated is None else np.asarray(estimated, bool)
    guessed = guessed[known]
    key = shown + 1j * (shape + 8 * place + 32 * np.signbit(shown) + 64 * guessed)
    group, keys = pd.factorize(key)
    first = np.empty(len(keys), dtype=np.intp)
    first[group[::-1]] = np.arange(len(group))[::-1]
    label, (show, notes) = wording.label(spec), _number_wording(spec, profile)
    year = "year" in spec.name
    words = np.array(
        [
            _number_text(label, show(v), notes[p], g, v == 0 and p == 1 and not year)
            for v, p, g in zip(
                values[known][first].tolist(),
                place[first].tolist(),
                guessed[first].tolist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    texts = np.full(len(values), attribute_text(spec, None, profile, wording=wording), object)
    texts[known] = words[group]
    return texts


def _shown_number(values: np.ndarray, year: bool) -> tuple[np.ndarray, np.ndarray]:
    """What `_number` (or a year's '.0f') shows: the number it rounds to, and which format."""
    if year:
        return np.round(values), np.zeros(len(values))
    a = np.abs(values)
    size = np.select([a >= 1e9, a >= 1e6, a >= 1e4], [1e9, 1e6, 1e3], 1.0)
    tenths = ((size == 1e9) & (a < 1e10)) | ((size == 1e6) & (a < 1e7))
    whole = (size > 1) | (a >= 100) | (values == np.floor(values))
    branch = np.select(
        [tenths & (size == 1e9), tenths, size == 1e9, size == 1e6, size == 1e3, whole],
        [5, 6, 1, 2, 3, 0],
        4,
    )
    scaled = values / size
    shown = np.where(tenths, np.round(scaled, 1), np.where(whole, np.round(scaled), values))
    return shown, branch


def value_words(spec: FeatureSpec, value: object) -> str:
    """The value alone, as a person writes it: '240', '7.6M', 'Software', 'uses', 'unknown'."""
    if _is_missing(value):
        return "unknown"
    if spec.kind == "flag":
        return "uses" if float(value) >= 0.5 else "does not use"
    if spec.kind == "categorical":
        return str(value)
    return f"{float(value):.0f}" if "year" in spec.name else _number(float(value))


def plain_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return float(value)
    return value


# the audit: what a rep would catch --------------------------------------------------------------

REASON_CONTRADICTS = (
    "best customers have",
    "below the range",
    "above the range",
    "rarely",
    "Does not use",
    " — only ",
)
UNKNOWN = re.compile(r"^[^:—]+ unknown(?: —|$)")
"""'Employees unknown', 'Tech stack unknown': a missing value (a level named 'unknown', as in
'Origin: unknown', is a value)."""
RISK_CONTRADICTS = (
    "within best customers' range",
    "in the range of best customers",
    "common among best customers",
    "often a good fit",
    " — as ",
)
ZERO_SHOWN = re.compile(r"(?:^|\s)0(?:\s—|$|\s\()")
TECHNOLOGY = re.compile(r"^(?:Uses|Does not use) (.+?)(?: — |$)")
CATEGORY = re.compile(r"^(?:No )?(.+?) tools(?: \d| —|$)")


def audit_reasons(scored: pd.DataFrame, categories: dict[str, str]) -> dict[str, int]:
    """Counts over a scored table's reason_* and risk_* texts, read as a rep reads them:

    - `contradictions`: a reason whose words point away from fit (outside the best customers'
      range, rarely a good fit, a technology not used, unknown) or a risk whose words point
      toward it (within the range, often a good fit);
    - `vacuous`: an item that shows a zero count as a number, or a technology not used given as
      a reason;
    - `risks_without_comparison`: a risk that does not compare with the best customers;
    - `duplicated_facts`: rows naming one technology or category twice (a technology counts as
      its category, `categories`: technology -> category).
    """
    reasons = [c for c in scored.columns if c.startswith("reason_")]
    risks = [c for c in scored.columns if c.startswith("risk_")]
    counts = dict.fromkeys(
        ("contradictions", "vacuous", "risks_without_comparison", "duplicated_facts"), 0
    )
    facts: list[list[str]] = [[] for _ in range(len(scored))]
    for column in [*reasons, *risks]:
        is_risk = column in risks
        for i, text in enumerate(scored[column].tolist()):
            if not isinstance(text, str) or not text:
                continue
            wrong = RISK_CONTRADICTS if is_risk else REASON_CONTRADICTS
            missing_as_reason = not is_risk and UNKNOWN.match(text) is not None
            counts["contradictions"] += missing_as_reason or any(p in text for p in wrong)
            zero = ZERO_SHOWN.search(text.split(" — ")[0]) is not None
            counts["vacuous"] += zero or (not is_risk and text.startswith("Does not use"))
            counts["risks_without_comparison"] += is_risk and "best customers" not in text
            facts[i].extend(_facts(text, categories))
    counts["duplicated_facts"] = sum(len(f) != len(set(f)) for f in facts)
    return counts


def _facts(text: str, categories: dict[str, str]) -> list[str]:
    if text.startswith("Tech stack unknown"):
        return ["tech stack"]
    technology = TECHNOLOGY.match(text)
    if technology:
        return [categories.get(technology.group(1), technology.group(1)).lower()]
    category = CATEGORY.match(text)
    if category and category.group(1).lower() in {c.lower() for c in categories.values()}:
        return [category.group(1).lower()]
    return []
