"""The timing model's section of the run report: does timing add to fit, by how much, with
intervals and the sizes they come from."""

from __future__ import annotations

import pandas as pd

from icpfit.training.report_page import Section, Table, table
from icpfit.training.timing import SCORERS, TimingRun


def timing_lines(timing: TimingRun) -> list[str]:
    """The backtest in sentences (terminal and report alike)."""
    backtest = timing.backtest
    rates = backtest.rates.set_index("ranking")
    lines = [
        f"Held out: {', '.join(backtest.months)}; {backtest.snapshots:,} snapshots of "
        f"{backtest.accounts:,} accounts, {backtest.positives:,} followed by a new opportunity "
        f"within {timing.settings.horizon_days} days.",
    ]
    for name in ("priority", "fit", "trigger", "timing"):
        row = rates.loc[name]
        lines.append(
            f"{SCORERS[name]}: {row['per_100']:.1f} opportunities per 100 worked [95% CI "
            f"{row['low']:.1f}, {row['high']:.1f}] ({int(row['opportunities']):,} of "
            f"{int(row['worked']):,})"
        )
    lines.append(f"Priority against fit alone: {backtest.headline()}")
    return lines


def _rates_table(timing: TimingRun) -> Table:
    rates = timing.backtest.rates
    gains = timing.backtest.gains.set_index("against")
    rows = []
    for row in rates.itertuples():
        gain = (
            ""
            if row.ranking == "priority"
            else f"{-gains.loc[row.ranking, 'gain']:+.1f} [{-gains.loc[row.ranking, 'high']:+.1f}"
            f", {-gains.loc[row.ranking, 'low']:+.1f}]"
        )
        rows.append(
            {
                "ranking": SCORERS[row.ranking],
                "worked": row.worked,
                "opportunities": row.opportunities,
                "per 100 worked [95% CI]": f"{row.per_100:.1f} [{row.low:.1f}, {row.high:.1f}]",
                "vs priority [95% CI]": gain,
            }
        )
    return table(pd.DataFrame(rows), "timing-rates", "Each ranking's top accounts, worked monthly.")


def _auc_table(timing: TimingRun) -> Table:
    auc = timing.backtest.auc.assign(
        ranking=lambda f: f["ranking"].map(SCORERS),
        **{
            "ROC-AUC [95% CI]": lambda f: [
                f"{a:.3f} [{lo:.3f}, {hi:.3f}]"
                for a, lo, hi in zip(f["roc_auc"], f["low"], f["high"], strict=True)
            ]
        },
    )
    caption = "ROC-AUC on every held-out snapshot (Hanley-McNeil interval)."
    return table(auc[["ranking", "ROC-AUC [95% CI]"]], "timing-auc", caption)


def timing_section(timing: TimingRun) -> Section:
    """The timing model's section of the run report."""
    backtest = timing.backtest
    importance = pd.DataFrame(
        {
            "feature": timing.model.features,
            "gain": timing.model.booster.feature_importance("gain"),
        }
    ).sort_values("gain", ascending=False)
    importance["share"] = importance["gain"] / importance["gain"].sum()
    intro = (
        f"Monthly snapshots of every account that was not a customer and had no open "
        f"opportunity; in market = a new opportunity within {timing.settings.horizon_days} days. "
        f"Judged on the last {len(backtest.months)} labelled months with a fit model trained "
        f"before them; each month the top {backtest.capacity:,} accounts of each ranking are "
        f"worked. Intervals resample accounts. Triggers: {', '.join(timing.triggers)}."
    )
    trained = (
        f"{timing_lines(timing)[0]} Trained on {timing.snapshots:,} snapshots through "
        f"{timing.trained_through:%Y-%m-%d}, {timing.model.rounds} trees."
    )
    uses = table(
        importance[["feature", "share"]],
        "timing-features",
        "What the timing model uses (share of split gain).",
        formats={"share": "{:.1%}"},
    )
    return Section(
        "timing",
        "Timing: who to call this month",
        lead=backtest.headline(),
        notes=(intro, trained),
        tables=(_rates_table(timing), _auc_table(timing), uses),
    )
