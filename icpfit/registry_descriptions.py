"""What the registry says in words (issue 17): a registered model's description (what it is,
how to load it) and each version's (what it learned from, its data cutoff, its headline
backtest figures with their intervals and sample sizes, and its current standing), plus who
moved an alias and why. Pure text; `icpfit.registry_log` and `icpfit.registry_promotion` write
it."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime, timezone

import pandas as pd

from icpfit.training.metrics import figure_with_interval

STANDING = "\n\nStanding: "
"""Where a version description's last paragraph, rewritten at every alias move, starts."""

HEADLINE_WORDS = {
    "roc_auc": ("ROC-AUC", 3),
    "lift_top_decile": ("lift in the top 10%", 2),
    "ltv_share_tiers_ab": ("share of lifetime value in tiers A+B", 3),
}

MODEL_DESCRIPTIONS = {
    "fit": (
        "icpfit's ideal customer profile model: LightGBM on the export's firmographic, "
        "technographic and behavioural columns, trained on value-based labels (lifetime value, "
        "retention, expansion), calibrated to P(ideal customer), with exact SHAP reasons per "
        "account. Load models:/{name}@champion (pyfunc; runs from its own code and pinned "
        "requirements); input: one row per account with the export's columns; output: "
        "fit_probability, fit_score, fit_tier, reasons, risks, model_name, model_version. Each "
        "version's description gives its data cutoff and backtest figures."
    ),
    "timing": (
        "icpfit's in-market (timing) model: LightGBM on point-in-time signal features (days "
        "since and counts of each trigger) and the fit model's probability, giving P(a new "
        "opportunity within the horizon). Its champion is paired with the fit model's champion "
        "by `icpfit queue`. Each version names the fit version it learned with."
    ),
}


def model_description(kind: str, name: str) -> str:
    return MODEL_DESCRIPTIONS[kind].format(name=name)


def figure(metrics: pd.Series, key: str) -> str:
    """'ROC-AUC 0.900 [95% CI 0.850, 0.940]' (`figure_with_interval`, its interval named)."""
    words, digits = HEADLINE_WORDS[key]
    value = metrics.get(key)
    if value is None or value != value:
        return f"{words}: not measured"
    return f"{words} {figure_with_interval(metrics, key, digits).replace('[', '[95% CI ', 1)}"


def fit_version_description(
    quarter: str,
    as_of: str,
    trained_through: str,
    rows_trained: int,
    metrics: pd.Series,
    folds: int,
    reason: str,
    standing: str,
) -> str:
    """`metrics`: the model's backtest row (mean over folds, with _low/_high and counts)."""
    figures = "; ".join(figure(metrics, key) for key in HEADLINE_WORDS)
    return (
        f"{quarter} retrain, data as of {as_of}: trained on {rows_trained:,} labelled accounts "
        f"decided up to {trained_through}. Backtest over {folds} temporal folds on "
        f"{int(metrics['accounts']):,} later-decided accounts ({int(metrics['ideal']):,} ideal): "
        f"{figures}. Decision at training: {reason}{STANDING}{standing}"
    )


def with_standing(description: str | None, standing: str) -> str:
    """`description` with its standing paragraph replaced (or added)."""
    body = (description or "").split(STANDING, 1)[0]
    return f"{body}{STANDING}{standing}" if body else standing


def who() -> str:
    """The person (or job) moving an alias: ICPFIT_USER if set, else user@host."""
    named = os.environ.get("ICPFIT_USER", "").strip()
    if named:
        return named
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def move_tags(action: str, reason: str) -> dict[str, str]:
    """Tags on the version an alias moved to: who, when, why."""
    return {f"{action}_by": who(), f"{action}_at": today(), f"{action}_reason": reason or "none"}
