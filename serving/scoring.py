"""Scoring raw account rows with a trained bundle: the one path every engine goes through.

The bundle is plain data saved with the model (feature specs, calibration, tier thresholds,
reference percentiles, disqualifier rules, the export's column names), so serving never needs
the training code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from icpfit.config import Disqualifier, FeatureDeclarations, TechStack
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.frame import FeatureSpec, build_feature_frame
from icpfit.features.technologies import tech_stack_to_long

SCORE_COLUMNS = [
    "account_id",
    "fit_probability",
    "fit_score",
    "fit_tier",
    "disqualified_reason",
    "data_coverage",
]


def specs_from_bundle(bundle: dict[str, Any]) -> tuple[FeatureSpec, ...]:
    return tuple(FeatureSpec(**{**s, "levels": tuple(s["levels"])}) for s in bundle["specs"])


def score_accounts(
    rows: pd.DataFrame, bundle: dict[str, Any], booster: lgb.Booster
) -> pd.DataFrame:
    """One output row per input row, in input order; duplicate or missing ids are kept."""
    renames = {export: canonical for canonical, export in bundle["accounts_columns"].items()}
    accounts = rows.rename(columns=renames).reset_index(drop=True)
    account_ids = (
        accounts["account_id"] if "account_id" in accounts else pd.Series([None] * len(accounts))
    )
    keyed = accounts.assign(account_id=[f"row{i}" for i in range(len(accounts))])
    specs = specs_from_bundle(bundle)
    declarations = FeatureDeclarations.model_validate(bundle["declarations"])
    stack = TechStack.model_validate(bundle["tech_stack"])
    technologies = tech_stack_to_long(keyed, stack)
    no_signals = pd.DataFrame(columns=["account_id", "date", "signal_type"])
    today = pd.Series(pd.Timestamp.now().normalize(), index=keyed["account_id"])
    features = build_feature_frame(keyed, technologies, no_signals, declarations, today, specs)
    features = _with_given_signal_counts(features, keyed, specs)
    margin = booster.predict(features.frame, raw_score=True, num_iteration=bundle["best_iteration"])
    calibration = bundle["calibration"]
    probability = 1 / (1 + np.exp(-(calibration["slope"] * margin + calibration["intercept"])))
    reference = np.asarray(bundle["reference_quantiles"])
    score = np.floor(100 * np.interp(probability, reference, np.linspace(0, 1, len(reference))))
    thresholds = bundle["tier_thresholds"]
    tier = np.select([probability >= thresholds[t] for t in ("A", "B", "C")], ["A", "B", "C"], "D")
    rules = [Disqualifier.model_validate(r) for r in bundle["disqualifiers"]]
    reason = disqualified_reason(keyed, rules)
    out = pd.DataFrame(
        {
            "account_id": account_ids.to_numpy(),
            "fit_probability": probability,
            "fit_score": score.astype(int),
            "fit_tier": tier.astype(object),
            "disqualified_reason": reason.to_numpy(),
            "data_coverage": features.data_coverage.to_numpy(),
        }
    )
    disqualified = out["disqualified_reason"].notna()
    out.loc[disqualified, "fit_tier"] = "X"
    out.loc[disqualified, "fit_score"] = 0
    return out


def _with_given_signal_counts(features, accounts: pd.DataFrame, specs: tuple[FeatureSpec, ...]):
    """Signal counts travel as columns of the account rows (named like the features)."""
    given = [s.name for s in specs if s.name.startswith("signals_") and s.name in accounts]
    if not given:
        return features
    counts = accounts.set_index("account_id")[given].apply(pd.to_numeric, errors="coerce")
    return replace(features, frame=features.frame.assign(**{c: counts[c] for c in given}))
