"""ICP filter rules in words and SQL, on a tree fitted to a known score."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from icpfit.features.frame import FeatureSpec
from icpfit.training.icp_filter import (
    Condition,
    IcpFilter,
    _without_implied,
    filter_document,
    round_cut,
)

SPECS = (
    FeatureSpec("industry", "firmographic", "categorical", "industry", ("Retail", "Software")),
    FeatureSpec("employees", "firmographic", "numeric", "employees"),
    FeatureSpec("tech_snowflake", "technographic", "flag", "Snowflake"),
)


def known_population(n: int = 2000) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "industry": pd.Categorical(
                rng.choice(["Software", "Retail"], n), categories=["Retail", "Software"]
            ),
            "employees": rng.integers(1, 2000, n).astype(float),
            "tech_snowflake": rng.integers(0, 2, n).astype(float),
        }
    )
    good = (X["industry"] == "Software") & (X["employees"] > 500) & (X["tech_snowflake"] == 1)
    score = np.where(good, 0.8, 0.05) + rng.normal(0, 0.01, n)
    return X, score, pd.Series(good.astype(int), index=X.index)


def test_the_planted_segment_comes_back_as_the_icp_rule_and_sql():
    X, score, target = known_population()
    document = filter_document(IcpFilter(SPECS).fit(X, score, target))
    [icp] = document["icp"]
    rule = icp["rule"]
    assert "industry is Software" in rule or "industry is not Retail" in rule
    assert "uses Snowflake" in rule
    assert "employees ≥ 501" in rule
    assert icp["lift"] > 3 and icp["ideal_share"] > 0.95
    sql = document["sql"]["icp"]
    assert '"industry"' in sql and '"employees" >= 501' in sql
    assert "LIKE LOWER('%;Snowflake;%') ESCAPE '!'" in sql
    frame = X.assign(
        industry=X["industry"].astype(str),
        tech_stack=np.where(X["tech_snowflake"] == 1, "Snowflake;dbt", "HubSpot"),
    ).drop(columns="tech_snowflake")
    with sqlite3.connect(":memory:") as db:
        frame.reset_index().to_sql("accounts", db, index=False)
        selected = [row[0] for row in db.execute(f'SELECT "index" FROM accounts WHERE {sql}')]
    assert len(selected) > 100
    assert target[selected].mean() > 0.95


def test_a_numeric_cut_is_the_roundest_number_that_splits_the_training_values_alike():
    years = np.array([2014.0, 2015.0, 2016.0, 2017.0, np.nan])
    assert round_cut(years, 2015.5) == 2016  # 'founded_year ≥ 2,016', not '> 2015.5'
    assert round_cut(np.array([480.0, 520.0]), 500.0) == 500
    assert round_cut(np.array([15.79, 15.83]), 15.81) == 15.8
    # 32-bit floats, as the tree reads them: 0.7 as float32 is 0.699999988 <= 0.6999999
    values = np.array([0.6999999, 0.7, 0.8])
    cut = round_cut(values, float(np.float32(0.7)))
    assert (values < cut).tolist() == (values.astype(np.float32) <= np.float32(0.7)).tolist()


def test_is_level_drops_is_not_level_only_when_it_leaves_no_account_out():
    not_software = Condition("industry=Software", "<=", 0.5, False)
    fintech = Condition("industry=Fintech", ">", 0.5, False)
    fintech_or_unknown = Condition("industry=Fintech", ">", 0.5, True)
    assert _without_implied((not_software, fintech)) == (fintech,)
    # unknown industries go with Fintech here but were left out by the first split: keep it
    assert _without_implied((not_software, fintech_or_unknown)) == (
        not_software,
        fintech_or_unknown,
    )
