"""The comparison of two versions and PSI drift, on hand-built scored outputs and populations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.features.frame import FeatureSpec
from icpfit.training.compare import (
    change_sources,
    compare_scored,
    filter_diff,
    importance_change,
    metric_deltas,
    source_shares,
    tier_migration,
    tier_moves,
)
from icpfit.training.drift import population_drift, psi, score_psi


def scored(tiers, scores, probabilities=None, reasons=None, risks=None) -> pd.DataFrame:
    n = len(tiers)
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "fit_probability": probabilities if probabilities is not None else np.linspace(0, 1, n),
            "fit_score": scores,
            "fit_tier": tiers,
            "reason_1": reasons or [None] * n,
            "risk_1": risks or [None] * n,
        }
    )


def test_migration_counts_every_row_once_with_unscored_rows_as_error():
    a = pd.Series(["A", "B", "C", "X", None])
    b = pd.Series(["B", "B", "A", "X", "D"])
    table = tier_migration(a, b)
    assert table.to_numpy().sum() == 5
    assert table.loc["A", "B"] == 1 and table.loc["B", "B"] == 1 and table.loc["C", "A"] == 1
    assert table.loc["error", "D"] == 1
    assert list(table.columns) == ["A", "B", "C", "D", "X", "error"]


def test_moves_list_only_changed_tiers_largest_first_with_changed_reasons():
    a = scored(
        ["A", "C", "B", "D"],
        [95, 50, 75, 20],
        reasons=[
            "Uses Snowflake",
            "Employees 240 — in the range of best customers (100–900)",
            "Industry: Software",
            None,
        ],
    )
    b = scored(
        ["A", "A", "C", "D"],
        [96, 92, 60, 22],
        reasons=[
            "Uses Snowflake",
            "Employees 240 — in the range of best customers (120–950)",
            None,
            None,
        ],
        risks=[None, None, "Industry: Software", None],
    )
    moves = tier_moves(a, b)
    assert moves["account_id"].tolist() == ["A1", "A2"]
    assert moves["steps"].tolist() == [2, -1]
    first, second = moves.iloc[0], moves.iloc[1]
    assert first["reasons_gained"] == "" and first["reasons_lost"] == "", "re-worded profile"
    assert second["reasons_gained"] == "− Industry: Software"
    assert second["reasons_lost"] == "+ Industry: Software"


def test_change_sources_split_each_change_into_model_and_data_that_add_up():
    a_before = scored(["C"] * 3, [1, 2, 3], probabilities=[0.1, 0.2, 0.3])
    b_before = scored(["C"] * 3, [1, 2, 3], probabilities=[0.2, 0.2, 0.3])
    b_now = scored(["C"] * 3, [1, 2, 3], probabilities=[0.2, 0.5, 0.3])
    sources = change_sources(a_before, b_before, b_now)
    assert np.allclose(sources["model_change"] + sources["data_change"], sources["total_change"])
    assert sources["model_change"].round(6).tolist() == [0.1, 0.0, 0.0]
    assert sources["data_change"].round(6).tolist() == [0.0, 0.3, 0.0]
    shares = source_shares(sources)
    assert shares["model"] == pytest.approx(0.25) and shares["data"] == pytest.approx(0.75)


def test_change_sources_keep_only_accounts_in_both_snapshots():
    before = scored(["C"] * 3, [1, 2, 3])
    now = scored(["C"] * 2, [1, 2]).assign(account_id=["A2", "A9"])
    assert change_sources(before, before, now)["account_id"].tolist() == ["A2"]


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000)
    assert psi(np.full(4, 0.25), np.full(4, 0.25)) == 0
    assert score_psi(values, rng.normal(size=5000)) < 0.02
    assert score_psi(values, rng.normal(loc=1.5, size=5000)) > 0.5


def test_population_drift_flags_the_moved_feature_and_treats_missing_as_a_bin():
    rng = np.random.default_rng(1)
    n = 4000
    specs = (
        FeatureSpec("employees", "firmographic", "numeric", "employees"),
        FeatureSpec("industry", "firmographic", "categorical", "industry"),
        FeatureSpec("web_visits", "behavioral", "numeric", "web_visits"),
    )
    previous = pd.DataFrame(
        {
            "employees": rng.lognormal(5, 1, n),
            "industry": pd.Categorical(rng.choice(["Software", "Retail"], n)),
            "web_visits": rng.normal(100, 10, n),
        }
    )
    current = previous.assign(
        employees=previous["employees"] * 5,
        industry=pd.Categorical(rng.choice(["Software", "Retail", "Government"], n)),
        web_visits=np.where(rng.random(n) < 0.5, np.nan, previous["web_visits"]),
    )
    drift = population_drift(previous, current, specs).set_index("feature")
    assert (drift["psi"] > 0.25).all(), drift
    same = population_drift(previous, previous, specs)
    assert (same["psi"] < 1e-9).all()
    assert drift.loc["web_visits", "current"].endswith("% missing")
    assert "missing" not in drift.loc["web_visits", "previous"]


def test_filter_diff_marks_rules_kept_added_and_dropped():
    a = {"icp": [{"rule": "industry is Software", "lift": 2.0}, {"rule": "x > 1", "lift": 3.0}]}
    b = {
        "icp": [{"rule": "industry is Software", "lift": 2.5}],
        "anti_icp": [{"rule": "y", "lift": 0.2}],
    }
    diff = filter_diff(a, b).set_index("rule")
    assert diff.loc["industry is Software", "status"] == "kept"
    assert diff.loc["industry is Software", "lift_b"] == 2.5
    assert diff.loc["x > 1", "status"] == "dropped"
    assert diff.loc["y", ["kind", "status"]].tolist() == ["anti_icp", "added"]


def test_importance_change_per_feature_and_group_including_new_features():
    a = pd.DataFrame({"feature": ["f1", "f2"], "group": ["g1", "g2"], "mean_abs_shap": [1.0, 0.5]})
    b = pd.DataFrame({"feature": ["f1", "f3"], "group": ["g1", "g2"], "mean_abs_shap": [0.2, 0.9]})
    features, groups = importance_change(a, b)
    by_feature = features.set_index("feature")["change"]
    assert by_feature.to_dict() == pytest.approx({"f1": -0.8, "f2": -0.5, "f3": 0.9})
    assert features["feature"].iloc[0] == "f3"
    assert groups.set_index("group")["change"].to_dict() == pytest.approx({"g1": -0.8, "g2": 0.4})


def test_metric_deltas_put_both_models_on_the_same_holdout():
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0])
    ltv = np.array([5.0, 1, 4, 0, 0, 1, 3, 0])
    perfect = y + np.linspace(0, 0.1, 8)
    inverted = 1 - perfect
    table = metric_deltas(y, ltv, inverted, perfect, top_share=0.375)
    assert table.loc["model B", "roc_auc"] == 1.0
    assert table.loc["model A", "roc_auc"] == 0.0
    assert table.loc["B - A", "roc_auc"] == 1.0
    assert table.loc["model B", "ltv_share_tiers_ab"] == pytest.approx(12 / 14)


def test_summary_names_the_versions_the_moves_and_the_drifted_features():
    a = scored(["A", "B", "C", "D"], [90, 80, 50, 10])
    b = scored(["A", "A", "D", "D"], [91, 92, 20, 11])
    drift = pd.DataFrame(
        {"feature": ["employees", "industry"], "psi": [0.6, 0.01], "group": ["g", "g"]}
    )
    comparison = compare_scored("v1", "v2", a, b, drift=drift, psi_threshold=0.25)
    text = "\n".join(comparison.summary_lines())
    assert "Comparing v1 (A) with v2 (B) on 4 accounts" in text
    assert "Tier changed for 2 accounts (50.0%): 1 up, 1 down" in text
    assert "1 of 2 features above PSI 0.25: employees (PSI 0.60)" in text
    assert "Tier A: 1 under A, 2 under B, 1 in both" in text
    assert set(comparison.tables()) == {"tier_migration.csv", "tier_moves.csv", "feature_drift.csv"}
    assert "<h2>Tier migration</h2>" in comparison.html()


def test_metric_deltas_give_every_figure_an_interval_and_keep_the_scores_for_the_curves():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    ltv = rng.gamma(2.0, 10.0, 300) * y
    a, b = y * 0.3 + rng.random(300), y * 0.6 + rng.random(300)
    table = metric_deltas(y, ltv, a, b, top_share=0.3)
    for metric in ("roc_auc", "pr_auc", "brier", "lift_top_decile", "ltv_share_tiers_ab"):
        for row in ("model A", "model B", "B - A"):
            low, value, high = table.loc[row, [f"{metric}_low", metric, f"{metric}_high"]]
            assert low <= value <= high, (metric, row)
    paired = table.attrs["paired"]  # the evidence a promotion is decided on
    assert table.loc["B - A", ["roc_auc_low", "roc_auc_high"]].tolist() == [paired.low, paired.high]
    curves = compare_scored("v1", "v2", scored(["A"], [1]), scored(["A"], [1]), metrics=table)
    np.testing.assert_array_equal(curves.holdout.frame["b"], b)


def test_the_compare_page_names_only_drifted_features_and_says_what_it_lacks():
    a = scored(["A", "B", "C", "D"], [90, 80, 50, 10])
    b = scored(["A", "A", "D", "D"], [91, 92, 20, 11])
    drift = pd.DataFrame(
        {"feature": ["employees", "industry"], "psi": [0.6, 0.01], "group": ["g", "g"]}
    )
    page = compare_scored("v1", "v2 <b>", a, b, drift=drift, psi_threshold=0.25).html()
    assert page.startswith("<!doctype html>") and "v2 &lt;b&gt;" in page and "<b>" not in page
    drifted = page[page.index('<section id="drift">') :].split("</section>")[0]
    assert "1 of 2 features moved beyond PSI 0.25" in drifted and "employees" in drifted
    assert "industry" not in drifted
    assert "No promotion decision: compare only compares." in page
    assert "no metrics to compare" in page and "no ICP filter" in page
    assert "not available" not in page and "http" not in page
