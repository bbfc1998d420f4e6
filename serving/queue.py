"""The day's work queue for sales development (issue 16): pure functions on DataFrames.

Who is on it: accounts that are not customers, not disqualified and have no open opportunity on
the as-of date. How they are ranked: priority = P(ideal fit) x P(in market within the horizon).
Why today: the account's own recent triggers, in words ("Raised $4.2M 12 days ago").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from icpfit.features.snapshots import NO_DAY, day_numbers, signal_features

WHY_NOW_DAYS = 90
"""Triggers older than this are not a reason to call today."""
WHY_NOW_EVENTS = 2
NO_TRIGGER = "No recent trigger: here on fit"
QUEUE_COLUMNS = (
    "account_id",
    "rank",
    "owner",
    "fit_tier",
    "fit_score",
    "timing_score",
    "priority",
    "why_now",
    "reason_1",
    "reason_2",
    "reason_3",
    "fit_model_version",
    "timing_model_version",
    "as_of",
)


def queue_exclusions(
    account_ids: pd.Index,
    acquisition: pd.Series,
    open_opportunity: pd.Series,
    fit_tier: pd.Series,
    as_of: pd.Timestamp,
) -> pd.Series:
    """Why each account is not on the queue ('' when it is): customer, open opportunity,
    disqualified, or its fit could not be scored."""
    acquired = acquisition.reindex(account_ids)
    customer = acquired.notna() & (pd.to_datetime(acquired) <= as_of)
    open_now = open_opportunity.reindex(account_ids).fillna(False).astype(bool)
    tier = fit_tier.reindex(account_ids)
    why = pd.Series("", index=account_ids, dtype=object)
    why[tier.isna().to_numpy()] = "not scored (its fit row has an error)"
    why[tier.eq("X").to_numpy()] = "disqualified"
    why[open_now.to_numpy()] = "open opportunity"
    why[customer.to_numpy()] = "customer"
    return why


def timing_inputs(
    signals: pd.DataFrame,
    account_ids: pd.Index,
    as_of: pd.Timestamp,
    bundle: dict,
    fit_probability: pd.Series,
) -> pd.DataFrame:
    """The timing model's input row of each account as of `as_of` (index account_id)."""
    codes = np.arange(len(account_ids))
    day = np.full(len(codes), day_numbers([as_of])[0])
    features = signal_features(  # signals after as_of do not exist for it
        signals,
        account_ids,
        codes,
        day,
        tuple(bundle["triggers"]),
        tuple(bundle["windows_days"]),
    )
    features["fit_probability"] = fit_probability.reindex(account_ids).to_numpy(dtype=float)
    return features.set_axis(account_ids)


def why_now(
    signals: pd.DataFrame,
    account_ids: pd.Index,
    triggers: tuple[str, ...],
    as_of: pd.Timestamp,
    labels: dict[str, str] | None = None,
) -> pd.Series:
    """The most recent triggers of each account in the last WHY_NOW_DAYS days, newest first,
    one per type, in words with their own values; NO_TRIGGER for an account without one."""
    events = signals[
        signals["account_id"].isin(account_ids) & signals["signal_type"].isin(triggers)
    ]
    when = day_numbers(events["date"])
    today = day_numbers([as_of])[0]
    ago = today - when
    recent = events.assign(ago=ago)[(when != NO_DAY) & (ago >= 0) & (ago <= WHY_NOW_DAYS)]
    recent = recent.sort_values(["account_id", "ago", "signal_type"], kind="stable")
    recent = recent.drop_duplicates(["account_id", "signal_type"])
    recent = recent.groupby("account_id", sort=False).head(WHY_NOW_EVENTS)
    words = [
        event_text(kind, value, days, labels or {})
        for kind, value, days in zip(
            recent["signal_type"], recent["value"], recent["ago"], strict=True
        )
    ]
    said = pd.Series(words, index=recent["account_id"].to_numpy()).groupby(level=0, sort=False)
    text = said.agg("; ".join)
    return text.reindex(account_ids).fillna(NO_TRIGGER).rename("why_now")


def event_text(signal_type: str, value: object, days: int, labels: dict[str, str]) -> str:
    """One trigger in words: 'Raised $4.2M 12 days ago', 'Hiring surge: 14 open roles, 9 days
    ago'. Types the sample names are worded by their meaning; any other type by its label in
    the config (`features.labels`) or its name, with its value when it has one."""
    when = _ago(int(days))
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    has_value = number == number and number is not None
    key = re.sub(r"[^a-z]", "", str(signal_type).lower())
    if signal_type in labels:
        shown = f" ({_amount(number)})" if has_value else ""
        return f"{labels[signal_type]}{shown} {when}"
    if "funding" in key or "raise" in key:
        return (
            f"Raised ${_amount(number)} {when}"
            if has_value and number > 1
            else f"Funding round {when}"
        )
    if "exec" in key:
        return f"New executive hired {when}"
    if "hiring" in key or "job" in key:
        roles = f": {number:,.0f} open roles," if has_value and number > 1 else ""
        return f"Hiring surge{roles} {when}"
    if "install" in key or "tech" in key:
        many = has_value and number > 1
        what = f"{number:,.0f} new technologies" if many else "a new technology"
        return f"Installed {what} {when}"
    shown = f" ({_amount(number)})" if has_value else ""
    return f"{str(signal_type).replace('_', ' ').capitalize()}{shown} {when}"


def _ago(days: int) -> str:
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"


def _amount(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.0f}"


def rank_queue(candidates: pd.DataFrame, capacity: int, per_owner: bool) -> pd.DataFrame:
    """The top `capacity` candidates by priority (ties: higher fit, then account id), overall
    or per owner; `rank` counts from 1 within the owner when `per_owner`."""
    ordered = candidates.sort_values(
        ["priority", "fit_probability", "account_id"],
        ascending=[False, False, True],
        kind="stable",
    )
    if per_owner:
        ordered = ordered.assign(rank=ordered.groupby("owner", dropna=False).cumcount() + 1)
    else:
        ordered = ordered.assign(rank=np.arange(1, len(ordered) + 1))
    chosen = ordered[ordered["rank"] <= capacity]
    if per_owner:
        chosen = chosen.sort_values(["owner", "rank"], kind="stable")
    return chosen.reset_index(drop=True)
