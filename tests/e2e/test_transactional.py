"""A business that sells in repeat orders, with no MRR, through the real command line:

icpfit sample-data --business transactional --out data --accounts 3000 --seed 3
icpfit validate --config data/icpfit.yaml        # labels.mode: bookings, no revenue.csv
icpfit train --config data/icpfit.yaml
icpfit score --input data/accounts.csv ...
"""

from __future__ import annotations

import pandas as pd
from mlflow import MlflowClient

from tests.e2e.cli import invoke, store_in


def holdout_row(output: str, scorer: str) -> dict[str, float]:
    """One scorer's row of the holdout table `icpfit train` prints."""
    lines = output.splitlines()
    header = next(line for line in lines if "ROC-AUC" in line)
    row = next(line for line in lines if line.strip("│┃ ").startswith(f"{scorer} "))
    names = [cell.strip() for cell in header.strip("┃").split("┃")]
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    return {name: float(value) for name, value in zip(names[1:], cells[1:], strict=True)}


def test_a_transactional_export_trains_on_bookings_labels_and_scores(tmp_path):
    with store_in(tmp_path):
        args = ("--out", "data", "--accounts", "3000", "--seed", "3")
        invoke("sample-data", *args, "--business", "transactional")
        assert not (tmp_path / "data" / "revenue.csv").exists()
        report = invoke("validate", "--config", "data/icpfit.yaml").stdout
        assert "0 errors" in report and "no repeat order in the window" in report

        trained = invoke("train", "--config", "data/icpfit.yaml").stdout
        model = holdout_row(trained, "model")
        assert model["ROC-AUC"] > 0.75 and model["lift@10%"] > 2, trained
        client = MlflowClient()
        version = client.get_model_version_by_alias("icp-fit", "champion")
        assert str(version.version) == "1"
        params = client.get_run(version.run_id).data.params
        assert params["label_mode"] == "bookings" and int(params["cohort_ideal"]) > 50

        data = tmp_path / "data"
        invoke(
            "score",
            "--input",
            data / "accounts.csv",
            "--output",
            "scored.csv",
            "--technologies",
            data / "technologies.csv",
            "--signals",
            data / "signals.csv",
            "--as-of",
            "2026-09-30",
        )
        accounts = pd.read_csv(data / "accounts.csv")
        scored = pd.read_csv(tmp_path / "scored.csv")
        assert list(scored["account_id"]) == list(accounts["account_id"])
        assert scored["error"].isna().all() and (scored["model_version"] == 1).all()
        truth = pd.read_csv(data / "truth" / "ground_truth.csv")
        rank = scored["fit_probability"].corr(truth["true_fit"], method="spearman")
        assert rank > 0.5, rank
