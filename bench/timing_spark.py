"""The Spark engine of the timing snapshots against the pandas engine, at one size (issue 16).

  python bench/timing_spark.py                                    # 100,000 accounts, 1M signals
  python bench/timing_spark.py --accounts 20000 --signals 200000  # smoke run
  python bench/timing_spark.py --master local[2] --driver-memory 4g

Inputs are bench/timing.py's (its `generate` stage, the same seed). Each engine runs in a fresh
process: (pandas) timing_snapshots, then signal_features of every snapshot; (spark) a local
session, then the Spark user's path, spark_timing_snapshots and spark_signal_features on the
Parquet files read by Spark and written back to Parquet (one job), then the training path
(`timing.engine: spark`): spark_snapshots_of and spark_features_of from pandas tables, with the
snapshot table collected into Python. Both Spark outputs are compared with the pandas engine's,
row for row and value for value. Writes bench/results/timing_spark.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import timing as base  # bench/timing.py: inputs, steps, machine

from icpfit.features.snapshots import signal_features, timing_snapshots
from icpfit.features.snapshots_spark import (
    spark_features_of,
    spark_signal_features,
    spark_snapshots_of,
    spark_timing_snapshots,
)

STAGES = ("generate", "pandas", "spark")
TABLES = ("accounts", "opportunities", "acquisition", "signals")


def pandas_stage(args: argparse.Namespace, work: Path, steps: base.Steps) -> None:
    accounts = base.read_accounts(work)
    opportunities = pd.read_parquet(work / "opportunities.parquet")
    acquisition = pd.read_parquet(work / "acquisition.parquet")["acquisition_date"]
    signals = pd.read_parquet(work / "signals.parquet")
    dates = base.snapshot_dates(args.months)
    with steps.step(f"pandas: timing_snapshots, {len(dates)} month ends"):
        snaps = timing_snapshots(
            accounts, opportunities, acquisition, dates, base.HORIZON, base.AS_OF
        )
    with steps.step(f"pandas: signal_features, {len(snaps):,} snapshots"):
        features = signal_features(
            signals, accounts, snaps.account, snaps.day, base.TRIGGERS, base.WINDOWS
        )
    np.savez(work / "pandas.npz", account=snaps.account, date=snaps.date, label=snaps.label)
    features.to_parquet(work / "pandas_features.parquet")
    steps.info = {"rows": len(snaps), "dates": len(dates), "positives": int(snaps.label.sum())}


def session(args: argparse.Namespace):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(args.master)
        .appName("icpfit-bench-timing-spark")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.shuffle.partitions", str(args.partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def jvm_hwm_gb(spark) -> float:
    """The driver JVM's peak RSS (local mode: the executors run in it), from /proc."""
    pid = spark.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def spark_stage(args: argparse.Namespace, work: Path, steps: base.Steps) -> None:
    dates = base.snapshot_dates(args.months)
    with steps.step(f"spark: start a {args.master} session"):
        spark = session(args)
    read = {n: spark.read.parquet(str(work / f"{n}.parquet")) for n in TABLES}
    with steps.step("spark: Parquet -> snapshots + signal features -> Parquet (one job)"):
        snapshots = spark_timing_snapshots(
            read["accounts"],
            read["opportunities"],
            read["acquisition"],
            dates,
            base.HORIZON,
            base.AS_OF,
        )
        table = spark_signal_features(snapshots, read["signals"], base.TRIGGERS, base.WINDOWS)
        table.write.mode("overwrite").parquet(str(work / "spark_table"))
    accounts = base.read_accounts(work)
    opportunities = pd.read_parquet(work / "opportunities.parquet")
    acquisition = pd.read_parquet(work / "acquisition.parquet")["acquisition_date"]
    signals = pd.read_parquet(work / "signals.parquet")
    with steps.step("spark: training path, spark_snapshots_of (collected)"):
        snaps = spark_snapshots_of(
            accounts, opportunities, acquisition, dates, base.HORIZON, base.AS_OF, args.master
        )
    with steps.step(f"spark: training path, spark_features_of {len(snaps):,} (collected)"):
        features = spark_features_of(signals, snaps, base.TRIGGERS, base.WINDOWS, args.master)
    hwm = jvm_hwm_gb(spark)
    spark.stop()
    steps.info = {"jvm_hwm_gb": hwm, **agreement(work, snaps, features, accounts, dates)}


def agreement(work: Path, snaps, features: pd.DataFrame, accounts, dates) -> dict:
    """Whether both Spark outputs equal the pandas engine's, row for row and value for value."""
    with np.load(work / "pandas.npz") as saved:
        rows = {k: saved[k] for k in ("account", "date", "label")}
    expected = pd.read_parquet(work / "pandas_features.parquet")
    training = all(np.array_equal(getattr(snaps, k), v) for k, v in rows.items())
    training = training and features.equals(expected)
    written = pd.read_parquet(work / "spark_table")
    written = written.assign(
        account=accounts.get_indexer(written["account_id"]),
        date=np.searchsorted(dates, pd.to_datetime(written["date"]).astype(dates.dtype)),
    ).sort_values(["account", "date"])
    public = len(written) == len(rows["account"])
    public = public and all(np.array_equal(written[k].to_numpy(), v) for k, v in rows.items())
    public = public and written[expected.columns].reset_index(drop=True).equals(expected)
    return {"training_identical": bool(training), "public_identical": bool(public)}


def run_stage(name: str, args: argparse.Namespace, work: Path) -> dict:
    """One stage in a fresh process (its RSS is its own); its steps and facts."""
    command = [sys.executable, __file__, "--stage", name, "--workdir", str(work)]
    for option in ("accounts", "signals", "months", "master", "driver_memory", "partitions"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"stage {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def report(done: dict[str, dict], args: argparse.Namespace, loads: tuple[str, str]) -> str:
    gen, pan, spa = (done[s]["info"] for s in STAGES)
    lines = [
        "# Timing snapshots: the Spark engine against the pandas engine (issue 16)",
        "",
        f"`.venv/bin/python bench/timing_spark.py {' '.join(sys.argv[1:])}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}. Machine: {base.machine()}. Load average (1, 5, "
        f"15 min) at start {loads[0]}, at end {loads[1]}: other jobs may have shared the "
        f"{os.cpu_count()} cores. Spark: `{args.master}`, driver memory {args.driver_memory}, "
        f"{args.partitions} shuffle partitions.",
        "",
        f"Sizes: {gen['accounts']:,} accounts; {gen['signals']:,} signal rows of "
        f"{len(base.TRIGGERS)} types; {gen['opportunities']:,} opportunities "
        f"({gen['open']:,} open), {gen['customers']:,} customers. {pan['dates']} month ends: "
        f"{pan['rows']:,} snapshot rows, {pan['positives']:,} positive (horizon "
        f"{base.HORIZON} days); {len(base.TRIGGERS) * (1 + len(base.WINDOWS))} trigger "
        f"features (windows {base.WINDOWS} days).",
        "",
        "| step | seconds | peak RSS of the Python process (GB) |",
        "| --- | ---: | ---: |",
    ]
    for stage in STAGES[1:]:
        for row in done[stage]["steps"]:
            lines.append(f"| {row['step']} | {row['seconds']:,.2f} | {row['hwm_gb']:.2f} |")
    same = {True: "identical", False: "DIFFERENT"}
    lines += [
        "",
        f"Peak RSS of the Spark driver JVM (local mode: it runs the tasks): "
        f"{spa['jvm_hwm_gb']:.2f} GB. Against the pandas engine's rows and features: the "
        f"Parquet table is {same[spa['public_identical']]}, the training path's collected "
        f"snapshots and features are {same[spa['training_identical']]}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--workdir", type=Path, help="keep the generated files here")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        steps = base.Steps()
        STAGE_FUNCTIONS[args.stage](args, args.workdir, steps)
        print(json.dumps({"steps": steps.rows, "info": steps.info}))
        return
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        done = {}
        for stage in STAGES:
            done[stage] = run_stage(stage, args, work)
            print(stage, json.dumps(done[stage]), flush=True)
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(done, args, (start_load, end_load))
    base.RESULTS.mkdir(exist_ok=True)
    (base.RESULTS / "timing_spark.md").write_text(text)
    print(text)


STAGE_FUNCTIONS = {"generate": base.generate, "pandas": pandas_stage, "spark": spark_stage}

if __name__ == "__main__":
    main()
