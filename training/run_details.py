"""How a run was judged, for its report: cohorts, the backtest against the baselines, each
fold, the recipe search, each segment and the tier thresholds."""

from __future__ import annotations

import pandas as pd

from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import LabelledExport
from icpfit.training import plots
from icpfit.training.fit import TrainingRun
from icpfit.training.metrics import figure_with_interval
from icpfit.training.report_page import Section, table

SCORER_NAMES = plots.SCORER_LABELS


def holdout_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Each scorer's backtest figures (the mean over folds) with their 95% bootstrap interval,
    and how many accounts and ideal ones the folds hold."""
    columns = {
        "ROC-AUC [95% CI]": "roc_auc",
        "PR-AUC [95% CI]": "pr_auc",
        "Brier [95% CI]": "brier",
        "lift@10% [95% CI]": "lift_top_decile",
        "LTV in A+B [95% CI]": "ltv_share_tiers_ab",
    }
    table = pd.DataFrame(
        {
            title: [figure_with_interval(row, name) for _, row in metrics.iterrows()]
            for title, name in columns.items()
        },
        index=metrics.index,
    )
    return table.assign(
        accounts=metrics["accounts"].astype(int), ideal=metrics["ideal"].astype(int)
    )


def run_details(
    run: TrainingRun, prepared: LabelledExport, top_share: float
) -> tuple[Section, ...]:
    """How this run was judged: cohorts, the backtest against the baselines, each fold, the
    recipe, each segment and the tier thresholds."""
    backtest = run.backtest
    per_fold = backtest.per_fold.loc["model", ["accounts", "ideal", "roc_auc", "lift_top_decile"]]
    by_scorer = backtest.per_fold["roc_auc"].unstack("scorer")[list(SCORER_NAMES)]
    by_scorer = by_scorer.rename(columns=SCORER_NAMES).add_prefix("ROC-AUC ")
    folds = per_fold.rename(columns={"roc_auc": "ROC-AUC", "lift_top_decile": "lift@10%"})
    folds = folds.join(by_scorer.drop(columns="ROC-AUC model")).reset_index()
    scorers = holdout_table(run.metrics).rename(index=SCORER_NAMES).reset_index()
    counts = pd.DataFrame([cohort_counts(prepared.labels)])
    thresholds = pd.DataFrame([run.thresholds], index=["lowest fit_probability"])
    caption = (
        "[95% CI]: a bootstrap of each fold's accounts; a gap between scorers smaller than the "
        "interval may be noise. ICP rules = the ICP filter above; logistic regression on the "
        f"same features; best single column = {backtest.single_column} alone, the one "
        "attribute that ranks best. LTV in A+B = share of the fold's LTV in the top "
        f"{top_share:.0%} by each scorer (tiers A and B as the config sizes them)."
    )
    recipe = (
        f"{run.recipe.describe()}; {run.model.best_iteration_} trees (the folds' median), "
        "calibrated on the folds' out-of-fold scores."
    )
    segments = _segment_frame(run.segments)
    search, fold_names = _recipe_frame(backtest.search)
    return (
        Section("cohorts", "Cohorts", tables=(table(counts, "cohorts", "Accounts per cohort."),)),
        Section(
            "backtest",
            f"Backtest: model against the baselines (mean over {len(backtest.folds)} folds)",
            notes=tuple(backtest.notes),
            tables=(table(scorers, "scorers", caption),),
        ),
        Section("folds", "Each fold", tables=(table(folds, "folds", "The model per fold."),)),
        Section(
            "recipe",
            "Recipe (chosen by the backtest's mean ROC-AUC)",
            notes=(recipe,),
            tables=(
                table(
                    search,
                    "recipes",
                    f"Each recipe tried, on the same folds' "
                    f"{len(run.scores):,} accounts: {fold_names}.",
                ),
            ),
        ),
        Section(
            "segments",
            "Per segment (model)",
            tables=(table(segments, "segments", SEGMENT_CAPTION),) if len(segments) else (),
            absent="" if len(segments) else "No segment has enough accounts to be judged alone.",
        ),
        Section(
            "thresholds",
            "Tier thresholds",
            tables=(table(thresholds, "thresholds", "", index=True, digits=4),),
        ),
    )


METRIC_NAMES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "lift_top_decile": "lift@10%",
}
SEGMENT_CAPTION = (
    "The model on the backtest accounts of each segment with enough accounts and ideal ones to "
    "be judged alone."
)


def _segment_frame(segments: pd.DataFrame) -> pd.DataFrame:
    if not len(segments):
        return segments
    named = segments.assign(segment=segments["segment"].replace("nan", "(unknown)"))
    first = ["by", "segment", "rows", "ideal"]
    return named[[*first, *(c for c in named if c not in first)]].rename(columns=METRIC_NAMES)


def _recipe_frame(search: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The recipes tried, their folds' ROC-AUC numbered (`fold 1`…), and what each number is."""
    folds = [c for c in search.columns if c.startswith("roc_auc ")]
    numbers = {c: f"fold {i}" for i, c in enumerate(folds, start=1)}
    names = "; ".join(f"{numbers[c]} = {c.removeprefix('roc_auc ')}" for c in folds)
    frame = search.rename(columns={**numbers, "mean_roc_auc": "mean ROC-AUC"})
    return frame.assign(chosen=search["chosen"].map({True: "chosen", False: ""})), names
