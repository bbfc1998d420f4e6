"""What a version carries besides its model (issue 17): its code, its settings as params, its
description; and what icpfit keeps of MLflow's own output."""

from __future__ import annotations

import ast
import logging
import sys

import pandas as pd

from icpfit.model_code import pinned_requirements, serving_package
from icpfit.quiet import mlflow_prints_hidden
from icpfit.registry_descriptions import (
    STANDING,
    fit_version_description,
    with_standing,
)
from icpfit.registry_params import config_hash, flattened, settings_params
from tests.conftest import make_config


def test_the_logged_code_is_serving_and_features_and_imports_no_training(tmp_path):
    root = tmp_path / "code" / "icpfit"
    serving_package(tmp_path / "code")
    assert (root / "serving" / "pyfunc.py").is_file() and (root / "features" / "frame.py").is_file()
    assert not (root / "training").exists() and not (root / "usecases").exists()
    assert not list(root.rglob("__pycache__")) and not list(root.rglob("*_model_code.py"))
    for module in (root / "serving").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("icpfit.training", "icpfit.usecases")), module


def test_requirements_are_pinned_to_what_is_installed():
    pins = dict(line.split("==") for line in pinned_requirements())
    assert {"mlflow", "lightgbm", "numba", "pandas", "pyarrow", "numpy"} <= set(pins)
    assert pins["pandas"] == pd.__version__


def test_settings_flatten_to_params_within_mlflow_limits():
    config = make_config()
    params = settings_params(config, {"num_leaves": 8, "categorical_feature": [1, 2]}, {"A": 0.3})
    assert params["config.labels.mode"] == "subscription"
    assert params["config.tiers.A"] == str(config.tiers.A)
    assert params["lightgbm.num_leaves"] == "8" and "lightgbm.categorical_feature" not in params
    assert params["tier_threshold_A"] == "0.3" and params["seed"] == str(config.model.seed)
    assert not any(k.startswith("config.data.") for k in params), "paths are the datasets' job"
    assert dict(flattened({"a": "x" * 7000}, "p"))["p.a"].endswith("(cut)")
    assert all(len(v) <= 6000 for v in params.values())


def test_the_config_hash_follows_the_settings_not_the_layout():
    config = make_config()
    assert config_hash(config) == config_hash(make_config())
    changed = make_config(labels={"top_ltv_share": 0.3})
    assert config_hash(changed) != config_hash(config)


def test_a_description_keeps_one_standing_paragraph():
    metrics = pd.Series(
        {"roc_auc": 0.9, "roc_auc_low": 0.85, "roc_auc_high": 0.94, "accounts": 300, "ideal": 40}
    )
    text = fit_version_description(
        "2026Q3", "2026-09-30", "2025-10-01", 900, metrics, 4, "first model", "champion since x"
    )
    assert "ROC-AUC 0.900 [95% CI 0.850, 0.940]" in text
    assert "on 300 later-decided accounts (40 ideal)" in text
    assert "lift in the top 10%: not measured" in text
    again = with_standing(with_standing(text, "challenger since y"), "champion again since z")
    assert again.count(STANDING) == 1 and again.endswith("champion again since z")
    assert again.split(STANDING)[0] == text.split(STANDING)[0]
    assert with_standing(None, "champion since z") == "champion since z"


def test_registration_prints_are_hidden_unless_verbose(capsys):
    from mlflow.utils.logging_utils import eprint

    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    try:
        for shown, expected in ((logging.WARNING, ""), (logging.INFO, "Created version\n")):
            mlflow_logger.setLevel(shown)
            with mlflow_prints_hidden():
                eprint("Created version")
            sys.stderr.flush()
            assert capsys.readouterr().err == expected
    finally:
        mlflow_logger.setLevel(level)
