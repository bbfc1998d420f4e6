"""The distributed path: the same registered model through `mlflow.pyfunc.spark_udf`.

No icpfit-specific glue: the pyfunc's signature and its struct result carry everything, so what
Spark writes is what the pandas engine writes for the same rows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import mlflow.pyfunc

from icpfit.serving.batch import ScoringSummary
from icpfit.serving.schema import Provenance, scored_columns, spark_ddl

WIRE_TYPES = {"fit_score": "double"}
"""spark_udf casts a bigint field with numpy's int64, which has no null: an error row's empty
fit_score would fail the whole task. It crosses as a double and is cast back to bigint."""


def score_with_spark(
    model_uri: str,
    source: Path,
    target: Path,
    provenance: Provenance,
    master: str = "local[*]",
    reasons: int = 3,
    blank_checks: tuple[str, ...] = (),
    id_column: str = "account_id",
) -> tuple[ScoringSummary, dict[str, int]]:
    """Score a Parquet file into a Parquet directory; returns what was written (rows, tiers,
    errors, repeated ids) and, per column of the file in `blank_checks`, the rows where it is
    blank (null, NaN or only spaces, as the pandas engine counts). Numeric ids in `id_column`
    are scored and written as text, as the pandas engine does.

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
        # absolute: the JVM resolves a relative path against its own start folder, which is not
        # this process's after a chdir (a second score in one process read the first's input)
        source, target = Path(source).resolve(), Path(target).resolve()
        accounts = spark.read.parquet(str(source))
        given = _ids_as_text(accounts, id_column)
        udf = mlflow.pyfunc.spark_udf(
            spark,
            model_uri,
            result_type=spark_ddl(scored_columns(reasons), WIRE_TYPES),
            env_manager="local",
            params={"reasons": reasons, **provenance.params()},
        )
        scored = given.select(udf(F.struct(*given.columns)).alias("scored")).select("scored.*")
        score = F.col("fit_score")
        scored = scored.withColumn(
            "fit_score", F.when(F.isnan(score), F.lit(None)).otherwise(score).cast("long")
        )
        _restore_nulls(scored).write.mode("overwrite").parquet(str(target))
        gaps = _blank_counts(accounts, blank_checks)
        return _summary(spark.read.parquet(str(target))), gaps
    finally:
        spark.stop()


def _ids_as_text(accounts, column: str):
    """Integer ids (and whole-number doubles, as pandas writes an integer column with blanks)
    as their digits: the model's signature takes the id as text (an int64 column would fail
    the whole task)."""
    from pyspark.sql import functions as F

    if column not in accounts.columns:
        return accounts
    kind = accounts.schema[column].dataType.typeName()
    value = F.col(f"`{column}`")
    if kind == "string":
        return accounts
    text = value.cast("string")
    if kind in ("double", "float"):
        text = F.when(value == F.floor(value), value.cast("long").cast("string")).otherwise(text)
    return accounts.withColumn(column, text)


def _summary(written) -> ScoringSummary:
    """The pandas engine's summary line, counted on what Spark wrote."""
    from pyspark.sql import functions as F

    row = written.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count("error").alias("errors"),
        F.countDistinct("account_id").alias("ids"),
    ).first()
    tiers = {r["fit_tier"]: r["count"] for r in written.groupBy("fit_tier").count().collect()}
    tiers.pop(None, None)
    return ScoringSummary(row["rows"], row["errors"], row["rows"] - row["ids"], tiers)


def _blank_counts(accounts, checks: tuple[str, ...]) -> dict[str, int]:
    from pyspark.sql import functions as F

    present = [c for c in checks if c in accounts.columns]
    if not present:
        return {}
    fields = accounts.schema.fields
    numeric = {f.name for f in fields if f.dataType.typeName() in ("double", "float")}

    def blank(column: str):
        value = F.col(f"`{column}`")
        empty = value.isNull() | (F.trim(value.cast("string")) == "")
        return empty | F.isnan(value) if column in numeric else empty

    counts = accounts.agg(
        *[F.sum(F.when(blank(c), 1).otherwise(0)).alias(f"c{i}") for i, c in enumerate(present)]
    ).first()
    gaps = {name: int(counts[f"c{i}"] or 0) for i, name in enumerate(present)}
    return {name: rows for name, rows in gaps.items() if rows}


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
