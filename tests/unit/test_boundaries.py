"""The registry is the only hand-off: serving never imports training code (DESIGN §1)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVING = Path(__file__).resolve().parents[2] / "serving"


def test_serving_never_imports_training():
    imported = set()
    for path in SERVING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert imported, "no imports found: the check would pass vacuously"
    assert not [m for m in imported if m.startswith(("icpfit.training", "training"))]
