"""Reasons a rep would catch, counted over whole scored universes, run by hand (never by CI).

`.venv/bin/python bench/reasons.py [--olist PATH]` runs the command line as a user would, in a
temporary folder with its own SQLite store: the built-in sample (`icpfit sample-data`, 20,000
accounts, seed 7, as `make demo` does), and, given the folder of the four Olist files, the
Olist walkthrough (examples/olist). Each is trained, scored whole, and read back by
`serving.reasons.audit_reasons`: reasons whose words contradict their sign, vacuous items, risks
without a comparison with the best customers, facts said twice. Issue 14 wants all four at 0.
Writes bench/results/reasons.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

from icpfit.serving.reasons import audit_reasons

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
ICPFIT = str(Path(sys.executable).parent / "icpfit")


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def audit(scored: Path, config: Path) -> dict[str, int]:
    frame = pd.read_parquet(scored)
    technographic = yaml.safe_load(config.read_text())["features"].get("technographic") or {}
    counts = audit_reasons(frame, technographic.get("categories", {}))
    words = frame.filter(regex=r"^(reason|risk)_\d+$")
    return counts | {"rows": len(frame), "items": int(words.notna().sum().sum())}


def sample_universe(folder: Path) -> dict[str, int]:
    run(ICPFIT, "sample-data", "--out", "data", "--accounts", "20000", "--seed", "7", cwd=folder)
    run(ICPFIT, "train", "--config", "data/icpfit.yaml", cwd=folder)
    tables = ("--technologies", "data/technologies.csv", "--signals", "data/signals.csv")
    out = folder / "scored.parquet"
    run(ICPFIT, "score", "--input", "data/accounts.csv", "--output", str(out), *tables, cwd=folder)
    return audit(out, folder / "data" / "icpfit.yaml")


def olist_universe(folder: Path, source: Path) -> dict[str, int]:
    prepare = str(REPO / "examples" / "olist" / "prepare.py")
    run(sys.executable, prepare, str(source), "data", cwd=folder)
    run(ICPFIT, "train", "--config", "data/icpfit.yaml", cwd=folder)
    config = yaml.safe_load((folder / "data" / "icpfit.yaml").read_text())
    name = config.get("registry", {}).get("model_name", "icp-fit")
    out = folder / "scored.parquet"
    model = f"models:/{name}/1"  # the first version, champion or not
    run(ICPFIT, "score", "--model", model, "--input", "data/accounts.csv", "--output", str(out),
        cwd=folder)  # fmt: skip
    return audit(out, folder / "data" / "icpfit.yaml")


def table(results: dict[str, dict[str, int]]) -> list[str]:
    keys = ("contradictions", "vacuous", "risks_without_comparison", "duplicated_facts")
    lines = [
        "| universe | accounts | reasons and risks | " + " | ".join(keys) + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(keys),
    ]
    for name, counts in results.items():
        cells = " | ".join(f"{counts[k]:,}" for k in keys)
        lines.append(f"| {name} | {counts['rows']:,} | {counts['items']:,} | {cells} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--olist", type=Path, help="The folder of the four Olist CSV files.")
    parser.add_argument("--out", type=Path, default=RESULTS / "reasons.md")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/sample.db"
        (Path(tmp) / "sample").mkdir()
        results["built-in sample (20,000 accounts, seed 7)"] = sample_universe(Path(tmp) / "sample")
        if args.olist:
            os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/olist.db"
            (Path(tmp) / "olist").mkdir()
            results["Olist walkthrough (v1)"] = olist_universe(Path(tmp) / "olist", args.olist)
    commit = run("git", "rev-parse", "--short", "HEAD", cwd=REPO).strip()
    text = "\n".join(
        [
            "# Reasons a rep would catch",
            "",
            f"Run on {datetime.now():%Y-%m-%d %H:%M} at commit {commit} by "
            "`.venv/bin/python bench/reasons.py --olist PATH` (its docstring says how).",
            "Every account of each universe scored with 3 reasons and 3 risks, read back by "
            "`serving.reasons.audit_reasons`.",
            "",
            *table(results),
            "",
        ]
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
