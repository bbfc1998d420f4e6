"""Model quality against the sample's planted truth, run by hand (never by CI).

`.venv/bin/python bench/quality.py` writes bench/results/quality.md (two minutes on a quiet
two-core machine); `--accounts 4000 --small-seeds 3 --out /tmp/quality.md` is a quick smoke run.
Two questions:

1. Does a model find today's best prospects? Drifted sample exports (20,000 accounts, three
   seeds, as_of 2026-09-30) are written to CSV and read back as a user would have them; each
   model scores the prospects (cohort `prospect`, not disqualified), and the scores are judged
   against the generator's `true_fit`, the chance that the account would become an ideal
   customer. Scorers: the old scheme (the training recipe before issue 13, frozen here so that
   the rewrite of training/fit.py does not move it: LightGBM on the oldest 70% of the labelled
   accounts, early-stopped and Platt-calibrated on the next 15%), the new scheme
   (`train_icp_model` as it is at the time of the run) and the oracle (true_fit itself).
2. Can a small export tell two models apart? Small exports (300 and 2,000 accounts, ten seeds),
   the old scheme trained with six seeds (so no model is truly better than another), and how often
   each promotion rule would promote a seed's model over the first seed's on the same holdout.

`true_fit` is a probability, not an outcome, so ROC-AUC is taken with soft labels: every prospect
counts once as a positive with weight true_fit and once as a negative with weight 1 - true_fit (the
AUC expected over outcomes drawn from true_fit, up to the n self-pairs among n^2 pairs). Lift in
the top 10% = mean true_fit of the 10% best-scored prospects / mean true_fit of all prospects.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from icpfit.config import IcpConfig, load_config
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.pipeline import LabelledExport, prepare
from icpfit.features.sample import SampleExport, generate_sample
from icpfit.io import read_export, write_table, write_yaml
from icpfit.training.fit import training_rows
from icpfit.training.metrics import lift_at

SEEDS = (1, 2, 3)
ACCOUNTS = 20_000
SMALL_SIZES = (300, 2_000)
SMALL_SEEDS = tuple(range(1, 11))
MODEL_SEEDS = (42, 43, 44, 45, 46, 47)
"""The noise study's champion (the first) and candidates: one recipe, different seeds."""
AS_OF = date(2026, 9, 30)
RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).resolve().parent.parent
Scorer = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Sample:
    sample: SampleExport
    config: IcpConfig
    prepared: LabelledExport


def load_sample(accounts: int, seed: int) -> Sample:
    """A sample export written to CSV and read back through validation, labels and features."""
    sample = generate_sample(accounts=accounts, seed=seed, as_of=AS_OF)
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in sample.tables.items():
            write_table(frame, Path(tmp) / f"{name}.csv")
        write_yaml(sample.config, Path(tmp) / "icpfit.yaml")
        config = load_config(Path(tmp) / "icpfit.yaml")
        raw, problems = read_export(config)
        prepared, problems = prepare(raw, config, AS_OF) if not problems else (None, problems)
    if prepared is None:
        raise RuntimeError("\n".join(p.message for p in problems if p.is_error))
    return Sample(sample, config, prepared)


# the old scheme, frozen here ---------------------------------------------------------------------


def old_params(n_rows: int, seed: int) -> dict[str, Any]:
    """training/model.py's defaults before issue 13."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": 8,
        "min_data_in_leaf": max(20, n_rows // 2000),
        "min_data_per_group": 50,
        "cat_smooth": 10.0,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
    }


class OldScheme:
    """LightGBM early-stopped (100 rounds, at most 2000) and Platt-calibrated on a later slice."""

    def __init__(self, seed: int = 42):
        self.seed = seed

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray
    ) -> OldScheme:
        train = lgb.Dataset(X, label=y, free_raw_data=False)
        valid = lgb.Dataset(X_val, label=y_val, reference=train)
        self.booster_ = lgb.train(
            {**old_params(len(X), self.seed), "metric": "binary_logloss"},
            train,
            num_boost_round=2000,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(100, verbose=False)],
        )
        self.best_iteration_ = self.booster_.best_iteration or self.booster_.current_iteration()
        self.calibrator_ = LogisticRegression(C=1e6).fit(self._margin(X_val), y_val)
        return self

    def _margin(self, X: pd.DataFrame) -> np.ndarray:
        margin = self.booster_.predict(X, raw_score=True, num_iteration=self.best_iteration_)
        return margin.reshape(-1, 1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrator_.predict_proba(self._margin(X))[:, 1]


PARTS = ("train", "validation", "holdout")


@dataclass(frozen=True)
class Parts:
    """The training rows cut by decision date: the oldest 70% train, the next 15% validation,
    the newest 15% holdout (cuts are dates, so a date never straddles two parts)."""

    X: pd.DataFrame
    y: pd.Series
    split: pd.Series

    def rows(self, part: str) -> tuple[pd.DataFrame, np.ndarray]:
        index = self.split.index[self.split == part]
        return self.X.loc[index], self.y[index].to_numpy()

    def judgeable(self) -> bool:
        """Both classes in validation (to calibrate) and in the holdout (to judge)."""
        return all(0 < y.sum() < len(y) for y in (self.rows(p)[1] for p in PARTS[1:]))


def old_parts(s: Sample) -> Parts:
    labels = s.prepared.labels[training_rows(s.prepared, s.config)]
    dates = labels["decided_date"].sort_values(kind="stable")
    cuts = [dates.iloc[int(len(dates) * share)] for share in (0.70, 0.85)]
    split = np.select([dates >= cuts[1], dates >= cuts[0]], ["holdout", "validation"], "train")
    target = labels["target"].astype(int)
    return Parts(s.prepared.features.frame, target, pd.Series(split, index=dates.index))


def old_scheme(parts: Parts, seed: int = 42) -> OldScheme:
    return OldScheme(seed).fit(*parts.rows("train"), *parts.rows("validation"))


def refit_on_all(parts: Parts, old: OldScheme) -> Scorer:
    """The old recipe with its early-stopped tree count, refit on every labelled account (train,
    validation and holdout): what learning from the newest accounts alone is worth. Raw
    margins, which rank like the calibrated probability."""
    X, y = parts.X.loc[parts.split.index], parts.y[parts.split.index].to_numpy()
    params = old_params(len(X), old.seed)
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=old.best_iteration_)
    return lambda frame: booster.predict(frame, raw_score=True)


# judging -----------------------------------------------------------------------------------------


def prospects(s: Sample) -> pd.Index:
    """The accounts scored as prospects: cohort prospect, not disqualified."""
    accounts = s.prepared.export.accounts.set_index("account_id")
    kept = disqualified_reason(accounts, s.config.disqualifiers).isna()
    labels = s.prepared.labels
    return labels.index[(labels["cohort"] == "prospect") & kept.reindex(labels.index).to_numpy()]


def soft_auc(p: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC with each account once a positive (weight p) and once a negative (weight 1 - p)."""
    y = np.r_[np.ones(len(p)), np.zeros(len(p))]
    return float(roc_auc_score(y, np.r_[scores, scores], sample_weight=np.r_[p, 1 - p]))


def soft_lift(p: np.ndarray, scores: np.ndarray, top: float = 0.10) -> float:
    """Mean p among the top `top` share by score over the mean p of all."""
    count = max(int(round(len(p) * top)), 1)
    return float(p[np.argsort(-scores, kind="stable")[:count]].mean() / p.mean())


def bootstrap_auc(y: np.ndarray, scores: np.ndarray, rounds: int = 1000) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of ROC-AUC (resamples with one class skipped)."""
    draws = np.random.default_rng(0).integers(0, len(y), size=(rounds, len(y)))
    aucs = [roc_auc_score(y[d], scores[d]) for d in draws if 0 < y[d].sum() < len(d)]
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


# references: what the export's columns can show at best ----------------------------------------

STUDY_PARAMS = {
    "learning_rate": 0.05,
    "max_depth": 3,
    "num_leaves": 8,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbosity": -1,
    "seed": 1,
    "num_threads": 2,
}
"""One fixed shape (the depth-3 trees the recipe search often picks) for the references and the
stacking study, so that they differ only in their labels or their features."""


def truth_ceilings(s: Sample, ids: pd.Index) -> dict[str, np.ndarray]:
    """Two references that are given the truth as labels, on the export's own features:

    - `ceiling`: every account's true_fit as its (soft) label, 5-fold cross-fit over all
      accounts, so a prospect is scored by a model that never saw it: the most these columns can
      show with perfect and plentiful labels; the rest of the oracle's edge is the latent part of
      fit no column carries, and blank cells.
    - `labelled_truth`: only the labelled accounts, with true_fit in place of their label: the
      ceiling for this many accounts without label noise (outcomes drawn by chance, misrecorded
      revenue).
    """
    from sklearn.model_selection import KFold

    X = s.prepared.features.frame
    fit = s.sample.truth.set_index("account_id")["true_fit"].reindex(X.index).to_numpy()
    params = {**STUDY_PARAMS, "objective": "cross_entropy"}
    oof = np.zeros(len(X))
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        booster = lgb.train(params, lgb.Dataset(X.iloc[train], label=fit[train]), 600)
        oof[test] = booster.predict(X.iloc[test], raw_score=True)
    labelled = X.index.get_indexer(s.prepared.labels.index[training_rows(s.prepared, s.config)])
    booster = lgb.train(params, lgb.Dataset(X.iloc[labelled], label=fit[labelled]), 400)
    return {
        "ceiling": oof[X.index.get_indexer(ids)],
        "labelled_truth": booster.predict(X.loc[ids], raw_score=True),
    }


def cv_rounds(X: pd.DataFrame, y: np.ndarray) -> int:
    """Tree count by 5-fold stratified CV with early stopping (50 rounds)."""
    result = lgb.cv(
        {**STUDY_PARAMS, "objective": "binary"},
        lgb.Dataset(X, label=y),
        2000,
        nfold=5,
        stratified=True,
        seed=0,
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return len(next(iter(result.values())))


def stacking_study(s: Sample, ids: pd.Index) -> dict[str, np.ndarray]:
    """Issue 13's stacked win-probability feature, measured before it is built.

    A win model learns won (every customer, mature or not) against lost from all decided deals;
    its out-of-fold margin (5-fold) becomes one more feature of the ICP model on the customers
    whose value is known, and its full-data margin that feature for prospects. `plain` is the
    same ICP model without the feature, `product` ranks by P(win) x P(ideal, once won) from the two
    models. One shape for all, tree counts by CV."""
    from sklearn.model_selection import StratifiedKFold

    X, labels = s.prepared.features.frame, s.prepared.labels
    customers = labels.index[labels["cohort"].isin(["ideal", "low_value", "churned"])]
    decided = labels.index[
        labels["cohort"].isin(["ideal", "low_value", "churned", "immature", "lost"])
    ]
    won = (labels.loc[decided, "cohort"] != "lost").astype(int).to_numpy()
    ideal = labels.loc[customers, "target"].astype(int).to_numpy()
    params = {**STUDY_PARAMS, "objective": "binary"}
    Xd, rounds = X.loc[decided], cv_rounds(X.loc[decided], won)
    win = pd.Series(
        lgb.train(params, lgb.Dataset(Xd, label=won), rounds).predict(X, raw_score=True),
        index=X.index,
    )
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(Xd, won):
        booster = lgb.train(params, lgb.Dataset(Xd.iloc[train], label=won[train]), rounds)
        win.loc[decided[test]] = booster.predict(Xd.iloc[test], raw_score=True)

    def icp(frame: pd.DataFrame) -> np.ndarray:
        rows = frame.loc[customers]
        booster = lgb.train(params, lgb.Dataset(rows, label=ideal), cv_rounds(rows, ideal))
        return booster.predict(frame.loc[ids], raw_score=True)

    plain = icp(X)
    log_p = lambda margin: -np.logaddexp(0, -margin)  # noqa: E731
    return {
        "plain": plain,
        "stacked": icp(X.assign(win_likelihood=win)),
        "product": log_p(plain) + log_p(win.loc[ids].to_numpy()),
    }


# 1. today's prospects ----------------------------------------------------------------------------


def new_scheme(s: Sample) -> tuple[Scorer | None, str]:
    """`train_icp_model`'s model, or None and why not (training/fit.py is being rewritten)."""
    try:
        from icpfit.training.fit import train_icp_model

        return train_icp_model(s.prepared, s.config).model.predict_proba, "trained"
    except Exception as exc:  # whatever a half-done rewrite raises: report it, keep the rest
        return None, f"pending ({type(exc).__name__}: {str(exc)[:160]})"


def prospect_row(seed: int, accounts: int) -> dict[str, Any]:
    started = time.perf_counter()
    s = load_sample(accounts, seed)
    parts = old_parts(s)
    old = old_scheme(parts)
    ids = prospects(s)
    X = s.prepared.features.frame.loc[ids]
    truth = s.sample.truth.set_index("account_id").loc[ids]
    p = truth["true_fit"].to_numpy()
    recent = (truth["entry_date"] > pd.Timestamp(AS_OF) - pd.DateOffset(years=1)).to_numpy()
    Xh, yh = parts.rows("holdout")
    held = old.predict_proba(Xh)
    print(f"  seed {seed}: old scheme ({time.perf_counter() - started:.0f} s)", flush=True)
    predict, status = new_scheme(s)
    print(f"  seed {seed}: new scheme {status} ({time.perf_counter() - started:.0f} s)", flush=True)
    scorers = {"old": old.predict_proba(X), "refit": refit_on_all(parts, old)(X), "oracle": p}
    if predict is not None:
        scorers["new"] = predict(X)
    scorers |= truth_ceilings(s, ids) | stacking_study(s, ids)
    print(f"  seed {seed}: references ({time.perf_counter() - started:.0f} s)", flush=True)
    row = {
        "seed": seed,
        "prospects": len(ids),
        "recent": int(recent.sum()),
        "labelled": len(parts.split),
        "ideal": int(parts.y[parts.split.index].sum()),
        "holdout": len(yh),
        "holdout_ideal": int(yh.sum()),
        "holdout_auc": roc_auc_score(yh, held),
        "holdout_interval": bootstrap_auc(yh, held),
        "new_status": status,
        "drivers": s.sample.drivers,
    }
    for name, scores in scorers.items():
        row |= {
            f"{name}_auc": soft_auc(p, scores),
            f"{name}_lift": soft_lift(p, scores),
            f"{name}_recent_auc": soft_auc(p[recent], scores[recent]),
        }
    return row


# 2. small exports: models that differ only by seed, one holdout ----------------------------------


def old_rule_promotes(y: np.ndarray, champion: np.ndarray, candidate: np.ndarray) -> bool:
    """Before issue 13: AUC at most 0.005 below the champion's and lift at least 95% of it."""
    auc_ok = roc_auc_score(y, candidate) >= roc_auc_score(y, champion) - 0.005
    return bool(auc_ok and lift_at(y, candidate) >= lift_at(y, champion) * 0.95)


def new_rule_promotes(y: np.ndarray, champion: np.ndarray, candidate: np.ndarray) -> bool | None:
    """The paired-bootstrap rule; None while training/promotion.py does not provide it."""
    try:
        from icpfit.training.promotion import PromotionRule, paired_difference
    except ImportError:
        return None
    evidence = paired_difference(y, champion, candidate, metric="roc_auc", rounds=2000, seed=0)
    return PromotionRule().holds(evidence)


def new_scheme_trains(s: Sample) -> str:
    """'trained', 'too few labels' (TooFewLabels) or the error the new scheme raised."""
    try:
        from icpfit.training.fit import TooFewLabels, train_icp_model
    except ImportError as exc:
        return f"error ({exc})"
    try:
        train_icp_model(s.prepared, s.config)
    except TooFewLabels:
        return "too few labels"
    except Exception as exc:  # a half-done rewrite: say how it failed
        return f"error ({type(exc).__name__})"
    return "trained"


def small_row(accounts: int, seed: int) -> dict[str, Any]:
    s = load_sample(accounts, seed)
    parts = old_parts(s)
    row: dict[str, Any] = {"accounts": accounts, "seed": seed, "new_scheme": new_scheme_trains(s)}
    for part in PARTS:
        y = parts.rows(part)[1]
        row |= {part: len(y), f"{part}_ideal": int(y.sum())}
    if not parts.judgeable():
        return row | {"judgeable": False}
    Xh, y = parts.rows("holdout")
    champion = old_scheme(parts, MODEL_SEEDS[0]).predict_proba(Xh)
    candidates = [old_scheme(parts, seed).predict_proba(Xh) for seed in MODEL_SEEDS[1:]]
    new_votes = [new_rule_promotes(y, champion, c) for c in candidates]
    low, high = bootstrap_auc(y, champion)
    return row | {
        "judgeable": True,
        "auc": roc_auc_score(y, champion),
        "low": low,
        "high": high,
        "old_promoted": sum(old_rule_promotes(y, champion, c) for c in candidates),
        "new_promoted": None if None in new_votes else sum(new_votes),
        "comparisons": len(candidates),
    }


# the report --------------------------------------------------------------------------------------


def provenance() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    changed = git("status", "--porcelain", "--", "features", "training", "icpfit", "serving")
    dirty = len(changed.splitlines())
    tree = f"{dirty} changed files under features/ training/ icpfit/ serving/ not yet committed"
    return (
        f"Run on {datetime.now():%Y-%m-%d %H:%M} at commit "
        f"{git('rev-parse', '--short', 'HEAD').strip()} ({tree if dirty else 'clean tree'}); "
        f"Python {sys.version.split()[0]}, LightGBM {lgb.__version__}."
    )


def fmt(value: Any, digits: int = 3) -> str:
    return "pending" if value is None or value != value else f"{value:.{digits}f}"


SCORERS = {
    "old": "old scheme",
    "refit": "old recipe refit on all labelled accounts",
    "new": "new scheme",
    "labelled_truth": "reference: the labelled accounts with true_fit as their label",
    "ceiling": "reference: every account with true_fit as its label (cross-fit)",
    "oracle": "oracle (true_fit)",
}
STUDY = {
    "plain": "ICP model on customers (depth 3)",
    "stacked": "the same + stacked win probability",
    "product": "P(win) x P(ideal, once won)",
}
METRICS = {
    "auc": "ROC-AUC against true_fit, all prospects",
    "lift": "Lift in the top 10% against true_fit, all prospects",
    "recent_auc": "ROC-AUC against true_fit, prospects first contacted in the last 12 months",
}


def metric_table(
    rows: list[dict[str, Any]], metric: str, scorers: dict[str, str] = SCORERS
) -> list[str]:
    """One row per scorer, one column per seed and the mean."""
    lines = [
        "| scorer | " + " | ".join(f"seed {row['seed']}" for row in rows) + " | mean |",
        "| --- |" + " ---: |" * (len(rows) + 1),
    ]
    for key, name in scorers.items():
        values = [row.get(f"{key}_{metric}") for row in rows]
        mean = None if None in values else float(np.mean(values))
        cells = " | ".join(fmt(v) for v in values)
        lines.append(f"| {name} | {cells} | **{fmt(mean)}** |")
    return lines


def holdout_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| seed | prospects (last 12 months) | labelled (ideal) | holdout (ideal) | old scheme "
        "holdout AUC [95% interval] | interval width |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        low, high = row["holdout_interval"]
        lines.append(
            f"| {row['seed']} | {row['prospects']:,} ({row['recent']:,}) | {row['labelled']:,} "
            f"({row['ideal']:,}) | {row['holdout']:,} "
            f"({row['holdout_ideal']}) | {row['holdout_auc']:.3f} [{low:.3f}, {high:.3f}] "
            f"| {high - low:.3f} |"
        )
    return lines


def small_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| accounts | seed | train / validation / holdout (ideal) | new scheme | champion "
        "holdout AUC [95% interval] | width | old rule promotes | new rule promotes |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        parts = " / ".join(f"{row[p]} ({row[f'{p}_ideal']})" for p in PARTS)
        start = f"| {row['accounts']:,} | {row['seed']} | {parts} | {row['new_scheme']} |"
        if not row["judgeable"]:
            lines.append(f"{start} no ideal (or no other) account in validation or holdout | | | |")
            continue
        n, new = row["comparisons"], row["new_promoted"]
        lines.append(
            f"{start} {row['auc']:.3f} [{row['low']:.3f}, {row['high']:.3f}] "
            f"| {row['high'] - row['low']:.3f} | {row['old_promoted']} of {n} "
            f"| {'pending' if new is None else f'{new} of {n}'} |"
        )
    return lines


def small_summary(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for accounts in sorted({row["accounts"] for row in rows}):
        mine = [row for row in rows if row["accounts"] == accounts]
        judged = [row for row in mine if row["judgeable"]]
        trained = sum(row["new_scheme"] == "trained" for row in mine)
        comparisons = sum(row["comparisons"] for row in judged)
        old = sum(row["old_promoted"] for row in judged)
        new = [row["new_promoted"] for row in judged]
        new_text = "pending" if None in new else f"{sum(new)} of {comparisons}"
        width = np.mean([row["high"] - row["low"] for row in judged]) if judged else np.nan
        lines.append(
            f"- **{accounts:,} accounts**: the new scheme could train on {trained} of {len(mine)} "
            f"seeds; the old scheme could be judged on {len(judged)} (both classes in validation "
            f"and holdout); mean width of the holdout AUC's 95% interval {fmt(width)}; a model "
            f"that is only another seed would have been promoted {old} of {comparisons} times "
            f"by the old rule and {new_text} times by the new one."
        )
    return lines


def prospect_section(rows: list[dict[str, Any]], accounts: int) -> list[str]:
    drivers = rows[0]["drivers"]
    drift, errors = drivers["drift"], drivers["revenue_errors"]
    misrecorded = sum(errors[kind]["share_of_customers"] for kind in ("in_cents", "missing_months"))
    statuses = "; ".join(sorted({row["new_status"] for row in rows}))
    tables = [
        line
        for metric, title in METRICS.items()
        for line in (f"**{title}**", "", *metric_table(rows, metric), "")
    ]
    study = [
        line
        for metric in ("auc", "lift")
        for line in (f"**{METRICS[metric]}**", "", *metric_table(rows, metric, STUDY), "")
    ]
    return [
        "## Today's prospects, scored against the generator's true fit",
        "",
        f"Sample exports of {accounts:,} accounts, seeds {', '.join(map(str, SEEDS))}, as of "
        f"{AS_OF}, written to CSV and read back. The planted ICP drifts between {drift['from']} "
        f"and {drift['to']} (employee bands, funding stages, Healthcare, HubSpot: "
        "`drivers.shifts`), a fifth of headcounts are blank, and "
        f"{misrecorded:.0%} of customers' revenue rows are misrecorded "
        "(`drivers.revenue_errors`), so some labels are wrong.",
        "",
        "- **Prospects**: cohort `prospect` (neither a customer nor a lost deal as of the cutoff; "
        "open deals included), not disqualified: the accounts a model is used to rank.",
        "- **ROC-AUC against true_fit**: each prospect counts as a positive with weight "
        "`truth.true_fit` and as a negative with weight 1 - true_fit. The oracle (true_fit "
        "scoring itself) is the ceiling, below 1 because fit is a chance, not a certainty.",
        "- **Lift in the top 10%**: mean true_fit of the 10% best-scored prospects over the mean "
        "of all prospects.",
        "- **Last 12 months**: the prospects first contacted in the year before the cutoff, "
        "after the drift: today's market.",
        "- **Old scheme**: LightGBM on the oldest 70% of labelled accounts, early-stopped and "
        "Platt-calibrated on the next 15%; the newest 15% are its holdout, never learnt from. "
        "**Old recipe refit on all labelled accounts**: the same tree count refit on all of "
        "them, the gain from learning the newest accounts alone. **New scheme**: "
        f"`train_icp_model` at the time of the run ({statuses}).",
        "",
        *tables,
        *goal_lines(rows),
        "",
        "### The stacked win-probability feature, measured before building it",
        "",
        "`stacking_study` in this file: a win model (every customer, mature or not, against lost "
        "deals) gives its out-of-fold margin as one more feature to an ICP model on the "
        "customers whose value is known; prospects get the full win model's margin. All three "
        "scorers share one tree shape (depth 3) and choose their tree counts by 5-fold CV.",
        "",
        *study,
        "Per seed, with the old scheme's own holdout (the newest 15% of labelled accounts against "
        "their noisy labels; 95% percentile bootstrap interval, 1,000 resamples):",
        "",
        *holdout_table(rows),
        "",
    ]


def goal_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's goal (within 1% of the oracle's AUC, 4% of its lift), against the oracle and
    against what the columns can show."""

    def mean(key: str) -> float:
        return float(np.mean([row[key] for row in rows]))

    if any("new_auc" not in row for row in rows):
        return []
    shares = {
        ref: (mean("new_auc") / mean(f"{ref}_auc"), mean("new_lift") / mean(f"{ref}_lift"))
        for ref in ("oracle", "ceiling", "labelled_truth")
    }
    return [
        "**How far from the best possible.** Issue 13's goal is within 1% of the oracle's AUC and "
        "4% of its lift. The new scheme reaches "
        f"{shares['oracle'][0]:.1%} of the oracle's AUC and {shares['oracle'][1]:.1%} of its "
        "lift (means over seeds). But no model of these columns can reach the oracle: given "
        "every account's true_fit as its label, LightGBM reaches "
        f"{mean('ceiling_auc'):.3f} AUC and {mean('ceiling_lift'):.2f} lift (the `ceiling` "
        "reference), because part of fit is latent (`drivers.latent_noise_sd`) and a fifth of "
        "headcounts are blank. Against that ceiling the new scheme reaches "
        f"{shares['ceiling'][0]:.1%} of the AUC and {shares['ceiling'][1]:.1%} of the lift; "
        "against the labelled accounts with noise-free labels, "
        f"{shares['labelled_truth'][0]:.1%} and {shares['labelled_truth'][1]:.1%}: what is "
        "left is the labels' noise and how many accounts are labelled.",
    ]


def small_section(rows: list[dict[str, Any]]) -> list[str]:
    seeds = sorted({row["seed"] for row in rows})
    return [
        "## Small exports: can a holdout tell two models apart?",
        "",
        f"Sample exports of {' and '.join(f'{n:,}' for n in SMALL_SIZES)} accounts, seeds "
        f"{seeds[0]}-{seeds[-1]}. On each, the old scheme is trained with seed "
        f"{MODEL_SEEDS[0]} (the champion) and with seeds {', '.join(map(str, MODEL_SEEDS[1:]))} "
        "(candidates): the same data and recipe, so no candidate is truly better and every "
        "promotion is noise promoted. Both rules judge on the same holdout (the newest 15%).",
        "",
        "- **Old rule**: candidate AUC >= champion AUC - 0.005 and candidate lift@10 >= champion "
        "lift@10 x 0.95.",
        "- **New rule**: `PromotionRule().holds(paired_difference(y, champion, candidate))`: the "
        "95% paired bootstrap interval (2,000 resamples) of the AUC difference entirely above "
        "zero.",
        "- **Interval**: 95% percentile bootstrap of the champion's holdout AUC (1,000 "
        "resamples). With a single ideal account in the holdout it collapses (every resample "
        "that has it gives the same AUC): the bootstrap cannot show what the holdout cannot see.",
        "- **New scheme**: whether `train_icp_model` trains on the export or refuses with "
        "`TooFewLabels`. The noise study uses the old scheme, whose fixed holdout both models "
        "share; the new scheme judges by backtest and refits on every labelled account.",
        "",
        *small_summary(rows),
        "",
        *small_table(rows),
        "",
    ]


def report(prospect_rows: list[dict[str, Any]], small_rows: list[dict[str, Any]], accounts: int):
    return "\n".join(
        [
            "# Model quality against the sample's planted truth",
            "",
            provenance(),
            "Made by `.venv/bin/python bench/quality.py` (its docstring says what each scheme is).",
            "",
            *prospect_section(prospect_rows, accounts),
            *small_section(small_rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--small-seeds", type=int, default=len(SMALL_SEEDS))
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.md")
    args = parser.parse_args()
    started = time.perf_counter()
    prospect_rows = []
    for seed in SEEDS:
        print(f"prospects: {args.accounts:,} accounts, seed {seed}", flush=True)
        prospect_rows.append(prospect_row(seed, args.accounts))
    small_rows = []
    for accounts in SMALL_SIZES:
        for seed in SMALL_SEEDS[: args.small_seeds]:
            print(f"small export: {accounts:,} accounts, seed {seed}", flush=True)
            small_rows.append(small_row(accounts, seed))
    text = report(prospect_rows, small_rows, args.accounts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
