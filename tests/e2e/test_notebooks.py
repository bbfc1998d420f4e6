"""The notebooks run top to bottom on small sample data (nbclient, a real kernel), and what they
show agrees with the tracking store they wrote and with `icpfit score`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mlflow
import nbformat
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from nbclient import NotebookClient

from tests.e2e.cli import invoke

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


SIZES = (
    (re.compile(r"^ACCOUNTS = \d+", re.M), "ACCOUNTS = 2500"),
    (re.compile(r"generate_sample\(accounts=\d+"), "generate_sample(accounts=2000"),
)
"""The sample size each notebook generates, made smaller for the suite (the notebooks as
committed use a few thousand accounts; everything they show holds at these sizes too)."""


def execute(name: str, folder: Path, monkeypatch) -> list:
    """The notebook's code cells after a run in `folder`; it must be committed without outputs.
    It runs as committed but for the sample's size (`SIZES`)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    sized = 0
    for cell in code:
        for pattern, smaller in SIZES:
            cell.source, count = pattern.subn(smaller, cell.source)
            sized += count
    assert sized == 1, "each notebook sets its sample size once"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}
    ).execute()
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert len(outputs) >= len(code) - 3, "most cells show something"
    return code


def shown(cell) -> str:
    """What a cell printed or displayed, as text."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def images(code: list) -> int:
    return sum("image/png" in out.get("data", {}) for cell in code for out in cell.outputs)


def store_of(path: Path) -> tuple[str, MlflowClient]:
    assert path.is_file(), "the notebook used its own tracking store"
    uri = f"sqlite:///{path}"
    return uri, MlflowClient(tracking_uri=uri, registry_uri=uri)


def run_artifact(uri: str, version: str, path: str, folder: Path) -> Path:
    run_id = MlflowClient(uri, uri).get_model_version("icp-fit", version).run_id
    return Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=str(folder), tracking_uri=uri
        )
    )


def test_quarterly_retrain_registers_compares_and_promotes(tmp_path, monkeypatch):
    code = execute("quarterly_retrain.ipynb", tmp_path, monkeypatch)
    text = "\n".join(shown(cell) for cell in code)
    uri, client = store_of(tmp_path / "quarterly_retrain" / "mlflow.db")
    assert re.search(r"^v1 → champion: forced", text, re.M)
    assert client.get_model_version("icp-fit", "1").tags["forced"] == "true"
    assert re.search(r"^v2 → challenger$", text, re.M)
    assert {str(v.version) for v in client.search_model_versions("name='icp-fit'")} == {"1", "2"}

    # the comparison it prints and shows is the one logged with v2's run
    artifacts = tmp_path / "artifacts"
    summary = run_artifact(uri, "2", "compare/summary.txt", artifacts).read_text()
    assert summary.strip() and all(line in text for line in summary.strip().splitlines())
    migration = pd.read_csv(run_artifact(uri, "2", "compare/tier_migration.csv", artifacts))
    for row in migration.itertuples(index=False):
        counts = r"\s+".join(str(int(c)) for c in row[1:])
        assert re.search(rf"^{row[0]}\s+{counts}\s*$", text, re.M), row

    # it promotes exactly when the challenger is no worse on the newer holdout
    metrics = pd.read_csv(run_artifact(uri, "2", "compare/holdout_metrics.csv", artifacts))
    better = metrics.set_index("model").loc["B - A", "roc_auc"] >= 0
    champion = str(client.get_model_version_by_alias("icp-fit", "champion").version)
    if better:
        assert "v2 is the champion (was v1)" in text and champion == "2"
    else:
        assert "The champion stays" in text and champion == "1"

    # the report's pieces: the ICP filter's SQL as logged, and the plots
    sql = run_artifact(uri, "2", "icp_filter.sql", artifacts).read_text().strip()
    assert sql and sql in text
    assert images(code) >= 2


def test_explain_scores_for_sales_scores_explains_and_writes_the_crm_file(tmp_path, monkeypatch):
    code = execute("explain_scores_for_sales.ipynb", tmp_path, monkeypatch)
    folder = tmp_path / "explain_scores"
    _, client = store_of(folder / "mlflow.db")
    champion = str(client.get_model_version_by_alias("icp-fit", "champion").version)

    crm = pd.read_csv(folder / "crm_scores.csv")
    accounts = pd.read_csv(folder / "data" / "accounts.csv", dtype=str)
    assert list(crm["account_id"]) == list(accounts["account_id"])
    assert set(crm["model_version"].astype(str)) == {str(champion)}
    columns = [ast.literal_eval(shown(cell)) for cell in code if "crm_scores.csv" in cell.source]
    assert columns[-1] == list(crm.columns)

    # the tier counts it shows are the file's
    shown_counts = next(shown(cell) for cell in code if "value_counts" in cell.source)
    counts = {tier: int(n) for tier, n in re.findall(r"^([ABCDX])\s+(\d+)$", shown_counts, re.M)}
    assert counts == crm["fit_tier"].value_counts().to_dict()

    # the top A accounts it lists are the file's highest-scoring A accounts
    listed = next(shown(cell) for cell in code if 'scored["fit_tier"] == "A"' in cell.source)
    ids = re.findall(r"ACC-\d+", listed)
    tier_a = crm[crm["fit_tier"] == "A"].set_index("account_id")["fit_score"]
    assert ids and set(ids) <= set(tier_a.index)
    others = tier_a.drop(index=ids)
    assert len(others) == 0 or tier_a[ids].min() >= others.max()

    # one waterfall drawn; and the CRM file holds what `icpfit score` gives for the same accounts
    assert images(code) >= 1
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    invoke(
        "score",
        "--input",
        folder / "data" / "accounts.csv",
        "--technologies",
        folder / "data" / "technologies.csv",
        "--signals",
        folder / "data" / "signals.csv",
        "--as-of",
        "2026-09-30",
        "--output",
        tmp_path / "cli.csv",
    )
    cli = pd.read_csv(tmp_path / "cli.csv")
    np.testing.assert_allclose(crm["fit_probability"], cli["fit_probability"], rtol=1e-9)
    assert list(crm["fit_tier"]) == list(cli["fit_tier"])


def test_sales_development_morning_trains_both_models_and_reads_the_queue(tmp_path, monkeypatch):
    code = execute("sales_development_morning.ipynb", tmp_path, monkeypatch)
    text = "\n".join(shown(cell) for cell in code)
    folder = tmp_path / "sales_development_morning"
    uri, client = store_of(folder / "mlflow.db")
    assert re.search(r"^icp-fit v1 → champion: forced", text, re.M)
    assert re.search(r"^icp-timing v1 → champion: forced .*priority vs fit alone", text, re.M)
    timing = client.get_model_version("icp-timing", "1")
    assert timing.tags["fit_model"] == "icp-fit/1"
    # the three rows it reads are the queue's first three, as written to the file
    queue = pd.read_csv(folder / "queue.csv", dtype={"account_id": str})
    for row in queue.head(3).itertuples():
        assert f"#{row.rank} {row.account_id} — tier {row.fit_tier}" in text
        assert f"why now:   {row.why_now}" in text
    assert "Who to call today" in (folder / "queue.html").read_text()
