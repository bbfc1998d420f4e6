"""The Spark engine of the timing snapshots (issue 16): the rows and features of
features/snapshots.py, built with Spark SQL where one machine is not enough.

Same definitions, other means. Where the pandas engine marks spans in a difference array, this
one joins each customer and each opportunity with the (few) month ends it covers and drops those
(account, month end) pairs from all of them; where it binary-searches sorted signal keys, this
one puts each account's signals and snapshot days in one date-ordered window and reads the last
signal, the counts in the last w days and the latest level from range frames. No Python runs per
row, nothing is collected but the final table in the training path (`spark_snapshots_of`,
`spark_features_of`), and pyspark is imported inside the functions: it is an optional extra.

Dates may be date, timestamp (its date in the session's time zone) or ISO text columns; a date
that does not read is missing, as in the pandas engine.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icpfit.features.snapshots import (
    EXISTING_BUSINESS,
    LEVEL_LAG_DAYS,
    NO_DAY,
    RECENCY_CAP,
    Snapshots,
    account_codes,
    day_numbers,
    level_feature_names,
    trigger_feature_names,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

ARROW = "spark.sql.execution.arrow.pyspark.enabled"


def spark_timing_snapshots(
    accounts: DataFrame,
    opportunities: DataFrame,
    acquisition: DataFrame,
    dates: pd.DatetimeIndex,
    horizon_days: int,
    as_of: pd.Timestamp,
) -> DataFrame:
    """`timing_snapshots` on Spark: one row per account and month end when it was not a customer
    and had no open opportunity, with the columns of `accounts` (account_id and any other,
    carried along), date (a date), label and labelled (booleans). `opportunities` has
    account_id, created_date, close_date, stage and optionally type; `acquisition` has
    account_id and acquisition_date. The rows come in no particular order."""
    from pyspark.sql import functions as F

    as_of_day = int(day_numbers([as_of])[0])
    months = F.broadcast(_month_ends(accounts.sparkSession, dates))
    blocked = _customer_months(acquisition, months).unionByName(
        _open_months(opportunities, months, as_of_day)
    )
    marks = (
        blocked.withColumn("_in", F.lit(False))
        .unionByName(_in_market_months(opportunities, months, horizon_days))
        .groupBy("account_id", "_day")
        .agg(F.min("_in").alias("_free"), F.max("_in").alias("_in"))
    )
    labelled = F.col("_day") + horizon_days <= as_of_day
    rows = accounts.crossJoin(months).join(marks, ["account_id", "_day"], "left")
    return rows.where(F.coalesce(F.col("_free"), F.lit(True))).select(
        *[F.col(f"`{c}`") for c in accounts.columns],
        F.date_from_unix_date("_day").alias("date"),
        (F.coalesce(F.col("_in"), F.lit(False)) & labelled).alias("label"),
        labelled.alias("labelled"),
    )


def _day(column: str) -> Column:
    """Days since 1970-01-01 of a date, timestamp or ISO text column (null when it does not
    read)."""
    from pyspark.sql import functions as F

    return F.unix_date(F.expr(f"try_cast(`{column}` AS DATE)"))


def _month_ends(spark: SparkSession, dates: pd.DatetimeIndex) -> DataFrame:
    """The snapshot dates as day numbers (`_day`), built in the JVM: no Python worker."""
    from pyspark.sql import functions as F

    days = F.array(*[F.lit(int(d)) for d in day_numbers(dates)]).cast("array<int>")
    return spark.range(1).select(F.explode(days).alias("_day"))


def _customer_months(acquisition: DataFrame, months: DataFrame) -> DataFrame:
    """(account_id, _day) of every month end on or after the account became a customer."""
    from pyspark.sql import functions as F

    became = acquisition.select("account_id", _day("acquisition_date").alias("_became"))
    joined = became.where(F.col("_became").isNotNull()).join(
        months, F.col("_day") >= F.col("_became")
    )
    return joined.select("account_id", "_day")


def _open_months(opportunities: DataFrame, months: DataFrame, as_of_day: int) -> DataFrame:
    """(account_id, _day) of every month end an opportunity was open on: from its created day
    (from the first month end when one still open has none) until before its close day (through
    the last while open or closing after `as_of`). A closed one without a created day is not
    used, as in the pandas engine."""
    from pyspark.sql import functions as F

    created, closed = _day("created_date"), _day("close_date")
    still_open = F.coalesce((F.col("stage") == "open") | (closed > as_of_day), F.lit(False))
    spans = opportunities.select(
        "account_id",
        created.alias("_opened"),
        F.when(still_open, F.lit(None)).otherwise(closed).alias("_ended"),
        still_open.alias("_open"),
    ).where(F.col("_opened").isNotNull() | F.col("_open"))
    after_opened = F.col("_opened").isNull() | (F.col("_day") >= F.col("_opened"))
    before_ended = F.col("_ended").isNull() | (F.col("_day") < F.col("_ended"))
    return spans.join(months, after_opened & before_ended).select("account_id", "_day")


def _in_market_months(opportunities: DataFrame, months: DataFrame, horizon_days: int) -> DataFrame:
    """(account_id, _day, _in=True) of every month end with a new-business opportunity created
    in (day, day + horizon_days]; any type but existing business counts, and so does a blank."""
    from pyspark.sql import functions as F

    created = _day("created_date")
    new = F.lit(True)
    if "type" in opportunities.columns:
        kind = F.lower(F.regexp_replace(F.col("type").cast("string"), r"(?U)^\s+|\s+$", ""))
        new = kind.isNull() | ~kind.isin(*EXISTING_BUSINESS)
    deals = opportunities.where(new).select("account_id", created.alias("_created"))
    deals = deals.where(F.col("_created").isNotNull())
    within = (F.col("_day") >= F.col("_created") - horizon_days) & (
        F.col("_day") < F.col("_created")
    )
    return deals.join(months, within).select("account_id", "_day", F.lit(True).alias("_in"))


def spark_signal_features(
    snapshots: DataFrame, signals: DataFrame, types: tuple[str, ...], windows: tuple[int, ...]
) -> DataFrame:
    """`signal_features` on Spark: `snapshots` (account_id, date and any other columns) with,
    for each signal type, days since its last signal on or before the date (RECENCY_CAP when
    none) and its signals in the last w days (0 to w days old), as floats. Signals of one type
    on one day of one account count once."""
    return spark_snapshot_features(snapshots, signals, types, windows)


def spark_level_features(
    snapshots: DataFrame,
    signals: DataFrame,
    types: tuple[str, ...],
    lag_days: int = LEVEL_LAG_DAYS,
) -> DataFrame:
    """`level_features` on Spark: `snapshots` with, for each level type, the value of its latest
    reading on or before the date and its change since the latest reading on or before
    `lag_days` earlier (floats; no reading counts as 0). Readings of one type on one day count
    as their largest."""
    return spark_snapshot_features(snapshots, signals, (), (), types, lag_days)


def spark_snapshot_features(
    snapshots: DataFrame,
    signals: DataFrame,
    triggers: tuple[str, ...],
    windows: tuple[int, ...],
    levels: tuple[str, ...] = (),
    lag_days: int = LEVEL_LAG_DAYS,
) -> DataFrame:
    """`snapshots` with the trigger features of `spark_signal_features`, then the level features
    of `spark_level_features`, from one pass over each account's rows in date order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("account_id").orderBy("_day")
    upto = order.rangeBetween(Window.unboundedPreceding, Window.currentRow)
    cap, columns = int(RECENCY_CAP), []
    for trigger in triggers:
        mine = F.col("_type") == trigger
        since = F.col("_day") - F.max(F.when(mine, F.col("_day"))).over(upto)
        columns.append(F.least(F.coalesce(since, F.lit(cap)), F.lit(cap)).cast("float"))
        for w in windows:
            seen = F.count(F.when(mine, F.lit(1))).over(order.rangeBetween(-w, Window.currentRow))
            columns.append(seen.cast("float"))
    before = order.rangeBetween(Window.unboundedPreceding, -lag_days)
    for level in levels:
        mine = F.when(F.col("_type") == level, F.col("_value"))
        now = F.coalesce(F.last(mine, ignorenulls=True).over(upto), F.lit(0.0))
        then = F.coalesce(F.last(mine, ignorenulls=True).over(before), F.lit(0.0))
        columns += [now.cast("float"), (now - then).cast("float")]
    names = [*trigger_feature_names(triggers, windows), *level_feature_names(levels, lag_days)]
    return _at_snapshots(snapshots, _signal_days(signals, (*triggers, *levels)), columns, names)


def _signal_days(signals: DataFrame, types: tuple[str, ...]) -> DataFrame:
    """One row per account, day and signal type of `types` (a signal exported twice is one),
    with the largest finite value of that day (null when none)."""
    from pyspark.sql import functions as F

    value = (
        F.expr("try_cast(`value` AS DOUBLE)")
        if "value" in signals.columns
        else F.lit(None).cast("double")
    )
    finite = ~F.isnan(value) & (F.abs(value) != float("inf"))
    return (
        signals.select(
            "account_id",
            _day("date").alias("_day"),
            F.col("signal_type").alias("_type"),
            F.when(finite, value).alias("_value"),
        )
        .where(F.col("_day").isNotNull() & F.col("_type").isin(*types))
        .groupBy("account_id", "_day", "_type")
        .agg(F.max("_value").alias("_value"))
    )


def _at_snapshots(
    snapshots: DataFrame, events: DataFrame, columns: list[Column], names: list[str]
) -> DataFrame:
    """`columns` (window expressions over each account's rows in `_day` order) evaluated at the
    snapshot rows of the union of `snapshots` and `events`, appended to them as `names`."""
    from pyspark.sql import functions as F

    asks = snapshots.withColumn("_day", _day("date")).withColumn("_ask", F.lit(True))
    rows = asks.unionByName(events, allowMissingColumns=True)
    named = [c.alias(f"_f{i}") for i, c in enumerate(columns)]
    done = rows.select("*", *named).where(F.col("_ask"))
    kept = [F.col(f"`{c}`") for c in snapshots.columns]
    return done.select(*kept, *[F.col(f"_f{i}").alias(n) for i, n in enumerate(names)])


@contextmanager
def spark_session(master: str = "local[*]") -> Iterator[SparkSession]:
    """The active SparkSession (Arrow transfers on while inside), or a new one on `master`
    that logs only errors and is stopped on exit. pyspark's warning that it does not fully
    support pandas 3 is silenced inside: the transfers used here are checked value for value
    (tests/e2e/test_spark_snapshots.py, bench/timing_spark.py)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # stay on loopback
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        active = SparkSession.getActiveSession()
        if active is not None:
            before = active.conf.get(ARROW, "false")
            active.conf.set(ARROW, "true")
            try:
                yield active
            finally:
                active.conf.set(ARROW, before)
            return
        spark = (
            SparkSession.builder.master(master)
            .appName("icpfit-timing")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config(ARROW, "true")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        try:
            yield spark
        finally:
            spark.stop()


def spark_snapshots_of(
    accounts: pd.Index,
    opportunities: pd.DataFrame,
    acquisition: pd.Series,
    dates: pd.DatetimeIndex,
    horizon_days: int,
    as_of: pd.Timestamp,
    master: str = "local[*]",
) -> Snapshots:
    """`timing_snapshots` through Spark for the training path (`timing.engine: spark`): the
    tables go to Spark with accounts as their positions in `accounts`, and the snapshot rows
    are collected into this process (they are what the timing model is trained on), in the
    pandas engine's order (by account, then date)."""
    from pyspark.sql import functions as F

    deals = opportunities.assign(account_id=account_codes(opportunities["account_id"], accounts))
    deals = deals[deals["account_id"] >= 0]
    kept = [c for c in ("created_date", "close_date", "stage", "type") if c in deals]
    became = pd.DataFrame(
        {
            "account_id": account_codes(pd.Series(acquisition.index), accounts),
            "acquisition_date": day_numbers(acquisition),
        }
    )
    with spark_session(master) as spark:
        table = spark_timing_snapshots(
            _to_spark(spark, pd.DataFrame({"account_id": np.arange(len(accounts))}), ()),
            _to_spark(spark, deals[["account_id", *kept]], ("created_date", "close_date")),
            _to_spark(spark, became[became["account_id"] >= 0], ("acquisition_date",)),
            dates,
            horizon_days,
            as_of,
        )
        rows = table.select(
            "account_id", F.unix_date("date").alias("day"), "label", "labelled"
        ).toPandas()
    account = rows["account_id"].to_numpy(dtype=np.int64)
    date = np.searchsorted(day_numbers(dates), rows["day"].to_numpy(dtype=np.int64))
    order = np.lexsort((date, account))
    return Snapshots(
        accounts,
        dates,
        account[order],
        date[order],
        rows["label"].to_numpy(dtype=bool)[order],
        rows["labelled"].to_numpy(dtype=bool)[order],
    )


def spark_features_of(
    signals: pd.DataFrame,
    snapshots: Snapshots,
    types: tuple[str, ...],
    windows: tuple[int, ...],
    master: str = "local[*]",
    levels: tuple[str, ...] = (),
    lag_days: int = LEVEL_LAG_DAYS,
) -> pd.DataFrame:
    """`signal_features` (then `level_features` of `levels`) of every snapshot through Spark
    for the training path, collected into this process in snapshot order (float32 columns, as
    the pandas engine gives them)."""
    rows = pd.DataFrame(
        {"_row": np.arange(len(snapshots)), "account_id": snapshots.account, "date": snapshots.day}
    )
    raw = signals["value"] if "value" in signals else pd.Series(np.nan, index=signals.index)
    events = signals.assign(
        account_id=account_codes(signals["account_id"], snapshots.accounts),
        value=pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
    )
    events = events.loc[events["account_id"] >= 0, ["account_id", "date", "signal_type", "value"]]
    names = [*trigger_feature_names(types, windows), *level_feature_names(levels, lag_days)]
    with spark_session(master) as spark:
        table = spark_snapshot_features(
            _to_spark(spark, rows, ("date",)),
            _to_spark(spark, events.astype({"signal_type": "string"}), ("date",)),
            types,
            windows,
            levels,
            lag_days,
        )
        features = table.select("_row", *names).toPandas()
    features = features.sort_values("_row", kind="stable")[names].reset_index(drop=True)
    return features.astype(np.float32)


def _to_spark(spark: SparkSession, frame: pd.DataFrame, dates: tuple[str, ...]) -> DataFrame:
    """A pandas frame as a Spark one, its `dates` (dates or day numbers) as Spark dates: day
    numbers cross the boundary, so no time zone moves a date."""
    from pyspark.sql import functions as F

    days = {c: _days_or_null(frame[c]) for c in dates}
    moved = spark.createDataFrame(frame.assign(**days)) if len(frame) else _empty(spark, frame)
    return moved.select(
        *[
            F.date_from_unix_date(F.col(c).cast("int")).alias(c) if c in dates else F.col(f"`{c}`")
            for c in frame.columns
        ]
    )


def _days_or_null(values: pd.Series) -> pd.arrays.IntegerArray:
    """Day numbers (as given, or of dates), missing where there is none."""
    integer = pd.api.types.is_integer_dtype(values)
    days = values.to_numpy(dtype=np.int64) if integer else day_numbers(values)
    return pd.arrays.IntegerArray(days, days == NO_DAY)


def _empty(spark: SparkSession, frame: pd.DataFrame) -> DataFrame:
    """An empty frame with `frame`'s columns (createDataFrame cannot infer types from none)."""
    schema = ", ".join(f"`{c}` {'BIGINT' if c == 'account_id' else 'STRING'}" for c in frame)
    return spark.createDataFrame([], schema)
