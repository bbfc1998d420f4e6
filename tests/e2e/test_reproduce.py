"""A run reproduces from what it logged (issue 17): its config file, its params and the digests
of its input files are enough to train the identical model again, in another store."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow

from icpfit.digests import file_sha256
from tests.e2e.cli import invoke, store_in
from tests.e2e.conftest import MODEL, Registry


def booster_text(uri: str, folder: Path) -> str:
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(folder)))
    return (local / "artifacts" / "booster.txt").read_text()


def test_a_retrain_from_the_logged_config_params_and_digests_is_identical(
    shared: Registry, tmp_path: Path
):
    client = shared.client()
    original = client.get_model_version(MODEL, "1")
    run = client.get_run(original.run_id)
    params = run.data.params

    # the inputs: the files the run names, checked against the digests it logged
    work = tmp_path / "work"
    work.mkdir()
    for logged in run.inputs.dataset_inputs:
        source = Path(json.loads(logged.dataset.source)["uri"])
        digest = {t.key: t.value for t in logged.tags}["icpfit.sha256"]
        assert file_sha256(source) == digest, f"{source} changed since the run"
        (work / source.name).symlink_to(source)
    config = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="config/icpfit.yaml", dst_path=str(tmp_path)
        )
    )
    assert file_sha256(config) == params["config_file_sha256"]
    (work / "icpfit.yaml").write_bytes(config.read_bytes())
    before = booster_text(f"models:/{MODEL}/1", tmp_path / "before")

    with store_in(tmp_path):
        invoke("train", "--config", work / "icpfit.yaml", "--as-of", params["as_of"])
        again = mlflow.MlflowClient()
        [version] = again.search_model_versions(f"name='{MODEL}'")
        rerun = again.get_run(version.run_id)
        after = booster_text(f"models:/{MODEL}/{version.version}", tmp_path / "after")

    assert after == before, "the same config, data and cutoff grew a different model"
    assert rerun.data.params == params, "every logged setting is the same"
