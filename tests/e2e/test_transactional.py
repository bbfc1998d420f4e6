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


def test_a_transactional_export_trains_on_bookings_labels_and_scores(tmp_path):
    with store_in(tmp_path):
        args = ("--out", "data", "--accounts", "3000", "--seed", "3")
        invoke("sample-data", *args, "--business", "transactional")
        assert not (tmp_path / "data" / "revenue.csv").exists()
        report = invoke("validate", "--config", "data/icpfit.yaml").stdout
        assert "0 errors" in report and "no repeat order in the window" in report

        trained = invoke("train", "--config", "data/icpfit.yaml").stdout
        # the first model is held to the promotion rule against the best baseline; whatever it
        # decided, it says so with the numbers, and the version can be made champion by hand
        decided = " ".join(trained.split())
        assert "Registered icp-fit v1 as " in decided and "best baseline (" in decided
        if "as challenger" in decided:
            assert "registered but not made champion" in decided
            invoke("promote", "1")
        client = MlflowClient()
        version = client.get_model_version_by_alias("icp-fit", "champion")
        assert str(version.version) == "1"
        run = client.get_run(version.run_id).data
        assert run.metrics["model_roc_auc"] > 0.75 and run.metrics["model_lift_top_decile"] > 2
        assert f"{run.metrics['model_roc_auc']:.3f} [" in trained  # shown with its interval
        params = run.params
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
