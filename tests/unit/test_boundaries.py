"""The registry is the only hand-off: serving never imports training code (DESIGN §1)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVING = Path(__file__).resolve().parents[2] / "serving"
FORBIDDEN = ("icpfit.training", "training")


def module_name(path: Path) -> str:
    """serving/treeshap/kernels.py -> icpfit.serving.treeshap.kernels (as installed)."""
    parts = path.relative_to(SERVING).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("icpfit", "serving", *parts))


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import in `source` (the code of `module`) names, relative imports
    resolved: `from ..training import fit` in icpfit.serving.x gives icpfit.training and
    icpfit.training.fit; `from icpfit import training` gives icpfit.training."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def reaches_training(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if m in FORBIDDEN or m.startswith(tuple(f"{f}." for f in FORBIDDEN))
    )


def test_the_check_catches_every_way_of_importing_training():
    kernels = "icpfit.serving.treeshap.kernels"
    for source in (
        "import icpfit.training.fit",
        "import icpfit.training as t",
        "from icpfit.training.fit import train_icp_model",
        "from icpfit import training",
        "from ...training import fit",
        "from ...training.fit import train_icp_model",
        "from ... import training",
        "def later():\n    from icpfit.training.registry import promote_version",
    ):
        assert reaches_training(imported_modules(source, kernels)), source
    assert reaches_training(imported_modules("from ..training import fit", "icpfit.serving.batch"))
    assert reaches_training(
        imported_modules("from .. import training", "icpfit.serving", is_package=True)
    )
    for source in (
        "from .planning import plan_blocks",
        "from ..reasons import attribute_text",
        "from ...features.frame import FeatureSpec",
        "from icpfit.features import frame",
        "import numpy as np",
    ):
        assert not reaches_training(imported_modules(source, kernels)), source


def test_serving_never_imports_training():
    files = sorted(SERVING.rglob("*.py"))
    assert any(path.parent != SERVING for path in files), "sub-packages (treeshap/) are checked"
    imported = {}
    for path in files:
        modules = imported_modules(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
        imported[module_name(path)] = modules
    assert sum(map(len, imported.values())) > 20, "no imports found: the check would be vacuous"
    assert any(m.startswith("icpfit.serving.treeshap.") for ms in imported.values() for m in ms), (
        "relative imports inside treeshap/ are resolved"
    )
    violations = {name: reaches_training(modules) for name, modules in imported.items()}
    assert not {name: bad for name, bad in violations.items() if bad}
