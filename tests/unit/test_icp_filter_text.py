"""ICP filter rules in words and SQL, on a tree fitted to a known score."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from icpfit.features.frame import FeatureSpec
from icpfit.training.icp_filter import IcpFilter, filter_document

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
    document = filter_document(IcpFilter(SPECS).fit(X, score, target), tech_column="Stack")
    [icp] = document["icp"]
    rule = icp["rule"]
    assert "industry is Software" in rule or "industry is not Retail" in rule
    assert "uses Snowflake" in rule
    assert "employees > 500" in rule
    assert icp["lift"] > 3 and icp["ideal_share"] > 0.95
    sql = document["sql"]["icp"]
    assert "industry" in sql and "Stack LIKE '%Snowflake%'" in sql
    frame = X.assign(
        industry=X["industry"].astype(str),
        Stack=np.where(X["tech_snowflake"] == 1, "Snowflake;dbt", "HubSpot"),
    ).drop(columns="tech_snowflake")
    with sqlite3.connect(":memory:") as db:
        frame.reset_index().to_sql("accounts", db, index=False)
        selected = [row[0] for row in db.execute(f'SELECT "index" FROM accounts WHERE {sql}')]
    assert len(selected) > 100
    assert target[selected].mean() > 0.95
