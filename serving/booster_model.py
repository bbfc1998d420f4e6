"""What both registered pyfuncs share: a LightGBM booster and a plain-data bundle, logged as
two artifacts (`booster`, `bundle`) and read back by `load_context`."""

from __future__ import annotations

import json

import lightgbm as lgb
import mlflow.pyfunc


class BoosterModel(mlflow.pyfunc.PythonModel):
    @classmethod
    def from_parts(cls, bundle: dict, booster: lgb.Booster) -> BoosterModel:
        """The same model before it is logged (a retrain compares it with the champion)."""
        model = cls()
        model.bundle, model.booster = bundle, booster
        return model

    def load_context(self, context) -> None:
        with open(context.artifacts["bundle"], encoding="utf-8") as handle:
            self.bundle = json.load(handle)
        self.booster = lgb.Booster(model_file=context.artifacts["booster"])
