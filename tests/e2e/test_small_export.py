"""Exports of a few hundred accounts: `validate` says plainly whether one can train; with the
minimums lowered a 250-account export trains on repeated cross-validation and says its figures
are wide; noise is not promoted; `--promote never` holds."""

from __future__ import annotations

import yaml
from mlflow import MlflowClient

from tests.e2e.cli import invoke, store_in

LENIENT = {"ideal": {"train": 6, "fold": 1}, "non_ideal": {"train": 6, "fold": 1}}


def test_validate_and_train_say_a_small_export_cannot_train(tmp_path):
    with store_in(tmp_path):
        invoke("sample-data", "--out", "data", "--accounts", "300", "--seed", "2")
        report = invoke("validate", "--config", "data/icpfit.yaml").stdout
        assert "Enough to train?" in report and "(min 20)" in report
        verdict = " ".join(report[report.index("cannot train yet") :].split("\n")[0].split())
        assert verdict.startswith("cannot train yet: need ")
        assert "more ideal customers (25 in all for the smallest backtest, " in verdict
        refused = invoke("train", "--config", "data/icpfit.yaml", code=1)
        assert verdict in " ".join(refused.stderr.split())
        assert MlflowClient().search_registered_models() == []


def aliases() -> dict[str, str]:
    return {k: str(v) for k, v in MlflowClient().get_registered_model("icp-fit").aliases.items()}


def test_a_small_export_trains_with_wide_intervals_and_noise_is_not_promoted(tmp_path):
    with store_in(tmp_path):
        invoke("sample-data", "--out", "data", "--accounts", "250", "--seed", "2")
        config = yaml.safe_load((tmp_path / "data" / "icpfit.yaml").read_text())
        (tmp_path / "data" / "icpfit.yaml").write_text(
            yaml.safe_dump({**config, "minimums": LENIENT})
        )
        report = " ".join(invoke("validate", "--config", "data/icpfit.yaml").stdout.split())
        assert "enough to train, but too few for time-ordered folds" in report
        assert "repeated cross-validation" in report and "wide" in report

        # an earlier cutoff, made champion by hand
        first = invoke(
            "train", "--config", "data/icpfit.yaml", "--as-of", "2026-03-31", "--promote", "force"
        ).stdout
        text = " ".join(first.split())
        assert "repeated stratified cross-validation" in text and "wide" in text
        assert "ROC-AUC [95% CI]" in first and "accounts judged" in text
        assert aliases() == {"champion": "1"}

        # the next quarter's retrain on a handful of new accounts: whatever its point figures,
        # it is not promoted unless the paired interval clears zero, and the reason says so
        second = " ".join(invoke("train", "--config", "data/icpfit.yaml").stdout.split())
        decision = second[second.index("Registered icp-fit v2 as ") :]
        if decision.startswith("Registered icp-fit v2 as champion"):
            assert "rule holds" in decision and "95% CI +" in decision
        else:
            assert "kept the champion" in decision or "nothing to judge it against" in decision
            assert aliases() == {"champion": "1", "challenger": "2"}

        before = aliases()["champion"]
        third = " ".join(
            invoke("train", "--config", "data/icpfit.yaml", "--promote", "never").stdout.split()
        )
        assert "Registered icp-fit v3 as challenger: --promote never" in third
        assert aliases()["champion"] == before
