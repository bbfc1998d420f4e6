"""The timing model's training rows from a labelled export and the fit models that score them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.disqualify import disqualified_reason
from icpfit.features.frame import FeatureSpec, build_feature_frame
from icpfit.features.pipeline import LabelledExport
from icpfit.features.snapshots import Snapshots, month_ends, timing_snapshots
from icpfit.features.validate import CrmExport
from icpfit.training.model import BoostedFit
from icpfit.training.timing import (
    FIT_FEATURE,
    NoTimingData,
    TimingFrame,
    TimingRun,
    split_months,
    timing_frame,
    train_timing_model,
    trigger_types,
)

FitAsOf = Callable[[date], tuple[BoostedFit, tuple[FeatureSpec, ...]]]
"""A fit model trained as of a date (it has not seen later outcomes), with its feature specs."""


def export_snapshots(prepared: LabelledExport, config: IcpConfig) -> Snapshots:
    """Monthly snapshots over `timing.history_months` up to the export's as-of date."""
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
    snapshots = timing_snapshots(
        accounts, opportunities, acquisition, dates, settings.horizon_days, as_of
    )
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
    then. Account columns have one value per account, today's, so web visits or open job
    postings that rose around a deal are seen at every earlier month too: the export has no
    history of them (README, "What the timing model learns from"). One vectorised scoring of
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
    frame = timing_frame(snapshots, export.signals, triggers, settings.windows_days, now)
    backtest_frame = TimingFrame(
        snapshots,
        frame.features.assign(**{FIT_FEATURE: then[snapshots.account, snapshots.date]}),
        triggers,
    )
    step("Timing: learning when accounts come in market, judged on the held-out months…")
    return train_timing_model(frame, backtest_frame, learn, holdout, settings, seed)
