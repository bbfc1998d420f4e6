"""What the registered model carries: plain data that serving reads without training code."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig, TechStack
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.frame import FeatureSpec
from icpfit.features.pipeline import LabelledExport
from icpfit.training.fit import TrainingRun

REFERENCE_POINTS = 1001


def scoring_bundle(run: TrainingRun, prepared: LabelledExport, config: IcpConfig) -> dict[str, Any]:
    calibrator = run.model.calibrator_
    stack = config.tech_stack or TechStack()
    return {
        "specs": [asdict(s) for s in prepared.features.specs],
        "declarations": config.features.model_dump(mode="json"),
        "tech_stack": stack.model_dump(mode="json"),
        "accounts_columns": config.column_map("accounts"),
        "technologies_columns": config.column_map("technologies"),
        "signals_columns": config.column_map("signals"),
        "disqualifiers": [
            r.model_dump(mode="json", by_alias=True, exclude_none=True)
            for r in config.disqualifiers
        ],
        "best_iteration": int(run.model.best_iteration_),
        "used_features": used_features(run, prepared.features.specs),
        "calibration": {
            "slope": float(calibrator.coef_[0][0]),
            "intercept": float(calibrator.intercept_[0]),
        },
        "tier_thresholds": run.thresholds,
        "tier_shares": config.tiers.model_dump(mode="json"),
        "reference_quantiles": np.quantile(
            run.reference_sorted, np.linspace(0, 1, REFERENCE_POINTS)
        ).tolist(),
        "as_of": prepared.as_of.isoformat(),
        "profiles": customer_profiles(prepared, run.rows),
        "tier_a": median_a_account(run, prepared, config),
        "estimates": list(run.model.estimates),
        "recipe": asdict(run.recipe),
        "trained_through": run.trained_through.date().isoformat(),
        "tier_value": tier_value(run, prepared, config.tiers.model_dump()),
    }


CUSTOMER_COHORTS = ("ideal", "low_value", "churned")


def tier_value(
    run: TrainingRun, prepared: LabelledExport, shares: dict[str, float]
) -> dict[str, dict[str, Any]]:
    """The mean lifetime value of the backtest's customers by the tier their out-of-fold score
    put them in, with how many customers each mean rests on, and over all of them (`all`):
    what `icpfit queue --value ltv` expects an account of that tier to be worth once won.
    Tiers are cut by the configured shares within each fold's accounts (as the LTV-in-A+B
    metric is), not by the final model's thresholds, whose scale the fold models need not
    share. Out-of-fold, so no customer's value comes from a model that saw it."""
    scores = run.scores
    place = scores.groupby("fold", sort=False)["model"].rank(ascending=False, pct=True)
    bounds = np.cumsum([shares["A"], shares["B"], shares["C"]])
    tiers = np.select([place <= b for b in bounds], ["A", "B", "C"], "D")
    cohort = prepared.labels["cohort"].reindex(scores.index)
    customer = (cohort.isin(CUSTOMER_COHORTS) & scores["ltv"].notna()).to_numpy()
    ltv, tiers = scores["ltv"][customer], tiers[customer]

    def mean_of(values: pd.Series) -> dict[str, Any]:
        mean = float(values.mean()) if len(values) else None
        return {"mean_ltv": mean, "customers": int(len(values))}

    table = {tier: mean_of(ltv[tiers == tier]) for tier in ("A", "B", "C", "D")}
    return {**table, "all": mean_of(ltv)}


def median_a_account(
    run: TrainingRun, prepared: LabelledExport, config: IcpConfig
) -> dict[str, Any]:
    """The typical A-tier account, for `explain` to set an account beside: among the accounts
    the tiers were cut on (not disqualified), those the model puts in tier A; per feature the
    median number, the most common level, or whether most use a technology."""
    accounts = prepared.export.accounts.set_index("account_id")
    kept = disqualified_reason(accounts, config.disqualifiers).isna()
    X = prepared.features.frame.loc[kept[kept].index]
    a_tier = X[run.model.predict_proba(X) >= run.thresholds["A"]]
    values: dict[str, Any] = {}
    for spec in prepared.features.specs:
        column = a_tier[spec.name].dropna()
        if column.empty:
            continue
        if spec.kind == "categorical":
            values[spec.name] = str(column.astype(object).mode().iloc[0])
        elif spec.kind == "flag":
            values[spec.name] = float((column >= 0.5).mean() >= 0.5)
        else:
            values[spec.name] = float(column.median())
    return {"accounts": len(a_tier), "values": values}


def used_features(run: TrainingRun, specs: tuple[FeatureSpec, ...]) -> list[str]:
    """The features the booster splits on (its columns are the specs, in order): the inputs
    scoring must be given."""
    splits = run.model.booster_.feature_importance("split", iteration=run.model.best_iteration_)
    return [spec.name for spec, n in zip(specs, splits, strict=True) if n > 0]


def raw_account_rows(
    prepared: LabelledExport, config: IcpConfig, account_ids: pd.Index
) -> pd.DataFrame:
    """Accounts as the export has them, technologies (known at each account's reference date)
    joined as the delimited column and signal counts as columns: the model's input format."""
    stack = config.tech_stack or TechStack()
    frame = prepared.features.frame.loc[account_ids]
    flags = [s for s in prepared.features.specs if s.kind == "flag"]
    names = np.array([s.source for s in flags], dtype=object)
    present = frame[[s.name for s in flags]].to_numpy() == 1
    known = (
        frame["tech_count"].notna().to_numpy() if "tech_count" in frame else np.zeros(len(frame))
    )
    stacks = [
        stack.separator.join(names[row]) if ok else None
        for row, ok in zip(present, known, strict=True)
    ]
    signals = [s.name for s in prepared.features.specs if s.name.startswith("signals_")]
    accounts = prepared.export.accounts.set_index("account_id").loc[account_ids]
    accounts = accounts.drop(columns=[stack.column], errors="ignore")
    renames = config.column_map("accounts")
    rows = accounts.reset_index().assign(**{stack.column: stacks})
    rows = rows.assign(**{c: frame[c].to_numpy() for c in signals})
    return rows.rename(columns=renames)


MIN_LEVEL_ACCOUNTS = 20


def customer_profiles(prepared: LabelledExport, train_ids: pd.Index) -> dict[str, dict]:
    """What the best customers look like, per feature, for reasons in words at scoring time.

    Numeric and counts: the 10th-90th percentile range among ideal customers (`low`, `high`),
    and for counts the share with at least one (`some`). Categorical: levels whose ideal rate is
    at least 1.5x (`good`) or at most 0.5x (`rare`) the average, among levels with enough
    labelled accounts, and each level's share of ideal customers (`shares`). Technologies: the
    share of ideal customers using each (`share`). Every feature: the share of ideal customers
    whose value is known (`known`). Nothing is profiled from fewer than MIN_LEVEL_ACCOUNTS ideal
    customers. Learned on the model's training accounts.
    """
    X = prepared.features.frame.loc[train_ids]
    target = prepared.labels.loc[train_ids, "target"].astype(float)
    ideal = target == 1
    base = target.mean()
    profiles: dict[str, dict] = {}
    if ideal.sum() < MIN_LEVEL_ACCOUNTS:
        return profiles
    for spec in prepared.features.specs:
        values = X[spec.name]
        best_values = values[ideal]
        profile: dict = {"known": float(best_values.notna().mean())}
        if spec.kind == "categorical":
            rates = target.groupby(values.astype(object), dropna=True).agg(["mean", "size"])
            rates = rates[rates["size"] >= MIN_LEVEL_ACCOUNTS]
            shares = best_values.astype(object).dropna().value_counts(normalize=True)
            profile |= {
                "good": sorted(str(v) for v in rates.index[rates["mean"] >= 1.5 * base]),
                "rare": sorted(str(v) for v in rates.index[rates["mean"] <= 0.5 * base]),
                "shares": {str(level): float(shares.get(level, 0.0)) for level in spec.levels},
            }
        else:
            best = pd.to_numeric(best_values, errors="coerce").dropna()
            if len(best) >= MIN_LEVEL_ACCOUNTS:
                if spec.kind == "flag":
                    profile["share"] = float((best >= 0.5).mean())
                else:
                    low, high = np.quantile(best, [0.1, 0.9])
                    profile |= {"low": float(low), "high": float(high)}
                if spec.kind == "count":
                    profile["some"] = float((best > 0).mean())
        profiles[spec.name] = profile
    return profiles
