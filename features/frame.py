"""The feature frame (DESIGN §4): only what a prospect also has, as of each account's date.

Every account is described as of its reference date: the acquisition date for customers, the
cutoff for everyone else. A technology first seen after that date, or a signal dated after it,
does not exist for that account. Nothing here reads revenue or opportunity outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from icpfit.config import FeatureDeclarations, TechStack
from icpfit.features.parsing import arrow_text, clean_text, parse_numbers
from icpfit.features.technologies import slug

Group = Literal["firmographic", "technographic", "behavioral"]
Kind = Literal["numeric", "categorical", "flag", "count"]
SIGNAL_LOOKBACK = pd.Timedelta(days=365)
TECH_STACK_ATTRIBUTE = "tech stack"


@dataclass(frozen=True)
class FeatureSpec:
    """One model feature: its group, its kind, where it comes from, its training levels."""

    name: str
    group: Group
    kind: Kind
    source: str
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeatureFrame:
    frame: pd.DataFrame
    """Index account_id, one column per spec, in spec order."""
    specs: tuple[FeatureSpec, ...]
    data_coverage: pd.Series
    """Share of the key attributes present per account, to tell 'low fit' from 'unknown'."""


def learn_feature_specs(
    accounts: pd.DataFrame,
    technologies: pd.DataFrame,
    signals: pd.DataFrame,
    declarations: FeatureDeclarations,
) -> tuple[FeatureSpec, ...]:
    """The feature list of a training population: category levels, technologies, signal types."""
    specs: list[FeatureSpec] = []
    for group, columns in (
        ("firmographic", declarations.firmographic),
        ("behavioral", declarations.behavioral),
    ):
        for column in columns.categorical:
            levels = tuple(sorted(clean_text(accounts[column]).dropna().unique()))
            specs.append(FeatureSpec(column, group, "categorical", column, levels))
        specs += [FeatureSpec(c, group, "numeric", c) for c in columns.numeric]
    if declarations.technographic.technologies and len(technologies):
        specs += _technology_specs(technologies, declarations.technographic.categories)
    if declarations.behavioral.signals and len(signals):
        for signal_type in sorted(clean_text(signals["signal_type"]).dropna().unique()):
            name = f"signals_{slug(signal_type)}_12m"
            specs.append(FeatureSpec(name, "behavioral", "count", signal_type))
    return tuple(specs)


def _technology_specs(technologies: pd.DataFrame, categories: dict[str, str]) -> list[FeatureSpec]:
    names = technologies["technology"].dropna().drop_duplicates().sort_values()
    by_slug = dict(zip(names.map(slug), names, strict=True))
    specs = [
        FeatureSpec(f"tech_{key}", "technographic", "flag", name)
        for key, name in sorted(by_slug.items())
    ]
    specs.append(FeatureSpec("tech_count", "technographic", "count", TECH_STACK_ATTRIBUTE))
    for category in sorted(set(categories.values())):
        specs.append(FeatureSpec(f"techcat_{slug(category)}", "technographic", "count", category))
    return specs


def build_feature_frame(
    accounts: pd.DataFrame,
    technologies: pd.DataFrame,
    signals: pd.DataFrame,
    declarations: FeatureDeclarations,
    reference_dates: pd.Series,
    specs: tuple[FeatureSpec, ...] | None = None,
) -> FeatureFrame:
    """Features of each account as of its reference date, in the columns of `specs`.

    Without `specs` they are learned from these accounts (training); with them (scoring), unseen
    category levels become missing and technologies or signal types not in the specs are ignored.
    """
    if specs is None:
        specs = learn_feature_specs(accounts, technologies, signals, declarations)
    index = pd.Index(clean_text(accounts["account_id"]), name="account_id")
    reference = reference_dates.reindex(index)
    parts = [
        _account_columns(accounts, index, specs),
        _technology_columns(technologies, reference, specs, declarations.technographic.categories),
        _signal_columns(signals, reference, specs),
    ]
    return _assembled(parts, specs, declarations)


def scoring_feature_frame(
    accounts: pd.DataFrame,
    tech_stack: TechStack,
    declarations: FeatureDeclarations,
    specs: tuple[FeatureSpec, ...],
) -> FeatureFrame:
    """Features of accounts scored now, with their technologies in the delimited stack column
    and no signal events (signal counts, if any, come as columns and are the caller's).

    The same frame as `build_feature_frame` on `tech_stack_to_long(accounts)` as of today, built
    without the long table, because scoring runs on the whole account universe.
    """
    index = pd.Index(clean_text(accounts["account_id"]), name="account_id")
    stacks = _column(accounts, tech_stack.column, "string")
    technologies = stack_technology_columns(
        stacks, tech_stack.separator, specs, declarations.technographic.categories
    )
    signals = [s.name for s in specs if s.group == "behavioral" and s.kind == "count"]
    parts = [
        _account_columns(accounts, index, specs),
        None if technologies is None else technologies.set_axis(index),
        pd.DataFrame(0.0, index=index, columns=signals) if signals else None,
    ]
    return _assembled(parts, specs, declarations)


def _assembled(
    parts: list[pd.DataFrame | None],
    specs: tuple[FeatureSpec, ...],
    declarations: FeatureDeclarations,
) -> FeatureFrame:
    frame = pd.concat([p for p in parts if p is not None], axis=1)
    frame = frame.reindex(columns=[s.name for s in specs])
    return FeatureFrame(frame, specs, _data_coverage(frame, specs, declarations))


def _account_columns(
    accounts: pd.DataFrame, index: pd.Index, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame:
    columns = {}
    for spec in specs:
        if spec.kind == "categorical":
            values = _column(accounts, spec.source, "string")
            columns[spec.name] = category_codes(values, spec.levels)
        elif spec.kind == "numeric":
            values = _column(accounts, spec.source, "float64")
            columns[spec.name] = parse_numbers(values).to_numpy()
    return pd.DataFrame(columns, index=index)


def _column(accounts: pd.DataFrame, name: str, missing_dtype: str) -> pd.Series:
    """The column, or an all-missing one when the export does not have it."""
    if name in accounts:
        return accounts[name]
    return pd.Series(None, index=accounts.index, dtype=missing_dtype)


def category_codes(values: pd.Series, levels: tuple[str, ...]) -> pd.Categorical:
    """Cleaned values as categories of `levels`; anything else is missing. Cleaned once per
    distinct value, not per row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    position = pd.Index(list(levels), dtype=object).get_indexer(
        clean_text(pd.Series(uniques, dtype=values.dtype)).to_numpy(dtype=object, na_value=None)
    )
    return pd.Categorical.from_codes(np.append(position, -1)[codes], categories=list(levels))


def _technology_columns(
    technologies: pd.DataFrame,
    reference: pd.Series,
    specs: tuple[FeatureSpec, ...],
    categories: dict[str, str],
) -> pd.DataFrame | None:
    if not any(s.kind == "flag" for s in specs):
        return None
    known = _known_by_reference(technologies, "first_seen", reference)
    codes, names = pd.factorize(known["technology"])
    rows = reference.index.get_indexer(known["account_id"])
    return technology_table(
        rows, codes, np.asarray(names, dtype=object), reference.index, specs, categories
    )


def stack_technology_columns(
    stacks: pd.Series, separator: str, specs: tuple[FeatureSpec, ...], categories: dict[str, str]
) -> pd.DataFrame | None:
    """The technographic columns of accounts scored now, from their delimited stack column.

    The same as `build_feature_frame` on `tech_stack_to_long` with today's date (every stack
    entry is undated, so all are known), without building the long table: the stacks are split
    in Arrow and each distinct entry is trimmed once.
    """
    if not any(s.kind == "flag" for s in specs):
        return None
    lists = pc.split_pattern(arrow_text(stacks), separator)
    entries = pc.dictionary_encode(pc.list_flatten(lists))
    names = np.array([e.strip() for e in entries.dictionary.to_pylist()], dtype=object)
    codes = entries.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    rows = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    named = names[codes] != "" if len(codes) else np.zeros(0, dtype=bool)
    index = pd.RangeIndex(len(stacks))
    return technology_table(rows[named], codes[named], names, index, specs, categories)


def technology_table(
    rows: np.ndarray,
    codes: np.ndarray,
    names: np.ndarray,
    index: pd.Index,
    specs: tuple[FeatureSpec, ...],
    categories: dict[str, str],
) -> pd.DataFrame:
    """Flags, counts and category counts from (row, technology) pairs: technology `names[code]`
    at position `row` of `index`. Names are matched to features by slug, a technology listed
    twice counts once, and a row with no pair has an unknown stack (all missing)."""
    columns = [s.name for s in specs if s.kind == "flag"]
    slug_codes, slugs = pd.factorize(pd.Index([slug(n) for n in names], dtype=object))
    width = max(len(slugs), 1)
    placed = rows >= 0
    pairs = pd.unique(rows[placed].astype(np.int64) * width + slug_codes[codes[placed]])
    pair_rows, pair_slugs = np.divmod(pairs, width)
    tech_count = np.bincount(pair_rows, minlength=len(index)).astype(float)
    stack_known = tech_count > 0
    column = pd.Index(columns).get_indexer([f"tech_{s}" for s in slugs])[pair_slugs]
    present = np.zeros((len(index), len(columns)))
    present[pair_rows[column >= 0], column[column >= 0]] = 1.0
    present[~stack_known] = np.nan
    tech_count[~stack_known] = np.nan
    table = {"tech_count": tech_count}
    source_of = [s.source for s in specs if s.kind == "flag"]
    for spec in (s for s in specs if s.name.startswith("techcat_")):
        members = [j for j, tech in enumerate(source_of) if categories.get(tech) == spec.source]
        table[spec.name] = present[:, members].sum(axis=1) if members else 0.0
    return pd.DataFrame(present, index=index, columns=columns).assign(**table)


def signal_counts(
    signals: pd.DataFrame, reference: pd.Series, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame | None:
    """Each signal feature of `specs` per account of `reference`: its signals in the 12 months
    up to the account's reference date (signal types cleaned, dates parsed). None without
    signal features."""
    return _signal_columns(signals, reference, specs)


def _signal_columns(
    signals: pd.DataFrame, reference: pd.Series, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame | None:
    counts = [s for s in specs if s.group == "behavioral" and s.kind == "count"]
    if not counts:
        return None
    known = _known_by_reference(signals, "date", reference)
    recent = known[known["date"] > known["reference"] - SIGNAL_LOOKBACK]
    name_of = {s.source: s.name for s in counts}
    columns = list(name_of.values())
    matrix = _count_matrix(
        recent["account_id"], recent["signal_type"].map(name_of), reference.index, columns
    )
    return pd.DataFrame(matrix, index=reference.index, columns=columns)


def _count_matrix(
    account_ids: pd.Series, names: pd.Series, index: pd.Index, columns: list[str]
) -> np.ndarray:
    """How often each (account, column) pair occurs; rows outside index or columns are ignored."""
    rows = index.get_indexer(account_ids)
    cols = pd.Index(columns).get_indexer(names)
    keep = (rows >= 0) & (cols >= 0)
    counts = np.zeros((len(index), len(columns)))
    np.add.at(counts, (rows[keep], cols[keep]), 1)
    return counts


def _known_by_reference(
    events: pd.DataFrame, date_column: str, reference: pd.Series
) -> pd.DataFrame:
    """Rows dated on or before their account's reference date (undated rows are kept)."""
    joined = events.assign(reference=events["account_id"].map(reference))
    joined = joined[joined["reference"].notna()]
    dates = pd.to_datetime(joined[date_column])
    return joined[dates.isna() | (dates <= joined["reference"])]


def _data_coverage(
    frame: pd.DataFrame, specs: tuple[FeatureSpec, ...], declarations: FeatureDeclarations
) -> pd.Series:
    if not declarations.technographic.technologies:
        specs = tuple(s for s in specs if s.group != "technographic")
    return data_coverage(frame, specs)


def data_coverage(frame: pd.DataFrame, specs: tuple[FeatureSpec, ...]) -> pd.Series:
    """Share of the key attributes of `specs` present per account: each account column, and
    the tech stack as one attribute when any technology feature is among them."""
    key = [s.name for s in specs if s.kind in ("numeric", "categorical")]
    present = frame[key].notna()
    if any(s.group == "technographic" for s in specs) and "tech_count" in frame:
        present = present.assign(tech=frame["tech_count"].notna())
    if present.shape[1] == 0:
        return pd.Series(1.0, index=frame.index, name="data_coverage")
    return present.mean(axis=1).rename("data_coverage")
