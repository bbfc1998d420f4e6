"""Champion/challenger: a written, noise-aware promotion rule.

A candidate replaces the champion only when it ranks the same accounts better, with the 95%
paired bootstrap interval of the difference above zero: both models score the same resampled
accounts in every round, so what the accounts have in common cancels and only the models'
difference is left. A first version is held to the same standard against the best baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from icpfit.training.metrics import drawn_metrics, percentile_interval, resamples

Mode = Literal["auto", "never", "force"]
METRIC_NAMES = {"roc_auc": "ROC-AUC", "lift_top_decile": "lift@10%", "pr_auc": "PR-AUC"}


@dataclass(frozen=True)
class PairedDifference:
    """Candidate minus incumbent on the same accounts, with its paired bootstrap interval."""

    metric: str
    candidate: float
    incumbent: float
    difference: float
    low: float
    high: float
    accounts: int
    ideal: int
    incumbent_label: str = "champion"

    def describe(self) -> str:
        name = METRIC_NAMES.get(self.metric, self.metric)
        if not self.accounts:
            return f"no accounts both models can be judged on for {name}"
        if self.difference != self.difference:
            return (
                f"{name} cannot be measured on the {self.accounts:,} accounts both models can be "
                f"judged on ({self.ideal:,} ideal): it needs ideal and non-ideal accounts"
            )
        return (
            f"{name}: candidate {self.candidate:.3f}, {self.incumbent_label} "
            f"{self.incumbent:.3f}, difference {self.difference:+.3f} [95% CI {self.low:+.3f}, "
            f"{self.high:+.3f}] on the same {self.accounts:,} accounts ({self.ideal:,} ideal)"
        )


def paired_difference(
    y: np.ndarray,
    incumbent_scores: np.ndarray,
    candidate_scores: np.ndarray,
    metric: str = "roc_auc",
    rounds: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    incumbent_label: str = "champion",
) -> PairedDifference:
    """`metric` of the candidate minus the incumbent, and a percentile interval of that
    difference from `rounds` resamples of the accounts shared by both."""
    y = np.asarray(y, dtype=float)
    nan = float("nan")
    if len(y) == 0 or len(np.unique(y)) < 2:
        return PairedDifference(
            metric, nan, nan, nan, nan, nan, len(y), int(y.sum()), incumbent_label
        )
    everyone = np.arange(len(y))[None, :]
    draws = np.vstack([everyone, resamples(len(y), rounds, seed)])
    candidate = drawn_metrics(y, candidate_scores, draws)[metric]
    incumbent = drawn_metrics(y, incumbent_scores, draws)[metric]
    difference = candidate - incumbent
    low, high = percentile_interval(difference[1:], level)
    return PairedDifference(
        metric,
        float(candidate[0]),
        float(incumbent[0]),
        float(difference[0]),
        low,
        high,
        len(y),
        int(y.sum()),
        incumbent_label,
    )


@dataclass(frozen=True)
class PromotionRule:
    metric: str = "roc_auc"
    level: float = 0.95

    def holds(self, evidence: PairedDifference) -> bool:
        """True only when the whole interval of the difference is above zero."""
        return bool(evidence.low > 0)

    def describe(self) -> str:
        return (
            f"promote only when the candidate's {METRIC_NAMES.get(self.metric, self.metric)} "
            f"beats the incumbent's on the same accounts with the {self.level:.0%} paired "
            "bootstrap interval of the difference above zero"
        )


@dataclass(frozen=True)
class Decision:
    alias: Literal["champion", "challenger"]
    reason: str
    forced: bool = False


def should_promote(
    against_champion: PairedDifference | None,
    against_baseline: PairedDifference | None,
    has_champion: bool,
    rule: PromotionRule = PromotionRule(),
    mode: Mode = "auto",
) -> Decision:
    """Which alias the candidate gets.

    `against_champion`: the candidate against the champion on accounts neither was trained on
    (None when there is no champion or no such account); `against_baseline`: the candidate's
    backtest against the best baseline's on the same folds (the standard for a first version).
    """
    evidence = against_champion if has_champion else against_baseline
    numbers = f" ({evidence.describe()})" if evidence is not None else ""
    if mode == "force":
        return Decision("champion", f"forced by --promote force{numbers}", forced=True)
    if mode == "never":
        if not has_champion:
            return Decision(
                "challenger",
                "--promote never: no champion yet, and this first model is not made one "
                f"(icpfit promote VERSION makes it champion){numbers}",
            )
        return Decision("challenger", f"--promote never{numbers}")
    if evidence is None or evidence.difference != evidence.difference:
        what = "the champion" if has_champion else "the best baseline"
        return Decision(
            "challenger",
            f"kept as challenger: nothing to judge it against {what} on"
            f"{numbers or ' (no accounts)'}; rule: {rule.describe()}",
        )
    if not rule.holds(evidence):
        if has_champion:
            return Decision(
                "challenger",
                f"kept the champion: the candidate does not beat it beyond noise: "
                f"{evidence.describe()}; rule: {rule.describe()}",
            )
        return Decision(
            "challenger",
            f"registered but not made champion: this first model does not beat the best "
            f"baseline beyond noise: {evidence.describe()}; rule: {rule.describe()}",
        )
    first = "" if has_champion else "first model, "
    return Decision(
        "champion", f"{first}rule holds: {evidence.describe()}; rule: {rule.describe()}"
    )
