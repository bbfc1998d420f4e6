"""The day's work queue for sales development (issue 16): pure functions on DataFrames.

Who is on it: accounts that are not customers, not disqualified and have no open opportunity on
the as-of date. How they are ranked: priority = P(ideal fit) x P(in market within the horizon).
Why today: the account's own recent triggers, in words ("Raised $4.2M 12 days ago").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from icpfit.features.snapshots import (
    LEVEL_LAG_DAYS,
    NO_DAY,
    day_numbers,
    level_features,
    signal_features,
)

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
    "expected_ltv",
    "priority",
    "why_now",
    "reason_1",
    "reason_2",
    "reason_3",
    "fit_model_version",
    "timing_model_version",
    "as_of",
)


MIN_TIER_CUSTOMERS = 10
"""How many customers a tier's own mean counts for against the mean over all customers: a
tier's expected value is (n x its mean + 10 x the overall mean) / (n + 10), so a tier of a
handful of customers is valued near the overall mean and a tier of hundreds by its own."""


def expected_ltv(tiers: pd.Series, tier_value: dict | None) -> pd.Series:
    """What an account of each fit tier is expected to be worth once won, from the fit
    model's `tier_value` (the mean lifetime value of past customers by tier, shrunk toward the
    mean over all of them: MIN_TIER_CUSTOMERS); NaN when the model has no such table, and for
    a disqualified account (tier X)."""
    overall = (tier_value or {}).get("all", {}).get("mean_ltv")
    if overall is None:
        return pd.Series(np.nan, index=tiers.index)

    def worth(tier: str) -> float:
        entry = tier_value.get(tier) or {}
        n, mean = entry.get("customers", 0), entry.get("mean_ltv")
        if not n or mean is None:
            return float(overall)
        return (n * float(mean) + MIN_TIER_CUSTOMERS * float(overall)) / (n + MIN_TIER_CUSTOMERS)

    values = {tier: worth(tier) for tier in ("A", "B", "C", "D")}
    return tiers.map(values).astype(float)


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
    """The timing model's input row of each account as of `as_of` (index account_id): the
    columns training built for a snapshot on that day, level ones too when the bundle has
    levels (a version registered before them has none and gets its own columns)."""
    codes = np.arange(len(account_ids))
    day = np.full(len(codes), day_numbers([as_of])[0])
    where = (signals, account_ids, codes, day)  # signals after as_of do not exist for it
    features = signal_features(*where, tuple(bundle["triggers"]), tuple(bundle["windows_days"]))
    levels, lag_days = bundle_levels(bundle)
    if levels:
        features = pd.concat([features, level_features(*where, levels, lag_days)], axis=1)
    features["fit_probability"] = fit_probability.reindex(account_ids).to_numpy(dtype=float)
    return features.set_axis(account_ids)


def bundle_levels(bundle: dict) -> tuple[tuple[str, ...], int]:
    """A timing bundle's level types and their lag (no levels in versions registered before
    icpfit read them)."""
    return tuple(bundle.get("levels", ())), int(bundle.get("level_lag_days", LEVEL_LAG_DAYS))


def why_now(
    signals: pd.DataFrame,
    account_ids: pd.Index,
    triggers: tuple[str, ...],
    as_of: pd.Timestamp,
    labels: dict[str, str] | None = None,
    levels: tuple[str, ...] = (),
    lag_days: int = LEVEL_LAG_DAYS,
) -> pd.Series:
    """The most recent triggers of each account in the last WHY_NOW_DAYS days, newest first,
    one per type, in words with their own values; a level type (`levels`, the timing bundle's)
    that rose notably is said as its rise instead (`level_rises`); NO_TRIGGER for an account
    with neither."""
    labels = labels or {}
    events = signals[
        signals["account_id"].isin(account_ids) & signals["signal_type"].isin(triggers)
    ]
    when = day_numbers(events["date"])
    today = day_numbers([as_of])[0]
    ago = today - when
    recent = events.assign(ago=ago)[(when != NO_DAY) & (ago >= 0) & (ago <= WHY_NOW_DAYS)]
    recent = recent.sort_values(["account_id", "ago", "signal_type"], kind="stable")
    recent = recent.drop_duplicates(["account_id", "signal_type"]).assign(rise="")
    rises = level_rises(signals, account_ids, levels, as_of, lag_days, labels)
    if len(rises):  # a rise replaces its type's event
        recent = pd.concat([rises, recent[rises.columns]]).drop_duplicates(
            ["account_id", "signal_type"]
        )
        recent = recent.sort_values(["account_id", "ago", "signal_type"], kind="stable")
    recent = recent.groupby("account_id", sort=False).head(WHY_NOW_EVENTS)
    words = [
        rise or event_text(kind, value, days, labels)
        for kind, value, days, rise in zip(
            recent["signal_type"], recent["value"], recent["ago"], recent["rise"], strict=True
        )
    ]
    said = pd.Series(words, index=recent["account_id"].to_numpy()).groupby(level=0, sort=False)
    text = said.agg("; ".join)
    return text.reindex(account_ids).fillna(NO_TRIGGER).rename("why_now")


LEVEL_RISE = 0.5
"""A level's rise is said when its latest reading is at least this share above the one it is
compared with (any rise from zero or below counts)."""


def level_rises(
    signals: pd.DataFrame,
    account_ids: pd.Index,
    levels: tuple[str, ...],
    as_of: pd.Timestamp,
    lag_days: int,
    labels: dict[str, str],
) -> pd.DataFrame:
    """Each account's notable rise of each level type: its latest reading, in the last
    WHY_NOW_DAYS days, against the latest one on or before `lag_days` before `as_of`, read as
    `level_features` reads them (a day's largest). Columns account_id, signal_type, ago, value,
    rise (in words, with the month of the earlier reading's own date)."""
    signals = signals[signals["account_id"].isin(account_ids) & signals["signal_type"].isin(levels)]
    raw = signals["value"] if "value" in signals else pd.Series(np.nan, index=signals.index)
    readings = pd.DataFrame(
        {
            "account_id": signals["account_id"].to_numpy(),
            "signal_type": signals["signal_type"].to_numpy(),
            "day": day_numbers(signals["date"]),
            "value": pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        }
    )
    today = day_numbers([as_of])[0]
    read = np.isfinite(readings["value"]) & (readings["day"] != NO_DAY)
    key = ["account_id", "signal_type"]
    daily = readings[read & (readings["day"] <= today)].groupby([*key, "day"])["value"]
    daily = daily.max().reset_index()  # sorted by account, type and day
    latest = daily.groupby(key).tail(1)
    before = daily[daily["day"] <= today - lag_days].groupby(key).tail(1)
    pair = latest.merge(before, on=key, suffixes=("", "_then"))
    now, then = pair["value"], pair["value_then"]
    notable = (now > then) & ((then <= 0) | (now >= (1 + LEVEL_RISE) * then))
    pair = pair[notable & (today - pair["day"] <= WHY_NOW_DAYS)]
    rise = [
        level_text(kind, latest, earlier, _month(day, today), labels)
        for kind, latest, earlier, day in zip(
            pair["signal_type"], pair["value"], pair["value_then"], pair["day_then"], strict=True
        )
    ]
    return pair[key].assign(ago=today - pair["day"], value=pair["value"], rise=rise)


def level_text(signal_type: str, now: float, then: float, month: str, labels: dict) -> str:
    """A level's rise in words: '14 open roles, up from 3 in June', '1.2k web visits, up from
    300 in March'; a type in `features.labels` by its label ('Open sales roles: 14, up from 3
    in June'), any other by its name."""
    key = re.sub(r"[^a-z]", "", str(signal_type).lower())
    since = f"up from {_amount(then)} in {month}"
    if signal_type in labels:
        return f"{labels[signal_type]}: {_amount(now)}, {since}"
    if "hiring" in key or "job" in key or "role" in key or "posting" in key:
        return f"{now:,.0f} open roles, up from {then:,.0f} in {month}"
    if "visit" in key or "traffic" in key:
        return f"{_amount(now)} web visits, {since}"
    return f"{str(signal_type).replace('_', ' ').capitalize()}: {_amount(now)}, {since}"


def _month(day: int, today: int) -> str:
    """'June' for a day of the year of `today`, 'June 2025' for one of another year."""
    when, now = pd.Timestamp(int(day), unit="D"), pd.Timestamp(int(today), unit="D")
    return f"{when:%B}" if when.year == now.year else f"{when:%B %Y}"


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
