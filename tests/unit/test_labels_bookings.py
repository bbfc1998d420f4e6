"""`labels.mode: bookings`: each label rule from won opportunity amounts, on hand-written frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from icpfit.config import LabelRules
from icpfit.features.labels import label_accounts
from icpfit.features.validate import no_revenue

RULES = LabelRules(mode="bookings", window_months=3, top_ltv_share=0.5, min_expansion=1.0)
AS_OF = date(2026, 9, 30)


def opportunities(rows: list[tuple]) -> pd.DataFrame:
    """(account, stage, close_date, amount); created a month before closing."""
    frame = pd.DataFrame(rows, columns=["account_id", "stage", "close_date", "amount"])
    close = pd.to_datetime(frame["close_date"])
    return frame.assign(
        opportunity_id=[f"O{i}" for i in range(len(frame))],
        created_date=close.fillna(pd.Timestamp("2026-09-01")) - pd.Timedelta(30, "D"),
        close_date=close,
        amount=frame["amount"].astype(float),
    )


def labels_for(
    rows: list[tuple], as_of: date = AS_OF, rules: LabelRules = RULES, revenue=None
) -> pd.DataFrame:
    opps = opportunities(rows)
    ids = pd.Series(sorted(set(opps["account_id"])))
    return label_accounts(ids, opps, no_revenue() if revenue is None else revenue, rules, as_of)


def test_a_repeat_order_in_the_window_is_retained_and_a_single_order_is_churned():
    labels = labels_for(
        [
            ("R", "won", "2026-01-10", 100),
            ("R", "won", "2026-02-20", 100),
            ("S", "won", "2026-01-10", 100),
        ]
    )
    assert labels["retained"].tolist() == [True, False]
    assert labels["repeat_orders"].tolist() == [1, 0]
    assert labels.loc["S", "cohort"] == "churned"
    assert pd.isna(labels.loc["S", "expansion"])  # no repeat order: no growth to measure
    assert labels.loc["S", "ltv"] == 100  # the first order is in LTV


def test_expansion_is_the_mean_repeat_order_over_the_first_order():
    labels = labels_for(
        [
            ("G", "won", "2026-01-10", 100),
            ("G", "won", "2026-02-10", 100),
            ("G", "won", "2026-03-10", 200),
            ("D", "won", "2026-01-10", 100),
            ("D", "won", "2026-02-10", 90),
        ]
    )
    assert labels.loc["G", "expansion"] == pytest.approx(1.5)
    assert labels.loc["G", "ltv"] == 400 and labels.loc["G", "first_order"] == 100
    assert labels.loc["G", "cohort"] == "ideal"  # reordered, top LTV, orders grew
    assert labels.loc["D", "expansion"] == pytest.approx(0.9)
    assert labels.loc["D", "cohort"] == "low_value"  # reordered, but its orders shrank


def test_min_expansion_is_compared_with_the_mean_repeat_order():
    rows = [("A", "won", "2026-01-10", 100), ("A", "won", "2026-02-10", 120)]
    rules = RULES.model_copy(update={"min_expansion": 1.25})
    assert labels_for(rows, rules=rules).loc["A", "cohort"] == "low_value"
    rules = RULES.model_copy(update={"min_expansion": 1.2})
    assert labels_for(rows, rules=rules).loc["A", "cohort"] == "ideal"


def test_window_runs_from_acquisition_for_window_months_and_no_further():
    labels = labels_for(
        [
            ("IN", "won", "2026-01-10", 100),
            ("IN", "won", "2026-04-09", 100),  # the window's last day
            ("OUT", "won", "2026-01-10", 100),
            ("OUT", "won", "2026-04-10", 500),  # three months after acquisition: outside
        ]
    )
    assert labels.loc["IN", "window_end"] == pd.Timestamp("2026-04-09")
    assert labels.loc[["IN", "OUT"], "retained"].tolist() == [True, False]
    assert labels.loc[["IN", "OUT"], "ltv"].tolist() == [200, 100]


def test_a_customer_matures_when_its_windows_last_day_is_on_or_before_the_cutoff():
    rows = [("A", "won", "2026-07-01", 100), ("B", "won", "2026-07-02", 100)]
    labels = labels_for(rows)
    assert labels.loc["A", "window_end"] == pd.Timestamp(AS_OF)
    assert labels.loc["A", "cohort"] == "churned"
    assert labels.loc["B", "cohort"] == "immature"
    assert pd.isna(labels.loc["B", "target"]) and pd.isna(labels.loc["B", "ltv"])


def test_orders_after_the_cutoff_are_not_known():
    rows = [
        ("A", "won", "2026-01-10", 100),
        ("A", "won", "2026-03-20", 300),
        ("B", "won", "2026-03-25", 100),
    ]
    labels = labels_for(rows, as_of=date(2026, 3, 19))
    assert labels.loc["A", "cohort"] == "immature"  # its window is not over at the cutoff
    assert labels.loc["B", "cohort"] == "prospect"  # won after the cutoff: still open then
    assert pd.isna(labels.loc["B", "acquisition_date"])


def test_lost_only_accounts_are_lost_and_lost_or_open_deals_add_nothing():
    labels = labels_for(
        [
            ("L", "lost", "2026-01-10", 900),
            ("C", "won", "2026-01-10", 100),
            ("C", "lost", "2026-02-10", 900),
            ("C", "open", None, 900),
        ]
    )
    assert labels.loc["L", "cohort"] == "lost" and labels.loc["L", "target"] == 0
    assert labels.loc["C", "ltv"] == 100 and labels.loc["C", "cohort"] == "churned"


def test_orders_closed_on_one_day_are_one_order_and_credit_notes_net_into_it():
    labels = labels_for(
        [
            ("A", "won", "2026-01-10", 60),
            ("A", "won", "2026-01-10", 40),  # same day as the first: part of the first order
            ("A", "won", "2026-02-10", 150),
            ("A", "won", "2026-02-10", -50),  # a credit note on the repeat order
        ]
    )
    assert labels.loc["A", "first_order"] == 100 and labels.loc["A", "repeat_orders"] == 1
    assert labels.loc["A", "expansion"] == pytest.approx(1.0)
    assert labels.loc["A", "ltv"] == 200


def test_the_first_order_is_the_first_positive_one_like_the_first_paying_month():
    labels = labels_for(
        [
            ("P", "won", "2026-01-10", 0),  # a free pilot makes it a customer
            ("P", "won", "2026-02-10", 100),
            ("P", "won", "2026-03-10", 200),
        ]
    )
    assert labels.loc["P", "acquisition_date"] == pd.Timestamp("2026-01-10")
    assert labels.loc["P", "first_order"] == 100
    assert labels.loc["P", "expansion"] == pytest.approx(2.0)


def test_revenue_rows_are_ignored_in_bookings_mode():
    rows = [("A", "won", "2026-01-10", 100), ("A", "won", "2026-02-10", 100)]
    revenue = pd.DataFrame(
        {
            "account_id": ["A", "Z"],
            "month": pd.to_datetime(["2026-01-01", "2025-01-01"]),
            "mrr": [10_000.0, 50.0],
        }
    )
    pd.testing.assert_frame_equal(labels_for(rows, revenue=revenue), labels_for(rows))


def test_top_ltv_share_and_target_over_matured_customers():
    labels = labels_for(
        [
            *[(c, "won", "2026-01-10", 100) for c in "ABCD"],
            *[(c, "won", "2026-02-10", 100 * (4 - i)) for i, c in enumerate("ABCD")],
        ]
    )
    assert list(labels["cohort"]) == ["ideal", "ideal", "low_value", "low_value"]
    assert list(labels["target"]) == [1, 1, 0, 0]
