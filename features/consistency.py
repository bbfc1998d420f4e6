"""Checks that need the labels: revenue outside a customer's life, feature columns that leak."""

from __future__ import annotations

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.parsing import month_start
from icpfit.features.problems import Problem, list_values
from icpfit.features.validate import CrmExport

MIN_GROUP_FOR_LEAK_CHECK = 30


def outcome_problems(export: CrmExport, labels: pd.DataFrame, config: IcpConfig) -> list[Problem]:
    """Warnings that need the labels: revenue outside a customer's life, leaky feature columns."""
    problems = []
    file = export.files.get("revenue", "revenue")
    acquired = export.revenue.merge(
        labels["acquisition_date"].dropna(), left_on="account_id", right_index=True, how="left"
    )
    before = acquired["month"] < month_start(acquired["acquisition_date"])
    if before.any():
        problems.append(
            Problem(
                "warning",
                file,
                "month",
                f"{file}: {int(before.sum()):,} revenue months of "
                f"{acquired.loc[before, 'account_id'].nunique()} customers fall before their "
                "acquisition month and are left out of LTV (e.g. "
                f"{list_values(acquired.loc[before, 'account_id'].unique(), 3)})",
                int(before.sum()),
            )
        )
    never = acquired["acquisition_date"].isna()
    outsiders = acquired.loc[never, "account_id"].unique()
    if never.any():
        problems.append(
            Problem(
                "warning",
                file,
                "account_id",
                f"{file}: {int(never.sum()):,} revenue rows of {len(outsiders)} accounts that are "
                "not customers as of the cutoff (no won opportunity yet) are left out "
                f"(e.g. {list_values(outsiders, 3)})",
                int(never.sum()),
            )
        )
    return problems + _leaky_columns(export, labels, config)


def _leaky_columns(export: CrmExport, labels: pd.DataFrame, config: IcpConfig) -> list[Problem]:
    """A feature filled in for customers but not for others was probably recorded at closing."""
    file = export.files.get("accounts", "accounts")
    customer = labels["acquisition_date"].notna().reindex(export.accounts["account_id"]).to_numpy()
    if min(customer.sum(), (~customer).sum()) < MIN_GROUP_FOR_LEAK_CHECK:
        return []
    problems = []
    for column in config.features.account_columns():
        if column not in export.accounts:
            continue
        filled = export.accounts[column].notna().to_numpy()
        among_customers, among_others = filled[customer].mean(), filled[~customer].mean()
        if among_customers >= 0.8 and among_others <= 0.3:
            problems.append(
                Problem(
                    "warning",
                    file,
                    column,
                    f"{file}: column '{column}' is filled for {among_customers:.0%} of customers "
                    f"but {among_others:.0%} of other accounts: probably recorded at or after "
                    "closing, so it leaks the outcome; fix: remove it from features in "
                    f"{config.source.name if config.source else 'the config'}",
                )
            )
    return problems
