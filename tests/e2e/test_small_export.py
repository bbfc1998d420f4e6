"""A 300-account export: `validate` says plainly that it cannot train yet, and `train` refuses
with the same counts, leaving the registry empty."""

from __future__ import annotations

from mlflow import MlflowClient

from tests.e2e.cli import invoke, store_in


def test_validate_and_train_say_a_small_export_cannot_train(tmp_path):
    with store_in(tmp_path):
        invoke("sample-data", "--out", "data", "--accounts", "300", "--seed", "2")
        report = invoke("validate", "--config", "data/icpfit.yaml").stdout
        assert "Enough to train?" in report and "(min 20)" in report
        assert "cannot train yet: need" in report and "more ideal customers (train" in report
        verdict = report[report.index("cannot train yet") :].split("\n")[0]
        refused = invoke("train", "--config", "data/icpfit.yaml", code=1)
        assert verdict in " ".join(refused.stderr.split())
        assert MlflowClient().search_registered_models() == []
