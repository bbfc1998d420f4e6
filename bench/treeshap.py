"""TreeShap against LightGBM's pred_contrib and raw predict: rows per second (run by hand).

  python bench/treeshap.py                      # quick: 200,000 rows
  python bench/treeshap.py --rows 1000000       # the issue's size

Trains on a synthetic account-like matrix (60 features, 5 pandas categoricals with 5-30 levels,
NaNs) (a) the default model (learning_rate 0.05, num_leaves 31, max_depth 8, 300 rounds) and
(b) a 400-tree x 31-leaf leaf-wise model (max_depth -1); then times raw predict, pred_contrib
(on a subsample: it is slow), woodelf-explainer where it runs (it refuses categorical splits, so
also (c) the default model on the numeric columns only), and TreeShap.contributions in batches
of 50,000; plus TreeShap's table memory, precompute time and largest difference from
pred_contrib. Writes bench/results/treeshap.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from icpfit.serving.treeshap import TreeShap, booster_matrix

RESULTS = Path(__file__).parent / "results"
LEVELS = (5, 8, 12, 20, 30)
DEFAULT = {"learning_rate": 0.05, "num_leaves": 31, "max_depth": 8, "min_data_in_leaf": 20}
WIDE = {"learning_rate": 0.05, "num_leaves": 31, "max_depth": -1, "min_data_in_leaf": 20}


def accounts(rows: int, seed: int) -> pd.DataFrame:
    """55 numeric columns (counts, amounts, rates, flags; 0-30% missing) and 5 categoricals."""
    rng = np.random.default_rng(seed)
    numeric = {}
    for i in range(55):
        kind = i % 4
        if kind == 0:
            values = rng.lognormal(3, 1.5, rows).round()
        elif kind == 1:
            values = rng.normal(i, 10, rows)
        elif kind == 2:
            values = rng.beta(2, 5, rows)
        else:
            values = (rng.random(rows) < 0.3).astype(float)
        values[rng.random(rows) < 0.3 * (i % 5) / 4] = np.nan
        numeric[f"n{i:02d}"] = values
    categorical = {
        f"c{j}": pd.Categorical.from_codes(rng.integers(-1, k, rows), [f"v{v}" for v in range(k)])
        for j, k in enumerate(LEVELS)
    }
    return pd.DataFrame({**categorical, **numeric})


def labels(frame: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = frame.drop(columns=[f"c{j}" for j in range(len(LEVELS))]).to_numpy()
    weights = rng.normal(size=x.shape[1]) / np.nanstd(x, axis=0)
    signal = np.nansum((x - np.nanmean(x, axis=0)) * weights, axis=1) / 4
    signal += np.where(np.isnan(x[:, 5]), 1.0, np.sin(np.nan_to_num(x[:, 1]) / 5))
    for j in range(len(LEVELS)):
        effects = rng.normal(size=LEVELS[j] + 1)
        signal += effects[frame[f"c{j}"].cat.codes.to_numpy()]
    return (signal + rng.logistic(size=len(frame)) > np.median(signal)).astype(int)


def train(frame: pd.DataFrame, y: np.ndarray, params: dict, rounds: int) -> lgb.Booster:
    params = {"objective": "binary", "verbose": -1, "seed": 7, **params}
    return lgb.train(params, lgb.Dataset(frame, y), rounds)


def seconds(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def woodelf_rate(booster: lgb.Booster, frame: pd.DataFrame) -> str:
    try:
        from woodelf.explainer import WoodelfExplainer
    except ImportError:
        return "not installed"
    try:
        explainer = WoodelfExplainer(booster)
        spent = seconds(lambda: explainer.shap_values(frame, verbose=False))
    except Exception as error:  # reported in the table, not handled
        text = str(error).splitlines()[0][:60] if str(error) else type(error).__name__
        return f"fails: {text}"
    return f"{len(frame) / spent:,.0f}"


def measure(name: str, booster: lgb.Booster, frame: pd.DataFrame, args) -> dict:
    """Rows per second of each engine on one model, and TreeShap's exactness on the subsample."""
    x = booster_matrix(frame, booster)
    sample = slice(0, min(args.contrib_rows, len(x)))
    built = time.perf_counter()
    shap = TreeShap.from_booster(booster)
    built = time.perf_counter() - built
    shap.contributions(x[:1000])  # compiled or loaded from numba's cache
    raw = seconds(lambda: booster.predict(x, raw_score=True))
    expected = booster.predict(x[sample], pred_contrib=True)
    contrib = seconds(lambda: booster.predict(x[sample], pred_contrib=True))
    ours = seconds(
        lambda: [shap.contributions(x[i : i + args.batch]) for i in range(0, len(x), args.batch)]
    )
    error = np.abs(shap.contributions(x[sample]) - expected).max()
    rows = len(x)
    return {
        "model": name,
        "trees": booster.num_trees(),
        "raw predict": rows / raw,
        "pred_contrib": (sample.stop - sample.start) / contrib,
        "woodelf": woodelf_rate(booster, frame.iloc[: args.woodelf_rows]),
        "TreeShap": rows / ours,
        "max |diff|": error,
        "tables MB": shap.table_bytes / 2**20,
        "precompute s": built,
    }


def markdown(results: list[dict], args) -> str:
    lines = [
        "# TreeShap bench",
        "",
        f"{args.rows:,} rows x 60 features (5 pandas categoricals), {os.cpu_count()} cores;"
        f" pred_contrib on the first {args.contrib_rows:,} rows, woodelf-explainer on the first"
        f" {args.woodelf_rows:,}; TreeShap in batches of {args.batch:,}. Rows per second.",
        "",
        "| model | trees | raw predict | pred_contrib | woodelf | TreeShap | vs pred_contrib"
        " | vs raw predict | max abs diff | tables MB | precompute s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['model']} | {r['trees']} | {r['raw predict']:,.0f} | {r['pred_contrib']:,.0f}"
            f" | {r['woodelf']} | {r['TreeShap']:,.0f} | {r['TreeShap'] / r['pred_contrib']:.1f}x"
            f" | {r['TreeShap'] / r['raw predict']:.0%} | {r['max |diff|']:.1e}"
            f" | {r['tables MB']:.1f} | {r['precompute s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--contrib-rows", type=int, default=20_000)
    parser.add_argument("--woodelf-rows", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args()
    train_frame = accounts(args.train_rows, seed=1)
    y = labels(train_frame, seed=2)
    frame = accounts(args.rows, seed=3)
    numeric = [c for c in frame.columns if not c.startswith("c")]
    models = {
        "default (depth 8)": (train_frame, DEFAULT, 300),
        "400 x 31 leaves (depth -1)": (train_frame, WIDE, 400),
        "default, numeric only": (train_frame[numeric], DEFAULT, 300),
    }
    results = []
    for name, (data, params, rounds) in models.items():
        booster = train(data, y, params, rounds)
        results.append(measure(name, booster, frame[list(data.columns)], args))
        print(markdown(results, args), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "treeshap.md").write_text(markdown(results, args))


if __name__ == "__main__":
    main()
