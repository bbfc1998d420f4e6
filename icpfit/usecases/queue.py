"""`icpfit queue`: the day's prioritized work queue from the fit and timing champions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.labels import acquisition_dates, opportunity_status
from icpfit.features.problems import RawTable, errors_of
from icpfit.features.validate import CrmExport, validate_export
from icpfit.io import ExportError, InputError, read_export, write_table, write_text
from icpfit.registry import LoadedModel, ModelNotFound
from icpfit.serving.queue import (
    QUEUE_COLUMNS,
    bundle_levels,
    expected_ltv,
    queue_exclusions,
    rank_queue,
    timing_inputs,
    why_now,
)
from icpfit.serving.schema import Provenance
from icpfit.usecases.joins import InputTables, join_inputs, signal_table_joiner
from icpfit.usecases.queue_inputs import check_queue_request, latest_date
from icpfit.usecases.queue_page import queue_page
from icpfit.usecases.scoring import model_at

FAR_FUTURE = date(2200, 1, 1)
"""Validation's as-of before the export's own latest date is known: no row is after it."""


@dataclass(frozen=True)
class Queue:
    output: Path
    rows: pd.DataFrame
    as_of: date
    fit_version: str
    timing_version: str
    excluded: dict[str, int]
    candidates: int
    notes: tuple[str, ...] = ()
    html: Path | None = None


def build_queue(
    config: IcpConfig,
    output: Path,
    capacity: int,
    as_of: date | None = None,
    owners: Path | None = None,
    fit_uri: str | None = None,
    timing_uri: str | None = None,
    html: Path | None = None,
    step: Callable[[str], object] = lambda message: None,
    by_value: bool = False,
) -> Queue:
    """Score every account's fit and timing as of `as_of` and write the top `capacity` (per
    owner with `owners`) to `output`, with `html` as a page a rep can read. `by_value`:
    priority is also multiplied by the expected lifetime value of the account's fit tier."""
    owner_of = check_queue_request(config, output, capacity, owners, html)
    step("Reading the export…")
    raw, export = read_checked_export(config, as_of)
    as_of = as_of or latest_date(export)
    fit = fit_model_at(fit_uri or f"models:/{config.registry.model_name}@champion")
    timing = timing_model_at(timing_uri or f"models:/{config.timing.model_name}@champion")
    if by_value:
        check_tier_value(fit)
    step(f"Scoring fit of {len(raw['accounts'].frame):,} accounts as of {as_of}…")
    fit_rows = _fit_rows(config, raw["accounts"].frame, fit, export, as_of)
    scored = _fit_scores(fit, fit_rows, reasons=0)
    excluded = exclusions(export, config, scored, as_of)
    candidates = excluded.index[excluded.eq("").to_numpy()]
    step(f"Scoring timing of {len(candidates):,} accounts on the queue's list…")
    frame = _candidates(scored.reindex(candidates), timing, export, as_of, owner_of)
    unscored = frame["priority"].isna()
    excluded[frame.index[unscored]] = "timing not scored (a blank or non-numeric input)"
    if by_value:
        frame["expected_ltv"] = expected_ltv(frame["fit_tier"], fit.model.bundle["tier_value"])
        frame["priority"] = frame["priority"] * frame["expected_ltv"]
    ranked = rank_queue(frame[~unscored], capacity, per_owner=owners is not None)
    rows = _queue_rows(ranked, fit, timing, fit_rows, export, config, as_of)
    write_table(rows, output)
    if html is not None:
        write_text(queue_page(rows, as_of, capacity, owners is not None, by_value), html)
    counts = excluded[excluded.ne("")].value_counts()
    return Queue(
        output,
        rows,
        as_of,
        f"{fit.name}/{fit.version}",
        f"{timing.name}/{timing.version}",
        {str(k): int(v) for k, v in counts.items()},
        int((~unscored).sum()),
        _version_notes(fit, timing),
        html,
    )


def read_checked_export(
    config: IcpConfig, as_of: date | None
) -> tuple[dict[str, RawTable], CrmExport]:
    """The export read and validated (as of `as_of`, or with every row when it is not given);
    any error ends the queue with every message."""
    raw, read_problems = read_export(config)
    if errors_of(read_problems):
        raise ExportError("\n".join(p.message for p in errors_of(read_problems)))
    export, problems = validate_export(raw, config, as_of or FAR_FUTURE)
    if export is None or errors_of(problems):
        raise ExportError("\n".join(p.message for p in errors_of(problems)))
    return raw, export


def exclusions(
    export: CrmExport, config: IcpConfig, scored: pd.DataFrame, as_of: date
) -> pd.Series:
    """Why each account is not on the queue ('' when it may be), index account_id."""
    accounts = pd.Index(export.accounts["account_id"], name="account_id")
    accounts = accounts[~accounts.duplicated()]
    revenue = None if config.labels.mode == "bookings" else export.revenue
    return queue_exclusions(
        accounts,
        acquisition_dates(export.opportunities, revenue, as_of),
        opportunity_status(export.opportunities, as_of)["has_open"],
        scored["fit_tier"],
        pd.Timestamp(as_of),
    )


def _queue_rows(
    ranked: pd.DataFrame,
    fit: LoadedModel,
    timing: LoadedModel,
    fit_rows: pd.DataFrame,
    export: CrmExport,
    config: IcpConfig,
    as_of: date,
) -> pd.DataFrame:
    """The chosen accounts with their fit reasons (computed for them only), why now in words
    and both model versions, in the queue's columns."""
    reasons = _fit_scores(fit, fit_rows.loc[ranked["account_id"]], reasons=3)
    levels, lag = bundle_levels(timing.model.bundle)
    words = why_now(
        export.signals,
        pd.Index(ranked["account_id"]),
        timing.model.bundle["triggers"],
        pd.Timestamp(as_of),
        config.features.labels,
        levels=levels,
        lag_days=lag,
    )
    rows = ranked.assign(
        **{c: reasons[c].to_numpy() for c in ("reason_1", "reason_2", "reason_3")},
        why_now=words.to_numpy(),
        fit_model_version=f"{fit.name}/{fit.version}",
        timing_model_version=f"{timing.name}/{timing.version}",
        as_of=as_of.isoformat(),
    )
    return rows[[c for c in QUEUE_COLUMNS if c in rows.columns]]


def timing_model_at(uri: str) -> LoadedModel:
    """The timing model, or an error that says where one comes from."""
    try:
        loaded = model_at(uri)
    except (InputError, ModelNotFound) as exc:
        raise InputError(
            f"{exc}; the queue needs a timing model: `icpfit train` registers one beside the "
            "fit model when the export has signals and opportunity created dates (see its "
            "'no timing model' note otherwise)"
        ) from None
    if getattr(loaded.model, "bundle", {}).get("kind") != "icp-timing":
        raise InputError(f"{uri} is not a timing model (`icpfit train` registers icp-timing)")
    return loaded


def check_tier_value(fit: LoadedModel) -> None:
    """--value ltv needs the fit model's lifetime value by tier, which versions registered
    before icpfit recorded it lack."""
    table = fit.model.bundle.get("tier_value") or {}
    if table.get("all", {}).get("mean_ltv") is None:
        raise InputError(
            f"{fit.label} has no lifetime value by tier (it was registered before icpfit "
            "recorded it, or its backtest held no customers): retrain (icpfit train), or run "
            "the queue without --value"
        )


def fit_model_at(uri: str) -> LoadedModel:
    loaded = model_at(uri)
    if "accounts_columns" not in getattr(loaded.model, "bundle", {}):
        raise InputError(f"{uri} is not a fit model (`icpfit train` registers icp-fit)")
    return loaded


def _version_notes(fit: LoadedModel, timing: LoadedModel) -> tuple[str, ...]:
    trained_with = timing.model.bundle.get("fit_model", {})
    version = str(trained_with.get("version") or "")
    if version and (trained_with.get("name"), version) != (fit.name, str(fit.version)):
        return (
            f"{timing.name} v{timing.version} learned from {trained_with.get('name')} "
            f"v{version}'s fit scores; the queue uses {fit.name} v{fit.version}: retrain "
            "(icpfit train) so both come from one run",
        )
    return ()


def _fit_rows(
    config: IcpConfig, accounts: pd.DataFrame, fit: LoadedModel, export: CrmExport, as_of: date
):
    """Every account as the fit model reads it: the export's column names, the technologies
    table joined, and the signal counts as of `as_of` from the validated signals (read with the
    config's date_format); index: the account id, trimmed."""
    mapping = fit.model.bundle["accounts_columns"]
    rows = accounts.rename(columns=mapping).reset_index(drop=True)
    tables = InputTables(technologies=config.path_of("technologies"), as_of=as_of)
    joined = join_inputs(fit.model, tables).join(rows)
    label = export.files.get("signals", "signals")
    joined = signal_table_joiner(fit.model, export.signals, as_of, label).join(joined)
    joined = joined.set_axis(accounts["account_id"].astype(str).str.strip().to_numpy())
    return joined[~joined.index.duplicated()]  # validation reports repeated ids


def _fit_scores(fit: LoadedModel, rows: pd.DataFrame, reasons: int) -> pd.DataFrame:
    params = {"reasons": reasons, **Provenance.now(fit.name, fit.version).params()}
    return fit.model.predict(None, rows.reset_index(drop=True), params).set_axis(rows.index)


def _candidates(
    scored: pd.DataFrame,
    timing: LoadedModel,
    export: CrmExport,
    as_of: date,
    owner_of: pd.Series | None,
) -> pd.DataFrame:
    """The accounts the queue may list, with fit, timing and priority (NaN where the timing
    model gave the row an error), index account_id."""
    inputs = timing_inputs(
        export.signals,
        scored.index,
        pd.Timestamp(as_of),
        timing.model.bundle,
        scored["fit_probability"],
    )
    timed = timing.model.predict(None, inputs.reset_index(drop=True))
    frame = pd.DataFrame(
        {
            "account_id": scored.index.to_numpy(),
            "fit_tier": scored["fit_tier"].to_numpy(),
            "fit_score": scored["fit_score"].to_numpy(),
            "fit_probability": scored["fit_probability"].to_numpy(dtype=float),
            "timing_score": timed["timing_score"].to_numpy(dtype=float),
        },
        index=scored.index.rename(None),
    )
    frame["priority"] = frame["fit_probability"] * frame["timing_score"]
    if owner_of is not None:
        frame["owner"] = frame["account_id"].map(owner_of).fillna("(no owner)")
    return frame
