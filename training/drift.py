"""Population stability: how far a distribution moved between two populations (PSI).

PSI = sum over bins of (current - previous) * ln(current / previous), with the bins taken from the
previous population (deciles for numbers, levels for categories) and missing values as a bin of
their own. Reading it: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a real one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icpfit.features.frame import FeatureSpec

FLOOR = 1e-4
BINS = 10
DRIFT_COLUMNS = ["feature", "group", "kind", "psi", "previous", "current"]


def psi(previous: np.ndarray, current: np.ndarray) -> float:
    """PSI of two bin-share vectors over the same bins."""
    p = np.clip(np.asarray(previous, dtype=float), FLOOR, None)
    c = np.clip(np.asarray(current, dtype=float), FLOOR, None)
    return float(np.sum((c - p) * np.log(c / p)))


def numeric_shares(
    previous: pd.Series, current: pd.Series, bins: int = BINS
) -> tuple[np.ndarray, np.ndarray]:
    """Shares of both populations in the previous population's quantile bins, plus missing."""
    before = pd.to_numeric(previous, errors="coerce").astype(float).to_numpy()
    after = pd.to_numeric(current, errors="coerce").astype(float).to_numpy()
    known = before[~np.isnan(before)]
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))[1:-1]) if len(known) else []

    def shares(values: np.ndarray) -> np.ndarray:
        present = values[~np.isnan(values)]
        counts = np.bincount(
            np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1
        )
        return np.append(counts, np.isnan(values).sum()) / max(len(values), 1)

    return shares(before), shares(after)


def categorical_shares(previous: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Shares per level seen in either population, plus missing."""
    before, after = previous.astype(object), current.astype(object)
    levels = sorted(set(before.dropna().astype(str)) | set(after.dropna().astype(str)))

    def shares(values: pd.Series) -> np.ndarray:
        counts = values.dropna().astype(str).value_counts().reindex(levels, fill_value=0)
        return np.append(counts.to_numpy(), values.isna().sum()) / max(len(values), 1)

    return shares(before), shares(after)


def _summary(values: pd.Series, kind: str) -> str:
    if kind == "categorical":
        top = values.astype(object).fillna("(missing)").astype(str).value_counts(normalize=True)
        return ", ".join(f"{level} {share:.0%}" for level, share in top.head(2).items())
    numbers = pd.to_numeric(values, errors="coerce")
    missing = numbers.isna().mean()
    median = numbers.median()
    text = "all missing" if np.isnan(median) else f"median {median:,.3g}"
    return text + (f", {missing:.0%} missing" if missing else "")


def population_drift(
    previous: pd.DataFrame, current: pd.DataFrame, specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame:
    """PSI per feature present in both populations, largest first, with a one-phrase summary."""
    rows = []
    for spec in specs:
        if spec.name not in previous or spec.name not in current:
            continue
        kind = "categorical" if spec.kind == "categorical" else "numeric"
        split = categorical_shares if kind == "categorical" else numeric_shares
        before, after = split(previous[spec.name], current[spec.name])
        rows.append(
            {
                "feature": spec.name,
                "group": spec.group,
                "kind": spec.kind,
                "psi": psi(before, after),
                "previous": _summary(previous[spec.name], kind),
                "current": _summary(current[spec.name], kind),
            }
        )
    table = pd.DataFrame(rows, columns=DRIFT_COLUMNS)
    return table.sort_values("psi", ascending=False, ignore_index=True)


def score_psi(previous: np.ndarray, current: np.ndarray, bins: int = BINS) -> float:
    """PSI of two score distributions, binned on the previous one's deciles."""
    before, after = numeric_shares(pd.Series(previous), pd.Series(current), bins)
    return psi(before, after)
