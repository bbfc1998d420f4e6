"""The timing model in the registry (issue 16): logged in the retrain's own run, registered as
its own model (`timing.model_name`, default icp-timing) with the fit version it learned from
recorded, its files' SHA-256 as tags, and its alias moved last (`icpfit.registry_log` undoes
all of it when the retrain fails or is stopped)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import infer_signature

from icpfit.model_code import (
    logged_model_name,
    model_code,
    pinned_requirements,
    serving_package,
)
from icpfit.quiet import mlflow_prints_hidden
from icpfit.registry_aliases import Standing, describe_model
from icpfit.registry_descriptions import STANDING, today
from icpfit.registry_model import record_digests
from icpfit.registry_promotion import move_alias
from icpfit.serving.timing_model import IcpTimingModel
from icpfit.training.promotion import Decision
from icpfit.training.timing import TimingRun


def log_timing_run(timing: TimingRun) -> None:
    """The timing model's settings as params, its backtest as metrics and tables."""
    settings = timing.settings
    backtest = timing.backtest
    mlflow.log_params(
        {
            "timing_triggers": ",".join(timing.triggers)[:5000],
            "timing_horizon_days": settings.horizon_days,
            "timing_windows_days": ",".join(map(str, settings.windows_days)),
            "timing_history_months": settings.history_months,
            "timing_holdout_months": settings.holdout_months,
            "timing_capacity": settings.capacity,
            "timing_rounds": timing.model.rounds,
            "timing_snapshots": timing.snapshots,
        }
    )
    for row in backtest.rates.itertuples():
        mlflow.log_metrics(
            {
                f"timing_{row.ranking}_per_100": float(row.per_100),
                f"timing_{row.ranking}_per_100_low": float(row.low),
                f"timing_{row.ranking}_per_100_high": float(row.high),
            }
        )
    for row in backtest.gains.itertuples():
        mlflow.log_metrics(
            {
                f"timing_gain_vs_{row.against}": float(row.gain),
                f"timing_gain_vs_{row.against}_low": float(row.low),
                f"timing_gain_vs_{row.against}_high": float(row.high),
            }
        )
    mlflow.log_text(backtest.rates.to_csv(index=False), "timing/queue_backtest.csv")
    mlflow.log_text(backtest.gains.to_csv(index=False), "timing/gains.csv")
    mlflow.log_text(backtest.auc.to_csv(index=False), "timing/auc.csv")


def register_timing_model(
    timing: TimingRun,
    fit_model: dict[str, str],
    name: str,
    as_of: str,
    tmp: Path,
) -> ModelVersion:
    """Register, then log the pyfunc into the version, then record its files' digests."""
    folder = tmp / "timing"
    folder.mkdir()
    logged = mlflow.initialize_logged_model(name=logged_model_name(name))
    with mlflow_prints_hidden():
        version = mlflow.register_model(f"models:/{logged.model_id}", name)
    booster_path, bundle_path = folder / "booster.txt", folder / "bundle.json"
    timing.model.booster.save_model(str(booster_path), num_iteration=timing.model.rounds)
    bundle = timing.bundle(fit_model, as_of)
    bundle_path.write_text(json.dumps(bundle))
    model = IcpTimingModel.from_parts(bundle, timing.model.booster)
    rows = timing.example[timing.model.features].astype(float)
    mlflow.pyfunc.log_model(
        name=logged_model_name(name),
        model_id=logged.model_id,
        python_model=model_code("timing"),
        code_paths=[serving_package(folder / "code")],
        artifacts={"booster": str(booster_path), "bundle": str(bundle_path)},
        signature=infer_signature(rows, model.predict(None, rows)),
        input_example=rows,
        pip_requirements=pinned_requirements(),
    )
    record_digests(name, str(version.version), folder / "registered")
    return version


def record_timing(
    name: str,
    version: str,
    timing: TimingRun,
    fit_model: dict[str, str],
    quarter: str,
    decision: Decision,
) -> list[Standing]:
    """Tags (the fit version it learned from, the backtest's gain), description, then alias."""
    client = MlflowClient()
    gain = timing.backtest.gains.set_index("against").loc["fit"]
    tags = {
        "quarter": quarter,
        "fit_model": f"{fit_model['name']}/{fit_model['version']}",
        "decision": decision.alias,
        "forced": str(decision.forced).lower(),
        "gain_vs_fit_per_100": f"{gain['gain']:.2f}",
        "gain_vs_fit_low": f"{gain['low']:.2f}",
        "gain_vs_fit_high": f"{gain['high']:.2f}",
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    when = today()
    how = "forced" if decision.forced else "by the promotion rule"
    client.update_model_version(
        name,
        version,
        description=f"{quarter}: P(new opportunity within {timing.settings.horizon_days} days), "
        f"learned with fit scores of {tags['fit_model']}. Queue backtest: "
        f"{timing.backtest.headline()}. Decision at training: {decision.reason}"
        f"{STANDING}{decision.alias} since {when} ({how})",
    )
    describe_model(client, name, "timing")
    return move_alias(client, name, str(version), decision.alias, when, own_tags=True)
