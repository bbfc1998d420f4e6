"""Does timing add to fit? The queue's backtest on sample exports, run by hand (never by CI).

`.venv/bin/python bench/timing_backtest.py` writes bench/results/timing.md (a few minutes a seed
on a quiet two-core machine); `--accounts 4000 --seeds 1 --out /tmp/timing.md` is a smoke run.

For each seed, a sample export (20,000 accounts, as_of 2026-09-30) is written to CSV and read
back as a user would have it; `train_icp_model` trains the fit model and `timing_for` (what
`icpfit train` runs) trains and judges the timing model: the newest six labelled months are
held out, a fit model trained before them scores every month's accounts, the timing model
learns from earlier months, and each month the top 200 accounts of each ranking are worked.
Reported: opportunities per 100 accounts worked with 95% intervals (accounts resampled), the
paired gain of priority over each other ranking, and ROC-AUC on every held-out snapshot.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from icpfit.config import load_config
from icpfit.features.sample import generate_sample
from icpfit.training.fit import train_icp_model
from icpfit.training.timing import SCORERS, TimingRun
from icpfit.usecases.data import write_sample
from icpfit.usecases.quarterly import labelled_export
from icpfit.usecases.timing import timing_for

SEEDS = (1, 2, 3)
ACCOUNTS = 20_000
AS_OF = date(2026, 9, 30)
RESULTS = Path(__file__).parent / "results"


def seed_run(seed: int, accounts: int) -> TimingRun:
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_sample(generate_sample(accounts, seed, AS_OF), Path(folder)))
        raw, prepared = labelled_export(config, AS_OF)
        fit = train_icp_model(prepared, config)
        outcome = timing_for(config, raw, prepared, fit)
    if outcome.run is None:
        raise SystemExit(f"seed {seed}: {outcome.skipped}")
    return outcome.run


def rows_of(seed: int, run: TimingRun, seconds: float) -> tuple[list[dict], list[dict]]:
    backtest = run.backtest
    rates = [
        {
            "seed": seed,
            "ranking": SCORERS[r.ranking],
            "per 100 worked [95% CI]": f"{r.per_100:.1f} [{r.low:.1f}, {r.high:.1f}]",
            "opportunities / worked": f"{r.opportunities:,} / {r.worked:,}",
            "ROC-AUC [95% CI]": _auc(backtest.auc, r.ranking),
        }
        for r in backtest.rates.itertuples()
    ]
    gains = [
        {
            "seed": seed,
            "priority minus": SCORERS[g.against],
            "gain per 100 worked [95% CI]": f"{g.gain:+.1f} [{g.low:+.1f}, {g.high:+.1f}]",
            "interval excludes no gain": "yes" if g.low > 0 else "no",
            "held-out snapshots (accounts, with opportunity)": f"{backtest.snapshots:,} "
            f"({backtest.accounts:,}, {backtest.positives:,})",
            "seconds": f"{seconds:.0f}",
        }
        for g in backtest.gains.itertuples()
    ]
    return rates, gains


def _auc(auc: pd.DataFrame, ranking: str) -> str:
    row = auc.set_index("ranking").loc[ranking]
    return f"{row['roc_auc']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def report(rates: list[dict], gains: list[dict], accounts: int, months: list[str]) -> str:
    machine = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    return "\n".join(
        [
            "# Fit x timing: does the queue's priority beat fit alone? (issue 16)",
            "",
            f"`.venv/bin/python bench/timing_backtest.py` on {datetime.now():%Y-%m-%d %H:%M} "
            f"({machine}). Sample exports of {accounts:,} accounts, as_of {AS_OF}; held-out "
            f"months {', '.join(months)}; each month the top 200 accounts of each ranking are "
            "worked and we count the new opportunities they opened within 90 days. Intervals "
            "resample accounts (1,000 rounds); gains are paired. The timing model never saw "
            "the held-out months; the fit feature comes from a fit model trained before them.",
            "",
            "## Gain of priority (fit x timing) over each other ranking",
            "",
            markdown(pd.DataFrame(gains)),
            "",
            "## Opportunities per 100 accounts worked, per ranking",
            "",
            markdown(pd.DataFrame(rates)),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    parser.add_argument("--out", type=Path, default=RESULTS / "timing.md")
    args = parser.parse_args()
    rates, gains, months = [], [], []
    for seed in SEEDS[: args.seeds]:
        print(f"seed {seed}: {args.accounts:,} accounts", flush=True)
        started = time.perf_counter()
        run = seed_run(seed, args.accounts)
        seed_rates, seed_gains = rows_of(seed, run, time.perf_counter() - started)
        rates += seed_rates
        gains += seed_gains
        months = run.backtest.months
        print(run.backtest.headline(), flush=True)
    text = report(rates, gains, args.accounts, months)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
