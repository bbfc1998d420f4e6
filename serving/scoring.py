"""Scoring raw account rows with a trained bundle: the one path every engine goes through.

The bundle is plain data saved with the model (feature specs, calibration, tier thresholds,
reference percentiles, disqualifier rules, the export's column names), so serving never needs
the training code.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from icpfit.config import Disqualifier, FeatureDeclarations, TechStack
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.frame import FeatureSpec, data_coverage, scoring_feature_frame
from icpfit.features.parsing import clean_text, not_finite, parse_numbers, unparsed
from icpfit.serving.estimates import apply_estimates
from icpfit.serving.inputs import ModelInputs, check_inputs, used_feature_names
from icpfit.serving.reasons import Wording, reason_columns
from icpfit.serving.scale import assign_tiers, fit_scores
from icpfit.serving.schema import SCORES, Provenance, empty_scored, stamp
from icpfit.serving.treeshap import TreeShap, booster_matrix

COVERAGE_DIGITS = 2
"""data_coverage is a share of a dozen attributes: two decimals say all of it."""


def specs_from_bundle(bundle: dict[str, Any]) -> tuple[FeatureSpec, ...]:
    return tuple(FeatureSpec(**{**s, "levels": tuple(s["levels"])}) for s in bundle["specs"])


def used_specs(bundle: dict[str, Any]) -> tuple[FeatureSpec, ...]:
    used = used_feature_names(bundle)
    return tuple(s for s in specs_from_bundle(bundle) if s.name in used)


def score_accounts(
    rows: pd.DataFrame,
    bundle: dict[str, Any],
    booster: lgb.Booster,
    reasons: int = 3,
    contributions: bool = False,
    explainer: TreeShap | None = None,
    provenance: Provenance = Provenance(),
) -> pd.DataFrame:
    """One output row per input row, in input order; duplicate or missing ids are kept.

    Reasons come from `explainer` (exact TreeSHAP, as LightGBM's pred_contrib but faster; built
    from the booster when not given). The raw score is the sum of the contributions, so a row's
    reasons always add up to its score.

    Blanks the bundle has an estimate for (`serving.estimates`; a blank headcount) are filled
    before the booster sees them, and reasons say so; `data_coverage` and the row errors read
    the values as given, so an estimated cell still counts as missing.

    A row that cannot be scored (no account id, a number that is not a number) keeps its
    account_id, gets `error`, and has the other columns empty. `provenance` names the model
    version on every row (`serving.schema` has the layout).
    """
    if rows.empty:
        return empty_scored(reasons, contributions)
    renames = {export: canonical for canonical, export in bundle["accounts_columns"].items()}
    accounts = rows.rename(columns=renames).reset_index(drop=True)
    account_ids = (
        id_text(accounts["account_id"])
        if "account_id" in accounts
        else pd.Series([None] * len(accounts))
    )
    keyed = accounts.assign(account_id=[f"row{i}" for i in range(len(accounts))])
    check_inputs(accounts.columns, ModelInputs.of(bundle))
    specs = specs_from_bundle(bundle)
    features = account_features(keyed, bundle, specs)
    frame, estimated = apply_estimates(features.frame, bundle.get("estimates", []))
    matrix = booster_matrix(frame, booster)
    if reasons > 0 or contributions:
        explainer = explainer or TreeShap.from_booster(booster, bundle["best_iteration"])
        values = explainer.contributions(matrix)
        margin, contrib = values.sum(axis=1), values[:, :-1]
    else:
        margin = booster.predict(matrix, raw_score=True, num_iteration=bundle["best_iteration"])
    out = _scores(features, keyed, bundle, margin).assign(account_id=account_ids.to_numpy())
    if reasons > 0 or contributions:
        if reasons > 0:
            profiles, wording = bundle.get("profiles", {}), Wording.of(bundle)
            words = reason_columns(contrib, frame, specs, profiles, reasons, estimated, wording)
            out = pd.concat([out, words.set_index(out.index)], axis=1)
        if contributions:
            names = [s.name for s in specs]
            out["contributions"] = [
                json.dumps(dict(zip(names, np.round(r, 6).tolist(), strict=True))) for r in contrib
            ]
    errors = _row_errors(accounts, specs, features.frame)
    out["error"] = errors.to_numpy()
    failed = errors.notna().to_numpy()
    keep = ["account_id", "error"]
    out.loc[failed, [c for c in out.columns if c not in keep]] = None
    out = out[[*SCORES, *(c for c in out.columns if c not in SCORES)]]
    numbers = {
        "fit_score": out["fit_score"].astype("Int64"),  # '76', not '76.0', beside error rows
        "data_coverage": out["data_coverage"].astype(float).round(COVERAGE_DIGITS),
    }
    text = [c for c in out.columns if c not in ("fit_probability", *numbers)]
    return stamp(out.assign(**numbers, **{c: _nullable_text(out[c]) for c in text}), provenance)


def _nullable_text(values: pd.Series) -> pd.Series:
    """Missing text as None, never NaN: Spark and JSON would otherwise write the string 'nan'."""
    as_object = values.astype(object)
    return as_object.where(values.notna(), None)


def account_features(keyed: pd.DataFrame, bundle: dict[str, Any], specs: tuple[FeatureSpec, ...]):
    declarations = FeatureDeclarations.model_validate(bundle["declarations"])
    stack = TechStack.model_validate(bundle["tech_stack"])
    features = scoring_feature_frame(keyed, stack, declarations, specs)
    return _with_given_signal_counts(features, keyed, specs)


def _scores(
    features, keyed: pd.DataFrame, bundle: dict[str, Any], margin: np.ndarray
) -> pd.DataFrame:
    calibration = bundle["calibration"]
    probability = 1 / (1 + np.exp(-(calibration["slope"] * margin + calibration["intercept"])))
    score = fit_scores(probability, bundle["reference_quantiles"])
    tier = assign_tiers(probability, bundle["tier_thresholds"])
    rules = [Disqualifier.model_validate(r) for r in bundle["disqualifiers"]]
    reason = disqualified_reason(keyed, rules).to_numpy()
    disqualified = pd.notna(reason)
    return pd.DataFrame(
        {
            "fit_probability": probability,
            "fit_score": np.where(disqualified, 0, score).astype(int),
            "fit_tier": np.where(disqualified, "X", tier).astype(object),
            "disqualified_reason": reason,
            "data_coverage": data_coverage(features.frame, used_specs(bundle)).to_numpy(),
        }
    )


def _row_errors(
    accounts: pd.DataFrame, specs: tuple[FeatureSpec, ...], frame: pd.DataFrame
) -> pd.Series:
    """Why a row cannot be scored, or missing: no account id, or a number that is not a finite
    number (`number_errors` on each numeric input and each signal count given as a column,
    against its feature in `frame`, parsed from it). The first problem of a row is its error."""
    errors = pd.Series(None, index=accounts.index, dtype=object)
    if "account_id" not in accounts:
        return errors.fillna("no account_id column")
    errors[clean_text(accounts["account_id"]).isna().to_numpy()] = "account_id is empty"
    for column, feature in _number_inputs(accounts.columns, specs):
        parsed = pd.Series(frame[feature].to_numpy(), index=accounts.index)
        errors = errors.where(errors.notna(), number_errors(column, accounts[column], parsed))
    return errors


def _number_inputs(columns: pd.Index, specs: tuple[FeatureSpec, ...]) -> list[tuple[str, str]]:
    """(input column, feature) for each number the rows carry: numeric attributes, and signal
    counts given as columns (named like their features)."""
    numeric = [(s.source, s.name) for s in specs if s.kind == "numeric" and s.source in columns]
    counts = [
        (s.name, s.name) for s in specs if s.name.startswith("signals_") and s.name in columns
    ]
    return [*numeric, *counts]


def number_errors(column: str, raw: pd.Series, parsed: pd.Series) -> pd.Series:
    """Per cell of a numeric input, why it is not a usable number, else None: 'inf', '-inf',
    'nan' written out, or a number too large for the model (`features.parsing.not_finite`, as
    training reads them) is not a finite number ("employees: 'inf' is not a finite number"); any
    other value that did not parse is not a number ("employees: 'lots' is not a number"). A
    blank cell is missing, not an error. `parsed`: `raw` as the features read it."""
    infinite = not_finite(raw).to_numpy(dtype=bool)
    unparseable = unparsed(raw, pd.Series(np.asarray(parsed), index=raw.index)).to_numpy()
    problem = np.select([infinite, unparseable], ["is not a finite number", "is not a number"], "")
    text = raw.astype("string").str.strip().fillna("")
    cells = [f"{column}: {v!r} {p}" if p else None for v, p in zip(text, problem, strict=True)]
    return pd.Series(cells, index=raw.index, dtype=object)


def id_text(values: pd.Series) -> pd.Series:
    """Account ids as text, as written: a Parquet integer id 12 becomes '12' (also when blanks
    made pandas hold the column as floats), text is kept as given, a blank stays missing."""
    if ptypes.is_float_dtype(values):
        known = values.dropna()
        if (known == known.round()).all() and (known.abs() < 2**53).all():
            values = values.astype("Int64")
    return values.astype("string").astype(object).where(values.notna().to_numpy(), None)


def _with_given_signal_counts(features, accounts: pd.DataFrame, specs: tuple[FeatureSpec, ...]):
    """Signal counts travel as columns of the account rows (named like the features)."""
    given = [s.name for s in specs if s.name.startswith("signals_") and s.name in accounts]
    if not given:
        return features
    counts = accounts.set_index("account_id")[given].apply(parse_numbers)
    return replace(features, frame=features.frame.assign(**{c: counts[c] for c in given}))
