"""Point-in-time snapshots of the timing model, on hand-made accounts (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.features.snapshots import (
    RECENCY_CAP,
    level_features,
    month_ends,
    signal_features,
    timing_snapshots,
)

AS_OF = pd.Timestamp("2026-06-30")
DATES = month_ends(pd.Timestamp("2026-01-01"), AS_OF)  # Jan 31 ... Jun 30


def _opportunities(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account_id", "created_date", "close_date", "stage"])
    for column in ("created_date", "close_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _snapshots(opportunities: pd.DataFrame, acquisition: dict, horizon: int = 60):
    accounts = pd.Index(["a", "b", "c", "d"], name="account_id")
    acquired = pd.to_datetime(pd.Series(acquisition, dtype=object))
    return timing_snapshots(accounts, opportunities, acquired, DATES, horizon, AS_OF)


def _table(snapshots) -> dict[str, list[str]]:
    """account -> the months (MM) it was eligible."""
    frame = snapshots.frame()
    return {
        a: list(frame.loc[frame["account_id"].eq(a), "date"].dt.strftime("%m"))
        for a in ("a", "b", "c", "d")
    }


def test_eligible_while_not_a_customer_and_no_deal_is_open():
    opportunities = _opportunities(
        [
            ("a", "2026-02-10", "2026-04-15", "won"),  # open Feb 10 - Apr 15, customer after
            ("b", "2026-03-05", "2026-03-20", "lost"),  # open in March only
            ("c", "2026-05-20", None, "open"),  # open from May 20 on
        ]
    )
    snapshots = _snapshots(opportunities, {"a": "2026-04-15"})
    assert _table(snapshots) == {
        "a": ["01"],
        "b": ["01", "02", "03", "04", "05", "06"],  # the deal opened and closed inside March
        "c": ["01", "02", "03", "04"],
        "d": ["01", "02", "03", "04", "05", "06"],
    }


def test_a_deal_closing_after_the_as_of_date_is_still_open_on_it():
    opportunities = _opportunities([("c", "2026-05-20", "2026-08-01", "lost")])
    assert _table(_snapshots(opportunities, {}))["c"] == ["01", "02", "03", "04"]


def test_label_is_a_new_deal_within_the_horizon_and_only_once_the_horizon_is_over():
    opportunities = _opportunities([("d", "2026-04-10", "2026-04-30", "lost")])
    snapshots = _snapshots(opportunities, {}, horizon=60)
    frame = snapshots.frame()
    d = frame[frame["account_id"].eq("d")]
    d = d.set_index(d["date"].dt.strftime("%m"))
    # Feb 28 + 60 days = Apr 29 >= Apr 10 > Feb 28: in market; Jan 31 + 60 = Apr 1 < Apr 10
    assert d["label"].to_dict() == {
        "01": False,
        "02": True,
        "03": True,
        "04": False,
        "05": False,
        "06": False,
    }
    # the horizon after May 31 and Jun 30 ends after the as-of date: not labelled
    assert d["labelled"].to_dict() == {
        "01": True,
        "02": True,
        "03": True,
        "04": True,
        "05": False,
        "06": False,
    }


def test_renewals_and_expansions_do_not_count_as_coming_in_market():
    opportunities = _opportunities([("d", "2026-03-10", "2026-03-30", "lost")]).assign(
        type="renewal"
    )
    assert not _snapshots(opportunities, {}).label.any()


def test_signal_features_see_nothing_after_the_snapshot_day():
    signals = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b", "a"],
            "date": pd.to_datetime(
                ["2026-01-01", "2026-03-01", "2026-03-01", "2026-03-15", "2026-03-20"]
            ),
            "signal_type": ["funding", "hiring", "hiring", "hiring", "hiring"],
        }
    )
    accounts = pd.Index(["a", "b", "z"])
    day = np.array(
        [
            pd.Timestamp(d).to_datetime64().astype("datetime64[D]").astype(np.int64)
            for d in ("2026-03-10", "2026-03-10", "2026-03-20", "2026-03-10")
        ]
    )
    account = np.array([0, 1, 0, 2])
    features = signal_features(signals, accounts, account, day, ("funding", "hiring"), (7, 30))
    assert features["days_since_funding"].tolist() == [68.0, RECENCY_CAP, 78.0, RECENCY_CAP]
    assert features["days_since_hiring"].tolist() == [9.0, RECENCY_CAP, 0.0, RECENCY_CAP]
    # the repeated 03-01 row counts once; 03-20 counts on its own day, never before
    assert features["hiring_last_30d"].tolist() == [1.0, 0.0, 2.0, 0.0]
    assert features["hiring_last_7d"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert features["funding_last_30d"].tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("months", [1, 7])
def test_month_ends_cover_each_month_once(months: int):
    ends = month_ends(AS_OF - pd.DateOffset(months=months), AS_OF)
    assert len(ends) == months + 1 and ends[-1] == AS_OF
    assert (ends == ends + pd.offsets.MonthEnd(0)).all()


def test_a_window_of_w_days_counts_a_signal_exactly_w_days_old():
    signals = pd.DataFrame(
        {
            "account_id": ["a", "a"],
            "date": pd.to_datetime(["2026-03-01", "2026-03-01"]),  # one signal, exported twice
            "signal_type": ["hiring", "hiring"],
        }
    )
    days = pd.to_datetime(["2026-03-31", "2026-04-01"]).to_numpy().astype("datetime64[D]")
    features = signal_features(
        signals, pd.Index(["a"]), np.array([0, 0]), days.astype(np.int64), ("hiring",), (30,)
    )
    # 30 days old: inside the 30-day window, as "any trigger in the last 30 days" counts it
    assert features["days_since_hiring"].tolist() == [30.0, 31.0]
    assert features["hiring_last_30d"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("kind", ["New Business", "new customer", "newbusiness", None])
def test_any_type_but_existing_business_counts_as_coming_in_market(kind):
    opportunities = _opportunities([("d", "2026-03-10", "2026-03-30", "lost")]).assign(type=kind)
    assert _snapshots(opportunities, {}).label.any()


def test_an_open_deal_without_a_created_date_blocks_its_account_from_the_start():
    opportunities = _opportunities([("c", None, None, "open")])
    assert _table(_snapshots(opportunities, {}))["c"] == []


def _days(*dates: str) -> np.ndarray:
    return pd.to_datetime(list(dates)).to_numpy().astype("datetime64[D]").astype(np.int64)


def test_level_features_read_the_latest_value_and_its_change_over_90_days():
    signals = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "a", "b", "a"],
            "date": pd.to_datetime(
                [
                    "2026-01-01",
                    "2026-02-15",
                    "2026-02-15",  # two readings on one day: the largest counts
                    "2026-04-01",  # no value: not a reading
                    "2026-04-20",
                    "2026-03-01",
                    "2026-03-01",
                ]
            ),
            "signal_type": ["web_visits"] * 6 + ["hiring"],
            "value": [100.0, 150.0, 170.0, None, 90.0, 40.0, 5.0],
        }
    )
    account = np.array([0, 0, 0, 0, 1, 2])
    day = _days("2026-01-01", "2026-03-31", "2026-04-01", "2026-05-31", "2026-03-01", "2026-03-01")
    features = level_features(signals, pd.Index(["a", "b", "c"]), account, day, ("web_visits",))
    assert list(features.columns) == ["web_visits_latest", "web_visits_change_90d"]
    # a reading on the snapshot day counts; one after it does not exist for it
    assert features["web_visits_latest"].tolist() == [100.0, 170.0, 170.0, 90.0, 40.0, 0.0]
    # Apr 1 - 90 days = Jan 1: that reading is the one to compare with; none yet counts as 0
    assert features["web_visits_change_90d"].tolist() == [100.0, 170.0, 70.0, -80.0, 40.0, 0.0]
    assert (features.dtypes == np.float32).all()


def test_level_features_without_a_value_column_are_zero():
    signals = pd.DataFrame(
        {"account_id": ["a"], "date": pd.to_datetime(["2026-01-01"]), "signal_type": ["visits"]}
    )
    features = level_features(
        signals, pd.Index(["a"]), np.array([0]), _days("2026-02-01"), ("visits",)
    )
    assert features.to_numpy().tolist() == [[0.0, 0.0]]


def test_timing_frame_appends_the_level_features_in_the_order_feature_names_lists():
    from icpfit.training.timing_frame import feature_names, timing_frame

    signals = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(["2026-01-20", "2026-04-10", "2026-02-01", "2026-03-03"]),
            "signal_type": ["web_visits", "web_visits", "web_visits", "funding"],
            "value": [300.0, 1200.0, 50.0, 2e6],
        }
    )
    snaps = _snapshots(_opportunities([]), {})
    fit_at = np.full((4, len(DATES)), 0.5)
    frame = timing_frame(snaps, signals, ("funding",), (30,), fit_at, levels=("web_visits",))
    assert list(frame.features.columns) == feature_names(("funding",), (30,), ("web_visits",))
    levels = level_features(signals, snaps.accounts, snaps.account, snaps.day, ("web_visits",))
    pd.testing.assert_frame_equal(frame.features[levels.columns], levels)
    at_april = frame.features[(snaps.account == 0) & (snaps.date == 3)]
    assert at_april[["web_visits_latest", "web_visits_change_90d"]].values.tolist() == [
        [1200.0, 900.0]  # Apr 30 - 90 days = Jan 30: the Jan 20 reading
    ]
    assert frame.rows(snaps.date == 0).levels == ("web_visits",)
    plain = timing_frame(snaps, signals, ("funding",), (30,), fit_at)
    assert list(plain.features.columns) == feature_names(("funding",), (30,))
