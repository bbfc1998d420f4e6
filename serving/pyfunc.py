"""The registered model: an MLflow pyfunc taking raw account rows, returning the scored schema."""

from __future__ import annotations

import json

import lightgbm as lgb
import mlflow.pyfunc
import pandas as pd

from icpfit.serving.schema import Provenance
from icpfit.serving.scoring import score_accounts
from icpfit.serving.treeshap import TreeShap

DEFAULT_PARAMS = {"reasons": 3, "contributions": False, **Provenance().params()}


class IcpFitModel(mlflow.pyfunc.PythonModel):
    @classmethod
    def from_parts(cls, bundle: dict, booster: lgb.Booster) -> IcpFitModel:
        """The same model before it is logged (a retrain compares it with the champion)."""
        model = cls()
        model.bundle, model.booster = bundle, booster
        return model

    @property
    def explainer(self) -> TreeShap:
        """The exact TreeSHAP tables of the booster, built on first use in each process and
        never pickled with the model (they are rebuilt from the booster in a few seconds)."""
        if getattr(self, "_explainer", None) is None:
            self._explainer = TreeShap.from_booster(self.booster, self.bundle["best_iteration"])
        return self._explainer

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_explainer"}

    def load_context(self, context) -> None:
        with open(context.artifacts["bundle"], encoding="utf-8") as handle:
            self.bundle = json.load(handle)
        self.booster = lgb.Booster(model_file=context.artifacts["booster"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """`params`: reasons (how many for and against, default 3), contributions (JSON), and
        the provenance stamped on every row (model_name, model_version, scored_at)."""
        params = {**DEFAULT_PARAMS, **(params or {})}
        return score_accounts(
            pd.DataFrame(model_input),
            self.bundle,
            self.booster,
            reasons=int(params["reasons"]),
            contributions=bool(params["contributions"]),
            explainer=self.explainer,
            provenance=Provenance.from_params(params),
        )
