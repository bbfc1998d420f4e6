"""The distributed path: the same registered model through `mlflow.pyfunc.spark_udf`.

No icpfit-specific glue: the pyfunc's signature and its struct result carry everything, so what
Spark writes is what the pandas engine writes for the same rows.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import mlflow.pyfunc

TEXT = "string"


def result_ddl(reasons: int) -> str:
    columns = [
        ("account_id", TEXT),
        ("fit_probability", "double"),
        ("fit_score", "bigint"),
        ("fit_tier", TEXT),
        ("disqualified_reason", TEXT),
        ("data_coverage", "double"),
    ]
    columns += [(f"{p}_{k + 1}", TEXT) for p in ("reason", "risk") for k in range(reasons)]
    columns += [("error", TEXT)]
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def score_with_spark(
    model_uri: str,
    source: Path,
    target: Path,
    model_name: str,
    model_version: str,
    master: str = "local[*]",
    reasons: int = 3,
) -> int:
    """Score a Parquet file into a Parquet directory; returns the number of rows written.

    Spark runs a Python worker per core, so each worker's compiled TreeSHAP loops get one
    thread (NUMBA_NUM_THREADS, unless set) instead of every core each.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # stay on loopback
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master(master)
        .appName("icpfit-score")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.executorEnv.NUMBA_NUM_THREADS", os.environ.get("NUMBA_NUM_THREADS", "1"))
        .getOrCreate()
    )
    try:
        accounts = spark.read.parquet(str(source))
        udf = mlflow.pyfunc.spark_udf(
            spark,
            model_uri,
            result_type=result_ddl(reasons),
            env_manager="local",
            params={"reasons": reasons},
        )
        scored = accounts.select(udf(F.struct(*accounts.columns)).alias("scored")).select(
            "scored.*"
        )
        stamped = _restore_nulls(scored).select(
            *[c for c in scored.columns if c != "error"],
            F.lit(model_name).alias("model_name"),
            F.lit(model_version).alias("model_version"),
            F.lit(datetime.now(timezone.utc).isoformat(timespec="seconds")).alias("scored_at"),
            "error",
        )
        stamped.write.mode("overwrite").parquet(str(target))
        return spark.read.parquet(str(target)).count()
    finally:
        spark.stop()


def _restore_nulls(scored):
    """mlflow's spark_udf casts a string field that mixes values and None with numpy's str, so a
    missing reason arrives as the text 'None'. Our generated text is never that word, so it is
    turned back into null here (account ids are left as they came)."""
    from pyspark.sql import functions as F

    generated = [
        f.name
        for f in scored.schema.fields
        if f.dataType.simpleString() == "string" and f.name != "account_id"
    ]
    return scored.select(
        *[
            F.when(F.col(c).isin("None", "nan"), F.lit(None)).otherwise(F.col(c)).alias(c)
            if c in generated
            else F.col(c)
            for c in scored.columns
        ]
    )
