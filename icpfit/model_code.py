"""What a registered version carries so that it runs anywhere MLflow runs (issue 17): the code
that builds its pyfunc (`serving/*_model_code.py`, MLflow's "models from code"), the `icpfit`
modules that code imports (`code_paths`), and the exact versions of the libraries they need.

Only serving and feature code is logged: training code never loads with a model, so a version
that scores in a fresh environment also proves serving does not import training."""

from __future__ import annotations

import re
import shutil
from importlib.metadata import version
from pathlib import Path

import icpfit
import icpfit.features
import icpfit.serving

SERVING_DISTRIBUTIONS = (
    "mlflow",
    "lightgbm",
    "scipy",
    "numba",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "PyYAML",
)
"""What `icpfit.serving` imports, directly or through `icpfit.config` and `icpfit.features`."""

MODEL_CODE = {"fit": "fit_model_code.py", "timing": "timing_model_code.py"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*_model_code.py")


def logged_model_name(registered: str) -> str:
    """The logged model's name: the registered model's, without the characters MLflow refuses
    in a logged model's name (`/ : . % " '`; a registered name such as `main.sales.icp_fit`
    may have them)."""
    return re.sub(r"[/:.%\"']", "-", registered)


def pinned_requirements() -> list[str]:
    """`name==version` of each library serving needs, as installed in this environment."""
    return [f"{name}=={version(name)}" for name in SERVING_DISTRIBUTIONS]


def model_code(kind: str) -> str:
    """The file MLflow runs to build the `kind` ('fit' or 'timing') pyfunc."""
    return str(Path(icpfit.serving.__file__).parent / MODEL_CODE[kind])


def serving_package(folder: Path) -> str:
    """A copy of the `icpfit` package as serving imports it (its top-level modules, `features`
    and `serving`; not `training` or `usecases`), laid out as installed, in `folder`."""
    root = folder / "icpfit"
    shutil.copytree(Path(icpfit.serving.__file__).parent, root / "serving", ignore=IGNORED)
    shutil.copytree(Path(icpfit.features.__file__).parent, root / "features", ignore=IGNORED)
    for module in Path(icpfit.__file__).parent.glob("*.py"):
        shutil.copy2(module, root / module.name)
    return str(root)
