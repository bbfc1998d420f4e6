"""Temporal split: train on earlier-decided accounts, judge on the newest (DESIGN §5)."""

from __future__ import annotations

import pandas as pd

SPLITS = ("train", "validation", "holdout")


def temporal_split(
    decided: pd.Series, validation_share: float = 0.15, holdout_share: float = 0.15
) -> pd.Series:
    """'train', 'validation' or 'holdout' per labelled account, by the date its label was decided.

    Cuts are dates, so every validation account was decided strictly after every training
    account, and every holdout account strictly after every validation account.
    """
    dates = decided.dropna().sort_values(kind="stable")
    if dates.empty:
        return pd.Series(dtype=object, name="split")
    holdout_from = dates.iloc[int(len(dates) * (1 - holdout_share))]
    validation_from = dates.iloc[int(len(dates) * (1 - holdout_share - validation_share))]
    split = pd.Series("train", index=dates.index, name="split", dtype=object)
    split[dates >= validation_from] = "validation"
    split[dates >= holdout_from] = "holdout"
    return split.reindex(decided.index[decided.notna()])
