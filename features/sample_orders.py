"""The transactional sample: the same simulated customers, selling in repeat orders, not MRR.

Accounts, the funnel, each customer's life (how long it stays, how its spend grows or shrinks)
and the planted ICP are those of `icpfit.features.sample` with the same seed. What changes is how
a customer pays: its won new-business deal is its first order, worth `ORDER_MONTHS` months of
its first MRR; in each later month it is still active it orders again with a chance that grows with
its fit, for an amount that follows its upsell and downgrade path, with noise. A customer that
stops ordering gets a last quote that it does not win. There is no revenue table, and the config
says `labels.mode: bookings`. The truth's `true_fit` is the chance of becoming ideal under the
bookings labels: won, a repeat order within the window, repeat orders on average at least as big
as the first, and window bookings in the top 20%.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from icpfit.features.sample import (
    MC_DRAWS,
    PRICE_SCALE,
    WINDOW,
    Arrays,
    SampleExport,
    _config,
    _day,
    _deal_frame,
    _deal_rows,
    _drivers,
    _growth,
    _month_start,
    _new_deals,
    _price,
    _rates,
    _sigmoid,
    _truth,
)

ORDER_MONTHS = 3
ORDER_NOISE = 0.2
ORDER_KINDS = ("new", "repeat")


def transactional(
    seed: int, acc: Arrays, cust: Arrays, ids, tables: dict, first_day: date, as_of: date
) -> SampleExport:
    """The subscription sample's tables with orders for opportunities and no revenue table."""
    end = _day(as_of)
    repeats, last_quotes = _repeat_orders(np.random.default_rng([seed, 2]), acc, cust, end)
    deals = _deal_frame(
        _new_deals(acc, ORDER_MONTHS, -1) + [repeats, last_quotes], ids, ORDER_KINDS
    )
    tables = {
        name: deals if name == "opportunities" else frame
        for name, frame in tables.items()
        if name != "revenue"
    }
    fit = _true_fit(np.random.default_rng([seed, 1]), acc, _ltv_threshold(acc, repeats, end))
    return SampleExport(
        tables, _bookings_config(as_of), _truth(acc, cust, ids, fit), _drivers_of(first_day, as_of)
    )


def _order_rate(logit: np.ndarray, b2c: np.ndarray) -> np.ndarray:
    """The chance that an active customer orders again in a given month."""
    return _sigmoid(-2.0 + 0.6 * logit - 1.0 * b2c)


def _repeat_orders(
    rng: np.random.Generator, acc: Arrays, cust: Arrays, end: int
) -> tuple[Arrays, Arrays]:
    """Won repeat orders in active months after the first; a lost quote when a customer stops."""
    idx, acq, first = cust["idx"], cust["acq"], cust["first"]
    rate = _order_rate(acc["logit"][idx], acc["b2c"][idx])
    active = cust["paying"] & (np.arange(cust["paying"].shape[1]) > 0)
    ci, j = np.nonzero(active & (rng.random(active.shape) < rate[:, None]))
    close = np.minimum(_month_start(first[ci] + j) + rng.integers(0, 28, len(ci)), end)
    created = np.maximum(close - rng.integers(3, 31, len(ci)), acq[ci])
    noise = rng.lognormal(-(ORDER_NOISE**2) / 2, ORDER_NOISE, len(ci))
    amount = np.round(ORDER_MONTHS * cust["paths"][ci, j] * noise, -1)
    repeats = _deal_rows(idx[ci], created, close, 0, amount, 1)
    gone = np.flatnonzero(cust["churn"] < cust["shown"])
    k = cust["churn"][gone]
    close = np.minimum(_month_start(first[gone] + k) + rng.integers(0, 28, len(gone)), end)
    created = np.maximum(close - rng.integers(14, 46, len(gone)), acq[gone])
    quote = np.round(ORDER_MONTHS * cust["paths"][gone, k - 1], -1)
    return repeats, _deal_rows(idx[gone], created, close, 1, quote, 1)


def _ltv_threshold(acc: Arrays, repeats: Arrays, end: int) -> float:
    """The top-20% cut of 12-month bookings among customers whose window is over."""
    who = repeats["who"]
    in_window = repeats["close"] < acc["acq"][who] + 365
    later = np.bincount(who, weights=repeats["amount"] * in_window, minlength=len(acc["acq"]))
    ltv = np.round(ORDER_MONTHS * acc["mrr0"], -1) + later
    matured = (acc["acq"] >= 0) & (acc["acq"] + 366 <= end)
    return float(np.quantile(ltv[matured], 0.8)) if matured.any() else 0.0


def _true_fit(rng: np.random.Generator, acc: Arrays, threshold: float) -> np.ndarray:
    """P(won) x P(a repeat order in the window, repeat orders on average at least the first,
    and 12-month bookings in the top 20%), over simulated lives with the price noise integrated
    out."""
    hazard, up, down = _rates(acc["logit"], acc["b2c"])
    rate = _order_rate(acc["logit"], acc["b2c"])
    price = ORDER_MONTHS * _price(acc["employees"], acc["logit"])
    month = np.arange(WINDOW)
    hits = np.empty(len(hazard))
    for lo in range(0, len(hazard), 4096):
        part = slice(lo, lo + 4096)
        draws = len(hazard[part]) * MC_DRAWS
        growth = _growth(
            rng, np.repeat(up[part], MC_DRAWS), np.repeat(down[part], MC_DRAWS), WINDOW
        )
        churn = rng.geometric(np.repeat(hazard[part], MC_DRAWS))
        orders = (rng.random((draws, WINDOW)) < np.repeat(rate[part], MC_DRAWS)[:, None]) & (
            (month > 0) & (month < churn[:, None])
        )
        noise = rng.lognormal(-(ORDER_NOISE**2) / 2, ORDER_NOISE, (draws, WINDOW))
        later = (orders * growth * noise).sum(axis=1)
        count = orders.sum(axis=1)
        grew = (count > 0) & (later >= np.maximum(count, 1))
        ltv = np.repeat(price[part], MC_DRAWS) * (1 + later)
        above = _sigmoid(np.log(ltv / max(threshold, 1.0)) / PRICE_SCALE)
        hits[part] = (above * grew).reshape(-1, MC_DRAWS).mean(axis=1)
    return acc["p_deal"] * hits


def _bookings_config(as_of: date) -> dict:
    config = _config(as_of)
    data = {name: path for name, path in config["data"].items() if name != "revenue"}
    return {**config, "data": data, "labels": {"mode": "bookings", **config["labels"]}}


def _drivers_of(first_day: date, as_of: date) -> dict:
    return {
        "business": "transactional",
        **_drivers(first_day, as_of),
        "true_fit": "P(an account in a sales cycle becomes an ideal customer under bookings "
        "labels), at its entry date",
        "orders": f"first order = the won new deal ({ORDER_MONTHS} months of the first MRR); "
        "each active month after it, a repeat order with a chance that grows with fit, worth "
        f"{ORDER_MONTHS} months of that month's MRR (lognormal noise, sd {ORDER_NOISE})",
    }
