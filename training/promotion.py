"""Champion/challenger: a pure, written promotion rule judged on the same newest holdout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["auto", "never", "force"]


@dataclass(frozen=True)
class PromotionRule:
    max_auc_drop: float = 0.005
    max_lift_drop: float = 0.05
    """Relative: the candidate's top-decile lift may be at most 5% below the champion's."""

    def describe(self) -> str:
        return (
            f"holdout ROC-AUC >= champion's - {self.max_auc_drop:g} AND top-decile lift >= "
            f"champion's x {1 - self.max_lift_drop:g}, both on the candidate's holdout"
        )


@dataclass(frozen=True)
class Decision:
    alias: Literal["champion", "challenger"]
    reason: str
    forced: bool = False


def should_promote(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    rule: PromotionRule = PromotionRule(),
    mode: Mode = "auto",
) -> Decision:
    """Which alias the candidate gets; `champion` holds the champion re-scored on the same rows."""
    if champion is None and mode == "never":
        return Decision(
            "challenger",
            "--promote never: no champion yet, and this first model is not made one "
            "(icpfit promote VERSION makes it champion)",
        )
    if champion is None:
        return Decision("champion", "first model: no champion yet", forced=mode == "force")
    numbers = (
        f"candidate AUC {candidate['roc_auc']:.4f} lift {candidate['lift_top_decile']:.2f}"
        f" vs champion AUC {champion['roc_auc']:.4f} lift "
        f"{champion['lift_top_decile']:.2f}"
    )
    if mode == "force":
        return Decision("champion", f"forced by --promote force ({numbers})", forced=True)
    if mode == "never":
        return Decision("challenger", f"--promote never ({numbers})")
    auc_ok = candidate["roc_auc"] >= champion["roc_auc"] - rule.max_auc_drop
    lift_ok = candidate["lift_top_decile"] >= champion["lift_top_decile"] * (1 - rule.max_lift_drop)
    if auc_ok and lift_ok:
        return Decision("champion", f"rule holds: {rule.describe()} ({numbers})")
    failed = " and ".join(n for n, ok in (("AUC", auc_ok), ("lift", lift_ok)) if not ok)
    return Decision("challenger", f"rule fails on {failed}: {rule.describe()} ({numbers})")
