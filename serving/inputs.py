"""What a model was trained with, and whether account rows give it (issue 13: never guess).

A model reads three families of input: account columns (firmographic and behavioural
attributes), technologies (the delimited tech-stack column) and signals (one count column per
signal type, `signals_<type>_12m`). A family the model uses that the input lacks entirely would
be read as "none" — every account without technologies, without signals — and silently move
tiers, so scoring refuses. A family that is present but blank for some rows is scored as unknown
for those rows and counted, so the user is told how many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from icpfit.features.parsing import clean_text

TECHNOLOGIES = "technologies"


class ModelRefusal(MlflowException):
    """A request the model itself refuses, answered by MLflow's server with HTTP 400 and this
    message only. The server prefixes the message of any MlflowException raised in predict
    with the request itself ("Failed to predict data '<up to 60 rows>'"), which would send
    account data back in an error body; a refusal keeps its own message when given one that
    merely ends with it."""

    def __init__(self, message: str):
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._own

    @message.setter
    def message(self, value: str) -> None:
        own = getattr(self, "_own", None)
        if own is None or not str(value).endswith(own):
            self._own = str(value)


class MissingInputs(ModelRefusal, ValueError):
    """The input lacks a whole family of inputs the model was trained with. An MlflowException,
    so that `mlflow models serve` answers HTTP 400 with this message, not 'unexpected error'."""


@dataclass(frozen=True)
class ModelInputs:
    account_columns: tuple[str, ...]
    """Canonical names of the account columns the model's features read."""
    technologies: bool
    signal_columns: tuple[str, ...]
    """The signal count features, as columns of the account rows."""
    signal_types: tuple[str, ...]
    tech_stack_column: str
    export_names: dict[str, str]
    """Canonical account column -> the export's name, for messages in the user's words."""

    @classmethod
    def of(cls, bundle: dict[str, Any]) -> ModelInputs:
        """The inputs of the features the booster splits on (all features for a model logged
        before that was recorded)."""
        used = used_feature_names(bundle)
        specs = [s for s in bundle["specs"] if s["name"] in used]
        return cls(
            account_columns=tuple(
                dict.fromkeys(s["source"] for s in specs if s["kind"] in ("numeric", "categorical"))
            ),
            technologies=any(s["kind"] == "flag" for s in specs),
            signal_columns=tuple(s["name"] for s in specs if s["name"].startswith("signals_")),
            signal_types=tuple(s["source"] for s in specs if s["name"].startswith("signals_")),
            tech_stack_column=bundle["tech_stack"]["column"],
            export_names=dict(bundle["accounts_columns"]),
        )

    def export_name(self, column: str) -> str:
        return self.export_names.get(column, column)


def used_feature_names(bundle: dict[str, Any]) -> set[str]:
    """The features the booster splits on (every feature for a model that did not record it)."""
    used = bundle.get("used_features")
    return {s["name"] for s in bundle["specs"]} if used is None else set(used)


def missing_families(columns: Iterable[str], inputs: ModelInputs) -> list[str]:
    """One message per family the model uses that `columns` (canonical names) lack entirely."""
    given = set(columns)
    problems = []
    absent = [c for c in inputs.account_columns if c not in given]
    if absent:
        names = ", ".join(inputs.export_name(c) for c in absent)
        problems.append(
            f"this model uses the account column(s) {names}, which the input lacks: add them "
            "(a column you do not have can be added empty: its accounts are then scored as "
            "unknown for it, and counted)"
        )
    if inputs.technologies and inputs.tech_stack_column not in given:
        problems.append(
            "this model uses technologies: pass --technologies FILE or a "
            f"{inputs.export_name(inputs.tech_stack_column)} column"
        )
    absent = [c for c in inputs.signal_columns if c not in given]
    if absent:
        types = [
            t
            for t, c in zip(inputs.signal_types, inputs.signal_columns, strict=True)
            if c in absent
        ]
        problems.append(
            f"this model uses signals ({', '.join(types)}): pass --signals FILE or the count "
            f"columns {', '.join(absent)}"
        )
    return problems


def check_inputs(columns: Iterable[str], inputs: ModelInputs) -> None:
    """Raise MissingInputs naming every family the input lacks."""
    problems = missing_families(columns, inputs)
    if problems:
        raise MissingInputs("; ".join(problems))


def input_gaps(accounts: pd.DataFrame, inputs: ModelInputs) -> dict[str, int]:
    """Per input the model uses (in the export's names): rows where it is blank."""
    gaps = {}
    columns = [*inputs.account_columns, *inputs.signal_columns]
    if inputs.technologies:
        columns.append(inputs.tech_stack_column)
    for column in columns:
        if column in accounts:
            blank = int(clean_text(accounts[column].astype("string")).isna().sum())
            if blank:
                gaps[inputs.export_name(column)] = blank
    return gaps
