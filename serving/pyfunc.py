"""The registered model: an MLflow pyfunc taking raw account rows, returning the scored schema."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from mlflow.exceptions import MlflowException

from icpfit.serving.booster_model import BoosterModel
from icpfit.serving.inputs import ModelRefusal
from icpfit.serving.schema import Provenance
from icpfit.serving.scoring import score_accounts
from icpfit.serving.treeshap import TreeShap

DEFAULT_PARAMS = {"reasons": 3, "contributions": False, **Provenance().params()}
MAX_REASONS = 10
"""As `icpfit score --reasons`: a request asking for more is refused, not computed for minutes."""


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


class IcpFitModel(BoosterModel):
    @property
    def explainer(self) -> TreeShap:
        """The exact TreeSHAP tables of the booster, built on first use in each process and
        never pickled with the model (they are rebuilt from the booster in a few seconds)."""
        if getattr(self, "_explainer", None) is None:
            self._explainer = TreeShap.from_booster(self.booster, self.bundle["best_iteration"])
        return self._explainer

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_explainer"}

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """`params`: reasons (how many for and against, default 3), contributions (JSON), and
        the provenance stamped on every row (model_name, model_version, scored_at; the logged
        signature defaults the first two to this version, the time is now when not given).

        Called through MLflow (a context: REST, spark_udf, pyfunc.load_model), missing numbers
        come back as <NA> for JSON, and a request that cannot be scored at all is refused with
        a message and no stack trace (`refusal`); icpfit's own callers pass no context, get NaN
        and the exception itself."""
        params = {**DEFAULT_PARAMS, **(params or {})}
        reasons = reasons_asked(params["reasons"])
        try:
            scored = score_accounts(
                pd.DataFrame(model_input),
                self.bundle,
                self.booster,
                reasons=reasons,
                contributions=bool(params["contributions"]),
                explainer=self.explainer,
                provenance=timed(Provenance.from_params(params)),
            )
        except MlflowException:
            raise
        except Exception as exc:
            if context is None:
                raise
            raise refusal(exc) from None
        return scored if context is None else json_nulls(scored)


def reasons_asked(value) -> int:
    """The `reasons` param as a count from 0 to MAX_REASONS; anything else is refused (HTTP 400
    through MLflow's server)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number.is_integer() and 0 <= number <= MAX_REASONS):
        raise ModelRefusal(f"reasons: {value!r} is not a whole number from 0 to {MAX_REASONS}")
    return int(number)


def refusal(exc: Exception) -> MlflowException:
    """An error scoring a whole request as MLflow's server answers it: HTTP 400 with this
    message and no stack trace (any other exception it answers with its traceback)."""
    return ModelRefusal(
        f"icpfit could not score this request: {type(exc).__name__}: {exc} (a row with a bad "
        "cell gets its own error; this failed for the request as a whole)"
    )
