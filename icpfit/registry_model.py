"""The registered model itself: the version registered first, the pyfunc logged into it with a
signature that takes the export's raw cells, and the SHA-256 of each of its files as tags."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import AnyType, ColSpec, DataType, Schema

from icpfit.digests import digest_tags, file_digests
from icpfit.model_code import (
    logged_model_name,
    model_code,
    pinned_requirements,
    serving_package,
)
from icpfit.quiet import mlflow_prints_hidden
from icpfit.serving.pyfunc import registered_params
from icpfit.training.comparable import DECIDED, LTV, OOF, TARGET, ComparableModel


def register_and_log_model(candidate: ComparableModel, model_name: str, tmp: Path) -> ModelVersion:
    """Register the version first and log the model into it after, so the model's signature can
    name the version it is (a REST answer then says which version scored it, unasked); then the
    SHA-256 of each of its files is recorded as a version tag. A failure after registration is
    undone by `log_and_register`. The logged model carries the run's params, as `log_model`
    gives a model it creates itself."""
    run_params = mlflow.get_run(mlflow.active_run().info.run_id).data.params
    logged = mlflow.initialize_logged_model(name=logged_model_name(model_name), params=run_params)
    with mlflow_prints_hidden():
        version = mlflow.register_model(f"models:/{logged.model_id}", model_name)
    params = registered_params(model_name, str(version.version))
    log_model(candidate, logged_model_name(model_name), logged.model_id, params, tmp)
    record_digests(model_name, str(version.version), tmp / "registered")
    return version


def record_digests(name: str, version: str, folder: Path) -> None:
    """Tag the version with the SHA-256 of each file of its model, as a load downloads them."""
    folder.mkdir()
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(folder)
    )
    client = MlflowClient()
    for key, value in digest_tags(file_digests(Path(local))).items():
        client.set_model_version_tag(name, version, key, value)


def log_model(
    candidate: ComparableModel, name: str, model_id: str, params: dict, tmp: Path
) -> ModelInfo:
    """The candidate's own bundle and booster as the pyfunc's artifacts, `params` (with their
    defaults) in its signature; its holdout's first rows as the input example. Logged from code
    with the `icpfit` modules it imports and pinned requirements (`icpfit.model_code`), so the
    version loads in an environment that never installed icpfit."""
    model = candidate.model
    booster_path, bundle_path = tmp / "booster.txt", tmp / "bundle.json"
    model.booster.save_model(str(booster_path), num_iteration=model.bundle["best_iteration"])
    bundle_path.write_text(json.dumps(model.bundle))
    example = candidate.holdout.drop(columns=[TARGET, LTV, OOF, DECIDED], errors="ignore").head(3)
    inferred = infer_signature(example, model.predict(None, example, params), params)
    id_column = model.bundle["accounts_columns"].get("account_id", "account_id")
    signature = ModelSignature(
        inputs=raw_cells(inferred.inputs, id_column),
        outputs=inferred.outputs,
        params=inferred.params,
    )
    return mlflow.pyfunc.log_model(
        name=name,
        model_id=model_id,
        python_model=model_code("fit"),
        code_paths=[serving_package(tmp / "code")],
        artifacts={"booster": str(booster_path), "bundle": str(bundle_path)},
        signature=signature,
        input_example=with_nulls(example),
        pip_requirements=pinned_requirements(),
    )


def raw_cells(inferred: Schema, id_column: str) -> Schema:
    """The input as the export's cells: only the account id required, and a column inferred as
    a number typed as any value.

    Optional (`required=False`), a column may be missing from a JSON record (MLflow's server
    builds the frame with pandas, so that cell is blank, as a null would be) or from every
    record (MLflow then passes the frame on without it and the model refuses with
    MissingInputs, naming the columns it uses). Typed as any value: MLflow's server casts a
    column to its declared number type before the model sees it, so one cell like 'lots' would
    refuse the whole request; typed as any, the cell reaches the model, which gives that row an
    error, as `icpfit score` does."""
    return Schema(
        [
            ColSpec(
                c.type if c.type == DataType.string else AnyType(),
                c.name,
                required=c.name == id_column,
            )
            for c in inferred.inputs
        ]
    )


def with_nulls(frame: pd.DataFrame) -> pd.DataFrame:
    """Blanks as None, which MLflow writes to the serving example as JSON null (NaN it writes
    as the token NaN, which is not JSON)."""
    return frame.astype(object).where(frame.notna(), None)
