"""Point-in-time snapshots for the in-market (timing) model (issue 16).

A snapshot is an account as it was known at a month end: not a customer yet, no opportunity
open, and only the signals dated on or before that day. Its label is whether an opportunity was
created in the `horizon` days after it. Everything is built with array operations over all
(account, date) pairs at once: a difference array over dates marks each account's customer and
open-opportunity spans, and one sorted key per signal (account, day) answers "how many signals
in the last N days" and "days since the last one" for every snapshot by binary search. Nothing
loops over accounts or months, so 1M accounts x 24 months is a few arrays of 24M entries.
`level_features` reads signal types whose value is a level (web visits, open job postings) the
same way. features/snapshots_spark.py builds the same rows and features with Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from icpfit.features.technologies import slug

NO_DAY = np.iinfo(np.int64).min
"""A missing date, as a day number."""
RECENCY_CAP = 3650.0
"""Days since a signal type an account never had: ten years, so trees split it with the old."""
EXISTING_BUSINESS = (
    "expansion",
    "renewal",
    "upsell",
    "upgrade",
    "cross-sell",
    "cross sell",
    "existing business",
    "existing customer",
)
"""Opportunity types that are not an account coming in market. Any other type counts (CRMs
call new business 'new', 'New Business', 'New Customer', 'newbusiness'), and so does a blank;
a snapshot is never a customer, so its next opportunity is new business whatever its type."""


@dataclass(frozen=True)
class Snapshots:
    """Eligible (account, date) pairs: codes into `accounts` and `dates`, and their labels."""

    accounts: pd.Index
    dates: pd.DatetimeIndex
    account: np.ndarray
    date: np.ndarray
    label: np.ndarray
    """Whether an opportunity was created within the horizon after the date (False when the
    horizon is not over; `labelled` says which)."""
    labelled: np.ndarray
    """Whether the horizon after the date ended by the data's as-of date."""

    def __len__(self) -> int:
        return len(self.account)

    @property
    def day(self) -> np.ndarray:
        return day_numbers(self.dates)[self.date]

    def frame(self) -> pd.DataFrame:
        """One row per snapshot: account_id, date, label, labelled."""
        return pd.DataFrame(
            {
                "account_id": self.accounts[self.account],
                "date": self.dates[self.date],
                "label": self.label,
                "labelled": self.labelled,
            }
        )

    def subset(self, keep: np.ndarray) -> Snapshots:
        return Snapshots(
            self.accounts,
            self.dates,
            self.account[keep],
            self.date[keep],
            self.label[keep],
            self.labelled[keep],
        )


def day_numbers(values) -> np.ndarray:
    """Days since 1970-01-01 as int64; missing dates are NO_DAY."""
    stamps = pd.to_datetime(pd.Series(values), errors="coerce")
    days = stamps.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return np.where(stamps.isna().to_numpy(), NO_DAY, days)


def month_ends(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    """Every month end from `first`'s month to `last` (inclusive when `last` is a month end)."""
    ends = pd.date_range(pd.Timestamp(first) + pd.offsets.MonthEnd(0), last, freq="ME")
    return pd.DatetimeIndex(ends.normalize())


def timing_snapshots(
    accounts: pd.Index,
    opportunities: pd.DataFrame,
    acquisition: pd.Series,
    dates: pd.DatetimeIndex,
    horizon_days: int,
    as_of: pd.Timestamp,
) -> Snapshots:
    """Every account on every date when it was not a customer and had no open opportunity.

    `opportunities` has account_id, created_date, close_date, stage (won / lost / open) and
    optionally type; `acquisition` maps account_id to the date it became a customer. An
    opportunity without a created date cannot say when the account came in market and is not
    used; one still open (or closing after `as_of`) is open through the last date.
    """
    days = day_numbers(dates)
    n_accounts, n_dates = len(accounts), len(dates)
    blocked = np.zeros((n_accounts, n_dates + 1), dtype=np.int32)
    became = day_numbers(acquisition.reindex(accounts))
    customer = became != NO_DAY
    start = np.searchsorted(days, became[customer], side="left")
    np.add.at(blocked, (np.flatnonzero(customer), start), 1)
    np.add.at(blocked, (np.flatnonzero(customer), np.full(start.shape, n_dates)), -1)
    who, created, closed = _opportunity_days(accounts, opportunities, as_of)
    opened = np.searchsorted(days, created, side="left")
    ended = np.where(closed == NO_DAY, n_dates, np.searchsorted(days, closed, side="left"))
    spans = ended > opened
    np.add.at(blocked, (who[spans], opened[spans]), 1)
    np.add.at(blocked, (who[spans], ended[spans]), -1)
    eligible = np.cumsum(blocked, axis=1)[:, :n_dates] == 0
    account, date = np.nonzero(eligible)
    label = _in_market(accounts, opportunities, days, horizon_days, n_dates)[account, date]
    labelled = days[date] + horizon_days <= day_numbers([as_of])[0]
    return Snapshots(accounts, dates, account, date, label & labelled, labelled)


def _opportunity_days(
    accounts: pd.Index, opportunities: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account code, created day and close day (NO_DAY while open) of each opportunity. One
    still open without a created date blocks its account from the first snapshot on (the queue
    counts it as open too); a closed one without it cannot say when it was open and is left
    out."""
    who = account_codes(opportunities["account_id"], accounts)
    created = day_numbers(opportunities["created_date"])
    closed = day_numbers(opportunities["close_date"])
    still_open = opportunities["stage"].eq("open").to_numpy() | (closed > day_numbers([as_of])[0])
    closed = np.where(still_open, NO_DAY, closed)
    created = np.where(still_open & (created == NO_DAY), NO_DAY + 1, created)
    keep = (who >= 0) & (created != NO_DAY)
    return who[keep], created[keep], closed[keep]


def _in_market(
    accounts: pd.Index,
    opportunities: pd.DataFrame,
    days: np.ndarray,
    horizon_days: int,
    n_dates: int,
) -> np.ndarray:
    """(account, date) -> a new-business opportunity was created in (date, date + horizon]."""
    if "type" in opportunities:
        kind = opportunities["type"].astype("string").str.strip().str.lower()
        new = kind.isna().to_numpy() | ~kind.isin(EXISTING_BUSINESS).fillna(False).to_numpy()
    else:
        new = np.ones(len(opportunities), dtype=bool)
    who = account_codes(opportunities["account_id"], accounts)
    created = day_numbers(opportunities["created_date"])
    keep = new & (who >= 0) & (created != NO_DAY)
    who, created = who[keep], created[keep]
    first = np.searchsorted(days, created - horizon_days, side="left")
    after = np.searchsorted(days, created, side="left")
    marks = np.zeros((len(accounts), n_dates + 1), dtype=np.int32)
    spans = after > first
    np.add.at(marks, (who[spans], first[spans]), 1)
    np.add.at(marks, (who[spans], after[spans]), -1)
    return np.cumsum(marks, axis=1)[:, :n_dates] > 0


def trigger_feature_names(types: tuple[str, ...], windows: tuple[int, ...]) -> list[str]:
    """The timing features of `signal_features`, in order."""
    names = []
    for signal_type in types:
        key = slug(signal_type)
        names.append(f"days_since_{key}")
        names += [f"{key}_last_{w}d" for w in windows]
    return names


def signal_features(
    signals: pd.DataFrame,
    accounts: pd.Index,
    account: np.ndarray,
    day: np.ndarray,
    types: tuple[str, ...],
    windows: tuple[int, ...],
) -> pd.DataFrame:
    """For each snapshot (account code, day) and signal type: days since its last signal
    (RECENCY_CAP when none) and its signals in the last `w` days (0 to w days old) for each
    window. Signals dated after the snapshot's day do not exist for it; signals of one type on
    one day of one account count once (exact duplicates)."""
    who = account_codes(signals["account_id"], accounts)
    when = day_numbers(signals["date"])
    kind = account_codes(signals["signal_type"], pd.Index(types))
    keep = (who >= 0) & (when != NO_DAY) & (kind >= 0)
    who, when, kind = who[keep], when[keep], kind[keep]
    low = min(int(when.min()) if len(when) else 0, int(day.min()) if len(day) else 0)
    offset = low - max(windows, default=0) - 1
    span = max(int(day.max()) if len(day) else 0, int(when.max()) if len(when) else 0) - offset + 1
    base = account.astype(np.int64) * span
    query = base + (day - offset)
    names = trigger_feature_names(types, windows)
    out = np.empty((len(names), len(query)), dtype=np.float32)
    row = 0
    for code in range(len(types)):
        keys = np.sort(who[kind == code].astype(np.int64) * span + (when[kind == code] - offset))
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
        upto = np.searchsorted(keys, query, side="right")
        has = upto > np.searchsorted(keys, base, side="left")
        last = keys[np.maximum(upto - 1, 0)] if len(keys) else np.zeros(len(query), np.int64)
        np.copyto(out[row], np.where(has, np.minimum(query - last, RECENCY_CAP), RECENCY_CAP))
        row += 1
        for w in windows:
            np.subtract(
                upto, np.searchsorted(keys, query - w, side="left"), out=out[row], casting="unsafe"
            )
            row += 1
    return pd.DataFrame(out.T, columns=names, copy=False)


def account_codes(ids: pd.Series, accounts: pd.Index) -> np.ndarray:
    """The position of each id in `accounts` (-1 when absent or missing), matched in Arrow:
    pandas' get_indexer takes seconds on millions of strings."""
    found = pc.index_in(_arrow_text(ids), value_set=_arrow_text(accounts))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _arrow_text(values) -> pa.Array:
    text = pd.Series(values, dtype="string")
    return pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())


def any_trigger_within(features: pd.DataFrame, types: tuple[str, ...], days: int) -> np.ndarray:
    """Days since the most recent trigger of any type, where it is within `days` (else inf)."""
    since = features[[f"days_since_{slug(t)}" for t in types]].to_numpy().min(axis=1)
    return np.where(since <= days, since, np.inf)


LEVEL_LAG_DAYS = 90
"""`level_features` compares a level's latest reading with the one this many days earlier."""


def level_feature_names(types: tuple[str, ...], lag_days: int = LEVEL_LAG_DAYS) -> list[str]:
    """The features of `level_features`, in order."""
    return [n for t in types for n in (f"{slug(t)}_latest", f"{slug(t)}_change_{lag_days}d")]


def level_features(
    signals: pd.DataFrame,
    accounts: pd.Index,
    account: np.ndarray,
    day: np.ndarray,
    types: tuple[str, ...],
    lag_days: int = LEVEL_LAG_DAYS,
) -> pd.DataFrame:
    """For signal types whose `value` is a level read over time (web visits a month, open job
    postings), for each snapshot (account code, day): the value of its latest reading on or
    before the day, and its change since the latest reading on or before `lag_days` earlier.
    A reading is a signal row with a value; readings of one type on one day count as their
    largest; no reading yet counts as 0 (the timing model refuses blanks)."""
    who = account_codes(signals["account_id"], accounts)
    when = day_numbers(signals["date"])
    kind = account_codes(signals["signal_type"], pd.Index(types))
    raw = signals["value"] if "value" in signals else pd.Series(np.nan, index=signals.index)
    value = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    keep = (who >= 0) & (when != NO_DAY) & (kind >= 0) & np.isfinite(value)
    who, when, kind, value = who[keep], when[keep], kind[keep], value[keep]
    offset = min(int(when.min()) if len(when) else 0, int(day.min()) if len(day) else 0) - 1
    span = max(int(day.max()) if len(day) else 0, int(when.max()) if len(when) else 0) - offset + 1
    base = account.astype(np.int64) * span
    query = base + (day - offset)
    out = np.empty((2 * len(types), len(query)), dtype=np.float32)
    for code in range(len(types)):
        keys = who[kind == code].astype(np.int64) * span + (when[kind == code] - offset)
        order = np.lexsort((value[kind == code], keys))
        keys, values = keys[order], value[kind == code][order]
        last = np.r_[keys[1:] != keys[:-1], True] if len(keys) else np.zeros(0, dtype=bool)
        keys, values = keys[last], values[last]
        now = _reading(keys, values, query, base)
        out[2 * code] = now
        out[2 * code + 1] = now - _reading(keys, values, query - lag_days, base)
    return pd.DataFrame(out.T, columns=level_feature_names(types, lag_days), copy=False)


def _reading(keys: np.ndarray, values: np.ndarray, query: np.ndarray, base: np.ndarray):
    """The value at the greatest key <= query within the account's keys (from `base`), else 0."""
    if not len(keys):
        return np.zeros(len(query))
    at = np.maximum(np.searchsorted(keys, query, side="right") - 1, 0)
    found = (keys[at] <= query) & (keys[at] >= base)
    return np.where(found, values[at], 0.0)
