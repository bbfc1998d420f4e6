"""The score scale at scoring time: probability -> 0-100 fit score and tier (DESIGN §5)."""

from __future__ import annotations

import numpy as np

TIE_TOLERANCE = 1e-9
"""Relative. A threshold is a probability of the reference population; scoring recomputes that
probability from the exact SHAP sum, which can differ in the last bits. With coarse models many
accounts share the threshold's value (on Olist, 14% of accounts): without a tolerance they all
fell to B and tier A was empty."""


def assign_tiers(probabilities: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """A, B, C by the lowest probability of each tier; D for the rest."""
    probabilities = np.asarray(probabilities, dtype=float)
    lowest = {t: thresholds[t] * (1 - TIE_TOLERANCE) for t in ("A", "B", "C")}
    return np.select(
        [probabilities >= lowest[t] for t in ("A", "B", "C")], ["A", "B", "C"], "D"
    ).astype(object)


def fit_scores(probabilities: np.ndarray, reference_quantiles: np.ndarray) -> np.ndarray:
    """0-100: where the probability falls among the reference population's quantiles."""
    reference = np.asarray(reference_quantiles, dtype=float)
    position = np.interp(
        np.asarray(probabilities, dtype=float), reference, np.linspace(0, 1, len(reference))
    )
    return np.floor(100 * position).astype(int)
