"""A deterministic sample CRM export with a planted ideal customer profile that drifts over time.

Every account gets a hidden fit logit from its true attributes and its entry date (first contact).
The logit drives the whole funnel: getting an opportunity, winning it, the first MRR, monthly churn
and upsells. The exports are as hard as real ones in three ways:

- The ICP drifts: the product moves upmarket. Between `DRIFT` (fractions of the entry window,
  about mid-2023 to mid-2025 for the default as_of) the effects of employee bands, funding stages,
  Healthcare and HubSpot move linearly from their start to their end values, so a model that
  learns only from the older accounts misjudges today's prospects.
- The exported tables lose data the way enrichment providers do (`GAPS`: a fifth of headcounts,
  two fifths of revenues are blank), so a model sees less than the simulation knew.
- Labels are noisy: the billing export misrecords some customers (`REVENUE_ERRORS`: 2% have every
  amount in cents, 5% lose a run of one to three paying months), so value labels read from the
  revenue table are wrong for a few percent of customers while the truth is not.

`truth` and `drivers` describe the simulation for tests and benchmarks; training must never read
them.

`business="transactional"` turns the same simulated customers into repeat orders instead of
monthly revenue (features/sample_orders.py): no revenue table (so no revenue errors), labels from
won opportunity amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from icpfit.features.technologies import slug

WINDOW = 12
MC_DRAWS = 64
PRICE_SCALE = 0.25
TRAP = "Northwind Tag"
TABLES = ("accounts", "technologies", "opportunities", "revenue", "signals")
BUSINESSES = ("subscription", "transactional")
SIGNALS = ("funding_round", "exec_hire", "hiring_surge", "tech_install")
TIMING = {"pull": 0.35, "spark": 0.06, "days": 25.0}
# industry: (share of B2B accounts, share of B2C accounts, fit effect at the start, at as_of)
INDUSTRIES = {
    "Software": (0.17, 0.05, 1.0, 1.0),
    "Fintech": (0.07, 0.10, 0.9, 0.9),
    "Financial Services": (0.08, 0.0, 0.3, 0.3),
    "Healthcare": (0.09, 0.10, -0.8, 0.8),
    "Manufacturing": (0.12, 0.0, -0.2, -0.2),
    "Retail": (0.07, 0.40, -0.4, -0.4),
    "Media": (0.05, 0.25, -0.2, -0.2),
    "Logistics": (0.06, 0.0, 0.0, 0.0),
    "Professional Services": (0.10, 0.0, 0.1, 0.1),
    "Telecommunications": (0.04, 0.0, 0.0, 0.0),
    "Real Estate": (0.05, 0.0, -0.3, -0.3),
    "Education": (0.05, 0.10, -1.0, -1.0),
    "Government": (0.05, 0.0, -1.2, -1.2),
}
# technology: (category, base log-odds, size slope, modern-data-stack loading, B2C shift)
TECHNOLOGIES = {
    "Salesforce": ("CRM", -0.8, 0.6, 0.3, -1.0),
    "HubSpot": ("CRM", -0.9, -0.1, 0.4, 0.3),
    "Pipedrive": ("CRM", -2.2, -0.4, 0.0, 0.0),
    "Microsoft Dynamics 365": ("CRM", -2.3, 0.5, -0.3, -1.0),
    "Zoho CRM": ("CRM", -2.4, -0.4, -0.2, 0.0),
    "Marketo": ("Marketing automation", -2.2, 0.5, 0.2, -0.5),
    "Pardot": ("Marketing automation", -2.3, 0.4, 0.0, -0.5),
    "Mailchimp": ("Marketing automation", -1.2, -0.5, -0.2, 1.2),
    "ActiveCampaign": ("Marketing automation", -2.5, -0.3, 0.0, 0.5),
    "Klaviyo": ("Marketing automation", -2.8, -0.2, 0.2, 2.2),
    "Snowflake": ("Data warehouse", -1.9, 0.5, 1.2, -0.5),
    "Google BigQuery": ("Data warehouse", -2.2, 0.2, 0.8, 0.0),
    "Amazon Redshift": ("Data warehouse", -2.3, 0.4, 0.5, -0.3),
    "Databricks": ("Data warehouse", -2.6, 0.6, 1.0, -0.5),
    "dbt": ("Data warehouse", -2.4, 0.2, 1.4, -0.5),
    "Tableau": ("BI", -1.8, 0.6, 0.3, -0.3),
    "Looker": ("BI", -2.2, 0.3, 1.0, 0.0),
    "Power BI": ("BI", -1.4, 0.4, -0.3, -0.3),
    "Metabase": ("BI", -2.7, -0.2, 0.8, 0.0),
    "Outreach": ("Sales engagement", -2.2, 0.4, 0.5, -1.5),
    "Salesloft": ("Sales engagement", -2.4, 0.4, 0.4, -1.5),
    "Apollo": ("Sales engagement", -2.0, -0.1, 0.3, -1.0),
    "Gong": ("Sales engagement", -2.4, 0.5, 0.5, -1.5),
    "Zendesk": ("Support", -1.5, 0.2, 0.1, 0.8),
    "Intercom": ("Support", -1.8, -0.1, 0.6, 0.8),
    "Freshdesk": ("Support", -2.3, -0.2, -0.2, 0.3),
    "Slack": ("Collaboration", -0.4, 0.2, 0.8, 0.0),
    "Microsoft Teams": ("Collaboration", -0.3, 0.4, -0.6, 0.0),
    "Notion": ("Collaboration", -1.5, -0.2, 0.9, 0.0),
    "Jira": ("Collaboration", -0.9, 0.2, 0.9, -0.3),
    "Asana": ("Collaboration", -1.8, 0.0, 0.3, 0.0),
    "AWS": ("Cloud", 0.2, 0.3, 0.7, 0.0),
    "Google Cloud": ("Cloud", -1.3, 0.1, 0.6, 0.0),
    "Microsoft Azure": ("Cloud", -0.9, 0.4, -0.4, 0.0),
    "Cloudflare": ("Cloud", -1.0, 0.1, 0.6, 0.5),
    "Shopify": ("E-commerce", -2.5, -0.3, 0.0, 2.8),
    "Magento": ("E-commerce", -3.0, 0.1, -0.3, 1.8),
    "WooCommerce": ("E-commerce", -2.8, -0.5, -0.3, 1.8),
    "Stripe": ("E-commerce", -1.3, -0.1, 0.7, 1.0),
    "Google Analytics": ("Analytics", 0.8, 0.0, 0.0, 0.5),
    "Segment": ("Analytics", -2.3, 0.2, 1.1, 0.0),
    "Amplitude": ("Analytics", -2.5, 0.1, 1.0, 0.3),
}
TECH_EFFECTS = {
    "Snowflake": (0.6, 0.6), "dbt": (0.5, 0.5), "Salesforce": (0.5, 0.5), "HubSpot": (-0.2, 0.7),
}  # fmt: skip
DEAL_KINDS = ("new", "expansion", "renewal")
STAGES = (
    "Unfunded", "Seed", "Series A", "Series B", "Series C", "Series D+", "Private Equity", "Public",
)  # fmt: skip
DIGITAL_INDUSTRIES = ("Software", "Fintech")
DATA_STACK = ("Snowflake", "dbt")
SMALL_HEALTHCARE = 200
INTERACTIONS = {"data_stack_in_digital": 1.0, "small_healthcare": -1.2}
# funding stage: (fit effect at the start, at as_of); the product moves to later-stage companies
STAGE_EFFECTS = {
    "Seed": (-0.3, -0.3), "Series A": (0.6, -0.4), "Series B": (0.5, 0.5), "Series C": (0.2, 0.9),
}  # fmt: skip
FUNDING_MEDIAN = (0.0, 2.5e6, 12e6, 35e6, 80e6, 200e6, 150e6, 400e6)
OWNERSHIP = ("Private", "Venture-backed", "Private equity", "Public", "Public sector")
EMPLOYEE_EDGES = (10, 50, 100, 1000, 5000)
# per employee band (<10, 10-49, 50-99, 100-999, 1000-4999, 5000+): (effect at the start, at as_of);
# the product moves upmarket, so small teams fall out of the ICP and large ones come in
EMPLOYEE_EFFECTS = ((-1.6, -1.6), (0.4, -1.6), (0.6, -0.6), (0.8, 0.8), (-1.2, 1.6), (-1.0, 0.8))
WEB_EFFECT, B2C_EFFECT, LATENT_SD, FIT_INTERCEPT = 0.35, -1.0, 0.5, -0.3
COUNTRIES = {
    "United States": ("North America", 0.42), "Canada": ("North America", 0.06),
    "United Kingdom": ("EMEA", 0.10), "Germany": ("EMEA", 0.08), "France": ("EMEA", 0.05),
    "Netherlands": ("EMEA", 0.04), "Sweden": ("EMEA", 0.03), "Spain": ("EMEA", 0.03),
    "Australia": ("APAC", 0.05), "India": ("APAC", 0.05), "Singapore": ("APAC", 0.03),
    "Japan": ("APAC", 0.03), "Brazil": ("LATAM", 0.03),
}  # fmt: skip
# columns blanked together: the share of accounts whose data provider does not know them
GAPS = {
    ("industry",): 0.03, ("employees",): 0.20, ("annual_revenue",): 0.40,
    ("country", "region"): 0.02, ("founded_year",): 0.08, ("funding_stage", "total_funding"): 0.30,
    ("ownership",): 0.05, ("business_model",): 0.02, ("web_visits_monthly",): 0.05,
    ("open_job_postings",): 0.10,
}  # fmt: skip

# the ICP moves linearly between these fractions of the entry window and holds before and after
DRIFT = (0.35, 0.75)
# share of customers whose billing export is wrong: every amount in cents, or a run of months lost
REVENUE_ERRORS = {"in_cents": 0.02, "missing_months": 0.05}
CENTS = 100

__all__ = ["BUSINESSES", "SampleExport", "generate_sample"]

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class SampleExport:
    """A CRM export in canonical columns, its icpfit.yaml, and the simulation's hidden truth.

    `truth` has one row per account: account_id, true_fit, fit_logit, entry_date, segment (B2B or
    B2C), the true industry and employees, outcome (customer, lost, open or prospect),
    acquisition_date, first_opportunity_date, trigger_date (the signal that opened the first
    opportunity, if one did), churn_month (first unpaid month, if churned; for a transactional
    sample the first month it no longer orders), known_stack (whether the technologies table has the
    account at all) and revenue_error (in_cents or missing_months for a customer whose revenue
    rows are misrecorded, else None). true_fit and outcome follow what really happened, not the
    misrecorded rows. `drivers` is JSON-ready.
    """

    tables: dict[str, pd.DataFrame]
    config: dict
    truth: pd.DataFrame
    drivers: dict


def generate_sample(
    accounts: int = 20_000,
    seed: int = 7,
    as_of: date = date(2026, 9, 30),
    business: str = "subscription",
) -> SampleExport:
    """Accounts first contacted from January 1st four years before `as_of` until `as_of`.

    Nothing is dated after `as_of`; the same arguments always give identical frames. A
    `transactional` business has the same accounts, technologies and signals as a subscription
    one with the same seed, but sells in repeat orders: no revenue table, `labels.mode: bookings`.
    """
    if accounts < 1:
        raise ValueError(f"accounts must be at least 1 (got {accounts})")
    if business not in BUSINESSES:
        raise ValueError(f"business must be one of {', '.join(BUSINESSES)} (got {business!r})")
    rng = np.random.default_rng(seed)
    first_day = date(as_of.year - 4, 1, 1)
    start, end = _day(first_day), _day(as_of)
    acc = _latent_accounts(rng, accounts, start, end)
    acc |= _tech_stack(rng, acc, end)
    acc["logit"] = _fit_logit(rng, acc)
    acc["mrr0"] = _mrr0(rng, acc["employees"], acc["logit"])
    acc |= _signal_events(np.random.default_rng([seed, 4]), acc, end)
    acc |= _deals(rng, acc, end)
    acc |= _triggered_deals(np.random.default_rng([seed, 5]), acc, end)
    cust = _customers(rng, acc, end)
    errors = _recording_errors(np.random.default_rng([seed, 3]), cust)
    ids = np.array([f"ACC-{i + 1:06d}" for i in range(accounts)], dtype=object)
    tables = {
        "accounts": _accounts_table(rng, acc, ids, as_of.year),
        "technologies": _technologies_table(rng, acc, cust, ids, end),
        "opportunities": _opportunities_table(rng, acc, cust, ids),
        "revenue": _revenue_table(rng, cust, ids, errors),
        "signals": _signals_table(acc, ids),
    }
    if business == "transactional":
        from icpfit.features.sample_orders import transactional  # it builds on this module

        return transactional(seed, acc, cust, ids, tables, first_day, as_of)
    fit = _true_fit(np.random.default_rng([seed, 1]), acc, _ltv_threshold(cust, end))
    truth = _truth(acc, cust, ids, fit, errors)
    drivers = _drivers(first_day, as_of) | {"revenue_errors": _revenue_errors_driver()}
    return SampleExport(tables, _config(as_of), truth, drivers)


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _dates(days: np.ndarray) -> pd.DatetimeIndex:
    """Day numbers to dates; negative day numbers mean 'no date' (NaT)."""
    days = np.asarray(days, dtype=float)
    return pd.to_datetime(np.where(days >= 0, days, np.nan), unit="D")


def _month(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    return np.asarray(months).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _names(values, index: np.ndarray) -> np.ndarray:
    return np.array(list(values), dtype=object)[index]


def _choice_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (not necessarily normalised) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    picks = (rng.random((len(weights), 1)) * cum[:, -1:] > cum).sum(axis=1)
    return np.minimum(picks, weights.shape[1] - 1)


def _latent_accounts(rng: np.random.Generator, n: int, start: int, end: int) -> Arrays:
    """True attributes before any enrichment gap; entries grow slightly over time."""
    entry = start + np.floor((end - start) * rng.random(n) ** 0.8).astype(np.int64)
    b2c = rng.random(n) < 0.08
    shares = np.array([[v[0] for v in INDUSTRIES.values()], [v[1] for v in INDUSTRIES.values()]])
    industry = _choice_rows(rng, shares[b2c.astype(int)])
    names = _names(INDUSTRIES, industry)
    public = np.isin(names, ["Government", "Education"]) & ~b2c
    techy = np.isin(names, ["Software", "Fintech"])
    log_emp = np.where(b2c, np.log(40), np.log(140)) + 0.6 * public + 1.5 * rng.standard_normal(n)
    employees = np.clip(np.round(np.exp(log_emp)), 1, 300_000)
    size_z = (np.log(employees) - np.log(140)) / 1.5
    weights = np.array([w for _, w in COUNTRIES.values()])
    return {
        "entry": entry,
        "s": (entry - start) / (end - start),
        "b2c": b2c,
        "industry": industry,
        "public": public,
        "techy": techy,
        "employees": employees,
        "size_z": size_z,
        "funding": _funding_stage(rng, size_z, techy, public),
        "country": rng.choice(len(weights), size=n, p=weights / weights.sum()),
        "web_z": rng.standard_normal(n),
        "growth_z": rng.standard_normal(n),
        "stack_z": rng.standard_normal(n) + 0.8 * techy,
    }


def _funding_stage(
    rng: np.random.Generator, size_z: np.ndarray, techy: np.ndarray, public: np.ndarray
) -> np.ndarray:
    base = np.array([1.0, -0.3, -0.2, -0.6, -1.1, -1.8, -1.2, -1.8])
    by_size = np.array([-0.3, -0.9, -0.3, 0.2, 0.5, 0.8, 0.6, 1.3])
    by_tech = np.array([-1.0, 0.5, 0.6, 0.6, 0.5, 0.4, 0.0, 0.0])
    logits = base + np.outer(size_z, by_size) + np.outer(techy, by_tech)
    return np.where(public, 0, _choice_rows(rng, np.exp(logits)))


def _tech_stack(rng: np.random.Generator, acc: Arrays, end: int) -> Arrays:
    """Who uses what since when: mostly from before first contact, 15% adopted afterwards."""
    spec = np.array([v[1:] for v in TECHNOLOGIES.values()])
    latent = np.column_stack(
        [np.ones(len(acc["entry"])), acc["size_z"], acc["stack_z"], acc["b2c"]]
    )
    has = rng.random((len(latent), len(spec))) < _sigmoid(latent @ spec.T)
    entry = acc["entry"][:, None]
    before = entry - np.ceil(rng.exponential(700, has.shape)).astype(np.int64)
    after = entry + 1 + np.floor(rng.random(has.shape) * (end - entry)).astype(np.int64)
    first_seen = np.where(rng.random(has.shape) < 0.15, after, before)
    known = rng.random(len(entry)) >= _sigmoid(-1.1 - 0.4 * acc["size_z"])
    return {"has": has, "first_seen": first_seen, "known_stack": known}


def _fit_logit(rng: np.random.Generator, acc: Arrays) -> np.ndarray:
    """The planted ICP in log-odds at each account's entry date, from its true attributes."""
    s = acc["s"]
    industry = np.array([v[2:] for v in INDUSTRIES.values()])[acc["industry"]]
    band = np.array(EMPLOYEE_EFFECTS)[np.digitize(acc["employees"], EMPLOYEE_EDGES)]
    stage = np.array([STAGE_EFFECTS.get(name, (0.0, 0.0)) for name in STAGES])[acc["funding"]]
    logit = FIT_INTERCEPT + _drifting(industry, s) + _drifting(band, s) + _drifting(stage, s)
    at_entry = acc["has"] & (acc["first_seen"] <= acc["entry"][:, None])
    for tech, effect in TECH_EFFECTS.items():
        logit += at_entry[:, list(TECHNOLOGIES).index(tech)] * _drifting(np.array(effect), s)
    logit += WEB_EFFECT * acc["web_z"] + B2C_EFFECT * acc["b2c"]
    logit += _interactions(acc, at_entry)
    return logit + LATENT_SD * rng.standard_normal(len(s))


def _drifting(effects: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Effects given as (at the start, at as_of) for entries at fraction `s` of the entry window."""
    moved = np.clip((s - DRIFT[0]) / (DRIFT[1] - DRIFT[0]), 0.0, 1.0)
    return effects[..., 0] * (1 - moved) + effects[..., 1] * moved


def _interactions(acc: Arrays, at_entry: np.ndarray) -> np.ndarray:
    """Effects that exist only together, as real ICPs have (and a linear model cannot see)."""
    names = list(INDUSTRIES)
    digital = np.isin(acc["industry"], [names.index(n) for n in DIGITAL_INDUSTRIES])
    data_stack = at_entry[:, [list(TECHNOLOGIES).index(t) for t in DATA_STACK]].any(axis=1)
    small = acc["employees"] < SMALL_HEALTHCARE
    healthcare = acc["industry"] == names.index("Healthcare")
    return INTERACTIONS["data_stack_in_digital"] * (digital & data_stack) + INTERACTIONS[
        "small_healthcare"
    ] * (healthcare & small)


def _price(employees: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """Typical first MRR: grows with size, and good fits buy bigger plans."""
    return 120 * employees**0.25 * np.exp(0.45 * logit)


def _mrr0(rng: np.random.Generator, employees: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """Log-logistic around the typical price, so that P(LTV above a cut) has a closed form."""
    return np.round(_price(employees, logit) * np.exp(rng.logistic(0.0, PRICE_SCALE, len(logit))))


def _rates(logit: np.ndarray, b2c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly churn hazard in year one, and the chances of an upsell or a downgrade a month."""
    hazard = _sigmoid(-3.1 - 0.75 * logit + 2.2 * b2c)
    return hazard, _sigmoid(-3.2 + 0.6 * logit - 1.0 * b2c), _sigmoid(-3.1 - 0.5 * logit)


def _deals(rng: np.random.Generator, acc: Arrays, end: int) -> Arrays:
    """A first opportunity (stage 0 won, 1 lost, 2 open) and for 20% of lost ones a second try.

    The random draws are kept (`draws`) so that `_triggered_deals` can move the first
    opportunity and replay the same funnel from its new date.
    """
    n, logit = len(acc["entry"]), acc["logit"]
    wants = rng.random(n) < _sigmoid(-0.1 + 0.5 * logit)
    planned = acc["entry"] + 7 + rng.exponential(100, n).astype(np.int64)
    cycle = 20 + (rng.lognormal(np.log(50), 0.5, n) * np.exp(0.2 * acc["size_z"])).astype(np.int64)
    draws = {
        "cycle": cycle,
        "win": rng.random(n),
        "wait2": 90 + rng.integers(0, 300, n),
        "retry": rng.random(n),
        "win2": rng.random(n),
    }
    acc = acc | {"draws": draws, "wants": wants}
    created = np.where(wants & (planned <= end), planned, -1)
    return {"wants": wants, "draws": draws} | _deals_from(acc, created, end)


def _deals_from(acc: Arrays, created: np.ndarray, end: int) -> Arrays:
    """The funnel from each account's first opportunity date (-1: none) and its kept draws."""
    draws, logit = acc["draws"], acc["logit"]
    cycle = draws["cycle"]
    p_win = _sigmoid(-0.5 + 0.7 * logit + 1.0 * acc["b2c"])
    stage = np.where(created + cycle > end, 2, (draws["win"] >= p_win).astype(int))
    close = np.where((created >= 0) & (stage < 2), created + cycle, -1)
    created2 = close + draws["wait2"]
    retry = (stage == 1) & (close >= 0) & (draws["retry"] < 0.2) & (created2 <= end)
    created2 = np.where(retry, created2, -1)
    stage2 = np.where(created2 + cycle > end, 2, (draws["win2"] >= p_win).astype(int))
    close2 = np.where(retry & (stage2 < 2), created2 + cycle, -1)
    won = (created >= 0) & (stage == 0)
    return {
        "created": created,
        "close": close,
        "stage": stage,
        "created2": created2,
        "close2": close2,
        "stage2": stage2,
        "acq": np.where(won, close, np.where(retry & (stage2 == 0), close2, -1)),
        "p_deal": p_win + (1 - p_win) * 0.2 * p_win,
    }


def _growth(rng: np.random.Generator, up: np.ndarray, down: np.ndarray, months: int) -> np.ndarray:
    """MRR relative to the first month if the customer never churned: upsells of 10-50%,
    downgrades of 10-35%."""
    u, size = rng.random((len(up), months)), rng.random((len(up), months))
    upsell = (u < up[:, None]) * (0.1 + 0.4 * size)
    downgrade = (u > 1 - down[:, None]) * (0.1 + 0.25 * size)
    factor = 1 + upsell - downgrade
    factor[:, 0] = 1.0
    return np.cumprod(factor, axis=1)


def _customers(rng: np.random.Generator, acc: Arrays, end: int) -> Arrays:
    """Revenue from the acquisition month (the next one for deals closed after the 20th)."""
    idx = np.flatnonzero(acc["acq"] >= 0)
    acq = acc["acq"][idx]
    late = acq - _month_start(_month(acq)) >= 20
    first = np.minimum(_month(acq) + late, _month(end))
    shown = _month(end) - first + 1
    hazard, up, down = _rates(acc["logit"][idx], acc["b2c"][idx])
    growth = _growth(rng, up, down, int(shown.max(initial=1)))
    paths = np.round(acc["mrr0"][idx, None] * growth)
    churn = rng.geometric(hazard)
    churn = np.where(churn >= WINDOW, WINDOW - 1 + rng.geometric(0.6 * hazard), churn)
    month = np.arange(paths.shape[1])
    paying = (month < churn[:, None]) & (month < shown[:, None])
    return {
        "idx": idx,
        "acq": acq,
        "first": first,
        "shown": shown,
        "churn": churn,
        "paths": paths,
        "paying": paying,
    }


def _ltv_threshold(cust: Arrays, end: int) -> float:
    """The top-20% cut of 12-month LTV among customers whose window is over."""
    ltv = (cust["paths"][:, :WINDOW] * cust["paying"][:, :WINDOW]).sum(axis=1)
    matured = cust["acq"] + 366 <= end
    return float(np.quantile(ltv[matured], 0.8)) if matured.any() else 0.0


def _true_fit(rng: np.random.Generator, acc: Arrays, threshold: float) -> np.ndarray:
    """P(an account in a sales cycle becomes ideal) = P(won) x P(paying in month 12) x
    P(12-month LTV in the top 20% and no net downgrade), the last averaged over simulated
    upsell paths with the price noise integrated out."""
    hazard, up, down = _rates(acc["logit"], acc["b2c"])
    price = _price(acc["employees"], acc["logit"])
    hits = np.empty(len(hazard))
    for lo in range(0, len(hazard), 4096):
        part = slice(lo, lo + 4096)
        growth = _growth(
            rng, np.repeat(up[part], MC_DRAWS), np.repeat(down[part], MC_DRAWS), WINDOW
        )
        ltv = np.repeat(price[part], MC_DRAWS) * growth.sum(axis=1)
        above = _sigmoid(np.log(ltv / max(threshold, 1.0)) / PRICE_SCALE)
        hits[part] = (above * (growth[:, -1] >= 1)).reshape(-1, MC_DRAWS).mean(axis=1)
    return acc["p_deal"] * (1 - hazard) ** (WINDOW - 1) * hits


def _accounts_table(
    rng: np.random.Generator, acc: Arrays, ids: np.ndarray, year: int
) -> pd.DataFrame:
    """What an enrichment provider shows: the true values with the gaps in GAPS."""
    emp, funding, techy = acc["employees"], acc["funding"], acc["techy"]
    noise = rng.standard_normal((4, len(ids)))
    age = np.exp(2.2 + 0.3 * acc["size_z"] - 0.4 * techy + 0.6 * noise[0])
    owner = np.select([acc["public"], funding == 6, funding == 7, funding > 0], [4, 2, 3, 1], 0)
    b2b = np.where(rng.random(len(ids)) < 0.05, "B2B2C", "B2B")
    web = np.exp(4 + 0.55 * np.log(emp) + 0.8 * acc["web_z"] + acc["b2c"])
    jobs = rng.poisson(0.015 * emp * np.exp(0.6 * acc["growth_z"] + 0.3 * noise[1]))
    revenue = emp * np.exp(np.log(150_000) + 0.4 * techy + 0.5 * noise[2])
    raised = np.array(FUNDING_MEDIAN)[funding] * np.exp(0.6 * noise[3])
    frame = pd.DataFrame(
        {
            "account_id": ids,
            "industry": _names(INDUSTRIES, acc["industry"]),
            "employees": emp,
            "annual_revenue": np.round(revenue, -4),
            "country": _names(COUNTRIES, acc["country"]),
            "region": _names((r for r, _ in COUNTRIES.values()), acc["country"]),
            "founded_year": np.minimum(year - np.round(age), _dates(acc["entry"]).year.to_numpy()),
            "funding_stage": _names(STAGES, funding),
            "total_funding": np.round(raised, -5),
            "ownership": _names(OWNERSHIP, owner),
            "business_model": np.where(acc["b2c"], "B2C", b2b).astype(object),
            "web_visits_monthly": np.round(web),
            "open_job_postings": jobs.astype(float),
        }
    )
    for columns, share in GAPS.items():
        frame.loc[rng.random(len(frame)) < share, list(columns)] = np.nan
    return frame


def _trap(rng: np.random.Generator, acc: Arrays, cust: Arrays, end: int) -> Arrays:
    """The seller's own tag: customers install it after buying, the likelier the longer they
    stay and grow; about 1% of everyone else has it too (trials, partners)."""
    tenure = np.minimum(cust["churn"], cust["shown"])
    last = cust["paths"][np.arange(len(tenure)), np.maximum(tenure - 1, 0)]
    pace = tenure * (1 + 0.5 * (last > cust["paths"][:, 0])) / 15
    span = np.minimum(tenure * 30, end - cust["acq"])
    adopt = (rng.random(len(span)) < 1 - 0.95 * np.exp(-pace)) & (span > 1)
    delay = np.floor(rng.random(len(span)) * np.minimum(span - 1, 120)).astype(np.int64)
    others = np.flatnonzero((acc["acq"] < 0) & (rng.random(len(acc["acq"])) < 0.01))
    entry = acc["entry"][others]
    seen = entry + np.floor(rng.random(len(others)) * (end - entry + 1)).astype(np.int64)
    return {
        "who": np.concatenate([cust["idx"][adopt], others]),
        "when": np.concatenate([(cust["acq"] + 1 + delay)[adopt], seen]),
    }


def _technologies_table(
    rng: np.random.Generator, acc: Arrays, cust: Arrays, ids: np.ndarray, end: int
) -> pd.DataFrame:
    """Long format; accounts whose stack the provider does not know get no rows at all."""
    rows, cols = np.nonzero(acc["has"])
    trap = _trap(rng, acc, cust, end)
    who = np.concatenate([rows, trap["who"]])
    what = np.concatenate([_names(TECHNOLOGIES, cols), np.full(len(trap["who"]), TRAP, object)])
    when = np.concatenate([acc["first_seen"][rows, cols], trap["when"]])
    keep = np.flatnonzero(acc["known_stack"][who])
    keep = keep[np.lexsort((when[keep], who[keep]))]
    return pd.DataFrame(
        {"account_id": ids[who[keep]], "technology": what[keep], "first_seen": _dates(when[keep])}
    )


def _deal_rows(who: np.ndarray, created, close, stage, amount, kind) -> Arrays:
    """One block of opportunities; scalar stage or kind apply to every row."""
    names = ("who", "created", "close", "stage", "amount", "kind")
    columns = (who, created, close, stage, amount, kind)
    return {name: np.broadcast_to(c, who.shape) for name, c in zip(names, columns, strict=True)}


def _new_deals(acc: Arrays, months: int = 12, digits: int = -2) -> list[Arrays]:
    """New-business opportunities, sized at `months` of the first MRR."""
    parts = []
    for suffix in ("", "2"):
        i = np.flatnonzero(acc["created" + suffix] >= 0)
        amount = np.round(months * acc["mrr0"][i], digits)
        columns = (acc[key + suffix][i] for key in ("created", "close", "stage"))
        parts.append(_deal_rows(i, *columns, amount, 0))
    return parts


def _customer_deals(rng: np.random.Generator, cust: Arrays) -> list[Arrays]:
    """A won expansion at each upsell; a renewal at each anniversary, lost when it churns."""
    paths, month, acq = cust["paths"], np.arange(cust["paths"].shape[1]), cust["acq"]
    ci, j = np.nonzero(cust["paying"][:, 1:] & (paths[:, 1:] > paths[:, :-1]))
    j += 1
    close = _month_start(cust["first"][ci] + j) - rng.integers(1, 21, len(ci))
    close = np.maximum(close, acq[ci] + 1)
    created = np.maximum(close - rng.integers(14, 61, len(ci)), acq[ci])
    delta = 12 * (paths[ci, j] - paths[ci, j - 1])
    upsells = _deal_rows(cust["idx"][ci], created, close, 0, delta, 1)
    due = (month % WINDOW == 0) & (month > 0) & (month < cust["shown"][:, None])
    ri, k = np.nonzero(due & (month <= cust["churn"][:, None]))
    close = _month_start(cust["first"][ri] + k) - rng.integers(1, 26, len(ri))
    created = close - rng.integers(30, 91, len(ri))
    lost = (k == cust["churn"][ri]).astype(int)
    renewals = _deal_rows(cust["idx"][ri], created, close, lost, 12 * paths[ri, k - 1], 2)
    return [upsells, renewals]


def _opportunities_table(
    rng: np.random.Generator, acc: Arrays, cust: Arrays, ids: np.ndarray
) -> pd.DataFrame:
    return _deal_frame(_new_deals(acc) + _customer_deals(rng, cust), ids, DEAL_KINDS)


def _deal_frame(parts: list[Arrays], ids: np.ndarray, kinds: tuple[str, ...]) -> pd.DataFrame:
    """The opportunities table from blocks of deals, ordered by creation date and account."""
    deals = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.lexsort((deals["kind"], deals["who"], deals["created"]))
    return pd.DataFrame(
        {
            "opportunity_id": np.array(
                [f"OPP-{i + 1:07d}" for i in range(len(order))], dtype=object
            ),
            "account_id": ids[deals["who"][order]],
            "stage": _names(("won", "lost", "open"), deals["stage"][order]),
            "created_date": _dates(deals["created"][order]),
            "close_date": _dates(deals["close"][order]),
            "amount": deals["amount"][order].astype(float),
            "type": _names(kinds, deals["kind"][order]),
        }
    )


def _recording_errors(rng: np.random.Generator, cust: Arrays) -> Arrays:
    """Per customer, how the billing export misrecords it: kind 0 not at all, 1 every amount in
    cents, 2 the paying months [gap_from, gap_to) missing (a run of one to three)."""
    n, cents, gaps = len(cust["idx"]), *REVENUE_ERRORS.values()
    u = rng.random(n)
    kind = np.select([u < cents, u < cents + gaps], [1, 2], 0)
    gap_from = np.floor(rng.random(n) * cust["paying"].sum(axis=1)).astype(np.int64)
    return {"kind": kind, "gap_from": gap_from, "gap_to": gap_from + rng.integers(1, 4, n)}


def _revenue_table(
    rng: np.random.Generator, cust: Arrays, ids: np.ndarray, errors: Arrays
) -> pd.DataFrame:
    """One row per paying month; ~2% of months also carry a credit note (a partial refund).
    Customers with recording errors have their rows scaled or missing as `errors` says."""
    ci, j = np.nonzero(cust["paying"])
    mrr = cust["paths"][ci, j]
    refund = np.flatnonzero(rng.random(len(ci)) < 0.02)
    credit = -np.round(mrr[refund] * rng.uniform(0.05, 0.6, len(refund)), 2)
    ci, j, mrr = np.r_[ci, ci[refund]], np.r_[j, j[refund]], np.r_[mrr, credit]
    kind = errors["kind"][ci]
    mrr = np.where(kind == 1, CENTS * mrr, mrr)
    gap = (kind == 2) & (j >= errors["gap_from"][ci]) & (j < errors["gap_to"][ci])
    ci, j, mrr = ci[~gap], j[~gap], mrr[~gap]
    who, month = cust["idx"][ci], cust["first"][ci] + j
    order = np.lexsort((np.arange(len(who)), month, who))
    return pd.DataFrame(
        {
            "account_id": ids[who[order]],
            "month": _dates(_month_start(month[order])),
            "mrr": mrr[order],
        }
    )


def _signal_events(rng: np.random.Generator, acc: Arrays, end: int) -> Arrays:
    """Buying signals from a year before first contact until as_of, more frequent for good fits:
    who, kind (index into SIGNALS), day and value of each, ordered by account, day and kind."""
    funding = acc["funding"]
    rates = np.column_stack(
        [
            0.02 + 0.2 * ((funding >= 1) & (funding <= 5)),
            0.25 * np.exp(0.2 * acc["size_z"]),
            0.2 * np.exp(0.6 * acc["growth_z"]),
            0.35 * np.exp(0.5 * acc["stack_z"]),
        ]
    )
    since = acc["entry"] - 365
    rates *= (np.exp(0.25 * acc["logit"]) * (end - since) / 365.25)[:, None]
    counts = rng.poisson(rates)
    who, kind = np.divmod(np.repeat(np.arange(counts.size), counts.ravel()), len(SIGNALS))
    day = since[who] + np.floor(rng.random(len(who)) * (end - since[who] + 1)).astype(np.int64)
    typical = 0.4 * np.array(FUNDING_MEDIAN)[np.maximum(funding[who], 1)]
    raised = typical * rng.lognormal(0, 0.5, len(who))
    extra = (3.0 + rng.poisson(8, len(who)), 1.0 + rng.poisson(0.5, len(who)))
    value = np.select([kind == 0, kind == 2, kind == 3], [np.round(raised, -5), *extra], 1.0)
    order = np.lexsort((kind, day, who))
    return {
        "signal_who": who[order],
        "signal_kind": kind[order],
        "signal_day": day[order],
        "signal_value": value[order],
    }


def _triggered_deals(rng: np.random.Generator, acc: Arrays, end: int) -> Arrays:
    """Signals bring opportunities forward, for good and bad fits alike (TIMING).

    Each signal an account gets after its first contact opens a sales cycle soon after it (a few
    days plus an exponential wait of TIMING["days"]) with chance TIMING["pull"] for an account
    that would have bought anyway, and TIMING["spark"] for one that would not have. The first
    opportunity is the earliest of its planned date and the cycles its signals opened; only the
    first opportunity moves, so the funnel after it (win, revenue) is unchanged.
    """
    who, day = acc["signal_who"], acc["signal_day"]
    entry, created = acc["entry"], acc["created"]
    wants = acc["wants"]
    after_contact = day >= entry[who]
    chance = np.where(wants[who], TIMING["pull"], TIMING["spark"])
    opens = after_contact & (rng.random(len(who)) < chance)
    opened = day + 3 + np.floor(rng.exponential(TIMING["days"], len(who))).astype(np.int64)
    earliest = np.full(len(entry), np.iinfo(np.int64).max)
    np.minimum.at(earliest, who[opens], opened[opens])
    trigger = np.full(len(entry), -1)
    first = opens & (opened == earliest[who])
    trigger[who[first]] = day[first]
    planned = np.where(created >= 0, created, np.iinfo(np.int64).max)
    moved = (earliest < planned) & (earliest <= end)
    if not moved.any():
        return {"trigger": np.full(len(entry), -1)}
    return _deals_from(acc, np.where(moved, earliest, created), end) | {
        "trigger": np.where(moved, trigger, -1)
    }


def _signals_table(acc: Arrays, ids: np.ndarray) -> pd.DataFrame:
    """The signals table of `_signal_events`."""
    return pd.DataFrame(
        {
            "account_id": ids[acc["signal_who"]],
            "date": _dates(acc["signal_day"]),
            "signal_type": _names(SIGNALS, acc["signal_kind"]),
            "value": acc["signal_value"],
        }
    )


def _truth(
    acc: Arrays, cust: Arrays, ids: np.ndarray, fit: np.ndarray, errors: Arrays | None = None
) -> pd.DataFrame:
    has = {stage: (acc["stage"] == stage) & (acc["created"] >= 0) for stage in (1, 2)}
    has = {stage: has[stage] | ((acc["stage2"] == stage) & (acc["created2"] >= 0)) for stage in has}
    gone = cust["churn"] < cust["shown"]
    churned = np.full(len(ids), -1)
    churned[cust["idx"][gone]] = _month_start(cust["first"][gone] + cust["churn"][gone])
    misrecorded = np.full(len(ids), None, dtype=object)
    if errors is not None:
        named = np.array([None, "in_cents", "missing_months"], dtype=object)[errors["kind"]]
        misrecorded[cust["idx"]] = named
    return pd.DataFrame(
        {
            "account_id": ids,
            "true_fit": fit,
            "fit_logit": acc["logit"],
            "entry_date": _dates(acc["entry"]),
            "segment": np.where(acc["b2c"], "B2C", "B2B").astype(object),
            "industry": _names(INDUSTRIES, acc["industry"]),
            "employees": acc["employees"],
            "outcome": np.select(
                [acc["acq"] >= 0, has[1], has[2]], ["customer", "lost", "open"], "prospect"
            ).astype(object),
            "acquisition_date": _dates(acc["acq"]),
            "first_opportunity_date": _dates(acc["created"]),
            "trigger_date": _dates(acc["trigger"]),
            "churn_month": _dates(churned),
            "known_stack": acc["known_stack"],
            "revenue_error": misrecorded,
        }
    )


def _feature_name(technology: str) -> str:
    return "tech_" + slug(technology)


def _config(as_of: date) -> dict:
    categories = {tech: spec[0] for tech, spec in TECHNOLOGIES.items()} | {TRAP: "Tag management"}
    firmographic = {
        "categorical": ["industry", "country", "region", "funding_stage", "ownership"],
        "numeric": ["employees", "annual_revenue", "founded_year", "total_funding"],
    }
    return {
        "data": {table: f"{table}.csv" for table in TABLES},
        "stages": {"won": ["won"], "lost": ["lost"], "open": ["open"]},
        "as_of": as_of.isoformat(),
        "labels": {"window_months": WINDOW, "top_ltv_share": 0.2, "min_expansion": 1.0},
        "features": {
            "firmographic": firmographic,
            "technographic": {"technologies": True, "categories": categories},
            "behavioral": {"numeric": ["web_visits_monthly", "open_job_postings"], "signals": True},
            "labels": {
                "annual_revenue": "Annual revenue",
                "founded_year": "Founded",
                "total_funding": "Total funding raised",
                "web_visits_monthly": "Web visits per month",
                "open_job_postings": "Open job postings",
            },
        },
        "disqualifiers": [
            {"column": "business_model", "equals": "B2C", "reason": "B2C business model"},
            {"column": "employees", "less_than": 10, "reason": "Fewer than 10 employees"},
        ],
        "tiers": {"A": 0.1, "B": 0.2, "C": 0.3},
        "model": {"params": {}, "seed": 42},
        "registry": {"experiment": "icp-fit", "model_name": "icp-fit"},
    }


def _effects(at: float) -> dict[str, float]:
    """Planted fit effects in log-odds at fraction `at` of the drift (0 before, 1 after it)."""

    def mix(first: float, last: float) -> float:
        return round(first + (last - first) * at, 3)

    effects = {f"industry={name}": mix(*spec[2:]) for name, spec in INDUSTRIES.items()}
    bands = zip((0, *EMPLOYEE_EDGES), (*EMPLOYEE_EDGES, None), EMPLOYEE_EFFECTS, strict=True)
    effects |= {
        f"employees={lo}-{hi - 1}" if hi else f"employees>={lo}": mix(*e) for lo, hi, e in bands
    }
    effects |= {f"funding_stage={stage}": mix(*effect) for stage, effect in STAGE_EFFECTS.items()}
    effects |= {_feature_name(tech): mix(*spec) for tech, spec in TECH_EFFECTS.items()}
    return effects | {"web_visits_monthly": WEB_EFFECT, "business_model=B2C": B2C_EFFECT}


def _drivers(start: date, end: date) -> dict:
    first, last = _effects(0.0), _effects(1.0)
    moves = [start + (end - start) * share for share in DRIFT]
    return {
        "entry_window": {"start": start.isoformat(), "end": end.isoformat()},
        "unit": "log-odds added to the fit logit at the account's entry date",
        "drift": {
            "from": moves[0].isoformat(),
            "to": moves[1].isoformat(),
            "how": "each effect in `shifts` is at its start value for entries up to `from`, "
            "moves linearly to its end value by `to` and stays there until as_of",
        },
        "true_fit": "P(an account in a sales cycle becomes an ideal customer), at its entry date",
        "effects_at_start": first,
        "effects_at_end": last,
        "shifts": {
            key: {"start": first[key], "end": last[key]} for key in first if first[key] != last[key]
        },
        "positive": [key for key, effect in last.items() if effect >= 0.5],
        "negative": [key for key, effect in last.items() if effect <= -0.5],
        "features": sorted({key.split("=")[0].split(">")[0] for key in last}),
        "web_visits_monthly": "effect per standard deviation of log visits at a given size",
        "latent_noise_sd": LATENT_SD,
        "interactions": {
            "data_stack_in_digital": {
                "effect": INTERACTIONS["data_stack_in_digital"],
                "when": f"industry in {list(DIGITAL_INDUSTRIES)} AND uses "
                f"{' or '.join(DATA_STACK)}",
            },
            "small_healthcare": {
                "effect": INTERACTIONS["small_healthcare"],
                "when": f"industry = Healthcare AND employees < {SMALL_HEALTHCARE}",
            },
        },
        "leakage_trap": {
            "technology": TRAP,
            "feature": _feature_name(TRAP),
            "how": "customers adopt it after acquisition, more often the longer they stay; "
            "~1% of non-customers have it",
        },
        "b2c_disqualifier": {
            "column": "business_model",
            "equals": "B2C",
            "share": 0.08,
            "how": "buys sometimes, churns fast",
        },
        "timing": {
            "how": "each signal after first contact opens a sales cycle (a first opportunity "
            f"3 days plus an exponential wait of mean {TIMING['days']:g} days after it) with "
            f"chance {TIMING['pull']:g} for an account that would have had an opportunity anyway "
            f"and {TIMING['spark']:g} for one that would not; the earliest of these and the "
            "planned date is the first opportunity",
            "truth": "truth.trigger_date is the signal that opened the account's first "
            "opportunity (blank when it came on its planned date); "
            "truth.first_opportunity_date is that opportunity's creation date",
            "signal_types": list(SIGNALS),
        },
        "late_technologies": "15% of technology rows are first seen after the account's entry; "
        "they did not count towards its fit",
    }


def _revenue_errors_driver() -> dict:
    """Label noise of the subscription sample: its revenue table, not its truth."""
    return {
        "in_cents": {
            "share_of_customers": REVENUE_ERRORS["in_cents"],
            "how": f"every revenue row of the customer is {CENTS}x its amount (billed in cents)",
        },
        "missing_months": {
            "share_of_customers": REVENUE_ERRORS["missing_months"],
            "how": "a run of 1 to 3 consecutive paying months (and their credit notes) is absent",
        },
        "effect": "labels are read from these rows, so some customers look ideal, low-value or "
        "churned when they are not; true_fit and truth.outcome follow what really happened, and "
        "truth.revenue_error names each misrecorded customer's error",
    }
