"""Value labels as of a cutoff (DESIGN §3): who became an ideal customer.

Only rows dated on or before `as_of` are used: an opportunity is known once created (or closed,
when it has no created date) and counts as won or lost only once its close date has passed; a
revenue month is known once the month is over.

The outcome over a customer's window comes from monthly revenue (`labels.mode: subscription`,
`outcome_window`) or from the amounts of its won opportunities (`bookings`, `order_window`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from icpfit.config import LabelRules
from icpfit.features.parsing import is_member, month_end

COHORTS = ("ideal", "low_value", "churned", "lost", "immature", "prospect")
LABELLED = ("ideal", "low_value", "churned", "lost")


def opportunity_status(opportunities: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per account, as of the cutoff: first won date, and whether it has lost or open deals."""
    cutoff = pd.Timestamp(as_of)
    known = _known(opportunities, cutoff)
    closed = known["close_date"].le(cutoff)
    stage = known["stage"].where(closed | known["stage"].eq("open"), "open")
    status = known[["account_id"]].assign(
        won_date=known["close_date"].where(stage.eq("won")),
        lost_date=known["close_date"].where(stage.eq("lost")),
        has_lost=stage.eq("lost"),
        has_open=stage.eq("open"),
    )
    return status.groupby("account_id").agg(
        first_won=("won_date", "min"),
        last_lost=("lost_date", "max"),
        has_lost=("has_lost", "any"),
        has_open=("has_open", "any"),
    )


def acquisition_dates(
    opportunities: pd.DataFrame, revenue: pd.DataFrame | None, as_of: date
) -> pd.Series:
    """First won close date; the first revenue month for accounts with no opportunities at all
    (not with bookings labels, whose `revenue` is None)."""
    won = opportunity_status(opportunities, as_of)["first_won"].dropna()
    if revenue is None:
        return won.rename("acquisition_date").rename_axis("account_id")
    billed = revenue[month_end(revenue["month"]).le(pd.Timestamp(as_of)) & revenue["mrr"].gt(0)]
    no_opportunities = ~is_member(billed["account_id"], opportunities["account_id"])
    first_month = billed[no_opportunities].groupby("account_id")["month"].min()
    return pd.concat([won, first_month]).rename("acquisition_date").rename_axis("account_id")


def outcome_window(
    revenue: pd.DataFrame, acquisition: pd.Series, rules: LabelRules, as_of: date
) -> pd.DataFrame:
    """LTV, retention and expansion over each customer's first `window_months` months.

    The window runs from the acquisition month. A customer is mature once the window's last
    month is over AND `window_months` have passed since its acquisition date: acquired on 29
    October 2025, a 12-month window is not over at 2026-09-30 (its last month is complete, but
    the customer has been one for 11 months and 2 days). An immature customer's outcome is
    unknown, so it gets no label.
    """
    start = acquisition.dt.to_period("M")
    last = start + (rules.window_months - 1)
    window = pd.DataFrame({"start": start, "last": last}).assign(
        window_end=last.dt.to_timestamp(how="end").dt.normalize()
    )
    elapsed = acquisition + pd.DateOffset(months=rules.window_months) - pd.Timedelta(days=1)
    cutoff = pd.Timestamp(as_of)
    window = window.assign(mature=window["window_end"].le(cutoff) & elapsed.le(cutoff))
    known = revenue[month_end(revenue["month"]).le(pd.Timestamp(as_of))]
    rows = known.assign(period=known["month"].dt.to_period("M")).merge(
        window[["start", "last"]], left_on="account_id", right_index=True
    )
    rows = rows.reset_index(drop=True)  # an empty merge takes the index name 'account_id'
    rows = rows[(rows["period"] >= rows["start"]) & (rows["period"] <= rows["last"])]
    ltv = rows.groupby("account_id")["mrr"].sum()
    paying = rows[rows["mrr"] > 0].sort_values("period")
    first_mrr = paying.groupby("account_id")["mrr"].first()
    last_mrr = rows[rows["period"] == rows["last"]].groupby("account_id")["mrr"].sum()
    out = window[["window_end", "mature"]].assign(
        ltv=ltv.reindex(window.index).fillna(0.0),
        first_mrr=first_mrr.reindex(window.index),
        last_mrr=last_mrr.reindex(window.index).fillna(0.0),
    )
    out = out.assign(retained=out["last_mrr"] > 0, expansion=out["last_mrr"] / out["first_mrr"])
    outcome = ["ltv", "first_mrr", "last_mrr", "retained", "expansion"]
    return out.astype({"retained": object}).assign(
        **{c: out[c].where(out["mature"]) for c in outcome}
    )


def order_window(
    opportunities: pd.DataFrame, acquisition: pd.Series, rules: LabelRules, as_of: date
) -> pd.DataFrame:
    """LTV, retention and expansion from won orders in [acquisition, + `window_months`).

    Won amounts closed on one day are one order, and a day only counts as an order when its
    total is positive (credit notes net into it). `ltv` = every won amount in the window, the
    first order included; `retained` = at least one order after the first; `expansion` = the
    mean repeat order over the first order (NaN without a repeat order: it is churned anyway).
    A customer whose window's last day is after the cutoff is immature and gets no outcome.
    """
    cutoff = pd.Timestamp(as_of)
    end = acquisition + pd.DateOffset(months=rules.window_months)
    window = pd.DataFrame(
        {"start": acquisition, "end": end, "window_end": end - pd.Timedelta(1, "D")}
    )
    window = window.assign(mature=window["window_end"].le(cutoff))
    won = _known(opportunities, cutoff)
    won = won[won["stage"].eq("won") & won["close_date"].le(cutoff)]
    rows = won[["account_id", "close_date", "amount"]].merge(
        window[["start", "end"]], left_on="account_id", right_index=True
    )
    rows = rows.reset_index(drop=True)  # an empty merge takes the index name 'account_id'
    rows = rows[(rows["close_date"] >= rows["start"]) & (rows["close_date"] < rows["end"])]
    days = rows.groupby(["account_id", "close_date"])["amount"].sum()
    orders = days[days > 0].reset_index()
    later = orders[orders.groupby("account_id").cumcount() > 0].groupby("account_id")["amount"]
    out = window[["window_end", "mature"]].assign(
        ltv=rows.groupby("account_id")["amount"].sum().reindex(window.index).fillna(0.0),
        first_order=orders.groupby("account_id")["amount"].first().reindex(window.index),
        repeat_orders=later.size().reindex(window.index).fillna(0).astype("Int64"),
    )
    repeat_mean = later.mean().reindex(window.index)
    out = out.assign(
        retained=out["repeat_orders"].gt(0).astype(bool),
        expansion=repeat_mean / out["first_order"],
    )
    outcome = ["ltv", "first_order", "repeat_orders", "retained", "expansion"]
    return out.astype({"retained": object}).assign(
        **{c: out[c].where(out["mature"]) for c in outcome}
    )


def _known(opportunities: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Opportunities known at the cutoff: created (or, undated, closed) on or before it."""
    known_since = opportunities["created_date"].fillna(opportunities["close_date"])
    return opportunities[known_since.le(cutoff) | known_since.isna()]


def label_cohorts(customers: pd.DataFrame, rules: LabelRules) -> pd.Series:
    """Cohort of each matured customer: ideal, low_value or churned."""
    retained = customers["retained"].astype(bool)
    top_ltv = customers["ltv"] >= customers["ltv"].quantile(1 - rules.top_ltv_share)
    expanded = customers["expansion"].fillna(0) >= rules.min_expansion
    ideal = retained & top_ltv & expanded
    cohort = np.select([ideal, retained], ["ideal", "low_value"], "churned")
    return pd.Series(cohort, index=customers.index, name="cohort", dtype=object)


def label_accounts(
    account_ids: pd.Series,
    opportunities: pd.DataFrame,
    revenue: pd.DataFrame,
    rules: LabelRules,
    as_of: date,
) -> pd.DataFrame:
    """One row per account: cohort, target (1 ideal, 0 other labelled, NA unlabelled), outcome.

    `decided_date` orders labelled accounts in time for a temporal split: the acquisition date of
    a matured customer, the last lost close date of a lost account. With `rules.mode` bookings,
    `revenue` is not used.
    """
    bookings = rules.mode == "bookings"
    status = opportunity_status(opportunities, as_of).reindex(account_ids)
    acquired = acquisition_dates(opportunities, None if bookings else revenue, as_of)
    acquisition = acquired.reindex(account_ids).dropna()
    if bookings:
        outcomes = order_window(opportunities, acquisition, rules, as_of)
    else:
        outcomes = outcome_window(revenue, acquisition, rules, as_of)
    mature = outcomes[outcomes["mature"]]
    cohort = pd.Series("prospect", index=pd.Index(account_ids, name="account_id"), dtype=object)
    lost = status["has_lost"].fillna(False) & ~status["has_open"].fillna(False).astype(bool)
    cohort[lost.to_numpy(dtype=bool)] = "lost"
    cohort[acquisition.index] = "immature"
    cohort[mature.index] = label_cohorts(mature, rules)
    target = cohort.map({"ideal": 1, "low_value": 0, "churned": 0, "lost": 0}).astype("Int8")
    decided = acquisition.reindex(cohort.index).where(cohort.isin(LABELLED))
    decided = decided.fillna(status["last_lost"].where(cohort.eq("lost").to_numpy()))
    return (
        pd.DataFrame({"cohort": pd.Categorical(cohort, categories=COHORTS), "target": target})
        .assign(decided_date=decided.to_numpy())
        .join(acquisition)
        .join(outcomes.drop(columns="mature"))
    )


def reference_dates(labels: pd.DataFrame, as_of: date) -> pd.Series:
    """The date an account's features are taken at: its acquisition for customers, else as_of."""
    return labels["acquisition_date"].fillna(pd.Timestamp(as_of)).rename("reference_date")


def cohort_counts(labels: pd.DataFrame) -> dict[str, int]:
    counts = labels["cohort"].value_counts()
    return {cohort: int(counts.get(cohort, 0)) for cohort in COHORTS}
