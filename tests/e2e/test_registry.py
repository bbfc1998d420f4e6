"""`icpfit train` / `promote` / `rollback` against a real MLflow SQLite store in a temp dir."""

from __future__ import annotations

import json
import re
import sqlite3

import mlflow
import pandas as pd
from mlflow import MlflowClient

from icpfit.cli import app
from icpfit.digests import file_sha256
from tests.e2e.cli import invoke, runner
from tests.e2e.conftest import MODEL, registry_state


def alias_version(client: MlflowClient, alias: str) -> str:
    return str(client.get_model_version_by_alias(MODEL, alias).version)


def test_first_model_is_champion_and_never_makes_a_challenger(shared):
    client = shared.client()
    # the first model is held to the rule against the best baseline, and passes it here
    first = " ".join(shared.first.split())
    assert "Registered icp-fit v1 as champion: first model, rule holds: ROC-AUC" in first
    assert "best baseline (" in first and "95% CI +" in first
    assert "Registered icp-fit v2 as challenger: --promote never" in shared.second
    assert alias_version(client, "champion") == "1"
    assert alias_version(client, "challenger") == "2"
    for scorer in ("model", "ICP rules", "logistic", "best single"):
        assert f"│ {scorer}" in shared.second


MLFLOW_NOISE = re.compile(
    r"INFO mlflow|WARNING mlflow|Successfully registered model|Created version '|"
    r"already exists\. Creating a new version|Downloading artifacts|UserWarning|cloudpickle|"
    r"alembic|View run",
    re.IGNORECASE,
)


def test_train_prints_nothing_of_mlflow_itself(shared):
    """icpfit's own progress and tables only (issue 17); --verbose would show MLflow's."""
    for output in (shared.first, shared.second):
        assert "Registered icp-fit v" in output
        assert [line for line in output.splitlines() if MLFLOW_NOISE.search(line)] == []


def test_versions_carry_quarter_as_of_metrics_and_the_decision(shared):
    client = shared.client()
    v2 = client.get_model_version(MODEL, "2")
    assert v2.tags["quarter"] == "2026Q3" and v2.tags["as_of"] == "2026-09-30"
    assert v2.tags["decision"] == "challenger" and float(v2.tags["roc_auc"]) > 0.6
    assert "ROC-AUC: candidate" in v2.description and ", champion " in v2.description
    assert "on the same" in v2.description and "95% CI" in v2.description
    # the description says what it learned from, its cutoff and figures with intervals
    assert "2026Q3 retrain, data as of 2026-09-30: trained on " in v2.description
    assert re.search(r"ROC-AUC 0\.\d{3} \[95% CI 0\.\d{3}, [01]\.\d{3}\]", v2.description)
    assert re.search(r"on [\d,]+ later-decided accounts \([\d,]+ ideal\)", v2.description)
    assert "Standing: challenger since " in v2.description
    assert "Standing: champion since " in client.get_model_version(MODEL, "1").description
    assert "ideal customer profile model" in client.get_registered_model(MODEL).description
    run = client.get_run(v2.run_id)
    assert run.info.run_name == "2026Q3"
    assert {
        "model_roc_auc",
        "model_roc_auc_low",
        "rules_roc_auc",
        "logistic_roc_auc",
        "single_column_roc_auc",
    } <= set(run.data.metrics)
    assert run.data.params["backtest_scheme"] == "quarters"
    assert run.data.params["backtest_folds"] == "4"
    assert run.data.params["recipe_tree_shape"] in ("default", "depth-3", "depth-2")
    assert float(v2.tags["roc_auc"]) == round(run.data.metrics["model_roc_auc"], 4)
    assert run.data.params["cohort_ideal"] != "0" and "hash_accounts" in run.data.params
    # every setting is a param; the config file and each input file (source, digest) logged
    params = run.data.params
    assert params["config.labels.mode"] == "subscription" and params["seed"] == "42"
    assert params["lightgbm.deterministic"] == "true" and int(params["lightgbm.num_leaves"]) > 1
    assert 0 < float(params["tier_threshold_A"]) < 1 and len(params["config_sha256"]) == 64
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"accounts", "opportunities", "revenue", "technologies", "signals"}
    accounts = inputs["accounts"]
    assert json.loads(accounts.dataset.source)["uri"] == str(shared.data / "accounts.csv")
    digest = {t.key: t.value for t in accounts.tags}["icpfit.sha256"]
    assert digest == file_sha256(shared.data / "accounts.csv")
    assert accounts.dataset.digest == digest[:32]
    assert "config/icpfit.yaml" in {a.path for a in client.list_artifacts(v2.run_id, "config")}
    artifacts = {a.path for a in client.list_artifacts(v2.run_id)}
    assert {
        "icp_filter.yaml",
        "icp_filter.sql",
        "importance.csv",
        "config.json",
        "report.html",
        "plots",
    } <= artifacts
    plots = {a.path for a in client.list_artifacts(v2.run_id, "plots")}
    assert {"plots/shap_summary.png", "plots/calibration.png", "plots/gains.png"} <= plots


def test_champion_loads_from_the_registry_and_scores_raw_rows(shared):
    rows = shared.model_rows(20)
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion")
    scored = model.predict(rows)
    assert list(scored["account_id"]) == list(rows["account_id"])
    assert scored["fit_tier"].isin(["A", "B", "C", "D", "X"]).all()
    assert scored["fit_probability"].between(0, 1).all()


def test_promote_then_rollback(registry, store_copy, tmp_path, monkeypatch):
    client = MlflowClient(tracking_uri=store_copy, registry_uri=store_copy)
    rows = pd.read_csv(registry.data / "accounts.csv").head(5)
    rows.to_csv(tmp_path / "rows.csv", index=False)

    def served_version() -> set[str]:
        out = tmp_path / "out.csv"
        invoke("score", "--input", tmp_path / "rows.csv", "--output", out, *registry.inputs())
        return set(pd.read_csv(out)["model_version"].astype(str))

    monkeypatch.setenv("ICPFIT_USER", "ana@revops")
    result = invoke("promote", "2", "--reason", "beat v1 on the Q3 holdout")
    assert "icp-fit v2 is champion (was: 1)" in result.stdout
    assert alias_version(client, "champion") == "2"
    v2 = client.get_model_version(MODEL, "2")
    assert v2.tags["previous_champion"] == "1"
    assert v2.tags["promoted_by"] == "ana@revops"
    assert v2.tags["promoted_reason"] == "beat v1 on the Q3 holdout"
    assert v2.description.split("Standing: ")[-1].startswith("champion since ")
    assert "(promoted by ana@revops: beat v1 on the Q3 holdout)" in v2.description
    v1 = client.get_model_version(MODEL, "1")
    assert re.search(r"Standing: champion until .*, replaced by v2 \(promoted by", v1.description)
    assert v1.description.count("Standing: ") == 1
    # the challenger became champion: no alias left on it
    assert set(client.get_registered_model(MODEL).aliases) == {"champion"}
    assert served_version() == {"2"}, "scoring follows the champion alias"
    result = invoke("rollback", "--reason", "tiers look wrong for EMEA")
    assert "champion moved back from v2 to v1" in result.stdout
    assert alias_version(client, "champion") == "1"
    v2 = client.get_model_version(MODEL, "2")
    assert v2.tags["rolled_back"] == "true" and v2.tags["rolled_back_by"] == "ana@revops"
    assert v2.tags["rolled_back_reason"] == "tiers look wrong for EMEA"
    assert "Standing: champion until " in v2.description and "rolled back by" in v2.description
    v1 = client.get_model_version(MODEL, "1")
    assert "Standing: champion again since " in v1.description
    assert served_version() == {"1"}
    missing = runner.invoke(app, ["promote", "99"])
    assert missing.exit_code == 1 and "cannot promote icp-fit v99" in missing.stderr
    assert alias_version(client, "champion") == "1"


def test_a_run_that_fails_after_registering_leaves_aliases_and_versions_as_they_were(
    registry, store_copy, tmp_path
):
    """Moving the alias is a retrain's last step. The private store refuses alias writes (an
    SQLite trigger standing in for a registry outage), so the run fails after it has logged and
    registered its model."""
    database = sqlite3.connect(tmp_path / "mlflow.db")
    for event in ("INSERT", "UPDATE"):
        database.execute(
            f"CREATE TRIGGER refuse_alias_{event.lower()} BEFORE {event} "
            "ON registered_model_aliases BEGIN SELECT RAISE(ABORT, 'alias writes refused'); END"
        )
    database.commit()
    database.close()
    client = MlflowClient(tracking_uri=store_copy, registry_uri=store_copy)
    before = registry_state(client)
    result = runner.invoke(
        app,
        ["train", "--config", str(registry.config), "--as-of", "2026-09-30", "--promote", "force"],
    )
    assert result.exit_code != 0, result.output
    assert "alias writes refused" in result.output, result.output
    after = registry_state(client)
    new_runs = sorted(set(after.pop("runs")) - set(before.pop("runs")))
    assert [status for _, status in new_runs] == ["FAILED"]
    [(failed_run, _)] = new_runs
    experiment = client.get_experiment_by_name(MODEL).experiment_id
    logged = client.search_logged_models(experiment_ids=[experiment])
    assert failed_run in {m.source_run_id for m in logged}, "it failed after logging its model"
    # the version it registered is gone; every other version, tag, description and alias stays
    assert after == before
    assert (alias_version(client, "champion"), alias_version(client, "challenger")) == ("1", "2")


def test_the_html_report_is_self_contained_with_every_section(shared):
    page = (shared.root / "reports" / "2026Q3.html").read_text()
    for section in (
        "<h2>Decision</h2>",
        "<h2>The champion and this run side by side</h2>",
        "<h2>Lift and calibration</h2>",
        "<h2>Tier migration</h2>",
        "<h2>Input drift</h2>",
        "<h2>Importance shift</h2>",
        "<h2>ICP filter</h2>",
        "<h2>SHAP summary</h2>",
        "<h2>Cohorts</h2>",
        "<h2>Backtest: model against the baselines",
        "<h2>Each fold</h2>",
        "<h2>Recipe (chosen by the backtest",
        "<h2>Per segment (model)</h2>",
        "<h2>Tier thresholds</h2>",
        "WHERE",
    ):
        assert section in page, section
    assert page.count('src="data:image/png;base64,') >= 9  # curves, shift, SHAP, dependence
    assert "http://" not in page and "https://" not in page and "<script" not in page
