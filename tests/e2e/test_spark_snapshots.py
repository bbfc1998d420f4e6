"""The Spark engine of the timing snapshots (real Spark, local mode) gives the pandas engine's
rows and values, on a generated export with hostile accounts added (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from icpfit.features.sample import generate_sample
from icpfit.features.snapshots import (
    level_features,
    month_ends,
    signal_features,
    timing_snapshots,
)
from icpfit.features.snapshots_spark import spark_snapshot_features, spark_timing_snapshots
from icpfit.training.timing_data import export_snapshots
from icpfit.training.timing_frame import timing_frame
from tests.conftest import make_config

pytest.importorskip("pyspark")

AS_OF = pd.Timestamp("2026-09-30")
DATES = month_ends(AS_OF - pd.DateOffset(months=23), AS_OF)
HORIZON, WINDOWS = 92, (30, 90, 180)  # June 30 + 92 days is the as-of date
TRIGGERS = ("funding_round", "exec_hire", "hiring_surge", "tech_install")
LEVELS = ("web_visits", "hiring_surge")


@pytest.fixture(scope="module")
def spark() -> Iterator:
    """One local session for this module; the engine's own `spark_session` reuses it."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("icpfit-test-snapshots")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


def _hostile() -> dict[str, pd.DataFrame]:
    """Accounts the pandas engine's own tests single out, and some worse."""
    accounts = ["H-quiet", "H-edge", "H-dup", "H-customer", "H-open", "H-undated", "H-types"]
    accounts += ["H-late", "H-won", "H-horizon"]
    deals = [
        # becomes a customer mid-history: open Oct 1 - Nov 15 2025, customer from then on
        ("H-customer", "2025-10-01", "2025-11-15", "won", "new"),
        ("H-open", "2026-02-10", None, "open", "New Business"),  # open through the end
        ("H-edge", "2026-05-31", "2026-06-15", "lost", None),  # created on a month end
        ("H-late", "2025-03-01", "2026-12-01", "lost", "new"),  # closes after the as-of date
        ("H-undated", None, None, "open", "new"),  # open, no created date: blocked throughout
        ("H-late", None, "2026-11-15", "lost", "new"),  # no created date, closes after as-of
        ("H-won", "2025-12-01", "2025-12-31", "won", "new"),  # a customer from a month end
        ("H-horizon", "2026-01-31", "2026-02-05", "lost", "new"),  # Oct 31 + 92 days
        ("H-horizon", "2025-05-31", "2025-05-31", "lost", "new"),  # opened, closed on May 31
        ("H-quiet", None, "2025-01-10", "lost", "new"),  # closed, no created date: not used
        ("H-types", "2025-06-10", "2025-06-20", "lost", " Renewal "),  # not in market
        ("H-types", "2025-09-10", "2025-09-20", "lost", "EXPANSION"),
        ("H-types", "2026-01-05", "2026-01-20", "lost", "newbusiness"),  # in market
        ("GHOST", "2025-06-01", None, "open", "new"),  # an account the export does not have
    ]
    signals = [
        ("H-edge", "2026-03-31", "funding_round", 2e6),  # on a snapshot day: counts that day
        ("H-edge", "2026-04-01", "funding_round", 3e6),  # a day after: not before Apr 30
        ("H-edge", "2026-03-01", "exec_hire", None),  # exactly 30 days before Mar 31
        ("H-edge", "2026-02-28", "exec_hire", None),  # 31 days before Mar 31, on a month end
        ("H-dup", "2026-01-15", "hiring_surge", 12.0),  # the same signal exported twice
        ("H-dup", "2026-01-15", "hiring_surge", 12.0),
        ("H-dup", "2026-01-15", "hiring_surge", 15.0),  # another reading the same day
        ("H-dup", "2026-04-30", "hiring_surge", 20.0),  # on a month end
        ("H-dup", "2026-05-01", "hiring_surge", None),  # a signal without a value
        ("H-customer", "2025-08-01", "tech_install", 1.0),
        ("H-customer", "2026-01-01", "tech_install", 1.0),  # after it became a customer
        ("H-types", "2025-02-01", "web_visits", 800.0),  # a level read now and then
        ("H-types", "2025-05-31", "web_visits", 1200.0),
        ("H-types", "2026-07-31", "web_visits", 400.0),
        ("H-types", "2026-08-15", "web_visits", float("nan")),
        ("H-types", "2026-03-03", "not_a_trigger", 1.0),
        ("H-types", "2014-01-01", "exec_hire", None),  # over ten years before the first date
        ("H-types", None, "exec_hire", None),  # no date: left out
        ("GHOST", "2026-03-01", "exec_hire", None),
    ]
    return {
        "accounts": pd.DataFrame({"account_id": accounts}),
        "opportunities": pd.DataFrame(
            deals, columns=["account_id", "created_date", "close_date", "stage", "type"]
        ),
        "signals": pd.DataFrame(signals, columns=["account_id", "date", "signal_type", "value"]),
    }


@pytest.fixture(scope="module")
def export() -> dict[str, pd.DataFrame]:
    """A generated export of 200 accounts with the hostile ones added; acquisition dates are
    the first won deal's close date."""
    tables, extra = generate_sample(200, seed=11).tables, _hostile()
    accounts = pd.concat([tables["accounts"][["account_id"]], extra["accounts"]])
    opportunities = pd.concat(
        [
            tables["opportunities"][["account_id", "created_date", "close_date", "stage", "type"]],
            extra["opportunities"].astype({"created_date": "datetime64[ns]"}),
        ]
    ).astype({"created_date": "datetime64[ns]", "close_date": "datetime64[ns]"})
    signals = pd.concat(
        [tables["signals"], extra["signals"].astype({"date": "datetime64[ns]"})]
    ).reset_index(drop=True)
    won = opportunities[opportunities["stage"].eq("won")]
    acquisition = won.groupby("account_id")["close_date"].min().rename("acquisition_date")
    return {
        "accounts": accounts.reset_index(drop=True),
        "opportunities": opportunities.reset_index(drop=True),
        "signals": signals,
        "acquisition": acquisition,
    }


def _pandas_table(export: dict[str, pd.DataFrame]) -> pd.DataFrame:
    accounts = pd.Index(export["accounts"]["account_id"], name="account_id")
    snaps = timing_snapshots(
        accounts, export["opportunities"], export["acquisition"], DATES, HORIZON, AS_OF
    )
    args = (export["signals"], accounts, snaps.account, snaps.day)
    return pd.concat(
        [
            snaps.frame(),
            signal_features(*args, TRIGGERS, WINDOWS),
            level_features(*args, LEVELS),
        ],
        axis=1,
    )


def _spark_table(spark, export: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Through the public Spark functions, with string ids and each kind of date column:
    timestamps (opportunities), ISO text (signals) and dates (acquisition)."""
    signals = export["signals"].assign(date=export["signals"]["date"].dt.strftime("%Y-%m-%d"))
    acquisition = export["acquisition"].reset_index()
    acquisition["acquisition_date"] = acquisition["acquisition_date"].dt.date
    on_spark = spark.createDataFrame(signals)
    snapshots = spark_timing_snapshots(
        spark.createDataFrame(export["accounts"]),
        spark.createDataFrame(export["opportunities"]),
        spark.createDataFrame(acquisition),
        DATES,
        HORIZON,
        AS_OF,
    )
    table = spark_snapshot_features(snapshots, on_spark, TRIGGERS, WINDOWS, LEVELS)
    return table.toPandas()


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(date=pd.to_datetime(frame["date"]).astype("datetime64[ns]"))
    return frame.sort_values(["account_id", "date"], kind="stable").reset_index(drop=True)


def test_spark_engine_gives_the_pandas_rows_and_values(spark, export):
    expected = _ordered(_pandas_table(export))
    got = _ordered(_spark_table(spark, export))
    assert not expected.duplicated(["account_id", "date"]).any()
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)  # no row dropped or added
    pd.testing.assert_frame_equal(
        got, expected.astype({"account_id": got["account_id"].dtype}), check_exact=True
    )
    # the hostile accounts are really in there, with the values their rows say
    rows = expected.set_index(["account_id", expected["date"].dt.strftime("%Y-%m-%d")])
    assert len(rows.loc["H-quiet"]) == len(DATES)
    assert rows.loc[("H-quiet", "2026-09-30"), "days_since_exec_hire"] == 3650.0
    assert rows.loc[("H-edge", "2026-03-31"), "days_since_funding_round"] == 0.0
    assert rows.loc[("H-edge", "2026-03-31"), "funding_round_last_30d"] == 1.0
    assert rows.loc[("H-edge", "2026-04-30"), "funding_round_last_30d"] == 2.0
    assert rows.loc[("H-edge", "2026-03-31"), "exec_hire_last_30d"] == 1.0
    assert rows.loc[("H-edge", "2026-03-31"), "exec_hire_last_90d"] == 2.0
    assert rows.loc[("H-edge", "2026-04-30"), "label"]  # the deal of May 31
    assert "2026-05-31" not in rows.loc["H-edge"].index  # open from that day
    assert "H-late" not in rows.index.get_level_values(0)  # open past the as-of date
    assert rows.loc["H-won"].index.max() == "2025-11-30"
    assert rows.loc[("H-horizon", "2025-10-31"), "label"]
    assert rows.loc[("H-quiet", "2026-06-30"), "labelled"]
    assert not rows.loc[("H-quiet", "2026-07-31"), "labelled"]
    assert not rows.loc[("H-horizon", "2025-09-30"), "label"]
    assert not rows.loc[("H-horizon", "2025-05-31"), "label"]
    assert rows.loc[("H-types", "2024-10-31"), "days_since_exec_hire"] == 3650.0
    assert rows.loc[("H-dup", "2026-01-31"), "hiring_surge_last_30d"] == 1.0
    assert rows.loc[("H-dup", "2026-01-31"), "hiring_surge_latest"] == 15.0
    assert rows.loc[("H-dup", "2026-05-31"), "hiring_surge_change_90d"] == 5.0
    assert rows.loc["H-customer"].index.max() == "2025-09-30"
    assert rows.loc["H-open"].index.max() == "2026-01-31"
    assert "H-undated" not in rows.index.get_level_values(0)
    assert rows.loc[("H-types", "2025-06-30"), "web_visits_latest"] == 1200.0
    assert rows.loc[("H-types", "2025-06-30"), "web_visits_change_90d"] == 400.0
    assert rows.loc[("H-types", "2026-08-31"), "web_visits_change_90d"] == -800.0
    assert rows.loc[("H-types", "2025-12-31"), "label"]
    assert not rows.loc[("H-types", "2025-05-31"), "label"]  # only a renewal came after it


def test_timing_engine_spark_builds_the_training_rows_pandas_builds(spark, export):
    """`timing.engine: spark` through training's own steps: export_snapshots (Spark rows,
    collected in the pandas engine's order) and timing_frame (Spark features, collected)."""
    accounts = export["accounts"].assign(industry="Software")
    prepared = SimpleNamespace(
        as_of=date(2026, 9, 30),
        export=SimpleNamespace(accounts=accounts, opportunities=export["opportunities"], files={}),
        labels=pd.DataFrame({"acquisition_date": export["acquisition"]}),
    )
    on_pandas = make_config()
    on_spark = make_config(timing={"engine": "spark", "spark_master": "local[1]"})
    assert on_pandas.timing.engine == "pandas" and on_spark.timing.engine == "spark"
    expected, got = export_snapshots(prepared, on_pandas), export_snapshots(prepared, on_spark)
    assert got.accounts.equals(expected.accounts) and got.dates.equals(expected.dates)
    for part in ("account", "date", "label", "labelled"):
        np.testing.assert_array_equal(getattr(got, part), getattr(expected, part), err_msg=part)
        assert getattr(got, part).dtype == getattr(expected, part).dtype, part
    fit_at = np.random.default_rng(1).random((len(accounts), len(DATES)))
    frames = [
        timing_frame(got, export["signals"], TRIGGERS, WINDOWS, fit_at, engine=engine)
        for engine in ("pandas", "spark")
    ]
    pd.testing.assert_frame_equal(frames[1].features, frames[0].features, check_exact=True)
