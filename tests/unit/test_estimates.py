"""A blank headcount is estimated from the account's other attributes, never read as "small"."""

from __future__ import annotations

import inspect
from dataclasses import asdict

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from icpfit.config import FeatureDeclarations, TechStack
from icpfit.features.frame import FeatureSpec
from icpfit.serving.account_explanation import explain_account
from icpfit.serving.estimates import apply_estimates
from icpfit.serving.reasons import _numeric_texts, attribute_text, reason_columns
from icpfit.serving.scoring import account_features, score_accounts, specs_from_bundle
from icpfit.training.estimates import fit_headcount_estimate

INDUSTRIES = {"Software": 0.0, "Retail": 1.0, "Manufacturing": 2.0, "Healthcare": 0.5}
DECLARATIONS = FeatureDeclarations.model_validate(
    {
        "firmographic": {"categorical": ["industry"], "numeric": ["employees"]},
        "technographic": {"technologies": False},
        "behavioral": {"numeric": ["web_visits_monthly"], "signals": False},
    }
)
SPECS = (
    FeatureSpec("industry", "firmographic", "categorical", "industry", tuple(sorted(INDUSTRIES))),
    FeatureSpec("employees", "firmographic", "numeric", "employees"),
    FeatureSpec("web_visits_monthly", "behavioral", "numeric", "web_visits_monthly"),
)


def accounts(n: int, seed: int, blank_share: float = 0.2) -> tuple[pd.DataFrame, pd.Series]:
    """Account rows as a CSV gives them (text), and every account's true headcount: the log
    headcount follows the industry and the web traffic follows the headcount."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(list(INDUSTRIES), n)
    log_employees = 3.5 + pd.Series(industry).map(INDUSTRIES).to_numpy() + rng.normal(0, 1, n)
    employees = np.maximum(np.round(np.exp(log_employees)), 1)
    web = np.round(np.exp(2 + 0.8 * np.log(employees) + rng.normal(0, 0.3, n)))
    shown = np.where(rng.random(n) < blank_share, np.nan, employees)
    ids = [f"A{i:05d}" for i in range(n)]
    rows = pd.DataFrame(
        {"account_id": ids, "industry": industry, "employees": shown, "web_visits_monthly": web}
    )
    text = rows.astype("string").replace({"<NA>": pd.NA, "nan": pd.NA})
    return text, pd.Series(employees, index=pd.Index(ids, name="account_id"))


def skeleton() -> dict:
    return {
        "specs": [asdict(s) for s in SPECS],
        "declarations": DECLARATIONS.model_dump(mode="json"),
        "tech_stack": TechStack().model_dump(mode="json"),
        "accounts_columns": {},
        "disqualifiers": [],
    }


def feature_frame(rows: pd.DataFrame) -> pd.DataFrame:
    return account_features(rows, skeleton(), SPECS).frame


@pytest.fixture(scope="module")
def population():
    rows, truth = accounts(3000, seed=1)
    return rows, truth, feature_frame(rows)


@pytest.fixture(scope="module")
def estimate(population):
    return fit_headcount_estimate(population[2], SPECS, seed=3)


def test_the_estimate_recovers_headcount_better_than_the_median(population, estimate):
    _, truth, frame = population
    assert estimate["column"] == "employees"
    assert estimate["inputs"] == ["industry", "web_visits_monthly"]
    assert estimate["rows_known"] == int(frame["employees"].notna().sum())
    assert estimate["rmse_log"] < 0.6 * estimate["rmse_log_median"]
    filled, estimated = apply_estimates(frame, [estimate])
    blank = estimated["employees"].to_numpy()
    actual = np.log1p(truth.to_numpy()[blank])
    guessed = np.log1p(filled["employees"].to_numpy()[blank])
    median = np.log1p(frame["employees"].median())
    rmse, baseline = (np.sqrt(np.mean((g - actual) ** 2)) for g in (guessed, median))
    assert rmse < 0.6 * baseline
    assert abs(rmse - estimate["rmse_log"]) < 0.15, "the reported figure is what blanks get"


def test_only_blanks_are_filled_with_whole_numbers_and_flagged(population, estimate):
    frame = population[2]
    before = frame.copy()
    filled, estimated = apply_estimates(frame, [estimate])
    pd.testing.assert_frame_equal(frame, before)
    blank = frame["employees"].isna()
    assert blank.any() and list(estimated.columns) == ["employees"]
    pd.testing.assert_series_equal(estimated["employees"], blank, check_names=False)
    assert estimated.index.equals(frame.index)
    pd.testing.assert_frame_equal(filled[~blank], frame[~blank])
    guesses = filled.loc[blank, "employees"]
    assert guesses.notna().all() and (guesses >= 1).all() and (guesses == guesses.round()).all()
    assert list(filled.columns) == list(frame.columns)


def test_the_same_data_gives_the_same_estimate_and_the_same_fills(population, estimate):
    frame = population[2]
    again = fit_headcount_estimate(frame, SPECS, seed=3)
    assert again == estimate
    first, _ = apply_estimates(frame, [estimate])
    second, _ = apply_estimates(frame.iloc[::-1], [dict(estimate)])
    pd.testing.assert_frame_equal(first, second.iloc[::-1])


def test_the_estimate_is_label_free(population, estimate):
    """No target in its signature, and columns outside the specs (a label, revenue) are unread."""
    parameters = set(inspect.signature(fit_headcount_estimate).parameters)
    assert parameters.isdisjoint({"y", "target", "labels", "label", "revenue", "outcome"})
    frame = population[2]
    rng = np.random.default_rng(0)
    with_outcomes = frame.assign(target=rng.integers(0, 2, len(frame)), ltv=rng.random(len(frame)))
    assert fit_headcount_estimate(with_outcomes, SPECS, seed=3) == estimate


def test_no_estimate_without_a_headcount_to_learn_or_blanks_to_fill(population):
    frame = population[2]
    no_employees = tuple(s for s in SPECS if s.name != "employees")
    assert fit_headcount_estimate(frame.drop(columns="employees"), no_employees, seed=3) is None
    assert fit_headcount_estimate(frame.head(150), SPECS, seed=3) is None
    full = frame[frame["employees"].notna()]
    assert fit_headcount_estimate(full, SPECS, seed=3) is None
    assert fit_headcount_estimate(full, SPECS, seed=3, min_blanks=0) is not None


def test_no_estimates_give_the_frame_back_unflagged(population):
    frame = population[2]
    for estimates in ([], None, [None]):
        filled, estimated = apply_estimates(frame, estimates)
        assert filled is frame
        assert estimated.shape == (len(frame), 0) and estimated.index.equals(frame.index)


def test_estimated_numbers_read_as_estimated():
    spec = SPECS[1]
    profile = {"low": 100.0, "high": 900.0}
    assert attribute_text(spec, 140.0, None, estimated=True) == "Employees ~140 (estimated)"
    assert attribute_text(spec, 40.0, profile, estimated=True) == (
        "Employees ~40 (estimated) — best customers have 100–900"
    )
    values = np.array([140.0, 140.0, np.nan, 12_000.0, 12_000.0])
    flags = np.array([True, False, False, True, False])
    texts = _numeric_texts(spec, values, profile, flags)
    expected = [attribute_text(spec, v, profile, f) for v, f in zip(values, flags, strict=True)]
    assert texts.tolist() == expected
    frame = pd.DataFrame({"employees": [140.0, 140.0]})
    estimated = pd.DataFrame({"employees": [True, False]})
    words = reason_columns(np.array([[0.5], [0.5]]), frame, (spec,), {}, 1, estimated)
    assert words["reason_1"].tolist() == ["Employees ~140 (estimated)", "Employees 140"]


@pytest.fixture(scope="module")
def models(population, estimate):
    """A small fit model trained as training does (blanks filled), in two bundles: with the
    estimate and without."""
    rows, truth, frame = population
    filled, _ = apply_estimates(frame, [estimate])
    rng = np.random.default_rng(2)
    sized = ((truth >= 100) & (truth <= 2000)).to_numpy()
    target = rng.random(len(frame)) < 1 / (1 + np.exp(-(-1.5 + 2.5 * sized)))
    params = {"objective": "binary", "num_leaves": 7, "verbosity": -1, "seed": 1, "num_threads": 1}
    booster = lgb.train({**params, "deterministic": True}, lgb.Dataset(filled, target), 40)
    margin = booster.predict(filled, raw_score=True)
    plain = {
        **skeleton(),
        "best_iteration": booster.current_iteration(),
        "calibration": {"slope": 1.0, "intercept": 0.0},
        "tier_thresholds": {"A": 0.8, "B": 0.6, "C": 0.4},
        "reference_quantiles": np.quantile(
            1 / (1 + np.exp(-margin)), np.linspace(0, 1, 101)
        ).tolist(),
        "profiles": {"employees": {"low": 100.0, "high": 2000.0}},
    }
    return booster, plain, {**plain, "estimates": [estimate]}


def test_scoring_fills_blanks_says_so_and_still_counts_them_missing(population, models):
    rows = population[0].head(300)
    booster, plain, with_estimate = models
    scored = score_accounts(rows, with_estimate, booster)
    without = score_accounts(rows, plain, booster)
    blank = rows["employees"].isna().to_numpy()
    words = scored[["reason_1", "reason_2", "reason_3", "risk_1", "risk_2", "risk_3"]]
    said = words.apply(lambda r: r.str.contains(r"Employees ~\S+ \(estimated\)").fillna(False))
    assert said.any(axis=1).to_numpy()[blank].all()
    assert not said.any(axis=1).to_numpy()[~blank].any()
    assert not words.stack().str.contains("Employees unknown").any()
    assert (scored["data_coverage"] == without["data_coverage"]).all()
    assert (scored.loc[blank, "data_coverage"] < 1).all()
    known = scored.drop(columns="scored_at")[~blank]
    pd.testing.assert_frame_equal(known, without.drop(columns="scored_at")[~blank])
    assert (scored["fit_probability"][blank] != without["fit_probability"][blank]).any()


def test_a_headcount_that_is_not_a_number_is_an_error_not_an_estimate(population, models):
    rows = population[0].head(3).astype(object)
    rows.loc[1, "employees"] = "lots"
    scored = score_accounts(rows, models[2], models[0])
    assert scored["error"].tolist() == [None, "employees: 'lots' is not a number", None]


def test_a_bundle_without_estimates_scores_blanks_as_unknown(population, models):
    rows = population[0].head(300)
    booster, plain, _ = models
    scored = score_accounts(rows, plain, booster, contributions=True)
    keyed = rows.assign(account_id=[f"row{i}" for i in range(len(rows))])
    frame = account_features(keyed, plain, specs_from_bundle(plain)).frame
    margin = booster.predict(frame, raw_score=True)
    np.testing.assert_allclose(scored["fit_probability"], 1 / (1 + np.exp(-margin)), atol=1e-12)
    words = scored.filter(regex="^(reason|risk)_").stack()
    assert not words.str.contains("estimated").any()
    assert (scored["error"].isna()).all()


def test_explain_marks_an_estimated_headcount(population, models):
    rows = population[0]
    row = rows[rows["employees"].isna()].head(1)
    booster, plain, with_estimate = models
    table, _ = explain_account(row, with_estimate, booster)
    text = table.set_index("attribute").loc["employees", "reads as"]
    assert text.startswith("Employees ~") and "(estimated)" in text
    table, _ = explain_account(row, plain, booster)
    assert table.set_index("attribute").loc["employees", "reads as"] == "Employees unknown"


def test_rows_with_no_risk_at_all_get_none_not_an_error():
    """One account whose contributions are all for the fit (a one-row REST request)."""
    frame = pd.DataFrame({"employees": [140.0]})
    words = reason_columns(np.array([[0.5]]), frame, (SPECS[1],), {}, 1)
    assert words.iloc[0].tolist() == ["Employees 140", None]
