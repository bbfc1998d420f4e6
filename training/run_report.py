"""The run report: one self-contained HTML page with its plots embedded (DESIGN §7)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import LabelledExport
from icpfit.training import plots
from icpfit.training.fit import TrainingRun
from icpfit.training.global_shap import contributions, global_importance, group_importance
from icpfit.training.icp_filter import filter_document
from icpfit.training.metrics import figure_with_interval

SHAP_SAMPLE = 2000
TOP_FEATURES = 12
DEPENDENCE_PLOTS = 3

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto}img{max-width:100%}.row{display:flex;gap:1em;
flex-wrap:wrap}.muted{color:#666}
"""


@dataclass(frozen=True)
class RunReport:
    html: str
    images: dict[str, bytes]
    importance: pd.DataFrame
    icp_filter: dict


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_html(
        float_format=lambda v: f"{v:,.{digits}f}", border=0, na_rep="–", escape=True
    )


def _image(png: bytes, alt: str) -> str:
    return (
        f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}">'
    )


def build_report(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    drift: pd.DataFrame | None = None,
) -> RunReport:
    """`drift`: PSI per feature from the previous champion's training population to this one."""
    labelled = run.rows
    sample = labelled[:: max(1, len(labelled) // SHAP_SAMPLE)]
    X = run.model.features(prepared.features.frame.loc[sample])
    shap = contributions(run.model, X)
    importance = global_importance(
        run.model, prepared.features.frame.loc[labelled], prepared.features.specs
    )
    top = importance["feature"].head(TOP_FEATURES).tolist()
    images = {
        "shap_summary.png": plots.shap_beeswarm(shap, X, top),
        "calibration.png": plots.calibration(run.scores),
        "gains.png": plots.gains(run.scores),
    }
    for feature in top[:DEPENDENCE_PLOTS]:
        images[f"dependence_{feature}.png"] = plots.dependence(shap, X, feature)
    tech_column = config.tech_stack.column if config.tech_stack else "tech_stack"
    document = filter_document(run.icp_filter, tech_column)
    top_share = config.tiers.A + config.tiers.B
    page = _page(run, prepared, quarter, importance, document, images, top_share)
    page = page.replace("</body>", _drift_section(drift, config.drift.psi_threshold) + "</body>")
    return RunReport(page, images, importance, document)


def _drift_section(drift: pd.DataFrame | None, threshold: float) -> str:
    if drift is None:
        return (
            "<h2>Input drift</h2><p class=muted>No previous champion with a logged training "
            "population to compare with.</p>"
        )
    flagged = drift[drift["psi"] > threshold]
    warning = (
        f"<p><b>{len(flagged)} feature(s) moved beyond PSI {threshold}</b> since the previous "
        f"champion's training population: {html.escape(', '.join(flagged['feature']))}. Check "
        "whether the market or the data capture changed before trusting reasons on them.</p>"
        if len(flagged)
        else f"<p>No feature moved beyond PSI {threshold} since the previous champion.</p>"
    )
    return f"<h2>Input drift since the previous champion</h2>{warning}{_table(drift.head(20))}"


SCORER_NAMES = {
    "model": "model",
    "rules": "ICP rules",
    "logistic": "logistic regression",
    "single_column": "best single column",
}


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


def _page(
    run: TrainingRun,
    prepared: LabelledExport,
    quarter: str,
    importance: pd.DataFrame,
    document: dict,
    images: dict[str, bytes],
    top_share: float,
) -> str:
    counts = pd.DataFrame([cohort_counts(prepared.labels)], index=["accounts"])
    backtest = run.backtest
    per_fold = backtest.per_fold.loc["model", ["accounts", "ideal", "roc_auc", "lift_top_decile"]]
    by_scorer = backtest.per_fold["roc_auc"].unstack("scorer")[list(SCORER_NAMES)]
    by_scorer = by_scorer.rename(columns=SCORER_NAMES).add_prefix("ROC-AUC ")
    folds = per_fold.join(by_scorer.drop(columns="ROC-AUC model"))
    search = backtest.search.set_index("recipe")
    notes = "".join(f"<p><b>{html.escape(n)}</b></p>" for n in backtest.notes)
    thresholds = pd.DataFrame([run.thresholds], index=["lowest fit_probability"])
    segments = run.segments.set_index(["by", "segment"]) if len(run.segments) else pd.DataFrame()
    rules = pd.DataFrame(
        document["icp"] + document["anti_icp"],
        index=["ICP"] * len(document["icp"]) + ["anti-ICP"] * len(document["anti_icp"]),
    )
    dependence = "".join(
        _image(png, name) for name, png in images.items() if name.startswith("dependence_")
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>icpfit {html.escape(quarter)}</title><style>{STYLE}</style></head><body>
<h1>icpfit run {html.escape(quarter)} · as of {prepared.as_of.isoformat()}</h1>
<p class="muted">Ideal = retained, top LTV share and expanded over the outcome window. The
registered model is trained on all {len(run.rows):,} labelled accounts decided up to
{run.trained_through.date()}; it is judged by a rolling-origin backtest: each fold's model
learns only from accounts decided before the fold and is scored on the fold's accounts.</p>
<h2>Cohorts</h2>{_table(counts, 0)}
<h2>Backtest: model against the baselines (mean over {len(backtest.folds)} folds)</h2>
{notes}{_table(holdout_table(run.metrics).rename(index=SCORER_NAMES))}
<p class="muted">[95% CI]: a bootstrap of each fold's accounts; a gap between scorers smaller
than the interval may be noise. ICP rules = the ICP filter below; logistic regression on the
same features; best single column = {html.escape(backtest.single_column)} alone, the one
attribute that ranks best. LTV in A+B = share of the fold's LTV in the
top {top_share:.0%} by each scorer (tiers A and B as the config sizes them).</p>
<h2>Each fold</h2>{_table(folds)}
<h2>Recipe (chosen by the backtest's mean ROC-AUC)</h2>
<p>{html.escape(run.recipe.describe())}; {run.model.best_iteration_} trees (the folds' median),
calibrated on the folds' out-of-fold scores.</p>{_table(search)}
<h2>Per segment (model)</h2>{_table(segments) if len(segments) else "<p>too few rows</p>"}
<div class="row"><div><h2>Calibration</h2>{_image(images["calibration.png"], "calibration")}
</div><div><h2>Lift</h2>{_image(images["gains.png"], "gain chart")}</div></div>
<h2>What drives the fit (global SHAP)</h2>
{_table(group_importance(importance).to_frame("mean |SHAP|"))}
{_image(images["shap_summary.png"], "SHAP summary")}<div class="row">{dependence}</div>
{_table(importance.head(20).set_index("feature"))}
<h2>The ICP filter</h2>{_table(rules, 3) if len(rules) else "<p>no segment stands out</p>"}
<pre>-- ICP
WHERE {html.escape(document["sql"]["icp"])}

-- anti-ICP
WHERE {html.escape(document["sql"]["anti_icp"])}</pre>
<h2>Tier thresholds</h2>{_table(thresholds, 4)}
</body></html>"""
