"""How `icpfit score` delivers its rows (issue 14): compared with the previous run, only the
changed ones for a CRM sync, under a CRM's field names, and as a CSV Excel opens correctly.

The previous file is read whole before scoring starts, so it may be the output this run
replaces (written to a temporary file and renamed into place at the end)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from icpfit.io import InputError
from icpfit.serving.batch import read_previous
from icpfit.serving.crm import CRMS, previous_names, to_crm
from icpfit.serving.delivery import DIGEST, PREVIOUS, ChangeTracker, changed_rows, previous_scores

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Delivery:
    """`previous`: the scored file to compare with (default: the output, if it exists);
    `changed_only`: write only rows whose tier moved or is new, and rows with an error;
    `crm`: `salesforce` or `hubspot` field names and types; `excel`: CSV with a UTF-8 BOM."""

    previous: Path | None = None
    changed_only: bool = False
    crm: str | None = None
    excel: bool = False

    def asked(self) -> bool:
        return self != Delivery()


@dataclass(frozen=True)
class Changes:
    compared_with: Path
    accounts: int
    """Accounts (distinct ids) in the previous file."""
    tiers: dict[str, int]
    """Rows per tier_change: up, down, new, same."""
    causes: dict[str, int]
    """Changed rows per change_cause: model, data, model and data, unknown."""
    dropped: int
    """Accounts of the previous file that are not in this input."""
    digests: bool
    """Whether the previous file had input digests (else the cause is model or unknown)."""


@dataclass(frozen=True)
class Delivered:
    changes: Changes | None
    crm: str | None
    cut_texts: int
    """Texts cut to the CRM's field length, with an ellipsis."""
    changed_only: bool
    excel: bool
    id_name: str
    """The account id column of a CRM file: the key its import matches records on."""


def check_delivery(delivery: Delivery, output: Path, engine: str, contributions: bool) -> None:
    """Refuse option combinations that cannot do what they say, before any work."""
    if engine == "spark" and delivery.asked():
        raise InputError(
            "--previous, --changed-only, --crm and --excel work with --engine pandas; score "
            "with it, or compare the Spark output afterwards"
        )
    if delivery.excel and output.suffix.lower() in PARQUET_SUFFIXES:
        raise InputError(
            f"--excel writes a CSV for Excel (UTF-8 with a byte-order mark); {output.name} is "
            "Parquet, which Excel does not open: use a .csv --output"
        )
    if delivery.crm and contributions:
        raise InputError("--contributions has no CRM field: leave it out with --crm")
    if delivery.changed_only and delivery.previous is None:
        raise InputError(
            "--changed-only needs --previous FILE, the full scored file of the last run (the "
            "output of a --changed-only run holds only that run's changes, so it cannot be the "
            "baseline)"
        )
    previous = delivery.previous
    if previous is not None and not previous.is_file():
        raise InputError(f"--previous {previous}: file not found")
    if previous is not None and previous.suffix.lower() not in (".csv", *PARQUET_SUFFIXES):
        raise InputError(f"--previous {previous}: use a .csv or .parquet scored file")


def previous_file(delivery: Delivery, output: Path) -> Path | None:
    """--previous, else the output of the last run at the same path (if there is one)."""
    if delivery.previous is not None:
        return delivery.previous
    return output if output.is_file() else None


def load_previous(path: Path, id_name: str) -> pd.DataFrame:
    """A previous scored file (ours, or a CRM file of ours) as `previous_scores` keys it."""
    names = previous_names()
    try:
        frame = read_previous(path, {"account_id", id_name, *PREVIOUS, *names})
    except Exception as exc:  # a corrupt or foreign file: say which and why
        raise InputError(
            f"{path.name}: cannot be read as the previous scored file: {exc}"
        ) from None
    frame = frame.rename(columns=names)
    if "account_id" not in frame and id_name in frame:
        frame = frame.rename(columns={id_name: "account_id"})
    if not {"account_id", "fit_tier"} <= set(frame.columns):
        raise InputError(
            f"{path.name}: not a scored file to compare with (it has no account_id and fit_tier "
            "columns); pass --previous with the last run's output, or write elsewhere"
        )
    return frame


@dataclass
class Deliverer:
    """The step between scoring and writing, batch by batch, and what it did."""

    delivery: Delivery
    id_name: str
    """The export's account id column, the CRM file's match key."""
    tracker: ChangeTracker | None = None
    compared_with: Path | None = None
    digests: bool = False
    cut: int = field(default=0, init=False)

    def __call__(self, scored: pd.DataFrame) -> pd.DataFrame:
        rows = self.tracker(scored) if self.tracker is not None else scored
        if self.delivery.changed_only:
            rows = changed_rows(rows)
        if self.delivery.crm is not None:
            rows, cut = to_crm(rows, CRMS[self.delivery.crm], self.id_name)
            self.cut += cut
        return rows

    def result(self) -> Delivered:
        changes = None
        if self.tracker is not None and self.compared_with is not None:
            changes = Changes(
                self.compared_with,
                len(self.tracker.previous),
                dict(self.tracker.changes),
                dict(self.tracker.causes),
                self.tracker.dropped(),
                self.digests,
            )
        d = self.delivery
        return Delivered(changes, d.crm, self.cut, d.changed_only, d.excel, self.id_name)


def deliverer(delivery: Delivery, output: Path, id_name: str) -> Deliverer:
    """The delivery step for one run, with the previous file (if any) read whole now."""
    path = previous_file(delivery, output)
    if path is None:
        return Deliverer(delivery, id_name)
    frame = load_previous(path, id_name)
    tracker = ChangeTracker(previous_scores(frame))
    return Deliverer(delivery, id_name, tracker, path, DIGEST in frame.columns)
