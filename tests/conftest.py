"""Small hand-written CRM exports built in code; nothing is downloaded, everything is seeded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from icpfit.config import IcpConfig, config_from_dict
from icpfit.features.problems import RawTable

AS_OF = date(2026, 9, 30)

SLOW_FIRST = (
    "test_faults_kill.py",
    "test_faults.py",
    "test_mlflow_server.py",
    "test_small_export.py",
    "test_notebooks.py",
    "test_bad_scoring_inputs.py",
    "test_compare.py",
    "test_tier_shares.py",
    "test_team_server.py",
    "test_spark.py",
)
"""The longest test files, started first. `make test` runs each file whole on one of two
workers (`--dist loadfile --no-loadscope-reorder`, which keeps this order): each worker starts
with two files, the 1st and 3rd or the 2nd and 4th, so the two longest are paired with shorter
ones, and neither worker is left with a long file at the end."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept


def make_config(**sections) -> IcpConfig:
    base = {
        "data": {
            "accounts": "accounts.csv",
            "opportunities": "opportunities.csv",
            "revenue": "revenue.csv",
            "technologies": "technologies.csv",
        },
        "labels": {"window_months": 3, "top_ltv_share": 0.2, "min_expansion": 1.0},
        "features": {
            "firmographic": {"categorical": ["industry"], "numeric": ["employees"]},
            "technographic": {"technologies": True},
            "behavioral": {"numeric": [], "signals": True},
        },
    }
    base.update(sections)
    return config_from_dict(base, source=Path("/exports/icpfit.yaml"))


def raw_tables(**frames: pd.DataFrame) -> dict[str, RawTable]:
    """Text cells like a CSV read, named like the files of `make_config`."""
    return {
        name: RawTable(name, f"/exports/{name}.csv", frame.astype("string").reset_index(drop=True))
        for name, frame in frames.items()
    }


def tiny_export() -> dict[str, pd.DataFrame]:
    """Two customers, one lost deal, one prospect."""
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": ["A1", "A2", "A3", "A4"],
                "industry": ["Software", "Retail", "Software", None],
                "employees": ["250", "40", None, "12"],
            }
        ),
        "opportunities": pd.DataFrame(
            {
                "opportunity_id": ["O1", "O2", "O3"],
                "account_id": ["A1", "A2", "A3"],
                "stage": ["won", "won", "lost"],
                "created_date": ["2025-12-01", "2026-01-05", "2026-02-01"],
                "close_date": ["2026-01-15", "2026-02-10", "2026-03-01"],
                "amount": ["1000", "500", "700"],
            }
        ),
        "revenue": pd.DataFrame(
            {
                "account_id": ["A1"] * 3 + ["A2"] * 3,
                "month": [
                    "2026-01-01",
                    "2026-02-01",
                    "2026-03-01",
                    "2026-02-01",
                    "2026-03-01",
                    "2026-04-01",
                ],
                "mrr": ["100", "100", "120", "50", "50", "0"],
            }
        ),
        "technologies": pd.DataFrame(
            {
                "account_id": ["A1", "A1", "A2"],
                "technology": ["Snowflake", "HubSpot", "Shopify"],
                "first_seen": ["2025-06-01", "2026-05-01", "2025-01-01"],
            }
        ),
    }


@pytest.fixture
def export_frames() -> dict[str, pd.DataFrame]:
    return tiny_export()
