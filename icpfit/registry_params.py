"""What a retrain's run records so that it can be reproduced (issue 17): every setting as a
param (the config flattened, the registered booster's LightGBM parameters, the tier
thresholds, the split), the config file itself, and each input table as an MLflow dataset
whose source is the file it was read from and whose digest is that file's SHA-256.

A later retrain with the same config file, on files with the same digests, as of the same date,
builds the identical model (`tests/e2e/test_reproduce.py` does it)."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from icpfit.config import IcpConfig
from icpfit.digests import file_sha256

TABLES = ("accounts", "opportunities", "revenue", "technologies", "signals")
MAX_VALUE = 6000
"""MLflow's limit on a param's value; a longer one is cut with a note (the config file, logged
whole, keeps it)."""
SHA256_TAG = "icpfit.sha256"


def config_hash(config: IcpConfig) -> str:
    """SHA-256 of the validated settings (defaults filled in), independent of the YAML's
    layout and comments: two runs with the same hash trained with the same settings."""
    settings = config.model_dump(mode="json", exclude={"source"})
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


PARAM_KEY = re.compile(r"^[\w.\- :/]{1,200}$")
"""What MLflow accepts in a param's name (within its 250 characters, prefix included)."""


def flattened(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """`{"labels": {"mode": "x"}}` as ("config.labels.mode", "x"); lists as JSON. A mapping
    keyed by the user's own words (column names, labels: "Annual Revenue ($)") is one param
    holding its JSON, since MLflow refuses such characters in a param's name."""
    if isinstance(value, Mapping) and value and all(PARAM_KEY.match(str(k)) for k in value):
        for key, inner in value.items():
            yield from flattened(inner, f"{prefix}.{key}")
    else:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        yield prefix, text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 30] + " … (cut)"


def settings_params(
    config: IcpConfig, lightgbm: Mapping[str, Any], thresholds: Mapping[str, float]
) -> dict[str, str]:
    """The params that make a run reproducible, beside the ones `_log_run` already logs."""
    settings = config.model_dump(mode="json", exclude={"source", "data"})
    return {
        **dict(flattened(settings, "config")),
        **{
            f"lightgbm.{k}": text
            for k, v in lightgbm.items()
            if k != "categorical_feature"
            for _, text in flattened(v, k)
        },
        **{f"tier_threshold_{tier}": f"{value:.10g}" for tier, value in thresholds.items()},
        "seed": str(config.model.seed),
        "config_sha256": config_hash(config),
        "config_file_sha256": (
            file_sha256(config.source) if config.source and config.source.is_file() else "none"
        ),
    }


def input_files(config: IcpConfig) -> dict[str, Path]:
    """The export's tables this config reads, by name, as absolute paths."""
    paths = {table: config.path_of(table) for table in TABLES}
    return {table: path.resolve() for table, path in paths.items() if path is not None}


def log_inputs(config: IcpConfig, frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Each input table as a dataset of the run: the file it came from as its source, the
    file's SHA-256 as its digest (cut to MLflow's 36 characters; the whole one as the input's
    tag `icpfit.sha256`). Returns the whole digests by table. The config file is logged too."""
    digests = {}
    for table, path in input_files(config).items():
        digest = file_sha256(path)
        with warnings.catch_warnings():  # "can be interpreted in multiple ways": a local file
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                frames[table], source=str(path), name=table, digest=digest[:32]
            )
        mlflow.log_input(dataset, context="training", tags={SHA256_TAG: digest})
        digests[table] = digest
    if config.source is not None:
        mlflow.log_artifact(str(config.source), artifact_path="config")
    return digests
