"""The notebooks run top to bottom on small sample data (nbclient, a real kernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


@pytest.mark.parametrize("name", ["quarterly_retrain.ipynb", "explain_scores_for_sales.ipynb"])
def test_notebook_runs_and_is_committed_without_outputs(name, tmp_path, monkeypatch):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert len(outputs) >= len(code) - 3, "most cells show something"
    assert list(tmp_path.glob("*/mlflow.db")), "the notebook used its own tracking store"
