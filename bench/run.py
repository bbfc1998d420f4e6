"""`make bench`: timings of the foundation, run by hand (never by CI).

Measures sample generation, the validate -> labels -> features pipeline and training up to a
registered model version (SQLite store in a temp dir) at 20,000 and 100,000 accounts, from CSV
files on disk as a user would have them. Writes bench/results/foundation.md.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from icpfit.config import load_config
from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import prepare
from icpfit.features.sample import generate_sample
from icpfit.io import read_export, write_table, write_yaml
from icpfit.registry import tracking
from icpfit.usecases.quarterly import retrain

SIZES = (20_000, 100_000)
RESULTS = Path(__file__).parent / "results"


def measure(accounts: int, workdir: Path) -> dict:
    started = time.perf_counter()
    sample = generate_sample(accounts=accounts, seed=7)
    generated = time.perf_counter() - started
    for name, frame in sample.tables.items():
        write_table(frame, workdir / f"{name}.csv")
    write_yaml(sample.config, workdir / "icpfit.yaml")
    config = load_config(workdir / "icpfit.yaml")
    as_of = config.as_of or date.today()
    started = time.perf_counter()
    raw, _ = read_export(config)
    read = time.perf_counter() - started
    started = time.perf_counter()
    prepared, problems = prepare(raw, config, as_of)
    pipeline = time.perf_counter() - started
    tracking(f"sqlite:///{workdir / 'mlflow.db'}")
    started = time.perf_counter()
    steps: list[float] = []
    result = retrain(config, as_of, "bench", step=lambda message: steps.append(time.perf_counter()))
    registered = time.perf_counter() - started
    # the retrain's steps: read and label, train, load the champion, report, register
    trained = steps[2] - steps[1]
    return {
        "accounts": accounts,
        "generate_s": generated,
        "read_csv_s": read,
        "validate_label_features_s": pipeline,
        "features": prepared.features.frame.shape[1],
        "cohorts": cohort_counts(prepared.labels),
        "warnings": len(problems),
        "train_s": trained,
        "train_and_register_s": registered - (steps[1] - started),
        "end_to_end_s": registered,
        "holdout_auc": float(result.run.metrics.loc["model", "roc_auc"]),
    }


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    lines = [
        "| accounts | generate (s) | read CSV (s) | validate+labels+features (s) | features "
        "| train (s) | train+log+register (s) | CSV to registered version (s) | holdout AUC |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for accounts in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            row = measure(accounts, Path(tmp))
        print(row, flush=True)
        lines.append(
            f"| {accounts:,} | {row['generate_s']:.1f} | {row['read_csv_s']:.1f} | "
            f"{row['validate_label_features_s']:.1f} | {row['features']} | "
            f"{row['train_s']:.1f} | {row['train_and_register_s']:.1f} | "
            f"{row['end_to_end_s']:.1f} | {row['holdout_auc']:.3f} |"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(
        f"\nPeak RSS of the whole run: {peak_mb:,.0f} MB. Python {sys.version.split()[0]}."
    )
    report = "\n".join(lines) + "\n"
    (RESULTS / "foundation.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
