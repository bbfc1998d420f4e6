"""The registered model: an MLflow pyfunc taking raw account rows, returning the scored schema."""

from __future__ import annotations

import json
from dataclasses import replace

import lightgbm as lgb
import mlflow.pyfunc
import pandas as pd

from icpfit.serving.schema import Provenance
from icpfit.serving.scoring import score_accounts
from icpfit.serving.treeshap import TreeShap

DEFAULT_PARAMS = {"reasons": 3, "contributions": False, **Provenance().params()}


def registered_params(model_name: str, model_version: str) -> dict:
    """The params a registered version declares, with its own name and version as defaults:
    MLflow's server and spark_udf fill in a default the caller did not send, so every row they
    return names the version that scored it."""
    return {**DEFAULT_PARAMS, **Provenance(model_name, model_version).params()}


def timed(provenance: Provenance) -> Provenance:
    """`provenance`, scored now when the caller gave no time (a REST request)."""
    if provenance.scored_at:
        return provenance
    return replace(provenance, scored_at=Provenance.now("", "").scored_at)


def json_nulls(scored: pd.DataFrame) -> pd.DataFrame:
    """Missing numbers (an error row's probability) as <NA>, which MLflow's server writes as
    JSON null; NaN it writes as the token NaN, which strict JSON parsers refuse."""
    return scored.astype({c: "Float64" for c in scored.select_dtypes("float64").columns})


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
        the provenance stamped on every row (model_name, model_version, scored_at; the logged
        signature defaults the first two to this version, the time is now when not given).

        Called through MLflow (a context: REST, spark_udf, pyfunc.load_model), missing numbers
        come back as <NA> for JSON; icpfit's own callers pass no context and get NaN."""
        params = {**DEFAULT_PARAMS, **(params or {})}
        scored = score_accounts(
            pd.DataFrame(model_input),
            self.bundle,
            self.booster,
            reasons=int(params["reasons"]),
            contributions=bool(params["contributions"]),
            explainer=self.explainer,
            provenance=timed(Provenance.from_params(params)),
        )
        return scored if context is None else json_nulls(scored)
