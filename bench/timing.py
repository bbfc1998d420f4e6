"""Fit x timing at scale (issue 16): snapshots, their features, the timing fit and one day's queue.

  python bench/timing.py                                     # 1,000,000 accounts, 10M signals
  python bench/timing.py --accounts 50000 --signals 500000   # smoke run: seconds
  python bench/timing.py --workdir /tmp/t --stages fit queue # rerun stages on kept inputs

Inputs are generated with numpy (features/sample.py is too slow at this size): accounts, signal
rows of 4 types spread over 4 years up to the as-of date (with a burst before each opportunity, so
the model has something to learn), opportunities for ~30% of accounts and the acquisition dates of
the won ones. Each stage runs in its own Python process, so its peak RSS (ru_maxrss, and VmHWM from
/proc) is its own and includes its inputs: (a) timing_snapshots over the monthly dates, (b)
signal_features of every snapshot, (c) fit_timing on the labelled snapshots (early stopping, as in
training), (d) the queue's day: timing_inputs for every account, the timing model's predict,
rank_queue's top 500 and why_now for them. Writes bench/results/timing_scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from icpfit.features.snapshots import (
    Snapshots,
    month_ends,
    signal_features,
    timing_snapshots,
)
from icpfit.serving.queue import NO_TRIGGER, rank_queue, timing_inputs, why_now
from icpfit.serving.timing_model import IcpTimingModel
from icpfit.training.timing import (
    FIT_FEATURE,
    KEEP_NEGATIVES,
    NEGATIVES_PER_POSITIVE,
    ROUNDS,
    STOPPING,
    TimingFrame,
    feature_names,
    fit_timing,
)

RESULTS = Path(__file__).parent / "results"
AS_OF = pd.Timestamp("2026-06-15")
TRIGGERS = ("exec_hire", "funding_round", "hiring_surge", "tech_install")
TYPE_SHARE = (0.2, 0.05, 0.4, 0.35)
WINDOWS, HORIZON, CAPACITY, SEED = (30, 90, 180), 90, 500, 7
STAGES = ("generate", "snapshots", "features", "fit", "queue")


def rss_gb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak of this process) from /proc, in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 2**20
    return float("nan")


class Steps:
    """Wall seconds and the process's peak RSS after each timed step."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.info: dict = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        before = rss_gb("VmRSS")
        started = time.perf_counter()
        yield
        self.rows.append(
            {
                "step": name,
                "seconds": time.perf_counter() - started,
                "rss_before_gb": before,
                "maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                "hwm_gb": rss_gb("VmHWM"),
            }
        )


def snapshot_dates(months: int) -> pd.DatetimeIndex:
    """Month ends over `months` months before the as-of date, as training/timing_data.py does."""
    return month_ends(AS_OF - pd.DateOffset(months=months), AS_OF)


def day_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def opportunity_table(rng: np.random.Generator, ids: np.ndarray, start: int, end: int):
    """~30% of accounts with 1 + Poisson(0.25) new-business deals; won deals' close dates are
    their accounts' acquisition dates."""
    owners = rng.choice(len(ids), int(0.3 * len(ids)), replace=False)
    who = np.repeat(owners, 1 + rng.poisson(0.25, len(owners)))
    created = rng.integers(start + 60, end + 1, len(who))
    closed = created + 14 + rng.gamma(2.0, 30.0, len(who)).astype(np.int64)
    stage = np.where(closed > end, "open", np.where(rng.random(len(who)) < 0.3, "won", "lost"))
    opportunities = pd.DataFrame(
        {
            "account_id": ids[who],
            "created_date": day_of(created),
            "close_date": day_of(closed),
            "stage": stage.astype(object),
            "type": "new",
        }
    )
    won = opportunities[opportunities["stage"].eq("won")]
    acquisition = won.groupby("account_id")["close_date"].min().rename("acquisition_date")
    return opportunities, acquisition, who, created


def signal_table(rng: np.random.Generator, ids: np.ndarray, rows: int, deals, start: int, end):
    """`rows` signals: Poisson(1.5) per deal in the 60 days before it was created, the rest
    spread over the 4 years, more for active accounts (lognormal rates); in date order."""
    deal_who, created = deals
    burst = np.minimum(rng.poisson(1.5, len(created)), 5)
    burst_who = np.repeat(deal_who, burst)[: rows // 2]
    burst_day = np.repeat(created, burst)[: rows // 2] - rng.integers(0, 61, len(burst_who))
    activity = np.cumsum(rng.lognormal(0.0, 1.0, len(ids)))
    spread = rows - len(burst_who)
    who = np.concatenate([np.searchsorted(activity, rng.random(spread) * activity[-1]), burst_who])
    day = np.concatenate([rng.integers(start, end + 1, spread), np.maximum(burst_day, start)])
    kind = rng.choice(len(TRIGGERS), rows, p=TYPE_SHARE)
    value = np.select(
        [kind == 1, kind == 2, kind == 3],
        [np.round(rng.lognormal(15.5, 1.0, rows), -5), 3.0 + rng.poisson(8, rows), 1.0],
        1.0,
    )
    order = np.argsort(day, kind="stable")
    return pd.DataFrame(
        {
            "account_id": ids[who[order]],
            "date": day_of(day[order]),
            "signal_type": np.array(TRIGGERS, dtype=object)[kind[order]],
            "value": value[order],
        }
    )


def generate(args: argparse.Namespace, work: Path, steps: Steps) -> None:
    rng = np.random.default_rng(SEED)
    end = int(AS_OF.to_datetime64().astype("datetime64[D]").astype(np.int64))
    start = end - 4 * 365
    with steps.step("generate inputs (numpy)"):
        ids = np.array([f"ACC-{i + 1:07d}" for i in range(args.accounts)], dtype=object)
        opportunities, acquisition, who, created = opportunity_table(rng, ids, start, end)
        signals = signal_table(rng, ids, args.signals, (who, created), start, end)
    pd.DataFrame({"account_id": ids}).to_parquet(work / "accounts.parquet")
    opportunities.to_parquet(work / "opportunities.parquet")
    acquisition.to_frame().to_parquet(work / "acquisition.parquet")
    signals.to_parquet(work / "signals.parquet")
    steps.info = {
        "accounts": args.accounts,
        "signals": len(signals),
        "opportunities": len(opportunities),
        "opportunity_accounts": int(opportunities["account_id"].nunique()),
        "open": int(opportunities["stage"].eq("open").sum()),
        "customers": len(acquisition),
    }


def read_accounts(work: Path) -> pd.Index:
    return pd.Index(pd.read_parquet(work / "accounts.parquet")["account_id"], name="account_id")


def read_snapshots(work: Path, accounts: pd.Index, dates: pd.DatetimeIndex) -> Snapshots:
    with np.load(work / "snapshots.npz") as saved:
        parts = [saved[k] for k in ("account", "date", "label", "labelled")]
    return Snapshots(accounts, dates, *parts)


def snapshots_stage(args: argparse.Namespace, work: Path, steps: Steps) -> None:
    accounts = read_accounts(work)
    opportunities = pd.read_parquet(work / "opportunities.parquet")
    acquisition = pd.read_parquet(work / "acquisition.parquet")["acquisition_date"]
    dates = snapshot_dates(args.months)
    with steps.step(f"(a) timing_snapshots, {len(dates)} month ends"):
        snaps = timing_snapshots(accounts, opportunities, acquisition, dates, HORIZON, AS_OF)
    np.savez(
        work / "snapshots.npz",
        account=snaps.account,
        date=snaps.date,
        label=snaps.label,
        labelled=snaps.labelled,
    )
    steps.info = {
        "dates": len(dates),
        "first": f"{dates[0]:%Y-%m-%d}",
        "last": f"{dates[-1]:%Y-%m-%d}",
        "rows": len(snaps),
        "labelled": int(snaps.labelled.sum()),
        "positives": int(snaps.label.sum()),
    }


def features_stage(args: argparse.Namespace, work: Path, steps: Steps) -> None:
    accounts = read_accounts(work)
    signals = pd.read_parquet(work / "signals.parquet")
    snaps = read_snapshots(work, accounts, snapshot_dates(args.months))
    with steps.step(f"(b) signal_features, {len(snaps):,} snapshots"):
        features = signal_features(signals, accounts, snaps.account, snaps.day, TRIGGERS, WINDOWS)
    del signals
    # the fit model's probability of each account at each date: random here (timing_frame's job)
    fit_at = np.random.default_rng(SEED).random((len(accounts), len(snaps.dates)), np.float32)
    features[FIT_FEATURE] = fit_at[snaps.account, snaps.date]
    np.save(work / "features.npy", features.to_numpy(np.float32).T)  # one column a row
    (work / "features.names").write_text("\n".join(features.columns))
    steps.info = {"features": features.shape[1], "trigger_features": len(features.columns) - 1}


def read_features(work: Path) -> pd.DataFrame:
    """The saved features as one float32 block, as signal_features builds them (no copy)."""
    names = (work / "features.names").read_text().split("\n")
    return pd.DataFrame(np.load(work / "features.npy").T, columns=names, copy=False)


def fit_stage(args: argparse.Namespace, work: Path, steps: Steps) -> None:
    accounts = read_accounts(work)
    snaps = read_snapshots(work, accounts, snapshot_dates(args.months))
    frame = TimingFrame(snaps, read_features(work), TRIGGERS)
    keep = snaps.labelled.copy()
    if args.fit_rows and keep.sum() > args.fit_rows:
        chosen = np.random.default_rng(SEED).choice(np.flatnonzero(keep), args.fit_rows, False)
        keep[:] = False
        keep[chosen] = True
    with steps.step("(c) TimingFrame.rows(labelled)"):
        every = frame.rows(keep)
    del frame
    names = feature_names(TRIGGERS, WINDOWS)
    with steps.step(f"(c) fit_timing, {len(every.snapshots):,} rows (early stopping)"):
        fit = fit_timing(every, names, SEED)
    fit.booster.save_model(str(work / "timing.txt"), num_iteration=fit.rounds)
    steps.info = {
        "rows": len(every.snapshots),
        "positives": int(every.snapshots.label.sum()),
        "subsample": bool(args.fit_rows and keep.sum() < snaps.labelled.sum()),
        "rounds": fit.rounds,
        "trees_grown": min(ROUNDS, fit.rounds + STOPPING),  # early stopping's last round
    }


def queue_stage(args: argparse.Namespace, work: Path, steps: Steps) -> None:
    accounts = read_accounts(work)
    signals = pd.read_parquet(work / "signals.parquet")
    booster = lgb.Booster(model_file=str(work / "timing.txt"))
    names = feature_names(TRIGGERS, WINDOWS)
    bundle = {
        "triggers": list(TRIGGERS),
        "windows_days": list(WINDOWS),
        "features": names,
        "rounds": booster.current_iteration(),
    }
    fit = pd.Series(np.random.default_rng(SEED + 1).random(len(accounts)), index=accounts)
    with steps.step(f"(d) timing_inputs, {len(accounts):,} accounts"):
        inputs = timing_inputs(signals, accounts, AS_OF, bundle, fit)
    with steps.step("(d) timing model predict (IcpTimingModel)"):
        model = IcpTimingModel.from_parts(bundle, booster)
        timed = model.predict(None, inputs.reset_index(drop=True))
    with steps.step(f"(d) priority + rank_queue top {CAPACITY}"):
        candidates = pd.DataFrame(
            {
                "account_id": accounts.to_numpy(),
                "fit_probability": fit.to_numpy(),
                "timing_score": timed["timing_score"].to_numpy(),
            }
        ).assign(priority=lambda f: f["fit_probability"] * f["timing_score"])
        ranked = rank_queue(candidates, CAPACITY, per_owner=False)
    with steps.step(f"(d) why_now, {len(ranked)} accounts"):
        words = why_now(signals, pd.Index(ranked["account_id"]), TRIGGERS, AS_OF)
    steps.info = {
        "columns": inputs.shape[1],
        "with_trigger": int(words.ne(NO_TRIGGER).sum()),
        "example": f"{ranked['account_id'].iloc[0]}: {words.iloc[0]}",
    }


def run_stage(name: str, args: argparse.Namespace, work: Path) -> dict:
    """One stage in a fresh process (its RSS is its own); its steps and facts."""
    command = [sys.executable, __file__, "--stage", name, "--workdir", str(work)]
    for option in ("accounts", "signals", "months", "fit_rows"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"stage {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.1f} GB RAM; Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, LightGBM {lgb.__version__}"
    )


def sizes(done: dict[str, dict]) -> str:
    gen, snap = done["generate"]["info"], done["snapshots"]["info"]
    feats, fit = done["features"]["info"], done["fit"]["info"]
    sampled = " (a random subsample of the labelled ones)" if fit["subsample"] else ""
    return (
        f"Sizes: {gen['accounts']:,} accounts; {gen['signals']:,} signal rows of "
        f"{len(TRIGGERS)} types over 4 years to {AS_OF:%Y-%m-%d}; {gen['opportunities']:,} "
        f"opportunities on {gen['opportunity_accounts']:,} accounts ({gen['open']:,} open), "
        f"{gen['customers']:,} customers. {snap['dates']} month ends ({snap['first']} to "
        f"{snap['last']}): {snap['rows']:,} snapshot rows, {snap['labelled']:,} labelled "
        f"(horizon {HORIZON} days), {snap['positives']:,} positive. {feats['features']} features "
        f"({feats['trigger_features']} trigger features, windows {WINDOWS} days, and "
        f"{FIT_FEATURE}, random here). fit_timing on {fit['rows']:,} rows{sampled}: "
        f"{fit['trees_grown']} rounds run, best {fit['rounds']} kept; it learns from every "
        f"positive and a seeded sample of the negatives (at least {KEEP_NEGATIVES:,}, "
        f"{NEGATIVES_PER_POSITIVE} per positive), weighted up by the inverse of their share."
    )


def table(done: dict[str, dict]) -> list[str]:
    lines = [
        "| stage | seconds | RSS before (GB) | peak RSS, ru_maxrss (GB) | peak RSS, VmHWM (GB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for stage in STAGES:
        for row in done[stage]["steps"]:
            lines.append(
                f"| {row['step']} | {row['seconds']:,.1f} | {row['rss_before_gb']:.2f} | "
                f"{row['maxrss_gb']:.2f} | {row['hwm_gb']:.2f} |"
            )
    return lines


def summary(done: dict[str, dict]) -> str:
    """What the table shows, in one paragraph of its own numbers."""
    gen, snap, fit = (done[s]["info"] for s in ("generate", "snapshots", "fit"))
    (a,), (b,) = done["snapshots"]["steps"], done["features"]["steps"]
    c, queue = done["fit"]["steps"][-1], done["queue"]["steps"]
    peak = max(r["hwm_gb"] for s in STAGES for r in done[s]["steps"])
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    months = gen["accounts"] * snap["dates"]
    day = sum(r["seconds"] for r in queue)
    return (
        f"What it shows: the {gen['accounts']:,} x {snap['dates']} account-months "
        f"({snap['rows'] / months:.0%} of them eligible snapshots) are built in "
        f"{a['seconds']:.1f} s within {a['hwm_gb']:.1f} GB, and their trigger features from "
        f"{gen['signals']:,} signal rows in {b['seconds']:.1f} s within {b['hwm_gb']:.1f} GB, "
        f"so the vectorised snapshots fit one machine with room: no stage went above "
        f"{peak:.1f} GB of its {ram:.0f} GB. Fitting is the long pole: fit_timing took "
        f"{c['seconds'] / 60:.1f} min for {fit['trees_grown']} rounds on {fit['rows']:,} rows "
        f"({c['seconds'] / fit['trees_grown']:.2f} s a round) at {c['hwm_gb']:.1f} GB, and a "
        f"retrain fits twice (the backtest's early-stopped model, then the final one on every "
        f"labelled snapshot), so budget up to twice that. The day's queue for every account "
        f"takes {day:.1f} s, {queue[0]['seconds'] / day:.0%} of it timing_inputs (the "
        f"{gen['signals']:,} signal rows matched to account ids); ranking took "
        f"{queue[2]['seconds']:.1f} s and why_now for the top {CAPACITY} "
        f"{queue[3]['seconds']:.1f} s."
    )


def report(done: dict[str, dict], loads: tuple[str, str]) -> str:
    command = " ".join([".venv/bin/python", "bench/timing.py", *sys.argv[1:]])
    lines = [
        "# Fit x timing at scale (issue 16)",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d %H:%M')}. Machine: {machine()}. Load "
        f"average (1, 5, 15 min) at start {loads[0]}, at end {loads[1]}: other jobs may have "
        f"shared the {os.cpu_count()} cores.",
        "",
        sizes(done),
        "",
        "Each stage is a fresh process; its inputs are read from disk before the clock starts. "
        "Peak RSS is the process's high-water mark after the step, inputs included (ru_maxrss "
        "and /proc's VmHWM).",
        "",
        *table(done),
        "",
        summary(done),
        "",
        f"First account on the queue: {done['queue']['info']['example']}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--signals", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--fit-rows", type=int, default=0, help="subsample (0: every row)")
    parser.add_argument("--workdir", type=Path, help="keep the generated files here")
    parser.add_argument(
        "--stages", nargs="*", choices=STAGES, default=STAGES, help="rerun these (--workdir)"
    )
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--name", default="", help="suffix of the results file")
    args = parser.parse_args()
    if args.stage:
        steps = Steps()
        STAGE_FUNCTIONS[args.stage](args, args.workdir, steps)
        print(json.dumps({"steps": steps.rows, "info": steps.info}))
        return
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        done = {}
        for stage in STAGES:
            saved = work / f"{stage}.json"
            if stage in args.stages:
                saved.write_text(json.dumps(run_stage(stage, args, work)))
                print(stage, saved.read_text(), flush=True)
            done[stage] = json.loads(saved.read_text())
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(done, (start_load, end_load))
    RESULTS.mkdir(exist_ok=True)
    suffix = f"-{args.name}" if args.name else ""
    (RESULTS / f"timing_scale{suffix}.md").write_text(text)
    print(text)


STAGE_FUNCTIONS = {
    "generate": generate,
    "snapshots": snapshots_stage,
    "features": features_stage,
    "fit": fit_stage,
    "queue": queue_stage,
}

if __name__ == "__main__":
    main()
