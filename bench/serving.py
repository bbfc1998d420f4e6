"""`make bench`, serving: accounts per second and peak memory of scoring (run by hand).

  python bench/serving.py                       # quick: 200,000 accounts, 1,000,000-row RSS file
  python bench/serving.py --accounts 1000000 --rss-rows 5000000 10000000 --spark
  python bench/serving.py --accounts 1000000 --rss-rows 0 --model-params \
      '{"num_iterations": 400, "max_depth": -1, "num_leaves": 31}' --name 400x31

Measures (a) LightGBM raw predict, (b) LightGBM pred_contrib, icpfit's TreeSHAP engine alone and
with the 3+3 reasons in words, (c) `icpfit score` with 3+3 reasons (a subprocess, Parquet to
Parquet, model load included), wall time and peak RSS of (c) on larger Parquet files, and
optionally the Spark engine in local mode. Writes bench/results/serving[-NAME].md.
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

import lightgbm as lgb
import mlflow
import pandas as pd

from icpfit.config import load_config
from icpfit.features.sample import generate_sample
from icpfit.io import write_table, write_yaml
from icpfit.serving.batch import BATCH_ROWS
from icpfit.serving.reasons import reason_columns
from icpfit.serving.scoring import account_features, specs_from_bundle
from icpfit.serving.treeshap import booster_matrix
from icpfit.usecases.quarterly import retrain

RESULTS = Path(__file__).parent / "results"
ICPFIT = Path(sys.executable).parent / "icpfit"


def train_demo_model(workdir: Path, params: dict) -> None:
    sample = generate_sample(accounts=20_000, seed=7)
    for name, frame in sample.tables.items():
        write_table(frame, workdir / "data" / f"{name}.csv")
    write_yaml(sample.config, workdir / "data" / "icpfit.yaml")
    config = load_config(workdir / "data" / "icpfit.yaml")
    model = config.model.model_copy(update={"params": {**config.model.params, **params}})
    config = config.model_copy(update={"model": model})
    retrain(config, config.as_of, "bench")


def scoring_input(accounts: int, workdir: Path) -> Path:
    sample = generate_sample(accounts=accounts, seed=11)
    stacks = sample.tables["technologies"].groupby("account_id")["technology"].agg(";".join)
    rows = sample.tables["accounts"].assign(tech_stack=lambda f: f["account_id"].map(stacks))
    path = workdir / f"accounts_{accounts}.parquet"
    rows.to_parquet(path)
    return path


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


CONTRIB_ROWS = 50_000


def booster_rates(path: Path) -> dict[str, float]:
    """Accounts per second of each step on the same feature frame (pred_contrib on at most
    CONTRIB_ROWS rows, it is slow); batches of BATCH_ROWS for icpfit's engine, as in scoring."""
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    rows = pd.read_parquet(path)
    keyed = rows.assign(account_id=[f"row{i}" for i in range(len(rows))])
    specs = specs_from_bundle(model.bundle)
    frame = account_features(keyed, model.bundle, specs).frame
    booster: lgb.Booster = model.booster
    best = model.bundle["best_iteration"]
    rates = {"trees": booster.num_trees()}
    started = time.perf_counter()
    booster.predict(frame, raw_score=True, num_iteration=best)
    rates["raw"] = len(frame) / (time.perf_counter() - started)
    sample = frame.iloc[:CONTRIB_ROWS]
    started = time.perf_counter()
    booster.predict(sample, pred_contrib=True, num_iteration=best)
    rates["pred_contrib"] = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    explainer = model.explainer
    rates["engine_build_s"] = time.perf_counter() - started
    rates["tables_mb"] = explainer.table_bytes / 2**20
    warm = frame.iloc[:100]  # compiled code loads (or compiles, once) outside the timings
    reason_columns(
        explainer.contributions(booster_matrix(warm, booster))[:, :-1],
        warm,
        specs,
        model.bundle["profiles"],
        3,
    )
    engine = words = 0.0
    for start in range(0, len(frame), BATCH_ROWS):
        part = frame.iloc[start : start + BATCH_ROWS]
        started = time.perf_counter()
        values = explainer.contributions(booster_matrix(part, booster))
        engine += time.perf_counter() - started
        started = time.perf_counter()
        reason_columns(values[:, :-1], part, specs, model.bundle["profiles"], 3)
        words += time.perf_counter() - started
    rates["engine"] = len(frame) / engine
    rates["engine_reasons"] = len(frame) / (engine + words)
    return rates


PEAK_RSS = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def timed_score(path: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `icpfit score` process.

    It is started from a small Python process that reports its children's peak: on Linux a
    child's ru_maxrss starts from its parent's RSS at fork, and this bench holds gigabytes.
    """
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_RSS,
            str(ICPFIT),
            "score",
            "--input",
            str(path),
            "--output",
            str(out),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--rss-rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--model-params", type=json.loads, default={})
    parser.add_argument("--name", default="", help="suffix of the results file")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.chdir(workdir)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        train_demo_model(workdir, args.model_params)
        path = scoring_input(args.accounts, workdir)
        rates = booster_rates(path)
        score_s, score_peak = timed_score(path, workdir / "scored.parquet")
        score = args.accounts / score_s
        lines = [
            f"Model: {rates['trees']} trees, params {args.model_params or 'defaults'}; "
            f"{args.accounts:,} sample accounts; this machine ({os.cpu_count()} cores). "
            f"TreeSHAP tables {rates['tables_mb']:.1f} MB, "
            f"built in {rates['engine_build_s']:.1f} s.",
            "",
            "| path | accounts/s | vs pred_contrib | vs raw predict |",
            "| --- | ---: | ---: | ---: |",
        ]
        rows = [
            ("(a) LightGBM raw predict", rates["raw"]),
            ("(b) LightGBM pred_contrib (exact TreeSHAP)", rates["pred_contrib"]),
            ("icpfit TreeSHAP engine (same numbers)", rates["engine"]),
            ("icpfit TreeSHAP + 3+3 reasons in words", rates["engine_reasons"]),
            ("(c) icpfit score, 3+3 reasons, Parquet to Parquet, model load included", score),
        ]
        if args.spark:
            spark_s, _ = timed_score(
                path, workdir / "spark.parquet", "--engine", "spark", "--spark-master", "local[*]"
            )
            rows.append(("icpfit score --engine spark (local[*])", args.accounts / spark_s))
        for label, value in rows:
            lines.append(
                f"| {label} | {value:,.0f} | {value / rates['pred_contrib']:.1f}x | "
                f"{value / rates['raw']:.1%} |"
            )
        lines += ["", f"Peak RSS of (c) on {args.accounts:,} rows: {score_peak:,.0f} MB."]
        for big_rows in [n for n in args.rss_rows if n > 0]:
            big = workdir / "big.parquet"
            source = pd.read_parquet(path)
            copies = max(1, big_rows // args.accounts)
            pd.concat([source] * copies, ignore_index=True).to_parquet(big)
            del source
            big_s, peak = timed_score(big, workdir / "big-scored.parquet")
            (workdir / "big-scored.parquet").unlink()
            lines.append(
                f"icpfit score on {copies * args.accounts:,} rows: {big_s / 60:.1f} min "
                f"({copies * args.accounts / big_s:,.0f} accounts/s), peak RSS {peak:,.0f} MB."
            )
    report = "\n".join(lines) + "\n"
    suffix = f"-{args.name}" if args.name else ""
    (RESULTS / f"serving{suffix}.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
