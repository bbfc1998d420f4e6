"""Model defaults that are cheap to explain: does capping depth or early stopping cost accuracy?

  python bench/defaults.py                              # sample data, 20,000 and 100,000 accounts
  python bench/defaults.py --olist /tmp/olist/icpfit.yaml   # also the prepared Olist export

Trains each variant on the same temporal split and reports the model's holdout metrics, the size
of the forest and LightGBM pred_contrib speed (what explanations cost). Writes
bench/results/defaults.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from icpfit.config import IcpConfig, load_config
from icpfit.features.pipeline import prepare
from icpfit.features.sample import generate_sample
from icpfit.io import read_export
from icpfit.training.fit import train_icp_model
from icpfit.usecases.data import write_sample

RESULTS = Path(__file__).parent / "results"
VARIANTS = {
    "default (max_depth 8, early stopping)": {},
    "max_depth 6": {"max_depth": 6},
    "max_depth 4, 15 leaves": {"max_depth": 4, "num_leaves": 15},
    "no depth cap (leaf-wise, 31 leaves)": {"max_depth": -1},
    "no early stopping, 400 trees": {"num_iterations": 400},
    "no cap, no early stopping, 400 trees": {"max_depth": -1, "num_iterations": 400},
}


def with_params(config: IcpConfig, params: dict) -> IcpConfig:
    model = config.model.model_copy(update={"params": {**config.model.params, **params}})
    return config.model_copy(update={"model": model})


def forest_shape(booster) -> tuple[float, int]:
    trees = booster.dump_model()["tree_info"]

    def depth(node: dict) -> int:
        if "split_index" not in node:
            return 0
        return 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    leaves = [t["num_leaves"] for t in trees]
    return sum(leaves) / len(leaves), max(depth(t["tree_structure"]) for t in trees)


def measure(name: str, config: IcpConfig, prepared) -> list[dict]:
    rows = []
    for variant, params in VARIANTS.items():
        started = time.perf_counter()
        run = train_icp_model(prepared, with_params(config, params))
        seconds = time.perf_counter() - started
        booster = run.model.booster_
        used = run.model.best_iteration_
        X = run.model.features(prepared.features.frame.loc[run.rows])
        X = X.iloc[: min(len(X), 5_000)]
        started = time.perf_counter()
        booster.predict(X, pred_contrib=True, num_iteration=used)
        contrib = len(X) / (time.perf_counter() - started)
        mean_leaves, max_depth = forest_shape(booster)
        model = run.metrics.loc["model"]
        rows.append(
            {
                "data": name,
                "variant": variant,
                "roc_auc": model["roc_auc"],
                "pr_auc": model["pr_auc"],
                "lift@10%": model["lift_top_decile"],
                "LTV in A+B": model["ltv_share_tiers_ab"],
                "trees": used,
                "leaves/tree": mean_leaves,
                "max depth": max_depth,
                "pred_contrib rows/s": contrib,
                "train s": seconds,
            }
        )
        print(rows[-1], flush=True)
    return rows


def markdown(table: pd.DataFrame) -> str:
    def cell(value) -> str:
        return f"{value:,.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[20_000, 100_000])
    parser.add_argument("--seeds", type=int, nargs="*", default=[7, 8])
    parser.add_argument("--olist", type=Path, help="icpfit.yaml of a prepared Olist export")
    parser.add_argument("--olist-as-of", default="2018-09-01")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for seed in args.seeds:
            folder = Path(f"/tmp/icpfit-defaults-{size}-{seed}")
            config = load_config(write_sample(generate_sample(accounts=size, seed=seed), folder))
            raw, _ = read_export(config)
            prepared, _ = prepare(raw, config, config.as_of)
            results += measure(f"sample {size:,} seed {seed}", config, prepared)
    if args.olist:
        config = load_config(args.olist)
        raw, _ = read_export(config)
        prepared, _ = prepare(raw, config, pd.Timestamp(args.olist_as_of).date())
        results += measure(f"Olist as of {args.olist_as_of}", config, prepared)
    table = pd.DataFrame(results)
    RESULTS.mkdir(exist_ok=True)
    text = markdown(table)
    (RESULTS / "defaults.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
