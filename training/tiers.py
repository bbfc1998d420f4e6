"""Tier thresholds learned at training time; serving applies them (icpfit.serving.scale)."""

from __future__ import annotations

import numpy as np

from icpfit.config import TierShares


def tier_thresholds(reference: np.ndarray, shares: TierShares) -> dict[str, float]:
    """Lowest probability of tiers A, B and C in the reference population (D is the rest)."""
    reference = np.asarray(reference, dtype=float)
    cumulative = {"A": shares.A, "B": shares.A + shares.B, "C": shares.A + shares.B + shares.C}
    return {tier: float(np.quantile(reference, 1 - top)) for tier, top in cumulative.items()}
