"""The work queue's pure parts: who is on it, in what order, and why now (issue 16)."""

from __future__ import annotations

import pandas as pd

from icpfit.serving.queue import (
    NO_TRIGGER,
    event_text,
    queue_exclusions,
    rank_queue,
    why_now,
)
from icpfit.usecases.queue_page import queue_page

AS_OF = pd.Timestamp("2026-09-30")


def test_exclusions_name_customers_open_deals_disqualified_and_unscored():
    ids = pd.Index(["cust", "later", "open", "x", "err", "ok"])
    why = queue_exclusions(
        ids,
        pd.Series(pd.to_datetime(["2026-01-01", "2026-10-15"]), index=["cust", "later"]),
        pd.Series([True], index=["open"]),
        pd.Series(["A", "B", "C", "X", None, "D"], index=ids),
        AS_OF,
    )
    assert why.to_dict() == {
        "cust": "customer",
        "later": "",  # a customer only after the queue's day
        "open": "open opportunity",
        "x": "disqualified",
        "err": "not scored (its fit row has an error)",
        "ok": "",
    }


def test_rank_by_priority_overall_and_per_owner():
    candidates = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "priority": [0.1, 0.5, 0.3, 0.5, 0.2],
            "fit_probability": [0.2, 0.6, 0.4, 0.7, 0.9],
            "owner": ["ann", "bob", "ann", "ann", "bob"],
        }
    )
    top = rank_queue(candidates, 3, per_owner=False)
    assert top["account_id"].tolist() == ["d", "b", "c"]  # d before b: same priority, better fit
    assert top["rank"].tolist() == [1, 2, 3]
    mine = rank_queue(candidates, 2, per_owner=True)
    assert list(zip(mine["owner"], mine["account_id"], mine["rank"], strict=True)) == [
        ("ann", "d", 1),
        ("ann", "c", 2),
        ("bob", "b", 1),
        ("bob", "e", 2),
    ]


def test_why_now_uses_the_accounts_own_recent_events_newest_first():
    signals = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2026-09-18", "2026-09-21", "2026-06-01", "2026-10-02", "2026-09-30", "2026-09-29"]
            ),
            "signal_type": [
                "funding_round",
                "hiring_surge",
                "exec_hire",
                "exec_hire",
                "webinar",
                "tech_install",
            ],
            "value": [4_200_000.0, 14.0, 1.0, 1.0, None, 1.0],
        }
    )
    triggers = ("funding_round", "hiring_surge", "exec_hire", "tech_install", "webinar")
    words = why_now(signals, pd.Index(["a", "b", "c", "d"]), triggers, AS_OF)
    assert words["a"] == "Hiring surge: 14 open roles, 9 days ago; Raised $4.2M 12 days ago"
    assert words["b"] == "Webinar today"
    assert words["c"] == "Installed a new technology yesterday"
    assert words["d"] == NO_TRIGGER  # the exec hire is 121 days old; the later one is future


def test_event_text_uses_the_configured_label():
    assert event_text("G2 intent", 3.0, 5, {"G2 intent": "Compared us on G2"}) == (
        "Compared us on G2 (3) 5 days ago"
    )


def test_queue_page_escapes_every_value():
    rows = pd.DataFrame(
        {
            "account_id": ["<script>alert(1)</script>"],
            "rank": [1],
            "fit_tier": ["A"],
            "fit_score": [97],
            "timing_score": [0.4],
            "priority": [0.3],
            "why_now": ["Raised $1M <b>today</b>"],
            "reason_1": ["Industry is Software & co"],
            "fit_model_version": ["icp-fit/2"],
            "timing_model_version": ["icp-timing/2"],
        }
    )
    page = queue_page(rows, AS_OF.date(), 10, per_owner=False)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;today" in page and "Software &amp; co" in page


def test_expected_ltv_is_the_tiers_mean_shrunk_toward_all_customers():
    from icpfit.serving.queue import expected_ltv

    table = {
        "A": {"mean_ltv": 9000.0, "customers": 390},
        "B": {"mean_ltv": 4000.0, "customers": 10},
        "C": {"mean_ltv": 50.0, "customers": 0},
        "D": {"mean_ltv": None, "customers": 0},
        "all": {"mean_ltv": 2500.0, "customers": 400},
    }
    tiers = pd.Series(["A", "B", "C", "D", "X"], index=list("vwxyz"))
    values = expected_ltv(tiers, table)
    assert values["v"] == (390 * 9000 + 10 * 2500) / 400  # mostly its own mean
    assert values["w"] == (4000 + 2500) / 2  # ten customers: halfway
    assert values["x"] == values["y"] == 2500.0  # no customers: the overall mean
    assert pd.isna(values["z"]), "a disqualified account has no expected value"
    assert expected_ltv(tiers, None).isna().all()
