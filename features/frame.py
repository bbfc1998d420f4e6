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

from icpfit.config import FeatureDeclarations
from icpfit.features.parsing import clean_text, is_member, parse_numbers
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
    frame = pd.concat([p for p in parts if p is not None], axis=1)
    frame = frame.reindex(columns=[s.name for s in specs])
    return FeatureFrame(frame, specs, _data_coverage(frame, specs, declarations))


def _account_columns(
    accounts: pd.DataFrame, index: pd.Index, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame:
    columns = {}
    for spec in specs:
        if spec.kind == "categorical":
            values = (
                clean_text(accounts[spec.source])
                if spec.source in accounts
                else pd.Series(None, index=accounts.index, dtype="string")
            )
            known = values.where(values.isin(spec.levels))
            columns[spec.name] = pd.Categorical(
                known.to_numpy(dtype=object, na_value=None), categories=list(spec.levels)
            )
        elif spec.kind == "numeric":
            values = (
                accounts[spec.source]
                if spec.source in accounts
                else pd.Series(float("nan"), index=accounts.index)
            )
            columns[spec.name] = parse_numbers(values).to_numpy()
    return pd.DataFrame(columns, index=index)


def _technology_columns(
    technologies: pd.DataFrame,
    reference: pd.Series,
    specs: tuple[FeatureSpec, ...],
    categories: dict[str, str],
) -> pd.DataFrame | None:
    flags = [s for s in specs if s.kind == "flag"]
    if not flags:
        return None
    known = _known_by_reference(technologies, "first_seen", reference)
    names = {tech: f"tech_{slug(tech)}" for tech in known["technology"].unique()}
    known = known.assign(name=known["technology"].map(names))[["account_id", "name"]]
    known = known.drop_duplicates()
    stack_known = is_member(reference.index, known["account_id"])
    columns = [s.name for s in flags]
    present = _count_matrix(known["account_id"], known["name"], reference.index, columns)
    present[~stack_known] = np.nan
    table = pd.DataFrame(np.minimum(present, 1), index=reference.index, columns=columns)
    tech_count = known.groupby("account_id").size().reindex(reference.index).fillna(0)
    extra = {"tech_count": tech_count.where(stack_known)}
    source_of = {s.name: s.source for s in flags}
    for spec in (s for s in specs if s.name.startswith("techcat_")):
        members = [n for n, tech in source_of.items() if categories.get(tech) == spec.source]
        extra[spec.name] = table[members].sum(axis=1, min_count=1) if members else 0.0
    return table.assign(**extra)


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
    key = [s.name for s in specs if s.kind in ("numeric", "categorical")]
    present = frame[key].notna()
    if declarations.technographic.technologies:
        present = present.assign(
            tech=frame["tech_count"].notna() if "tech_count" in frame else False
        )
    if present.shape[1] == 0:
        return pd.Series(1.0, index=frame.index, name="data_coverage")
    return present.mean(axis=1).rename("data_coverage")
