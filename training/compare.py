"""Two model versions on the same accounts: what moves, why, and whether the newer one is better.

Everything here is a pure function of scored outputs (the DESIGN §8 schema) and the artifacts
each version's run logged; `training.comparable` scores both models, `icpfit.registry` loads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icpfit.training.drift import score_psi
from icpfit.training.global_shap import ShapSummary, registered_summary
from icpfit.training.metrics import (
    classification_metrics,
    drawn_metrics,
    ltv_captured,
    percentile_interval,
    resamples,
)
from icpfit.training.promotion import paired_difference

if TYPE_CHECKING:
    from icpfit.serving.pyfunc import IcpFitModel

TIERS = ("A", "B", "C", "D", "X")
TIER_RANK = {tier: rank for rank, tier in enumerate(TIERS)}


def tier_migration(tiers_a: pd.Series, tiers_b: pd.Series) -> pd.DataFrame:
    """Counts of accounts by (tier under A, tier under B); rows that could not be scored: error."""
    a = tiers_a.astype(object).fillna("error").to_numpy()
    b = tiers_b.astype(object).fillna("error").to_numpy()
    levels = [*TIERS, *(["error"] if "error" in set(a) | set(b) else [])]
    table = pd.crosstab(
        pd.Categorical(a, categories=levels), pd.Categorical(b, categories=levels), dropna=False
    )
    return table.rename_axis(index="tier under A", columns="tier under B")


def _reasons(scored: pd.DataFrame) -> list[dict[str, str]]:
    """Per row, each reason keyed by its attribute and value ("Employees 240"), so a reason
    whose comparison with best customers was re-worded by the newer profile is not a change."""
    columns = [c for c in scored.columns if c.startswith(("reason_", "risk_"))]
    marks = ["+" if c.startswith("reason_") else "−" for c in columns]
    return [
        {
            f"{mark}{text.split(' — ')[0]}": f"{mark} {text}"
            for mark, text in zip(marks, row, strict=True)
            if isinstance(text, str)
        }
        for row in scored[columns].to_numpy()
    ]


def tier_moves(scored_a: pd.DataFrame, scored_b: pd.DataFrame) -> pd.DataFrame:
    """Every account whose tier changed, the largest moves first, with the reasons that changed.

    `steps` counts tiers moved up (A is the top, X the disqualified bottom). Reasons for a fit
    are marked +, risks −; a reason that moved from one side to the other counts as changed.
    """
    rank_a = scored_a["fit_tier"].map(TIER_RANK)
    rank_b = scored_b["fit_tier"].map(TIER_RANK)
    moved = (rank_a != rank_b).to_numpy() & rank_a.notna().to_numpy() & rank_b.notna().to_numpy()
    gained, lost = [], []
    for before, after in zip(_reasons(scored_a[moved]), _reasons(scored_b[moved]), strict=True):
        gained.append(" · ".join(text for key, text in after.items() if key not in before))
        lost.append(" · ".join(text for key, text in before.items() if key not in after))
    moves = pd.DataFrame(
        {
            "account_id": scored_a.loc[moved, "account_id"].to_numpy(),
            "tier_a": scored_a.loc[moved, "fit_tier"].to_numpy(),
            "tier_b": scored_b.loc[moved, "fit_tier"].to_numpy(),
            "steps": (rank_a[moved] - rank_b[moved]).astype(int).to_numpy(),
            "fit_score_a": scored_a.loc[moved, "fit_score"].to_numpy(),
            "fit_score_b": scored_b.loc[moved, "fit_score"].to_numpy(),
            "reasons_gained": gained,
            "reasons_lost": lost,
        }
    )
    moves["score_change"] = moves["fit_score_b"].astype(float) - moves["fit_score_a"].astype(float)
    order = np.lexsort((-moves["score_change"].abs(), -moves["steps"].abs()))
    return moves.iloc[order].reset_index(drop=True)


def change_sources(
    a_before: pd.DataFrame, b_before: pd.DataFrame, b_now: pd.DataFrame
) -> pd.DataFrame:
    """Per account in both snapshots: how much of its fit_probability change is the model's
    (B minus A on the earlier data) and how much the account's (B on the newer minus the earlier
    data). The two parts add up to the whole change, A-before to B-now."""
    key = "account_id"
    before = pd.DataFrame(
        {
            key: a_before[key].to_numpy(),
            "a_before": a_before["fit_probability"].to_numpy(dtype=float),
            "b_before": b_before["fit_probability"].to_numpy(dtype=float),
        }
    ).drop_duplicates(key, keep=False)
    now = pd.DataFrame(
        {key: b_now[key].to_numpy(), "b_now": b_now["fit_probability"].to_numpy(dtype=float)}
    ).drop_duplicates(key, keep=False)
    both = before.merge(now, on=key, how="inner").dropna()
    return both.assign(
        model_change=both["b_before"] - both["a_before"],
        data_change=both["b_now"] - both["b_before"],
        total_change=both["b_now"] - both["a_before"],
    )


def source_shares(sources: pd.DataFrame) -> dict[str, float]:
    """Share of the total absolute change that comes from the model and from the data."""
    model, data = sources["model_change"].abs().sum(), sources["data_change"].abs().sum()
    total = model + data
    if total == 0:
        return {"accounts": len(sources), "model": float("nan"), "data": float("nan")}
    return {"accounts": len(sources), "model": float(model / total), "data": float(data / total)}


def importance_change(
    importance_a: pd.DataFrame, importance_b: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean |SHAP| per feature and per group under each model, largest change first."""
    a = importance_a.set_index("feature")
    b = importance_b.set_index("feature")
    features = pd.DataFrame(
        {
            "group": b["group"].combine_first(a["group"]),
            "importance_a": a["mean_abs_shap"],
            "importance_b": b["mean_abs_shap"],
        }
    ).fillna({"importance_a": 0.0, "importance_b": 0.0})
    features["change"] = features["importance_b"] - features["importance_a"]
    groups = features.groupby("group")[["importance_a", "importance_b", "change"]].sum()
    by_size = features["change"].abs().sort_values(ascending=False).index
    groups = groups.loc[groups["change"].abs().sort_values(ascending=False).index]
    return features.loc[by_size].rename_axis("feature").reset_index(), groups.reset_index()


def filter_diff(document_a: dict, document_b: dict) -> pd.DataFrame:
    """The ICP and anti-ICP rules of both filters: kept, added (only B) or dropped (only A)."""
    rows = []
    for kind in ("icp", "anti_icp"):
        a = {entry["rule"]: entry for entry in document_a.get(kind, [])}
        b = {entry["rule"]: entry for entry in document_b.get(kind, [])}
        for rule in [*a, *(r for r in b if r not in a)]:
            status = "kept" if rule in a and rule in b else "dropped" if rule in a else "added"
            rows.append(
                {
                    "kind": kind,
                    "rule": rule,
                    "status": status,
                    "lift_a": a.get(rule, {}).get("lift"),
                    "lift_b": b.get(rule, {}).get("lift"),
                }
            )
    return pd.DataFrame(rows, columns=["kind", "rule", "status", "lift_a", "lift_b"])


METRICS = ("roc_auc", "pr_auc", "brier", "lift_top_decile", "ltv_share_tiers_ab")
ROUNDS, SEED = 2000, 0
"""The bootstrap of `metric_deltas`: the resamples `paired_difference` draws by default, so the
B - A intervals of the table are the ones a promotion is decided on."""


@dataclass(frozen=True, eq=False)
class HoldoutScores:
    """Both models' scores on the accounts a comparison judges them on, with each account's
    target and LTV (columns target, ltv, a, b): what the lift and calibration curves draw.
    Compared by identity: it travels in a DataFrame's attrs, which pandas compares."""

    frame: pd.DataFrame


def metric_deltas(
    target: np.ndarray,
    ltv: np.ndarray,
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    top_share: float,
) -> pd.DataFrame:
    """Both models on the same accounts, and B minus A. Every figure comes with its 95%
    bootstrap interval (`<metric>_low`, `<metric>_high`): each model's from resampling the
    accounts, the difference's from the same resamples, paired (`attrs["paired"]` holds the
    ROC-AUC one); `attrs["scores"]` the scores themselves (`HoldoutScores`)."""
    target = np.asarray(target, dtype=int)
    ltv = np.asarray(ltv, dtype=float)
    scores_a = np.nan_to_num(np.asarray(scores_a, dtype=float))
    scores_b = np.nan_to_num(np.asarray(scores_b, dtype=float))
    rows = {
        name: {
            **classification_metrics(target, scores),
            "ltv_share_tiers_ab": ltv_captured(ltv, scores, top_share),
        }
        for name, scores in (("model A", scores_a), ("model B", scores_b))
    }
    table = pd.DataFrame(rows).T
    table.loc["B - A"] = table.loc["model B"] - table.loc["model A"]
    table = table.rename_axis("model").join(_intervals(target, ltv, scores_a, scores_b, top_share))
    for metric in ("roc_auc", "lift_top_decile"):
        paired = paired_difference(
            target, scores_a, scores_b, metric, ROUNDS, SEED, incumbent_label="A"
        )
        table.loc["B - A", [f"{metric}_low", f"{metric}_high"]] = [paired.low, paired.high]
        if metric == "roc_auc":
            table.attrs["paired"] = paired
    table.attrs["accounts"] = len(target)
    table.attrs["ideal"] = int(target.sum())
    table.attrs["scores"] = HoldoutScores(
        pd.DataFrame({"target": target, "ltv": ltv, "a": scores_a, "b": scores_b})
    )
    return table


def _intervals(
    target: np.ndarray, ltv: np.ndarray, a: np.ndarray, b: np.ndarray, top_share: float
) -> pd.DataFrame:
    """The 95% bootstrap interval of each metric for A, B and B - A, from one set of resamples
    (NaN when the accounts hold only one class)."""
    columns = [f"{m}_{end}" for m in METRICS for end in ("low", "high")]
    index = pd.Index(["model A", "model B", "B - A"], name="model")
    if len(np.unique(target)) < 2:
        return pd.DataFrame(np.nan, index=index, columns=columns)
    draws = resamples(len(target), ROUNDS, SEED)
    drawn_a = drawn_metrics(target, a, draws, ltv, top_share)
    drawn_b = drawn_metrics(target, b, draws, ltv, top_share)
    rows = []
    for drawn in (drawn_a, drawn_b, {m: drawn_b[m] - drawn_a[m] for m in METRICS}):
        rows.append([end for m in METRICS for end in percentile_interval(drawn[m])])
    return pd.DataFrame(rows, index=index, columns=columns)


@dataclass(frozen=True)
class Comparison:
    """What `icpfit compare` reports; optional parts are None when an artifact was missing."""

    label_a: str
    label_b: str
    accounts: int
    migration: pd.DataFrame
    moves: pd.DataFrame
    score_psi: float
    drift: pd.DataFrame | None = None
    psi_threshold: float = 0.25
    importance: pd.DataFrame | None = None
    group_importance: pd.DataFrame | None = None
    icp_filter: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None
    holdout_accounts: int = 0
    sources: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    holdout: HoldoutScores | None = None
    """Both models' scores on the accounts the metrics are measured on (the curves)."""
    shap: ShapSummary | None = None
    """B's SHAP summary on the compared accounts, when it was drawn (`with_shap`)."""

    @property
    def drifted(self) -> pd.DataFrame:
        if self.drift is None:
            return pd.DataFrame()
        return self.drift[self.drift["psi"] > self.psi_threshold]

    def summary_lines(self) -> list[str]:
        moved = len(self.moves)
        up = int((self.moves["steps"] > 0).sum()) if moved else 0
        lines = [
            f"Comparing {self.label_a} (A) with {self.label_b} (B) on {self.accounts:,} accounts",
            f"Tier changed for {moved:,} accounts ({moved / max(self.accounts, 1):.1%}): "
            f"{up:,} up, {moved - up:,} down; score distribution PSI {self.score_psi:.3f}",
        ]
        for tier in ("A", "B"):
            kept = int(self.migration.loc[tier, tier]) if tier in self.migration.index else 0
            was = int(self.migration.loc[tier].sum()) if tier in self.migration.index else 0
            now = int(self.migration[tier].sum()) if tier in self.migration.columns else 0
            lines.append(f"Tier {tier}: {was:,} under A, {now:,} under B, {kept:,} in both")
        if self.metrics is not None and self.holdout_accounts:
            m = self.metrics
            d = m.loc["B - A"]
            lines.append(
                f"On {self.holdout_accounts:,} accounts neither model trained on "
                f"({int(m.attrs.get('ideal', 0)):,} ideal): ROC-AUC "
                f"{m.loc['model A', 'roc_auc']:.3f} -> {m.loc['model B', 'roc_auc']:.3f} "
                f"(B - A {d['roc_auc']:+.3f}, 95% paired CI {d['roc_auc_low']:+.3f} to "
                f"{d['roc_auc_high']:+.3f}), lift@10% "
                f"{m.loc['model A', 'lift_top_decile']:.2f} -> "
                f"{m.loc['model B', 'lift_top_decile']:.2f} (95% paired CI of B - A "
                f"{d['lift_top_decile_low']:+.2f} to {d['lift_top_decile_high']:+.2f}), LTV in "
                f"A+B {m.loc['model A', 'ltv_share_tiers_ab']:.1%} -> "
                f"{m.loc['model B', 'ltv_share_tiers_ab']:.1%}"
            )
        elif self.metrics is not None:
            lines.append("No labelled accounts that neither model trained on: no metrics")
        if self.sources is not None and len(self.sources):
            shares = source_shares(self.sources)
            lines.append(
                f"Of the score change on {shares['accounts']:,} accounts in both snapshots: "
                f"{shares['model']:.0%} from the model, {shares['data']:.0%} from the data"
            )
        if self.group_importance is not None and len(self.group_importance):
            top = self.group_importance.iloc[0]
            lines.append(
                f"Largest importance change: {top['group']} group "
                f"{top['importance_a']:.3f} -> {top['importance_b']:.3f} mean |SHAP|"
            )
        if self.icp_filter is not None:
            counts = self.icp_filter["status"].value_counts()
            lines.append(
                f"ICP filter: {counts.get('kept', 0)} rules kept, {counts.get('added', 0)} added, "
                f"{counts.get('dropped', 0)} dropped"
            )
        if self.drift is not None:
            drifted = self.drifted
            names = ", ".join(f"{f} (PSI {p:.2f})" for f, p in drifted[["feature", "psi"]].values)
            lines.append(
                f"Input drift between the training populations: {len(drifted)} of "
                f"{len(self.drift)} features above PSI {self.psi_threshold}"
                + (f": {names}" if names else "")
            )
        return [*lines, *self.notes]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV files of a comparison, by file name."""
        parts = {
            "tier_migration.csv": self.migration.reset_index(),
            "tier_moves.csv": self.moves,
            "feature_drift.csv": self.drift,
            "importance_change.csv": self.importance,
            "group_importance_change.csv": self.group_importance,
            "icp_filter_diff.csv": self.icp_filter,
            "holdout_metrics.csv": None if self.metrics is None else self.metrics.reset_index(),
            "change_sources.csv": self.sources,
        }
        return {name: table for name, table in parts.items() if table is not None}

    @property
    def change_shares(self) -> dict[str, float] | None:
        """`source_shares` of the change sources, None without an earlier snapshot."""
        return None if self.sources is None else source_shares(self.sources)

    def html(self) -> str:
        """compare.html: the page `train --report` writes too (`compare_page`)."""
        from icpfit.training.compare_page import comparison_page  # it reads this module
        from icpfit.training.report_page import render

        return render(comparison_page(self))


def compare_scored(
    label_a: str,
    label_b: str,
    scored_a: pd.DataFrame,
    scored_b: pd.DataFrame,
    **parts,
) -> Comparison:
    """The comparison of two scorings of the same rows, with any of the optional parts; the
    curves' scores come with the metrics (`metric_deltas`)."""
    metrics = parts.get("metrics")
    if metrics is not None and "holdout" not in parts:
        parts["holdout"] = metrics.attrs.get("scores")
    return Comparison(
        label_a=label_a,
        label_b=label_b,
        accounts=len(scored_a),
        migration=tier_migration(scored_a["fit_tier"], scored_b["fit_tier"]),
        moves=tier_moves(scored_a, scored_b),
        score_psi=score_psi(
            scored_a["fit_probability"].dropna().to_numpy(dtype=float),
            scored_b["fit_probability"].dropna().to_numpy(dtype=float),
        ),
        **parts,
    )


def with_shap(comparison: Comparison, model: IcpFitModel, rows: pd.DataFrame) -> Comparison:
    """`comparison` with B's SHAP summary on the compared accounts (`model` is B)."""
    summary = registered_summary(model, rows, comparison.label_b, "compared accounts")
    return replace(comparison, shap=summary)
