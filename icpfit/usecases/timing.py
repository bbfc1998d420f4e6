"""The timing half of `train` (issue 16): learn when accounts come in market, beside the fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from icpfit.config import IcpConfig
from icpfit.features.frame import FeatureSpec
from icpfit.features.pipeline import LabelledExport, prepare
from icpfit.features.problems import RawTable, errors_of
from icpfit.training.backtest import fold_model
from icpfit.training.fit import TrainingRun, backtest_data
from icpfit.training.model import BoostedFit
from icpfit.training.timing import NoTimingData, TimingRun
from icpfit.training.timing_data import train_timing


@dataclass(frozen=True)
class TimingOutcome:
    """The timing model of a retrain, or why there is none."""

    run: TimingRun | None = None
    skipped: str | None = None


def timing_for(
    config: IcpConfig,
    raw: dict[str, RawTable],
    prepared: LabelledExport,
    run: TrainingRun,
    step: Callable[[str], object] = lambda message: None,
) -> TimingOutcome:
    """Train the timing model when the export has signals and `timing.enabled`; an export that
    cannot teach one (too little history, no created dates) gets a reason, not a failure: the
    fit model is still worth registering."""
    if config.data.signals is None:
        return TimingOutcome(skipped="no signals table (data.signals): no timing model")
    if not config.timing.enabled:
        return TimingOutcome(skipped="timing.enabled is false: no timing model")
    if prepared.export.signals.empty:
        return TimingOutcome(skipped="the signals table has no rows: no timing model")

    def fit_as_of(day: date) -> tuple[BoostedFit, tuple[FeatureSpec, ...]]:
        """This run's recipe trained on what was decided by `day` (the held-out months'
        outcomes unseen), for the timing backtest's fit feature."""
        then, problems = prepare(raw, config, day)
        if then is None or errors_of(problems):
            raise NoTimingData(f"the export as of {day} cannot train a fit model")
        data = backtest_data(then, config)
        rows = data.training_rows(run.recipe)
        if data.target.loc[rows].nunique() < 2:
            raise NoTimingData(f"too few ideal customers decided by {day} for a fit model")
        model = fold_model(run.recipe, data, rows, config.model.params, config.model.seed)
        return model, then.features.specs

    try:
        return TimingOutcome(run=train_timing(prepared, config, run.model, fit_as_of, step))
    except NoTimingData as exc:
        return TimingOutcome(skipped=f"no timing model: {exc}")
