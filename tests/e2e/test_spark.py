"""The Spark engine (real Spark, local mode) gives the pandas engine's answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icpfit.cli import app
from tests.e2e.cli import invoke, runner


def test_spark_local_mode_equals_the_pandas_engine(shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = shared.model_rows(400)
    rows.loc[rows.index[:37], "employees"] = None  # blanks are scored as unknown and counted
    rows["employees"] = rows["employees"].astype("string")
    rows.loc[rows.index[50], "employees"] = "lots"  # a bad cell: that row's error, not the run's
    rows.to_parquet(tmp_path / "in.parquet")
    on_pandas = invoke("score", "--input", "in.parquet", "--output", "pandas.parquet")
    result = invoke(
        "score",
        "--input",
        "in.parquet",
        "--output",
        "spark.parquet",
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
    )
    assert "400 rows scored by icp-fit v1 on Spark" in result.stdout
    spark_says, pandas_says = (" ".join(r.stdout.split()) for r in (result, on_pandas))
    counts = pandas_says.split("icp-fit v1 (")[1].split(")")[0]  # tiers and errors agree
    assert f"on Spark ({counts})" in spark_says
    blanks = pandas_says.split("says how much): ")[1].split(" note:")[0]  # blanks counted alike
    employees = int(blanks.split("employees ")[1].split(",")[0].replace(",", ""))
    assert employees >= 37 and f"says how much): {blanks}" in spark_says
    pandas_out = pd.read_parquet(tmp_path / "pandas.parquet").set_index("account_id")
    spark_out = pd.read_parquet(tmp_path / "spark.parquet").set_index("account_id")
    assert sorted(spark_out.index) == sorted(rows["account_id"])
    spark_out = spark_out.loc[pandas_out.index]
    np.testing.assert_allclose(
        spark_out["fit_probability"], pandas_out["fit_probability"], rtol=1e-9
    )
    assert spark_out["error"].notna().sum() == 1 == pandas_out["error"].notna().sum()
    assert "employees: 'lots' is not a number" in spark_out["error"].dropna().iloc[0]
    for column in (
        "fit_tier",
        "error",
        "fit_score",
        "disqualified_reason",
        "reason_1",
        "risk_1",
        "model_version",
    ):
        left = spark_out[column].astype(object).where(spark_out[column].notna(), "")
        right = pandas_out[column].astype(object).where(pandas_out[column].notna(), "")
        assert list(left.astype(str)) == list(right.astype(str)), column


def test_spark_engine_wants_parquet(shared, tmp_path):
    result = runner.invoke(
        app,
        [
            "score",
            "--input",
            str(shared.data / "accounts.csv"),
            "--output",
            str(tmp_path / "o.csv"),
            "--engine",
            "spark",
        ],
    )
    assert result.exit_code == 1 and "--engine spark reads and writes Parquet" in result.stderr
    assert not (tmp_path / "o.csv").exists()
