"""The timing model's training rows from a labelled export and the fit models that score them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import partial

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig, TimingSettings
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.frame import FeatureSpec, build_feature_frame
from icpfit.features.pipeline import LabelledExport
from icpfit.features.snapshots import Snapshots, month_ends, timing_snapshots
from icpfit.features.snapshots_spark import spark_snapshots_of
from icpfit.features.validate import CrmExport
from icpfit.training.model import BoostedFit
from icpfit.training.timing import (
    FIT_FEATURE,
    NoTimingData,
    TimingRun,
    split_months,
    timing_frame,
    train_timing_model,
    trigger_types,
)

FitAsOf = Callable[[date], tuple[BoostedFit, tuple[FeatureSpec, ...]]]
"""A fit model trained as of a date (it has not seen later outcomes), with its feature specs."""


def level_types(signals: pd.DataFrame, settings: TimingSettings) -> tuple[str, ...]:
    """The configured level types (none unless configured), each with numeric values."""
    raw = signals["value"] if "value" in signals else pd.Series(np.nan, index=signals.index)
    valued = set(signals["signal_type"][pd.to_numeric(raw, errors="coerce").notna()].dropna())
    levels = tuple(dict.fromkeys(settings.levels))
    unread = [t for t in levels if t not in valued]
    if unread:
        raise NoTimingData(
            f"timing.levels: {', '.join(unread)} never occur with a numeric value in the signals "
            f"table (types with values: {', '.join(sorted(valued)) or 'none'}); fix: name "
            "types whose rows carry signals.value"
        )
    return levels


def export_snapshots(prepared: LabelledExport, config: IcpConfig) -> Snapshots:
    """Monthly snapshots over `timing.history_months` up to the export's as-of date, built by
    the engine `timing.engine` names."""
    settings = config.timing
    as_of = pd.Timestamp(prepared.as_of)
    dates = month_ends(as_of - pd.DateOffset(months=settings.history_months - 1), as_of)
    export = prepared.export
    opportunities = export.opportunities
    if "created_date" not in opportunities or opportunities["created_date"].isna().all():
        raise NoTimingData(
            f"{export.files.get('opportunities', 'opportunities')}: no created_date, so icpfit "
            "cannot tell when an account came in market; fix: map opportunities.created_date"
        )
    accounts = pd.Index(export.accounts["account_id"], name="account_id")
    acquisition = prepared.labels["acquisition_date"]
    build = timing_snapshots
    if settings.engine == "spark":  # the same rows, built by Spark and collected
        build = partial(spark_snapshots_of, master=settings.spark_master)
    snapshots = build(accounts, opportunities, acquisition, dates, settings.horizon_days, as_of)
    # the queue never lists a disqualified account, so the model neither learns nor is judged
    # on them
    reasons = disqualified_reason(export.accounts.set_index("account_id"), config.disqualifiers)
    disqualified = reasons.reindex(accounts).notna().to_numpy()
    return snapshots.subset(~disqualified[snapshots.account])


def fit_probabilities(
    model: BoostedFit,
    specs: tuple[FeatureSpec, ...],
    export: CrmExport,
    config: IcpConfig,
    snapshots: Snapshots,
) -> np.ndarray:
    """The fit model's probability of every account at every labelled snapshot date: its
    technologies first seen by then (when the export dates them) and its signal counts up to
    then. Account columns have one value per account, today's, so a column such as web visits
    or open job postings that rose around a deal is seen at every earlier month too; where the
    signals table has their history (rows with a value), `timing.levels` reads it as of each
    snapshot instead (README, "What the timing model learns from"). One vectorised scoring of
    all accounts per date."""
    accounts = snapshots.accounts
    table = np.full((len(accounts), len(snapshots.dates)), np.nan, dtype=np.float32)
    for code in np.unique(snapshots.date[snapshots.labelled]):
        reference = pd.Series(snapshots.dates[code], index=accounts)
        frame = build_feature_frame(
            export.accounts, export.technologies, export.signals, config.features, reference, specs
        ).frame
        table[:, code] = model.predict_proba(frame.reindex(accounts))
    return table


def train_timing(
    prepared: LabelledExport,
    config: IcpConfig,
    fit_model: BoostedFit,
    fit_as_of: FitAsOf,
    step: Callable[[str], object] = lambda message: None,
) -> TimingRun:
    """Snapshots, their features, the holdout's fit model, the backtest and the final model."""
    settings, seed = config.timing, config.model.seed
    export = prepared.export
    triggers = trigger_types(export.signals, settings)
    levels = level_types(export.signals, settings)
    snapshots = export_snapshots(prepared, config)
    learn, holdout = split_months(snapshots, settings)
    start = snapshots.dates[snapshots.date[holdout].min()]
    step(
        f"Timing: {len(snapshots):,} monthly snapshots of accounts not yet customers; a fit "
        f"model as of {start:%Y-%m-%d} scores the held-out months…"
    )
    then_model, then_specs = fit_as_of(start.date())
    then = fit_probabilities(then_model, then_specs, export, config, snapshots)
    step("Timing: scoring every snapshot with this run's fit model…")
    now = fit_probabilities(fit_model, prepared.features.specs, export, config, snapshots)
    frame = timing_frame(
        snapshots,
        export.signals,
        triggers,
        settings.windows_days,
        now,
        engine=settings.engine,
        spark_master=settings.spark_master,
        levels=levels,
    )
    backtest_frame = replace(
        frame,
        features=frame.features.assign(**{FIT_FEATURE: then[snapshots.account, snapshots.date]}),
    )
    step("Timing: learning when accounts come in market, judged on the held-out months…")
    return train_timing_model(frame, backtest_frame, learn, holdout, settings, seed)
