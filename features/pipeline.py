"""From raw export tables to a labelled, leakage-safe feature frame, as of a cutoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.consistency import outcome_problems
from icpfit.features.cutoff import cutoff_problems, past_the_data
from icpfit.features.frame import FeatureFrame, build_feature_frame
from icpfit.features.labels import label_accounts, reference_dates
from icpfit.features.problems import Problem, RawTable, errors_of
from icpfit.features.validate import CrmExport, validate_export


@dataclass(frozen=True)
class LabelledExport:
    export: CrmExport
    labels: pd.DataFrame
    """Index account_id: cohort, target, acquisition_date, outcome over the window."""
    features: FeatureFrame
    as_of: date


def prepare(
    raw: dict[str, RawTable], config: IcpConfig, as_of: date
) -> tuple[LabelledExport | None, list[Problem]]:
    """Validate, label and featurise; None (with the problems) when the export has errors."""
    export, problems = validate_export(raw, config, as_of)
    if export is None or errors_of(problems):
        return None, problems
    problems = [*problems, *cutoff_problems(export, config, as_of)]
    if errors_of(problems):
        return None, problems
    labels = label_accounts(
        export.accounts["account_id"], export.opportunities, export.revenue, config.labels, as_of
    )
    problems = [*problems, *past_the_data(labels, export, config, as_of)]
    if errors_of(problems):
        return None, problems
    problems = [*problems, *outcome_problems(export, labels, config)]
    features = build_feature_frame(
        export.accounts,
        export.technologies,
        export.signals,
        config.features,
        reference_dates(labels, as_of),
    )
    return LabelledExport(export, labels, features, as_of), problems
