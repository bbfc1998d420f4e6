"""Negative ICP: structured disqualifier rules evaluated on account rows (never as strings)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from icpfit.config import Disqualifier
from icpfit.features.parsing import clean_text, parse_numbers

TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}


def disqualified_reason(accounts: pd.DataFrame, rules: Sequence[Disqualifier]) -> pd.Series:
    """The reason of the first rule that fires for each account, else missing.

    A missing value never disqualifies: not knowing an account's size is not a reason to drop it.
    """
    reason = pd.Series(None, index=accounts.index, dtype=object, name="disqualified_reason")
    for rule in rules:
        if rule.column not in accounts:
            continue
        fires = _fires(accounts[rule.column], rule) & reason.isna()
        reason[fires] = rule.reason
    return reason.astype(object).where(reason.notna(), None)


def _fires(values: pd.Series, rule: Disqualifier) -> pd.Series:
    if rule.less_than is not None:
        return (parse_numbers(values) < rule.less_than).fillna(False)
    if rule.greater_than is not None:
        return (parse_numbers(values) > rule.greater_than).fillna(False)
    if rule.is_in is not None or rule.not_in is not None:
        members = {v.casefold() for v in (rule.is_in or rule.not_in)}
        text = clean_text(values).str.casefold()
        inside = text.isin(members)
        return (inside if rule.is_in is not None else ~inside) & text.notna()
    target = rule.equals if rule.equals is not None else rule.not_equals
    same = _equal(values, target)
    return same if rule.equals is not None else (~same & values.notna())


def _equal(values: pd.Series, target: str | float | bool) -> pd.Series:
    text = clean_text(values).str.casefold()
    if isinstance(target, bool):
        words = TRUE_WORDS if target else FALSE_WORDS
        return text.isin(words).fillna(False).astype(bool)
    if isinstance(target, int | float):
        return pd.Series(np.isclose(parse_numbers(values), target), index=values.index)
    return text.eq(str(target).casefold()).fillna(False).astype(bool)
