"""The timing model's backtest and decision on hand-made snapshots (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.features.snapshots import Snapshots
from icpfit.training.promotion import Decision
from icpfit.training.timing import (
    FIT_FEATURE,
    TimingFrame,
    negative_sample,
    queue_backtest,
    timing_decision,
    worked,
)

DATES = pd.DatetimeIndex(["2026-01-31", "2026-02-28"])


def _frame(fit: list[float], since: list[float], label: list[bool], date: list[int]):
    n = len(fit)
    snapshots = Snapshots(
        accounts=pd.Index([f"A{i}" for i in range(n)]),
        dates=DATES,
        account=np.arange(n),
        date=np.array(date),
        label=np.array(label),
        labelled=np.ones(n, dtype=bool),
    )
    features = pd.DataFrame({"days_since_funding": since, FIT_FEATURE: fit})
    return TimingFrame(snapshots, features, ("funding",))


def test_each_month_works_its_own_top_n():
    frame = _frame([0.9, 0.1, 0.5, 0.8, 0.7, 0.2], [1] * 6, [False] * 6, [0, 0, 0, 1, 1, 1])
    picked = worked(frame, frame.features[FIT_FEATURE].to_numpy(), capacity=2)
    assert sorted(picked.tolist()) == [0, 2, 3, 4]


def test_backtest_counts_opportunities_per_100_worked_for_each_ranking():
    # A0, A1: good fits, no trigger, no deal. A2, A3: fair fits with a fresh trigger, a deal.
    # A4, A5: poor fits with a trigger, no deal. One month, two accounts worked.
    frame = _frame(
        fit=[0.9, 0.8, 0.5, 0.5, 0.1, 0.1],
        since=[3650, 3650, 2, 3, 1, 4],
        label=[False, False, True, True, False, False],
        date=[0] * 6,
    )
    timing = np.array([0.05, 0.05, 0.6, 0.6, 0.5, 0.5])  # P(deal soon) as a model would say
    backtest = queue_backtest(frame, timing, capacity=2, seed=0, rounds=10)
    rates = backtest.rates.set_index("ranking")["per_100"].to_dict()
    # priority: A2, A3 (0.30 each) -> 2 of 2; fit alone: A0, A1 -> 0 of 2; trigger alone: the
    # two freshest triggers, A4 (1 day) and A2 (2 days) -> 1 of 2
    assert rates == {"priority": 100.0, "fit": 0.0, "trigger": 50.0, "timing": 100.0}
    gains = backtest.gains.set_index("against")
    assert gains.loc["fit", "gain"] == 100.0
    assert gains.loc["fit", "low"] <= 100.0 <= gains.loc["fit", "high"]
    assert backtest.positives == 2 and backtest.months == ["2026-01"]


def test_negatives_are_sampled_and_weighted_up_beyond_the_floor(monkeypatch):
    import icpfit.training.timing as timing

    monkeypatch.setattr(timing, "KEEP_NEGATIVES", 100)
    y = np.r_[np.ones(10, dtype=int), np.zeros(10_000, dtype=int)]
    keep, weight = negative_sample(y, seed=1)
    assert (y[keep] == 1).sum() == 10  # every positive is kept
    kept_negatives = (y[keep] == 0).sum()
    assert 60 < kept_negatives < 140  # about max(100, 5 x 10)
    # each kept negative stands for 1 / share of them: about all 10,000 in total
    share = 100 / 10_000
    assert np.allclose(weight[y[keep] == 0], 1 / share)
    assert weight[y[keep] == 0].sum() == pytest.approx(10_000, rel=0.4)
    small = np.r_[np.ones(3, dtype=int), np.zeros(50, dtype=int)]
    keep, weight = negative_sample(small, seed=1)
    assert len(keep) == 53 and (weight == 1).all()


@pytest.mark.parametrize(
    ("fit", "gain", "mode", "alias", "said"),
    [
        ("champion", (2.0, 0.5, 3.5), "auto", "champion", "priority vs fit alone"),
        ("champion", (-4.0, -6.0, -1.0), "auto", "challenger", "ranks worse than fit alone"),
        ("challenger", (2.0, 0.5, 3.5), "auto", "challenger", "not champion"),
        ("champion", (-4.0, -6.0, -1.0), "force", "champion", "forced by --promote force"),
        ("champion", (2.0, 0.5, 3.5), "never", "challenger", "--promote never"),
    ],
)
def test_timing_follows_its_fit_version_unless_worse_than_fit_alone(fit, gain, mode, alias, said):
    frame = _frame([0.9, 0.1], [1, 1], [True, False], [0, 0])
    backtest = queue_backtest(frame, np.array([0.5, 0.5]), capacity=1, seed=0, rounds=1)
    gains = backtest.gains.copy()
    gains.loc[gains["against"].eq("fit"), ["gain", "low", "high"]] = gain
    backtest = type(backtest)(**{**backtest.__dict__, "gains": gains})
    decision = timing_decision(Decision(fit, "fit's reason"), backtest, mode)
    assert decision.alias == alias and said in decision.reason


LEVEL_SIGNALS = pd.DataFrame(
    {
        "account_id": ["A0", "A1", "A1", "A2"],
        "date": pd.to_datetime(["2026-01-10", "2026-01-05", "2026-02-20", "2026-02-01"]),
        "signal_type": ["hiring_surge", "hiring_surge", "hiring_surge", "funding_round"],
        "value": [4.0, 3.0, 14.0, None],
    }
)


def test_feature_names_add_each_levels_latest_and_change_before_the_fit_probability():
    from icpfit.training.timing import feature_names

    assert feature_names(("funding",), (30,)) == [
        "days_since_funding",
        "funding_last_30d",
        FIT_FEATURE,
    ]
    assert feature_names(("funding",), (30,), ("hiring_surge",), 90) == [
        "days_since_funding",
        "funding_last_30d",
        "hiring_surge_latest",
        "hiring_surge_change_90d",
        FIT_FEATURE,
    ]


def test_levels_are_none_unless_configured_and_each_needs_numeric_values():
    from icpfit.config import TimingSettings
    from icpfit.training.timing import NoTimingData
    from icpfit.training.timing_data import level_types

    assert level_types(LEVEL_SIGNALS, TimingSettings()) == ()
    assert level_types(LEVEL_SIGNALS, TimingSettings(levels=("hiring_surge",))) == ("hiring_surge",)
    with pytest.raises(NoTimingData, match="timing.levels: funding_round, web_visits never"):
        level_types(LEVEL_SIGNALS, TimingSettings(levels=("funding_round", "web_visits")))
    with pytest.raises(ValueError, match="timing.levels: listed more than once: hiring_surge"):
        TimingSettings(levels=("hiring_surge", "hiring_surge"))


def test_a_timing_model_with_levels_learns_them_and_its_bundle_records_them():
    from icpfit.config import TimingSettings
    from icpfit.training.timing import split_months, timing_frame, train_timing_model

    rng = np.random.default_rng(3)
    n, dates = 600, pd.DatetimeIndex(pd.date_range("2025-07-31", periods=8, freq="ME"))
    account, date = np.divmod(np.arange(n * len(dates)), len(dates))
    snapshots = Snapshots(
        pd.Index([f"A{i}" for i in range(n)]),
        dates,
        account,
        date,
        rng.random(len(account)) < 0.2,
        date < 6,  # the newest two months' horizon is not over
    )
    signals = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in rng.integers(0, n, 3000)],
            "date": pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 300, 3000), "D"),
            "signal_type": rng.choice(["hiring_surge", "exec_hire"], 3000),
            "value": rng.integers(1, 20, 3000).astype(float),
        }
    )
    settings = TimingSettings(
        levels=("hiring_surge",),
        windows_days=(30,),
        history_months=8,
        holdout_months=2,
        horizon_days=30,
        capacity=50,
    )
    fit_at = rng.random((n, len(dates)))
    frame = timing_frame(
        snapshots, signals, ("exec_hire",), (30,), fit_at, levels=("hiring_surge",)
    )
    learn, held = split_months(snapshots, settings)
    run = train_timing_model(frame, frame, learn, held, settings, seed=1)
    assert run.model.features == [
        "days_since_exec_hire",
        "exec_hire_last_30d",
        "hiring_surge_latest",
        "hiring_surge_change_90d",
        FIT_FEATURE,
    ]
    bundle = run.bundle({"name": "icp-fit", "version": "1"}, "2026-02-28")
    assert bundle["levels"] == ["hiring_surge"] and bundle["level_lag_days"] == 90
    assert bundle["features"] == run.model.features
