from __future__ import annotations

import pandas as pd

from icpfit.config import Disqualifier
from icpfit.features.disqualify import disqualified_reason


def test_first_firing_rule_wins_and_missing_values_never_disqualify():
    accounts = pd.DataFrame(
        {
            "business_model": ["B2C", "b2c", "B2B", None, "B2C"],
            "employees": [500, 5, 5, None, 3],
            "is_reseller": ["yes", "no", "True", None, "0"],
        }
    )
    rules = [
        Disqualifier(column="business_model", equals="B2C", reason="B2C"),
        Disqualifier(column="employees", less_than=10, reason="Tiny"),
        Disqualifier(column="is_reseller", equals=True, reason="Reseller"),
    ]
    assert disqualified_reason(accounts, rules).tolist() == ["B2C", "B2C", "Tiny", None, "B2C"]


def test_in_and_not_in():
    accounts = pd.DataFrame({"country": ["US", "de", "BR", None]})
    served = Disqualifier(column="country", not_in=["US", "DE"], reason="Not served")
    banned = Disqualifier(column="country", **{"in": ["BR"]}, reason="Embargo")
    assert disqualified_reason(accounts, [served]).tolist() == [None, None, "Not served", None]
    assert disqualified_reason(accounts, [banned]).tolist() == [None, None, "Embargo", None]
