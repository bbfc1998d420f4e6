"""The timing model's rows: snapshots with their trigger features and fit probability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icpfit.features.snapshots import Snapshots, signal_features, trigger_feature_names

FIT_FEATURE = "fit_probability"


@dataclass(frozen=True)
class TimingFrame:
    """Snapshots with their features (one row each, in snapshot order)."""

    snapshots: Snapshots
    features: pd.DataFrame
    triggers: tuple[str, ...]

    def rows(self, keep: np.ndarray) -> TimingFrame:
        return TimingFrame(
            self.snapshots.subset(keep),
            self.features.loc[keep].reset_index(drop=True),
            self.triggers,
        )


def timing_frame(
    snapshots: Snapshots,
    signals: pd.DataFrame,
    triggers: tuple[str, ...],
    windows: tuple[int, ...],
    fit_at: np.ndarray,
) -> TimingFrame:
    """Every snapshot's trigger features and its fit probability (`fit_at[account, date]`)."""
    features = signal_features(
        signals, snapshots.accounts, snapshots.account, snapshots.day, triggers, windows
    )
    features[FIT_FEATURE] = fit_at[snapshots.account, snapshots.date].astype(np.float32)
    return TimingFrame(snapshots, features, triggers)


def feature_names(triggers: tuple[str, ...], windows: tuple[int, ...]) -> list[str]:
    return [*trigger_feature_names(triggers, windows), FIT_FEATURE]
