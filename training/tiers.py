"""Score scale (DESIGN §5): calibrated probability -> 0-100 percentile score -> tier A/B/C/D."""

from __future__ import annotations

import numpy as np

from icpfit.config import TierShares

TIERS = ("A", "B", "C", "D")


def tier_thresholds(reference: np.ndarray, shares: TierShares) -> dict[str, float]:
    """Lowest probability of tiers A, B and C in the reference population (D is the rest)."""
    reference = np.asarray(reference, dtype=float)
    cumulative = {"A": shares.A, "B": shares.A + shares.B, "C": shares.A + shares.B + shares.C}
    return {tier: float(np.quantile(reference, 1 - top)) for tier, top in cumulative.items()}


def assign_tiers(probabilities: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=float)
    return np.select(
        [probabilities >= thresholds[t] for t in ("A", "B", "C")], ["A", "B", "C"], "D"
    ).astype(object)


def fit_scores(probabilities: np.ndarray, reference_sorted: np.ndarray) -> np.ndarray:
    """0-100: the share of the reference population scoring strictly lower ("better than 87%")."""
    below = np.searchsorted(reference_sorted, np.asarray(probabilities, dtype=float), side="left")
    return np.floor(100 * below / max(len(reference_sorted), 1)).astype(int)
