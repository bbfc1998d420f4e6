"""A registered version runs where icpfit was never installed (issue 17): `mlflow models predict
--env-manager uv` builds a fresh environment from the version's own pinned requirements and
runs the code logged with it. The slowest test of the suite (it installs MLflow and LightGBM
into a new environment); kept to one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from tests.e2e.conftest import MODEL, Registry

BIN = Path(sys.executable).parent


def test_a_version_predicts_in_a_fresh_uv_environment_without_icpfit(shared: Registry, tmp_path):
    uri = f"models:/{MODEL}@champion"
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path)))
    requirements = (local / "requirements.txt").read_text().split()
    assert all("==" in line for line in requirements), requirements
    assert {r.split("==")[0] for r in requirements} >= {"mlflow", "lightgbm", "pandas", "numba"}
    logged = {p.name for p in (local / "code" / "icpfit").iterdir()}
    assert {"serving", "features", "config.py"} <= logged
    assert "training" not in logged, "serving must not need training code"

    rows = shared.model_rows(25)
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "UV_"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        MLFLOW_TRACKING_URI=shared.uri,
    )
    assert shutil.which("uv", path=env["PATH"]), "uv is a dev dependency"
    predicted = tmp_path / "predicted.json"
    done = subprocess.run(
        [str(BIN / "mlflow"), "models", "predict", "-m", uri, "-i", str(request)]
        + ["-t", "json", "--env-manager", "uv", "-o", str(predicted)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Creating virtual environment at: " in done.stderr, "uv built a fresh environment"
    installed = set(re.findall(r"^ \+ ([\w.-]+)==", done.stderr, flags=re.MULTILINE))
    assert {"lightgbm", "numba", "mlflow"} <= installed, "the version's requirements were installed"
    assert not any(name.startswith("icpfit") for name in installed)

    scored = pd.DataFrame(json.loads(predicted.read_text())["predictions"])
    here = mlflow.pyfunc.load_model(uri).predict(rows)
    assert list(scored["account_id"]) == list(rows["account_id"])
    np.testing.assert_allclose(scored["fit_probability"], here["fit_probability"], rtol=1e-9)
    assert list(scored["fit_tier"]) == list(here["fit_tier"])
    assert list(scored["reason_1"]) == list(here["reason_1"])
    version = shared.client().get_model_version_by_alias(MODEL, "champion").version
    assert set(scored["model_version"]) == {str(version)}
