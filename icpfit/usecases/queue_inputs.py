"""The queue's inputs checked before any work: paths, capacity, the owners file, the day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from icpfit.config import IcpConfig
from icpfit.features.validate import CrmExport
from icpfit.io import InputError, read_table
from icpfit.usecases.files import check_input_file, check_table_suffix, same_file


def latest_date(export: CrmExport) -> date:
    """The newest date in the export: a signal, an opportunity created or closed, a revenue
    month's end (the queue's default as-of)."""
    opportunities = export.opportunities
    dates = [
        export.signals["date"],
        opportunities.get("created_date", pd.Series(dtype="datetime64[ns]")),
        opportunities.loc[opportunities["stage"].isin(["won", "lost"]), "close_date"],
        export.revenue["month"] + pd.offsets.MonthEnd(0),
    ]
    known = [pd.to_datetime(d).max() for d in dates if len(d)]
    known = [d for d in known if d == d]
    if not known:
        raise InputError("the export has no dated rows; fix: give --as-of")
    return max(known).date()


def check_queue_request(
    config: IcpConfig, output: Path, capacity: int, owners: Path | None, html: Path | None
) -> pd.Series | None:
    """Every check before any work; returns the owners file read (account_id -> owner)."""
    if capacity < 1:
        raise InputError(f"--capacity must be at least 1 (got {capacity})")
    check_queue_paths(config, output, owners, html)
    if config.data.signals is None:
        raise InputError(
            f"{config.source.name if config.source else 'config'}: data.signals is not set; the "
            "queue ranks by fit x timing and timing comes from the signals table"
        )
    return None if owners is None else read_owners(owners)  # a bad file fails before scoring


def check_queue_paths(
    config: IcpConfig, output: Path, owners: Path | None, html: Path | None
) -> None:
    """The queue is a CSV or Parquet file, the page HTML, and neither replaces an input."""
    check_table_suffix(output, "--output")
    if owners is not None:
        check_input_file(owners, "--owners")
    if html is not None and html.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--html {html}: use a .html file")
    inputs = {
        f"the {name} table": config.path_of(name)
        for name in ("accounts", "technologies", "opportunities", "revenue", "signals")
        if config.path_of(name) is not None
    }
    if owners is not None:
        inputs["the --owners file"] = owners
    for role, target in (("--output", output), ("--html", html)):
        if target is None:
            continue
        for what, path in inputs.items():
            if same_file(target, path):
                raise InputError(
                    f"{role} {target} is {what}: the queue would replace it; write the queue "
                    "to another file"
                )
    if html is not None and same_file(output, html):
        raise InputError(f"--output and --html are the same file ({output}); give two names")


def read_owners(path: Path) -> pd.Series:
    """account_id -> owner (or territory) from a two-column file: account_id and owner."""
    table = read_table(path, text_columns={"account_id", "owner"})
    missing = [c for c in ("account_id", "owner") if c not in table.columns]
    if missing:
        raise InputError(
            f"--owners {path.name}: missing column '{missing[0]}'; it needs account_id and owner"
        )
    ids = table["account_id"].astype("string").str.strip()
    blank = ids.isna() | ids.eq("")
    if blank.any():
        raise InputError(
            f"--owners {path.name}: {int(blank.sum()):,} rows without an account_id; fix: "
            "every row names an account and its owner"
        )
    repeated = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(repeated):
        raise InputError(
            f"--owners {path.name}: account {repeated.iloc[0]!r} has more than one owner "
            f"({repeated.nunique():,} accounts do); fix: one row per account"
        )
    return pd.Series(table["owner"].astype("string").to_numpy(), index=ids.to_numpy())
