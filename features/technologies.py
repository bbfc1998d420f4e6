"""Technologies: the long table, and the delimited account column it can come as."""

from __future__ import annotations

import re

import pandas as pd

from icpfit.config import TechStack


def tech_stack_to_long(accounts: pd.DataFrame, tech_stack: TechStack) -> pd.DataFrame:
    """'HubSpot;Outreach' on an account row -> one (account_id, technology) row each, undated."""
    if tech_stack.column not in accounts.columns:
        return pd.DataFrame(columns=["account_id", "technology", "first_seen"])
    stacks = accounts[["account_id", tech_stack.column]].dropna()
    items = stacks[tech_stack.column].astype(str).str.split(tech_stack.separator, regex=False)
    long = stacks[["account_id"]].assign(technology=items).explode("technology")
    long = long.assign(technology=long["technology"].str.strip())
    long = long[long["technology"].ne("") & long["technology"].notna()]
    return (
        long.assign(first_seen=pd.NaT)
        .astype({"first_seen": "datetime64[ns]"})
        .reset_index(drop=True)
    )


def slug(name: str) -> str:
    """A column-safe name: 'Microsoft Dynamics 365' -> 'microsoft_dynamics_365'."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).casefold()).strip("_") or "unnamed"
