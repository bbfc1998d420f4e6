"""The scored table (DESIGN §8), defined once: its columns in order, their types, and the
provenance stamp. The pandas engine, the Spark engine and the REST model all take their layout
from here, so a scored row reads the same whichever path made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa

SCORES = (
    "account_id",
    "fit_probability",
    "fit_score",
    "fit_tier",
    "disqualified_reason",
    "data_coverage",
)
PROVENANCE = ("model_name", "model_version", "scored_at")
NUMBER_TYPES = {"fit_probability": "double", "data_coverage": "double", "fit_score": "bigint"}
ARROW_TYPES = {"double": pa.float64(), "bigint": pa.int64(), "string": pa.string()}


@dataclass(frozen=True)
class Provenance:
    """Which registered model version scored a row, and when (missing outside the registry)."""

    model_name: str | None = None
    model_version: str | None = None
    scored_at: str | None = None

    @classmethod
    def now(cls, model_name: str, model_version: str) -> Provenance:
        scored_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(model_name, model_version, scored_at)

    def params(self) -> dict[str, str]:
        """As the pyfunc's string params (MLflow params have no null): '' for missing."""
        return {name: getattr(self, name) or "" for name in PROVENANCE}

    @classmethod
    def from_params(cls, params: dict) -> Provenance:
        return cls(*(str(params.get(name) or "") or None for name in PROVENANCE))


def word_columns(reasons: int) -> list[str]:
    return [f"{kind}_{k + 1}" for kind in ("reason", "risk") for k in range(reasons)]


def scored_columns(reasons: int, contributions: bool = False) -> list[str]:
    """The output columns in order: scores, reasons and risks, contributions, provenance, error."""
    extra = ["contributions"] if contributions else []
    return [*SCORES, *word_columns(reasons), *extra, *PROVENANCE, "error"]


def column_type(name: str) -> str:
    return NUMBER_TYPES.get(name, "string")


def arrow_schema(columns: list[str]) -> pa.Schema:
    return pa.schema([(c, ARROW_TYPES[column_type(c)]) for c in columns])


def spark_ddl(columns: list[str], overrides: dict[str, str] | None = None) -> str:
    types = {c: column_type(c) for c in columns} | (overrides or {})
    return ", ".join(f"{c} {types[c]}" for c in columns)


def empty_scored(reasons: int, contributions: bool = False) -> pd.DataFrame:
    columns = scored_columns(reasons, contributions)
    dtypes = {"double": float, "bigint": object, "string": object}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[column_type(c)]) for c in columns})


def stamp(scored: pd.DataFrame, provenance: Provenance) -> pd.DataFrame:
    """The one place provenance is added; columns come out in the order of `scored_columns`."""
    stamped = scored.assign(**{name: getattr(provenance, name) for name in PROVENANCE})
    first = [c for c in stamped.columns if c not in (*PROVENANCE, "error")]
    return stamped[[*first, *PROVENANCE, "error"]]
