"""Blank firmographics filled with the bundle's label-free estimates, and which cells were.

An estimate (see `icpfit.training.estimates`) is plain data: the column it fills, a LightGBM
model string predicting log1p of that column, and the feature columns it reads. Training and
serving fill blanks through this one function, so the fit model sees the same numbers in both.
Known values are never changed; estimated cells are flagged so that coverage still counts
them as missing and reasons say "(estimated)".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from icpfit.serving.treeshap import booster_matrix


def apply_estimates(
    frame: pd.DataFrame, estimates: list[dict[str, Any]] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`frame` with the blanks of each estimate's column filled (a whole number, at least 1),
    and a boolean frame (same index, one column per estimate) of the cells that were.

    Each estimate reads the observed values of `frame`, as it was fitted on them. Without
    estimates (None entries are skipped), `frame` itself comes back, with no flag columns.
    """
    estimates = [e for e in estimates or () if e]
    filled: dict[str, np.ndarray] = {}
    flags: dict[str, np.ndarray] = {}
    for estimate in estimates:
        column = estimate["column"]
        missing = [c for c in (column, *estimate["inputs"]) if c not in frame]
        if missing:
            raise ValueError(f"the {column} estimate needs columns {missing} the frame lacks")
        values = frame[column].to_numpy(dtype=float, copy=True)
        blank = np.isnan(values)
        if blank.any():
            inputs = frame.iloc[np.flatnonzero(blank)][estimate["inputs"]]
            guess = np.expm1(predict_log(_booster(estimate["model"]), inputs))
            values[blank] = np.maximum(np.round(guess), 1.0)
            filled[column] = values
        flags[column] = blank
    estimated = pd.DataFrame(flags, index=frame.index, dtype=bool)
    return (frame.assign(**filled) if filled else frame), estimated


def predict_log(booster: lgb.Booster, inputs: pd.DataFrame) -> np.ndarray:
    """The estimate's prediction (log1p of the column) for each row of `inputs`."""
    if inputs.empty:
        return np.zeros(0)
    return booster.predict(booster_matrix(inputs, booster))


@lru_cache(maxsize=16)
def _booster(model: str) -> lgb.Booster:
    """Parsed once per model string, not once per scored batch."""
    return lgb.Booster(model_str=model)
