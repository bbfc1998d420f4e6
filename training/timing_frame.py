"""The timing model's rows: snapshots with their trigger and level features and fit
probability."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from icpfit.features.snapshots import (
    LEVEL_LAG_DAYS,
    Snapshots,
    level_feature_names,
    level_features,
    signal_features,
    trigger_feature_names,
)
from icpfit.features.snapshots_spark import spark_features_of

FIT_FEATURE = "fit_probability"


@dataclass(frozen=True)
class TimingFrame:
    """Snapshots with their features (one row each, in snapshot order)."""

    snapshots: Snapshots
    features: pd.DataFrame
    triggers: tuple[str, ...]
    levels: tuple[str, ...] = ()
    lag_days: int = LEVEL_LAG_DAYS

    def rows(self, keep: np.ndarray) -> TimingFrame:
        return replace(
            self,
            snapshots=self.snapshots.subset(keep),
            features=self.features.loc[keep].reset_index(drop=True),
        )


def timing_frame(
    snapshots: Snapshots,
    signals: pd.DataFrame,
    triggers: tuple[str, ...],
    windows: tuple[int, ...],
    fit_at: np.ndarray,
    engine: str = "pandas",
    spark_master: str = "local[*]",
    levels: tuple[str, ...] = (),
    lag_days: int = LEVEL_LAG_DAYS,
) -> TimingFrame:
    """Every snapshot's trigger features, level features (`levels`: latest reading and its
    change over `lag_days`) and fit probability (`fit_at[account, date]`). With
    `engine="spark"` Spark builds the signal features and they are collected into this process
    (they are what the timing model is trained on)."""
    if engine == "spark":
        features = spark_features_of(
            signals, snapshots, triggers, windows, spark_master, levels, lag_days
        )
    else:
        where = (signals, snapshots.accounts, snapshots.account, snapshots.day)
        features = signal_features(*where, triggers, windows)
        if levels:
            features = pd.concat([features, level_features(*where, levels, lag_days)], axis=1)
    features[FIT_FEATURE] = fit_at[snapshots.account, snapshots.date].astype(np.float32)
    return TimingFrame(snapshots, features, triggers, levels, lag_days)


def feature_names(
    triggers: tuple[str, ...],
    windows: tuple[int, ...],
    levels: tuple[str, ...] = (),
    lag_days: int = LEVEL_LAG_DAYS,
) -> list[str]:
    """The timing model's features, in order: triggers', levels', then the fit probability."""
    return [
        *trigger_feature_names(triggers, windows),
        *level_feature_names(levels, lag_days),
        FIT_FEATURE,
    ]
