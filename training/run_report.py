"""The run report: one self-contained page per retrain (DESIGN §7), the same kind of page as
compare.html (`compare_page`): the promotion decision and its rule, the champion and this run
side by side, what moved; then how this run was judged and what drives it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.pipeline import LabelledExport
from icpfit.training import plots
from icpfit.training.compare import Comparison
from icpfit.training.compare_page import (
    drift_section,
    filter_section,
    importance_section,
    migration_section,
    shap_section,
    side_by_side,
    summary_section,
    version_curves,
)
from icpfit.training.fit import TrainingRun
from icpfit.training.global_shap import (
    ShapSummary,
    contributions,
    every_nth,
    global_importance,
    group_importance,
    shap_summary,
)
from icpfit.training.icp_filter import filter_document
from icpfit.training.promotion import Decision, PromotionRule
from icpfit.training.report_page import Page, Plot, Section, Table, render, table
from icpfit.training.run_details import run_details
from icpfit.training.timing import TimingRun
from icpfit.training.timing_report import timing_section

TOP_FEATURES = 12
DEPENDENCE_PLOTS = 3
IMPORTANCE_ROWS = 20


@dataclass(frozen=True)
class RunParts:
    """Everything the page shows that is known before the run is judged."""

    heading: str
    intro: tuple[str, ...]
    drift: pd.DataFrame | None
    psi_threshold: float
    shap: ShapSummary
    backtest_plots: tuple[Plot, ...]
    dependence: tuple[Plot, ...]
    importance: tuple[Table, ...]
    icp_filter: Section
    details: tuple[Section, ...]


@dataclass(frozen=True)
class RunReport:
    html: str
    images: dict[str, bytes]
    importance: pd.DataFrame
    icp_filter: dict
    parts: RunParts | None = None
    """To draw the page again once the run is judged (`decided`)."""

    def decided(
        self,
        decision: Decision,
        comparison: Comparison | None = None,
        timing: TimingRun | None = None,
        no_timing: str | None = None,
    ) -> RunReport:
        """The report with the promotion decision, the comparison with the champion it was
        decided on (None for a first version) and the timing model's section (or why there is
        none); the champion-and-run curves join the images."""
        labels = (comparison.label_a, comparison.label_b) if comparison else ("", "")
        curves = version_curves(comparison.holdout, labels) if comparison else ()
        page = run_page(self.parts, decision, comparison, curves, timing, no_timing)
        names = ("champion_gains.png", "champion_calibration.png")
        images = {**self.images, **{n: p.png for n, p in zip(names, curves, strict=False)}}
        return replace(self, html=render(page), images=images)


def build_report(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    drift: pd.DataFrame | None = None,
) -> RunReport:
    """`drift`: PSI per feature from the previous champion's training population to this one.
    The page says no decision yet; `RunReport.decided` adds it."""
    labelled = run.rows
    X = run.model.features(prepared.features.frame.loc[every_nth(labelled)])
    shap = contributions(run.model, X)
    importance = global_importance(
        run.model, prepared.features.frame.loc[labelled], prepared.features.specs
    )
    top = importance["feature"].head(TOP_FEATURES).tolist()
    model = f"this run's model ({quarter})"
    summary = shap_summary(shap, X, top, model, "training accounts", len(labelled))
    images = {
        "shap_summary.png": summary.png,
        "calibration.png": plots.calibration(run.scores),
        "gains.png": plots.gains(run.scores),
    }
    for feature in top[:DEPENDENCE_PLOTS]:
        images[f"dependence_{feature}.png"] = plots.dependence(shap, X, feature)
    document = filter_document(run.icp_filter, config, prepared.as_of)
    top_share = config.tiers.A + config.tiers.B
    parts = RunParts(
        heading=f"icpfit run {quarter} · as of {prepared.as_of.isoformat()}",
        intro=(_intro(run),),
        drift=drift,
        psi_threshold=config.drift.psi_threshold,
        shap=summary,
        backtest_plots=_backtest_plots(run, images),
        dependence=tuple(
            Plot(png, f"dependence of {name.removeprefix('dependence_').removesuffix('.png')}")
            for name, png in images.items()
            if name.startswith("dependence_")
        ),
        importance=_importance_tables(importance, len(labelled)),
        icp_filter=_filter_parts(document, len(labelled)),
        details=run_details(run, prepared, top_share),
    )
    report = RunReport("", images, importance, document, parts)
    return replace(report, html=render(run_page(parts, None, None)))


def _intro(run: TrainingRun) -> str:
    return (
        f"Ideal = retained, top LTV share and expanded over the outcome window. The registered "
        f"model is trained on all {len(run.rows):,} labelled accounts decided up to "
        f"{run.trained_through.date()}; it is judged by a rolling-origin backtest: each fold's "
        "model learns only from accounts decided before the fold and is scored on the fold's "
        "accounts."
    )


def _backtest_plots(run: TrainingRun, images: dict[str, bytes]) -> tuple[Plot, ...]:
    where = f"on the backtest folds' {len(run.scores):,} accounts, each scored out of fold"
    return (
        Plot(images["gains.png"], "gain chart", f"Lift of the model and the baselines {where}."),
        Plot(images["calibration.png"], "calibration", f"Calibration of the model {where}."),
    )


def _importance_tables(importance: pd.DataFrame, accounts: int) -> tuple[Table, ...]:
    groups = group_importance(importance).rename("mean |SHAP|").reset_index()
    where = f"over the {accounts:,} training accounts"
    return (
        table(groups, "run-groups", f"Mean |SHAP| per group {where}."),
        table(
            importance.head(IMPORTANCE_ROWS).rename(columns={"mean_abs_shap": "mean |SHAP|"}),
            "run-features",
            f"The {IMPORTANCE_ROWS} features with the largest mean |SHAP| {where}.",
        ),
    )


def _filter_parts(document: dict, accounts: int) -> Section:
    """This run's ICP filter: its rules (a table) and its SQL (code)."""
    rules = pd.DataFrame(
        [
            {"kind": kind, **entry}
            for kind, key in (("ICP", "icp"), ("anti-ICP", "anti_icp"))
            for entry in document[key]
        ]
    ).rename(columns=lambda name: name.replace("_", " "))
    caption = (
        f"This run's rules, a surrogate tree on the model's scores over its {accounts:,} "
        "training accounts: coverage = share of them in the segment, lift = the segment's ideal "
        "rate over the overall one."
    )
    where = document["sql"]
    sql = f"-- ICP\nWHERE {where['icp']}\n\n-- anti-ICP\nWHERE {where['anti_icp']}"
    tables = (table(rules, "rules", caption),) if len(rules) else ()
    return Section(
        "icp-filter",
        "ICP filter",
        absent="" if len(rules) else "No segment stands out from the rest.",
        tables=tables,
        code=sql,
    )


NO_CURVES = (
    "No accounts with both ideal and other customers that neither the champion nor this run "
    "trained on: no curves of the two; the backtest's follow."
)


def decision_section(decision: Decision | None) -> Section:
    """The alias this version gets, why, with the numbers, and the written rule."""
    if decision is None:
        return Section(
            "decision",
            "Decision",
            absent="Drawn before the version was judged: no promotion decision on this page.",
        )
    if decision.alias == "champion":
        lead, tone = "This version becomes the champion.", "good"
        if decision.forced:
            lead = "This version becomes the champion: forced by --promote force."
    else:
        lead, tone = "This version is registered as challenger, not champion.", "warn"
    why = decision.reason[:1].upper() + decision.reason[1:]
    return Section(
        "decision",
        "Decision",
        lead=lead,
        tone=tone,
        notes=(f"{why}.", f"The written promotion rule: {PromotionRule().describe()}."),
    )


def run_page(
    parts: RunParts,
    decision: Decision | None,
    comparison: Comparison | None,
    curves: tuple[Plot, ...] = (),
    timing: TimingRun | None = None,
    no_timing: str | None = None,
) -> Page:
    """The run's page: what the comparison with the champion shows, then the run itself."""
    c = comparison
    first = "No champion yet: this is the first version"
    drift = drift_section(
        parts.drift,
        parts.psi_threshold,
        "since the previous champion's training population",
        "No previous champion with a logged training population to compare with.",
    )
    shared = (
        decision_section(decision),
        side_by_side(
            c,
            "The champion's run logged no holdout: no metrics to set side by side.",
            "The champion and this run side by side",
        )
        if c
        else Section(
            "side-by-side",
            "The champion and this run side by side",
            absent=f"{first}, judged against the best baseline on the backtest folds (below).",
        ),
        Section(
            "curves",
            "Lift and calibration",
            notes=(NO_CURVES,) if c and not curves else (),
            plots=curves + parts.backtest_plots,
        ),
        migration_section(c, "The champion is not older than this run: no earlier snapshot.")
        if c
        else Section("migration", "Tier migration", absent=f"{first}: no tiers to move from."),
        drift,
        importance_section(c)
        if c
        else Section("importance", "Importance shift", absent=f"{first}: nothing to shift from."),
        filter_section(c, parts.icp_filter.tables, parts.icp_filter.code)
        if c
        else replace(parts.icp_filter, notes=(f"{first}: no earlier filter to diff with.",)),
        shap_section(parts.shap, "", parts.importance),
        Section("dependence", "Dependence of the top features", plots=parts.dependence),
    )
    timed = ()
    if timing is not None:
        timed = (timing_section(timing),)
    elif no_timing:
        timed = (Section("timing", "Timing", absent=f"No timing model: {no_timing}"),)
    return Page(
        title=parts.heading,
        heading=parts.heading,
        intro=parts.intro,
        sections=(
            *((summary_section(c, "Comparison with the champion at a glance"),) if c else ()),
            *shared,
            *parts.details,
            *timed,
        ),
    )
