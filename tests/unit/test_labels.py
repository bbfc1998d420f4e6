"""Each label rule of DESIGN §3 on hand-written frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from icpfit.config import LabelRules
from icpfit.features.labels import acquisition_dates, label_accounts, label_cohorts

RULES = LabelRules(window_months=3, top_ltv_share=0.2, min_expansion=1.0)
AS_OF = date(2026, 9, 30)


def opportunities(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account_id", "stage", "created_date", "close_date"])
    return frame.assign(
        opportunity_id=[f"O{i}" for i in range(len(frame))],
        created_date=pd.to_datetime(frame["created_date"]),
        close_date=pd.to_datetime(frame["close_date"]),
    )


def revenue(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account_id", "month", "mrr"])
    return frame.assign(month=pd.to_datetime(frame["month"]), mrr=frame["mrr"].astype(float))


def monthly(account: str, start: str, amounts: list[float]) -> list[tuple]:
    months = pd.date_range(start, periods=len(amounts), freq="MS")
    return [(account, m, a) for m, a in zip(months, amounts, strict=True)]


def labels_for(opps: list[tuple], rev: list[tuple], as_of: date = AS_OF) -> pd.DataFrame:
    o, r = opportunities(opps), revenue(rev)
    ids = pd.Series(sorted(set(o["account_id"]) | set(r["account_id"])))
    return label_accounts(ids, o, r, RULES, as_of)


def test_cohort_boundaries_between_ideal_low_value_and_churned():
    customers = pd.DataFrame(
        {
            "ltv": [100.0, 100.0, 100.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
            "retained": [True, True, False, True, True, True, True, True, True, False],
            "expansion": [1.0, 0.99, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        },
        index=list("abcdefghij"),
    )
    cohorts = label_cohorts(customers, RULES)
    assert cohorts["a"] == "ideal"  # expansion exactly at the minimum counts
    assert cohorts["b"] == "low_value"  # top LTV and retained, but shrank
    assert cohorts["c"] == "churned"  # top LTV is not enough without retention
    assert cohorts["d"] == "low_value"  # expanded but not in the top LTV share
    assert cohorts["j"] == "churned"


def test_top_ltv_share_is_a_quantile_of_matured_customers():
    customers = pd.DataFrame(
        {"ltv": [float(v) for v in range(1, 11)], "retained": True, "expansion": 1.0},
        index=[f"c{v}" for v in range(1, 11)],
    )
    cohorts = label_cohorts(customers, LabelRules(window_months=3, top_ltv_share=0.3))
    assert list(cohorts[cohorts == "ideal"].index) == ["c8", "c9", "c10"]


def test_window_ending_on_the_cutoff_is_mature_and_a_day_later_is_not():
    opps = [
        ("A", "won", "2026-06-01", "2026-07-01"),
        ("B", "won", "2026-07-01", "2026-08-02"),
        ("C", "won", "2026-06-01", "2026-07-10"),
    ]
    rev = monthly("A", "2026-07-01", [10, 10, 10]) + monthly("B", "2026-08-01", [10, 10])
    labels = labels_for(opps, rev + monthly("C", "2026-07-01", [10, 10, 10]))
    assert labels.loc["A", "cohort"] != "immature"  # July..September ends 09-30 = as_of
    assert labels.loc["B", "cohort"] == "immature"  # August..October is not over
    # July..September is over, but acquired on 07-10 it has been a customer for less than
    # three months at 09-30: not matured yet
    assert labels.loc["C", "cohort"] == "immature"
    assert pd.isna(labels.loc["B", "target"])
    assert pd.isna(labels.loc["B", "ltv"])  # an immature outcome is not reported


def test_rows_after_as_of_are_ignored():
    opps = [("A", "won", "2026-01-01", "2026-02-01"), ("B", "won", "2026-09-01", "2026-10-05")]
    base = monthly("A", "2026-02-01", [10, 10, 10])
    later = base + monthly("A", "2026-05-01", [500, 500]) + monthly("B", "2026-10-01", [99])
    cutoff = date(2026, 4, 30)
    without, with_future = labels_for(opps, base, cutoff), labels_for(opps, later, cutoff)
    pd.testing.assert_frame_equal(
        without.drop(index="B", errors="ignore"), with_future.drop(index="B")
    )
    assert with_future.loc["B", "cohort"] == "prospect"  # won after the cutoff: open at the cutoff
    assert with_future.loc["A", "ltv"] == 30


def test_credit_notes_are_netted_per_month():
    opps = [("A", "won", "2026-01-01", "2026-01-10")]
    rev = monthly("A", "2026-01-01", [100, 100, 100]) + [("A", pd.Timestamp("2026-03-01"), -100)]
    labels = labels_for(opps, rev)
    assert labels.loc["A", "ltv"] == 200
    assert labels.loc["A", "cohort"] == "churned"  # nets to zero in the window's last month


def test_expansion_is_last_over_first_paying_month():
    opps = [("A", "won", "2026-01-01", "2026-01-28")]
    labels = labels_for(opps, monthly("A", "2026-02-01", [50, 100]))  # billing starts a month late
    assert labels.loc["A", "expansion"] == pytest.approx(2.0)
    assert labels.loc["A", "last_mrr"] == 100


def test_lost_only_when_nothing_won_or_open():
    opps = [
        ("L", "lost", "2026-01-01", "2026-02-01"),
        ("LO", "lost", "2026-01-01", "2026-02-01"),
        ("LO", "open", "2026-05-01", None),
        ("LW", "lost", "2025-01-01", "2025-02-01"),
        ("LW", "won", "2026-01-01", "2026-03-15"),
    ]
    labels = labels_for(opps, monthly("LW", "2026-03-01", [10, 10, 10]))
    assert labels.loc["L", "cohort"] == "lost"
    assert labels.loc["L", "target"] == 0
    assert labels.loc["LO", "cohort"] == "prospect"
    assert labels.loc["LW", "acquisition_date"] == pd.Timestamp("2026-03-15")
    assert labels.loc["LW", "cohort"] in ("ideal", "low_value")


def test_acquisition_falls_back_to_first_revenue_month_without_opportunities():
    o = opportunities([("A", "won", "2025-01-01", "2025-02-01")])
    r = revenue(monthly("A", "2025-02-01", [1, 1]) + monthly("R", "2025-05-01", [0, 5, 5]))
    acquired = acquisition_dates(o, r, AS_OF)
    assert acquired["A"] == pd.Timestamp("2025-02-01")
    assert acquired["R"] == pd.Timestamp("2025-06-01")  # first month actually paid


def test_target_is_one_for_ideal_zero_for_other_labelled_and_missing_otherwise():
    opps = [("A", "won", "2025-01-01", "2025-02-01"), ("P", "open", "2026-09-01", None)]
    labels = labels_for(opps, monthly("A", "2025-02-01", [10, 10, 20]))
    assert labels.loc["A", "cohort"] == "ideal" and labels.loc["A", "target"] == 1
    assert labels.loc["P", "cohort"] == "prospect" and pd.isna(labels.loc["P", "target"])


def test_decided_date_orders_labelled_accounts_in_time():
    opps = [
        ("A", "won", "2025-01-01", "2025-02-01"),
        ("L", "lost", "2025-01-01", "2025-03-01"),
        ("L", "lost", "2025-05-01", "2025-06-10"),
        ("P", "open", "2026-09-01", None),
    ]
    labels = labels_for(opps, monthly("A", "2025-02-01", [10, 10, 10]))
    assert labels.loc["A", "decided_date"] == pd.Timestamp("2025-02-01")
    assert labels.loc["L", "decided_date"] == pd.Timestamp("2025-06-10")
    assert pd.isna(labels.loc["P", "decided_date"])
