"""A real LightGBM fit on generated sample data: quality bar, determinism, honest refusals."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from icpfit.config import config_from_dict
from icpfit.features.pipeline import prepare
from icpfit.features.problems import RawTable
from icpfit.features.sample import generate_sample
from icpfit.training.fit import TooFewLabels, train_icp_model
from icpfit.training.global_shap import contributions, global_importance


def prepared_sample(accounts: int, seed: int, **config_overrides):
    sample = generate_sample(accounts=accounts, seed=seed)
    config = config_from_dict({**sample.config, **config_overrides})
    raw = {
        n: RawTable(n, f"{n}.parquet", f.reset_index(drop=True)) for n, f in sample.tables.items()
    }
    result, _ = prepare(raw, config, config.as_of)
    return sample, config, result


@pytest.fixture(scope="module")
def trained():
    sample, config, result = prepared_sample(12_000, seed=21)
    return sample, config, result, train_icp_model(result, config)


def test_model_beats_every_baseline_on_the_backtest(trained):
    *_, run = trained
    model = run.metrics.loc["model"]
    for baseline in ("rules", "logistic", "single_column"):
        assert model["roc_auc"] > run.metrics.loc[baseline, "roc_auc"], baseline
    for baseline in ("rules", "single_column"):
        assert model["lift_top_decile"] > run.metrics.loc[baseline, "lift_top_decile"], baseline
    assert model["roc_auc"] > 0.75 and model["lift_top_decile"] > 2
    assert model["ltv_share_tiers_ab"] > 0.4  # the top 30% hold much of the folds' value
    assert model["roc_auc_low"] < model["roc_auc"] < model["roc_auc_high"]
    assert run.backtest.scheme == "quarters" and len(run.backtest.folds) == 4


def test_the_registered_model_learns_from_all_history_the_folds_from_their_past(trained):
    _, _, result, run = trained
    decided = result.labels["decided_date"]
    judged = run.scores.index
    # every account the backtest judged (the newest quarters included) that the chosen recipe
    # trains on (customers; lost deals too unless it chose customers only) is trained on
    lost = result.labels.loc[judged, "cohort"].astype(str).eq("lost")
    expected = judged if run.recipe.population == "customers_and_lost" else judged[~lost]
    assert len(expected) and expected.isin(run.rows).all()
    assert decided[run.rows].max() == decided[expected].max() == run.trained_through
    # while each fold's model saw only what was decided before its fold
    for fold, model in zip(run.backtest.folds, run.backtest.chosen.models, strict=True):
        inside = run.scores.index[run.scores["fold"] == fold.name]
        assert decided[inside].min() >= fold.start
        assert model.booster_.num_trees() >= 1
    assert run.model.best_iteration_ == run.backtest.chosen.tree_count


def test_planted_drivers_lead_and_the_leakage_trap_does_not(trained):
    sample, _, result, run = trained
    importance = global_importance(run.model, result.features.frame, result.features.specs)
    top = list(importance["feature"].head(8))
    assert {"employees", "industry"} <= set(top)
    trap = sample.drivers["leakage_trap"]["feature"]
    assert trap not in importance["feature"].head(15).tolist()


def test_contributions_add_up_to_the_raw_score(trained):
    _, _, result, run = trained
    X = result.features.frame.head(200)
    shap = contributions(run.model, X)
    np.testing.assert_allclose(shap.sum(axis=1), run.model.raw_score(X), atol=1e-9)


def test_same_data_and_seed_give_identical_predictions(trained):
    _, config, result, run = trained
    again = train_icp_model(result, config)
    X = result.features.frame
    np.testing.assert_array_equal(run.model.predict_proba(X), again.model.predict_proba(X))


def test_too_few_ideal_customers_is_refused_with_the_counts_and_knobs():
    _, config, result = prepared_sample(500, seed=2)
    with pytest.raises(
        TooFewLabels,
        match=r"too few labelled customers.*more ideal customers.*labels\.window_months",
    ):
        train_icp_model(result, config)


def accounts_table(X: pd.DataFrame, specs) -> sqlite3.Connection:
    """The accounts as a CRM table the ICP filter's SQL reads: export columns for the
    firmographics, counts by feature name, technologies as one delimited `tech_stack` column
    (NULL when the stack is unknown)."""
    columns: dict[str, object] = {"account_id": X.index.astype(str)}
    for spec in specs:
        if spec.kind == "categorical":
            columns[spec.source] = X[spec.name].astype(object).where(X[spec.name].notna(), None)
        elif spec.kind == "numeric":
            columns[spec.source] = X[spec.name]
        elif spec.kind == "count":
            columns[spec.name] = X[spec.name]
    flags = [s for s in specs if s.kind == "flag"]
    present = X[[s.name for s in flags]]
    stacks = [
        ";".join(s.source for s, used in zip(flags, row, strict=True) if used == 1)
        for row in present.to_numpy()
    ]
    columns["tech_stack"] = pd.Series(stacks, index=X.index).where(present.notna().all(axis=1))
    connection = sqlite3.connect(":memory:")
    pd.DataFrame(columns, index=X.index).to_sql("accounts", connection, index=False)
    return connection


def test_icp_filter_is_readable_and_a_weaker_rules_baseline(trained):
    _, _, result, run = trained
    from icpfit.training.icp_filter import filter_document

    document = filter_document(run.icp_filter)
    assert document["icp"] and document["anti_icp"]
    assert all(seg["lift"] >= 1.5 for seg in document["icp"])
    assert all(seg["lift"] <= 0.5 for seg in document["anti_icp"])
    assert any("employees" in seg["rule"] or "industry" in seg["rule"] for seg in document["icp"])
    # the SQL selects exactly the accounts the filter puts in its ICP (anti-ICP) segments
    X = run.model.features(result.features.frame.loc[run.rows])
    database = accounts_table(X, result.features.specs)
    leaf_score = run.icp_filter.predict(X)
    for kind in ("icp", "anti_icp"):
        segments = [s for s in run.icp_filter.segments_ if s.kind == kind]
        inside = np.isclose(leaf_score[:, None], [s.mean_score for s in segments], rtol=1e-9)
        expected = set(X.index[inside.any(axis=1)])
        assert len(expected) == round(sum(s.coverage for s in segments) * len(X)) > 0
        query = f"SELECT account_id FROM accounts WHERE {document['sql'][kind]}"
        selected = {account for (account,) in database.execute(query)}
        assert selected == expected, (kind, document["sql"][kind])
    assert run.metrics.loc["rules", "roc_auc"] > 0.6
    assert run.metrics.loc["model", "roc_auc"] > run.metrics.loc["rules", "roc_auc"]


def test_shap_tree_explainer_agrees_with_lightgbm_pred_contrib(trained):
    import shap

    _, _, result, run = trained
    X = run.model.features(result.features.frame.head(300))
    ours = contributions(run.model, X)
    explainer = shap.TreeExplainer(run.model.booster_)
    theirs = explainer.shap_values(X)
    np.testing.assert_allclose(ours.drop(columns="expected_value").to_numpy(), theirs, atol=1e-6)
    np.testing.assert_allclose(ours["expected_value"], explainer.expected_value, atol=1e-6)
