"""The registered timing model: an MLflow pyfunc taking timing features, returning P(in market).

Its input is one row per account as of a date: for each trigger type, days since the last one
and counts in recent windows, for each level type in its bundle (`levels`; none in versions
registered before them) the latest reading and its change (features/snapshots.py builds them
from the signals table), and the account's fit probability from the fit model named in its
bundle. `icpfit queue` builds the
rows; any MLflow client can call it with the same columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icpfit.serving.booster_model import BoosterModel
from icpfit.serving.inputs import ModelRefusal


class IcpTimingModel(BoosterModel):
    @property
    def features(self) -> list[str]:
        return list(self.bundle["features"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """`timing_score` per row: P(a new opportunity within the horizon). A row with a blank
        or non-numeric feature gets an `error` instead; a missing column refuses the request."""
        frame = pd.DataFrame(model_input)
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise ModelRefusal(f"the timing model needs the columns {', '.join(missing)}")
        X = frame[self.features].apply(pd.to_numeric, errors="coerce").astype(float)
        bad = ~np.isfinite(X.to_numpy()).all(axis=1)
        score = np.full(len(X), np.nan)
        if (~bad).any():
            score[~bad] = self.booster.predict(X[~bad], num_iteration=self.bundle["rounds"])
        error = pd.Series(None, index=frame.index, dtype=object)
        if bad.any():
            error[bad] = [
                "blank or non-numeric: " + ", ".join(X.columns[~np.isfinite(row)])
                for row in X.to_numpy()[bad]
            ]
        return pd.DataFrame({"timing_score": score, "error": error}, index=frame.index)
