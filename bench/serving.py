"""`make bench`, serving: accounts per second and peak memory of scoring (run by hand).

  python bench/serving.py                       # quick: 200,000 accounts, 1,000,000-row RSS file
  python bench/serving.py --accounts 1000000 --rss-rows 5000000 --spark   # the issue's sizes

Measures (a) LightGBM raw predict, (b) LightGBM pred_contrib, (c) `icpfit score` with 3+3
reasons (a subprocess, model load included), peak RSS of (c) on a larger Parquet, and optionally
the Spark engine in local mode. Writes bench/results/serving.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import mlflow
import pandas as pd

from icpfit.config import load_config
from icpfit.features.pipeline import prepare
from icpfit.features.sample import generate_sample
from icpfit.io import read_export, write_table, write_yaml
from icpfit.serving.scoring import account_features, specs_from_bundle
from icpfit.training.fit import train_icp_model
from icpfit.training.registry import log_and_register
from icpfit.training.report import build_report

RESULTS = Path(__file__).parent / "results"
ICPFIT = Path(sys.executable).parent / "icpfit"


def train_demo_model(workdir: Path) -> None:
    sample = generate_sample(accounts=20_000, seed=7)
    for name, frame in sample.tables.items():
        write_table(frame, workdir / "data" / f"{name}.csv")
    write_yaml(sample.config, workdir / "data" / "icpfit.yaml")
    config = load_config(workdir / "data" / "icpfit.yaml")
    raw, _ = read_export(config)
    prepared, _ = prepare(raw, config, config.as_of)
    run = train_icp_model(prepared, config)
    log_and_register(run, prepared, config, "bench", build_report(run, prepared, config, "bench"))


def scoring_input(accounts: int, workdir: Path) -> Path:
    sample = generate_sample(accounts=accounts, seed=11)
    stacks = sample.tables["technologies"].groupby("account_id")["technology"].agg(";".join)
    rows = sample.tables["accounts"].assign(tech_stack=lambda f: f["account_id"].map(stacks))
    path = workdir / f"accounts_{accounts}.parquet"
    rows.to_parquet(path)
    return path


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


def booster_rates(path: Path) -> tuple[float, float, int]:
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    rows = pd.read_parquet(path)
    keyed = rows.assign(account_id=[f"row{i}" for i in range(len(rows))])
    frame = account_features(keyed, model.bundle, specs_from_bundle(model.bundle)).frame
    booster: lgb.Booster = model.booster
    started = time.perf_counter()
    booster.predict(frame, raw_score=True)
    raw = time.perf_counter() - started
    started = time.perf_counter()
    booster.predict(frame, pred_contrib=True)
    contrib = time.perf_counter() - started
    return raw, contrib, booster.num_trees()


def timed_score(path: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `icpfit score` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [str(ICPFIT), "score", "--input", str(path), "--output", str(out), *extra],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--rss-rows", type=int, default=1_000_000)
    parser.add_argument("--spark", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.chdir(workdir)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        train_demo_model(workdir)
        path = scoring_input(args.accounts, workdir)
        raw, contrib, trees = booster_rates(path)
        score_s, _ = timed_score(path, workdir / "scored.parquet")
        big = workdir / "big.parquet"
        pd.concat(
            [pd.read_parquet(path)] * max(1, args.rss_rows // args.accounts), ignore_index=True
        ).to_parquet(big)
        big_rows = pd.read_parquet(big, columns=["account_id"]).shape[0]
        big_s, peak = timed_score(big, workdir / "big-scored.parquet")
        lines = [
            f"Demo model ({trees} trees), {args.accounts:,} sample accounts, this machine:",
            "",
            "| path | accounts/s |",
            "| --- | ---: |",
            f"| (a) LightGBM raw predict | {rate(args.accounts, raw)} |",
            f"| (b) LightGBM pred_contrib | {rate(args.accounts, contrib)} |",
            f"| (c) icpfit score, 3+3 reasons, Parquet to Parquet, model load included | "
            f"{rate(args.accounts, score_s)} |",
        ]
        if args.spark:
            spark_s, _ = timed_score(
                path, workdir / "spark.parquet", "--engine", "spark", "--spark-master", "local[*]"
            )
            lines.append(
                f"| icpfit score --engine spark (local[*]) | {rate(args.accounts, spark_s)} |"
            )
        lines += [
            "",
            f"(c)/(b) = {contrib / score_s:.2f}; (c)/(a) = {raw / score_s:.3f}.",
            f"Peak RSS of icpfit score on {big_rows:,} rows: {peak:,.0f} MB "
            f"({rate(big_rows, big_s)} accounts/s).",
        ]
    report = "\n".join(lines) + "\n"
    (RESULTS / "serving.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
