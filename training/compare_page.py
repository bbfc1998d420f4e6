"""The sections two versions side by side put on the page: compare.html, and the run report,
where A is the champion and B this run. Each section says plainly what stands in its place when
a part is missing (no champion yet, no earlier snapshot, an artifact a version did not log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from icpfit.training import plots
from icpfit.training.global_shap import ShapSummary
from icpfit.training.promotion import PromotionRule
from icpfit.training.report_page import Legend, Page, Plot, Section, Table, table

if TYPE_CHECKING:
    from icpfit.training.compare import Comparison, HoldoutScores

TOP_MOVES = 15
TOP_IMPORTANCE = 15
METRIC_TITLES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier (lower is better)",
    "lift_top_decile": "lift@10%",
    "ltv_share_tiers_ab": "LTV in tiers A+B",
}
KINDS = {"icp": "ICP", "anti_icp": "anti-ICP"}
MOVE_COLUMNS = {
    "fit_score_a": "fit_score A",
    "fit_score_b": "fit_score B",
    "reasons_gained": "reasons gained",
    "reasons_lost": "reasons lost",
}
NO_SHAP = (
    "No SHAP summary with this comparison: B's SHAP values are drawn when the compared accounts "
    "are scored (icpfit compare, icpfit train)."
)


def comparison_page(c: Comparison) -> Page:
    """compare.html: every section a comparison has, the decision a comparison does not make
    said as such."""
    return Page(
        title=f"icpfit compare: {c.label_a} → {c.label_b}",
        heading=f"{c.label_a} (A) → {c.label_b} (B)",
        intro=(
            f"Both versions scored the same {c.accounts:,} accounts; the metrics are measured "
            "on the accounts neither version trained on.",
        ),
        sections=(
            summary_section(c),
            compare_decision(c),
            side_by_side(
                c, "The newer version's run logged no holdout accounts: no metrics to compare."
            ),
            curves_section(c.holdout, (c.label_a, c.label_b)),
            migration_section(
                c,
                "Whether a change comes from the model or from the account's data needs an "
                "earlier snapshot of the same accounts (--input-before): none was given.",
            ),
            drift_section(
                c.drift,
                c.psi_threshold,
                "between the two versions' training populations",
                "One of the versions' runs logged no training population: nothing to measure "
                "drift on.",
            ),
            importance_section(c),
            filter_section(c),
            shap_section(c.shap, NO_SHAP),
        ),
    )


def summary_section(c: Comparison, title: str = "At a glance") -> Section:
    return Section("summary", title, items=tuple(c.summary_lines()))


def compare_decision(c: Comparison) -> Section:
    """A comparison decides nothing; what the written rule would say of these two numbers."""
    rule = PromotionRule()
    paired = None if c.metrics is None else c.metrics.attrs.get("paired")
    notes = [
        "icpfit compare scores both versions and moves no alias: icpfit promote VERSION, or a "
        "retrain with --promote auto, decides.",
        f"The written promotion rule: {rule.describe()}.",
    ]
    if paired is None or paired.difference != paired.difference:
        why = paired.describe() if paired is not None else "no holdout accounts to judge them on"
        notes.append(f"Read against that rule, these two versions cannot be judged: {why}.")
    else:
        verdict = "would replace A" if rule.holds(paired) else "would not replace A"
        notes.append(f"Read against that rule, B {verdict}: {paired.describe()}.")
    return Section(
        "decision",
        "Decision",
        lead="No promotion decision: compare only compares.",
        notes=tuple(notes),
    )


def _figure(row: pd.Series, metric: str, signed: bool = False) -> str:
    spec = ("+" if signed else "") + (".1%" if metric == "ltv_share_tiers_ab" else ".3f")
    value, low, high = row[metric], row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if value != value:
        return "–"
    if low is None or high is None or low != low or high != high:
        return format(value, spec)
    return f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"


def metrics_table(metrics: pd.DataFrame, label_a: str, label_b: str, key: str) -> Table:
    """Both versions' figures and the difference, each with its 95% interval."""
    frame = pd.DataFrame(
        {
            "figure": list(METRIC_TITLES.values()),
            f"A: {label_a} [95% CI]": [_figure(metrics.loc["model A"], m) for m in METRIC_TITLES],
            f"B: {label_b} [95% CI]": [_figure(metrics.loc["model B"], m) for m in METRIC_TITLES],
            "B − A [95% paired CI]": [
                _figure(metrics.loc["B - A"], m, signed=True) for m in METRIC_TITLES
            ],
        }
    )
    accounts, ideal = int(metrics.attrs.get("accounts", 0)), int(metrics.attrs.get("ideal", 0))
    caption = (
        f"On {accounts:,} accounts neither version trained on, {ideal:,} of them ideal. "
        "[95% CI]: a bootstrap of these accounts; B − A: the paired bootstrap (both versions on "
        "the same resampled accounts), so an interval that does not clear zero is no difference "
        "beyond noise."
    )
    return table(frame, key, caption)


def side_by_side(c: Comparison, absent: str, title: str = "A and B side by side") -> Section:
    if c.metrics is None:
        return Section("side-by-side", title, absent=absent)
    if not c.holdout_accounts:
        return Section(
            "side-by-side",
            title,
            absent="No labelled account that neither version trained on: no metrics to compare.",
        )
    return Section(
        "side-by-side", title, tables=(metrics_table(c.metrics, c.label_a, c.label_b, "versions"),)
    )


def version_curves(holdout: HoldoutScores | None, labels: tuple[str, str]) -> tuple[Plot, ...]:
    """Lift and calibration of A and B on the same accounts; none without both classes."""
    if holdout is None or holdout.frame["target"].nunique() < 2:
        return ()
    scorers = {
        "a": (f"A: {labels[0]}", plots.VERSION_COLOURS[0]),
        "b": (f"B: {labels[1]}", plots.VERSION_COLOURS[1]),
    }
    where = "on the accounts neither version trained on"
    return (
        Plot(plots.gains(holdout.frame, scorers), "gain chart of A and B", f"Lift, {where}."),
        Plot(
            plots.calibration(holdout.frame, scorers),
            "calibration of A and B",
            f"Calibration, {where}: on the diagonal, a probability means what it says.",
        ),
    )


def curves_section(holdout: HoldoutScores | None, labels: tuple[str, str]) -> Section:
    shown = version_curves(holdout, labels)
    absent = (
        ""
        if shown
        else "No accounts with both ideal and other customers that neither version trained on: "
        "no curves to draw."
    )
    return Section("curves", "Lift and calibration", plots=shown, absent=absent)


def migration_section(c: Comparison, no_sources: str) -> Section:
    moved = len(c.moves)
    up = int((c.moves["steps"] > 0).sum()) if moved else 0
    moves = c.moves.head(TOP_MOVES).assign(
        tier=lambda f: f["tier_a"].astype(str) + "\u00a0→\u00a0" + f["tier_b"].astype(str)
    )
    moves = moves[
        [
            "account_id",
            "tier",
            "steps",
            "fit_score_a",
            "fit_score_b",
            "reasons_gained",
            "reasons_lost",
        ]
    ]
    migration = c.migration.rename_axis(index="A ↓  B →", columns=None).reset_index()
    tables = [
        table(migration, "migration", "Accounts by tier under A (rows) and under B (columns)."),
        table(
            moves.rename(columns=MOVE_COLUMNS),
            "moves",
            f"The {min(moved, TOP_MOVES)} largest moves: + a reason for a fit, − a risk.",
            digits=0,
        ),
    ]
    shares = c.change_shares
    if shares is not None:
        split = pd.DataFrame(
            [{"accounts": shares["accounts"], "model": shares["model"], "data": shares["data"]}]
        )
        tables.append(
            table(
                split,
                "sources",
                "Where the change comes from, as shares of the whole absolute change: model = B "
                "minus A on the earlier snapshot, data = B on the newer minus the earlier.",
                formats={"model": "{:.0%}", "data": "{:.0%}"},
            )
        )
    return Section(
        "migration",
        "Tier migration",
        lead=f"{moved:,} of {c.accounts:,} accounts change tier: {up:,} up, {moved - up:,} down.",
        notes=(
            f"Score distribution PSI {c.score_psi:.3f} (A's scores to B's).",
            *(() if shares is not None else (no_sources,)),
        ),
        tables=tuple(tables),
    )


def drift_section(
    drift: pd.DataFrame | None, threshold: float, between: str, absent: str
) -> Section:
    """Only the features that drifted beyond `threshold`; the largest shift named when none
    did."""
    title = "Input drift"
    if drift is None or not len(drift):
        return Section("drift", title, absent=absent)
    flagged = drift[drift["psi"] > threshold]
    if not len(flagged):
        top = drift.sort_values("psi", ascending=False).iloc[0]
        return Section(
            "drift",
            title,
            lead=f"None of the {len(drift)} features moved beyond PSI {threshold} {between}.",
            tone="good",
            notes=(f"The largest shift: {top['feature']} (PSI {top['psi']:.3f}).",),
        )
    names = ", ".join(flagged["feature"])
    return Section(
        "drift",
        title,
        lead=f"{len(flagged)} of {len(drift)} features moved beyond PSI {threshold} {between}: "
        f"{names}.",
        tone="warn",
        notes=(
            "Check whether the market or the data capture changed before trusting reasons built "
            "on them. PSI below 0.1: stable; 0.1 to 0.25: a moderate shift; above: a real one.",
        ),
        tables=(
            table(
                flagged.rename(columns={"psi": "PSI"}),
                "drift",
                "The drifted features, largest shift first.",
            ),
        ),
    )


def importance_tables(c: Comparison) -> tuple[Table, ...]:
    names = {"importance_a": "A", "importance_b": "B", "change": "B − A"}
    return (
        table(c.group_importance.rename(columns=names), "groups", "Mean |SHAP| per group."),
        table(
            c.importance.head(TOP_IMPORTANCE).rename(columns=names),
            "features",
            f"The {TOP_IMPORTANCE} features whose mean |SHAP| changed most.",
        ),
    )


def importance_section(c: Comparison, absent: str = "") -> Section:
    title = "Importance shift"
    if c.importance is None or c.group_importance is None:
        why = "One of the versions' runs logged no importance (importance.csv): nothing to shift."
        return Section("importance", title, absent=absent or why)
    plot = Plot(
        plots.importance_shift(c.importance, (c.label_a, c.label_b)),
        "importance shift",
        "Mean |SHAP| per feature over each version's own training accounts.",
    )
    return Section("importance", title, plots=(plot,), tables=importance_tables(c))


def filter_diff_table(diff: pd.DataFrame) -> Table:
    frame = diff.assign(kind=diff["kind"].map(KINDS).fillna(diff["kind"])).rename(
        columns={"lift_a": "lift A", "lift_b": "lift B"}
    )
    return table(
        frame,
        "filter-diff",
        "Rules of both versions' ICP filters: kept, added (only B) or dropped (only A); each lift "
        "as its version's run measured it on its own training accounts.",
        digits=2,
    )


def filter_section(c: Comparison, more: tuple[Table, ...] = (), code: str = "") -> Section:
    title = "ICP filter"
    if c.icp_filter is None:
        why = "One of the versions' runs logged no ICP filter (icp_filter.yaml): nothing to diff."
        return Section("icp-filter", title, absent=why, tables=more, code=code)
    counts = c.icp_filter["status"].value_counts()
    lead = (
        f"{counts.get('kept', 0)} rules kept, {counts.get('added', 0)} added, "
        f"{counts.get('dropped', 0)} dropped."
    )
    tables = (filter_diff_table(c.icp_filter), *more)
    return Section("icp-filter", title, lead=lead, tables=tables, code=code)


def shap_section(
    summary: ShapSummary | None, absent: str, more_tables: tuple[Table, ...] = ()
) -> Section:
    title = "SHAP summary"
    if summary is None:
        return Section("shap", title, absent=absent, tables=more_tables)
    caption = (
        f"SHAP values of {summary.model} on {summary.accounts:,} of the {summary.total:,} "
        f"{summary.population} (an even sample). Right of zero pushes towards an ideal customer."
    )
    legends = tuple(Legend(feature, levels) for feature, levels in summary.legends)
    plot = Plot(summary.png, "SHAP summary", caption)
    return Section("shap", title, plots=(plot,), legends=legends, tables=more_tables)
