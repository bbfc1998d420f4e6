"""What changed since the last run, and why: each scored row carries a digest of the inputs it
was scored on, and a run compared with the previous scored file says, per account, how its tier
moved and whether the model, the account's data or both moved it.

The digest (`input_digest`) is the first 16 hex digits of the SHA-256 of the row's inputs in a
canonical form, in UTF-8: the names of every input the model version was declared to read (the
account columns under `features` in icpfit.yaml, the disqualifier columns, the tech stack and
the signal counts), sorted and joined by U+001F, a newline, then the row's values in the same
order, each preceded by U+001F. A value is stripped of spaces; a blank, missing or absent cell
is empty; a finite number is the decimal integer of its IEEE 754 double's 64 bits (so `50`,
`50.0`, `5e1` and Parquet's 50 agree); the tech stack's items are sorted (by code point) and
deduplicated, joined by its separator. Other columns of the file (owner, notes, last modified)
do not count.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from icpfit.config import FeatureDeclarations
from icpfit.features.parsing import clean_text

DIGEST = "input_digest"
CHANGE_COLUMNS = ("previous_tier", "tier_change", "score_change", "change_cause")
TIER_RANK = {"A": 4, "B": 3, "C": 2, "D": 1, "X": 0}
"""A > B > C > D > X: a move to a higher rank is `up`."""
PREVIOUS = ("fit_tier", "fit_score", "model_name", "model_version", DIGEST)
"""The previous file's columns a comparison reads, besides account_id."""
CHANGED = ("up", "down", "new")
CAUSES = ("model", "data", "model and data", "unknown")
NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


@dataclass(frozen=True)
class DigestSpec:
    """The inputs a digest covers (canonical names), and the tech stack's column and separator."""

    columns: tuple[str, ...]
    stack_column: str | None = None
    separator: str = ";"

    @classmethod
    def of(cls, bundle: dict[str, Any]) -> DigestSpec:
        declared = FeatureDeclarations.model_validate(bundle["declarations"])
        signals = [s["name"] for s in bundle["specs"] if s["name"].startswith("signals_")]
        rules = [r["column"] for r in bundle["disqualifiers"]]
        stack = bundle["tech_stack"] if declared.technographic.technologies else None
        columns = [*declared.account_columns(), *rules, *signals]
        columns += [stack["column"]] if stack else []
        return cls(
            tuple(sorted(set(columns) - {"account_id"})),
            stack["column"] if stack else None,
            stack["separator"] if stack else ";",
        )


def canonical_cells(values: pd.Series) -> pa.Array:
    """Each cell as the digest reads it: stripped text, blanks empty, a number as the decimal
    integer of its IEEE 754 double bits (so `50`, `50.0`, ` 5e1 ` and Parquet's 50 agree)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        return _bits_text(numbers, np.isfinite(numbers), pa.nulls(len(values), pa.string()))
    text = pc.fill_null(pc.utf8_trim_whitespace(_arrow_text(values)), "")
    is_number = pc.match_substring_regex(text, NUMBER)
    if not pc.any(is_number).as_py():
        return text
    numbers = pc.cast(pc.if_else(is_number, text, "0"), pa.float64()).to_numpy(zero_copy_only=False)
    return _bits_text(numbers, is_number.to_numpy(zero_copy_only=False), text)


def _arrow_text(values: pd.Series) -> pa.Array:
    """The cells as an Arrow string array (without a copy when they already are one)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    return pa.array(values, type=pa.string(), from_pandas=True)


def _bits_text(numbers: np.ndarray, is_number: np.ndarray, text: pa.Array) -> pa.Array:
    """Finite `numbers` as the decimal integers of their bits where `is_number`, else `text`
    ('' for a blank): a number too large for a double stays as written."""
    bits = pc.cast(pa.array((numbers + 0.0).view(np.uint64)), pa.string())  # -0.0 is 0.0
    return pc.if_else(pa.array(is_number & np.isfinite(numbers)), bits, pc.fill_null(text, ""))


def canonical_stack(values: pd.Series, separator: str) -> pa.Array:
    """A delimited tech stack with its items stripped, sorted and deduplicated."""
    lists = pc.split_pattern(pc.fill_null(_arrow_text(values), ""), separator)
    items = pa.table(
        {
            "row": pc.list_parent_indices(lists),
            "item": pc.utf8_trim_whitespace(pc.list_flatten(lists)),
        }
    )
    items = items.filter(pc.not_equal(items["item"], ""))
    items = items.sort_by([("row", "ascending"), ("item", "ascending")])
    row, item = items["row"].to_numpy(), items["item"].combine_chunks()
    repeated = np.zeros(len(row), dtype=bool)
    if len(row) > 1:
        same = pc.equal(item.slice(1), item.slice(0, len(item) - 1)).to_numpy(zero_copy_only=False)
        repeated[1:] = same & (row[1:] == row[:-1])
    row, item = row[~repeated], item.filter(pa.array(~repeated))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=len(values)))])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), item), separator)


def input_digests(rows: pd.DataFrame, spec: DigestSpec) -> pd.Series:
    """One digest per row of `rows` (canonical column names), in row order."""
    values = [pa.array([""] * len(rows), type=pa.string())]
    for name in spec.columns:
        cells = rows[name] if name in rows else pd.Series(pd.NA, index=rows.index, dtype="string")
        if name == spec.stack_column:
            values.append(canonical_stack(cells, spec.separator))
        else:
            values.append(canonical_cells(cells))
    text = pc.binary_join_element_wise(*values, "\x1f")
    names = hashlib.sha256(("\x1f".join(spec.columns) + "\n").encode("utf-8"))
    digests = []
    for row in pc.cast(text, pa.binary()).to_pylist():
        digest = names.copy()
        digest.update(row)
        digests.append(digest.hexdigest()[:16])
    return pd.Series(digests, index=rows.index, dtype=object, name=DIGEST)


def previous_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """A previous scored file's rows by account_id (the first row of a repeated id), with the
    columns a comparison reads; a column the file lacks is empty."""
    ids = clean_text(frame["account_id"].astype("string"))
    first = (ids.notna() & ~ids.duplicated()).to_numpy()
    columns = {c: frame[c] if c in frame else pd.Series(pd.NA, index=frame.index) for c in PREVIOUS}
    kept = pd.DataFrame({c: clean_text(v.astype("string")) for c, v in columns.items()})
    return kept[first].set_index(pd.Index(ids[first].to_numpy(object), name="account_id"))


def tier_changes(now: pd.Series, before: pd.Series) -> pd.Series:
    """up / down / same against the tier before; `new` without one; empty without a tier now."""
    rank_now = now.map(TIER_RANK).astype(float).to_numpy()
    rank_before = before.map(TIER_RANK).astype(float).to_numpy()
    change = np.select(
        [np.isnan(rank_now), np.isnan(rank_before), rank_now > rank_before, rank_now < rank_before],
        [None, "new", "up", "down"],
        "same",
    )
    return pd.Series(change, index=now.index, dtype=object)


def change_causes(changed: pd.Series, model_moved: pd.Series, data_moved: pd.Series) -> pd.Series:
    """What moved each changed account: `model` (another model version, the same inputs), `data`
    (the same version, other inputs), `model and data`, or `unknown` (the inputs before are not
    known and the version did not change, or neither changed); empty where nothing changed.
    `model_moved` and `data_moved` are True, False or missing (not known)."""
    model, data = model_moved.astype("boolean"), data_moved.astype("boolean")
    model_yes, model_no = model.fillna(False), (~model).fillna(False)
    data_yes = data.fillna(False)
    cause = np.select(
        [
            ~changed.to_numpy(bool),
            (model_yes & data_yes).to_numpy(bool),
            model_yes.to_numpy(bool),
            (model_no & data_yes).to_numpy(bool),
        ],
        [None, "model and data", "model", "data"],
        "unknown",
    )
    return pd.Series(cause, index=changed.index, dtype=object)


def compare_with_previous(scored: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """`scored` with previous_tier, tier_change, score_change (fit score now minus before) and
    change_cause; `previous` as `previous_scores` gives it."""
    ids = clean_text(scored["account_id"].astype("string")).to_numpy(object)
    before = previous.reindex(ids).set_index(scored.index)
    change = tier_changes(scored["fit_tier"], before["fit_tier"])
    moved = change.isin(["up", "down"])
    now_score = pd.to_numeric(scored["fit_score"], errors="coerce").astype("Int64")
    score_change = now_score - pd.to_numeric(before["fit_score"], errors="coerce").astype("Int64")
    score_change = score_change.where(change.isin(["up", "down", "same"]), pd.NA)
    cause = change_causes(moved, model_moved(scored, before), data_moved(scored, before))
    return scored.assign(
        previous_tier=before["fit_tier"].astype(object).where(before["fit_tier"].notna(), None),
        tier_change=change,
        score_change=score_change.astype("Int64"),
        change_cause=cause,
    )


def model_moved(scored: pd.DataFrame, before: pd.DataFrame) -> pd.Series:
    """Whether another model version scored the row before (missing where it is not known)."""
    version_now = clean_text(scored["model_version"].astype("string"))
    version_before = before["model_version"]
    moved = version_now.ne(version_before).astype("boolean")
    names_known = before["model_name"].notna()
    renamed = names_known & clean_text(scored["model_name"].astype("string")).ne(
        before["model_name"]
    ).fillna(False)
    return moved.mask(version_before.isna(), pd.NA) | renamed.astype("boolean")


def data_moved(scored: pd.DataFrame, before: pd.DataFrame) -> pd.Series:
    """Whether the row's inputs differ from before (missing where the digest before is unknown)."""
    digest_before = before[DIGEST]
    if DIGEST not in scored:
        return pd.Series(pd.NA, index=scored.index, dtype="boolean")
    moved = scored[DIGEST].astype("string").ne(digest_before).astype("boolean")
    return moved.mask(digest_before.isna(), pd.NA)


def changed_rows(compared: pd.DataFrame) -> pd.DataFrame:
    """The rows a CRM sync needs: tier up, down or new, and every row with an error."""
    keep = compared["tier_change"].isin(CHANGED) | compared["error"].notna()
    return compared[keep.to_numpy(bool)]


@dataclass
class ChangeTracker:
    """Compares batch after batch with one previous file and counts what it saw: the tier
    changes, their causes, and the previous file's accounts no batch mentioned (dropped)."""

    previous: pd.DataFrame
    changes: Counter = field(default_factory=Counter)
    causes: Counter = field(default_factory=Counter)
    _seen: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._seen = np.zeros(len(self.previous), dtype=bool)

    def __call__(self, scored: pd.DataFrame) -> pd.DataFrame:
        compared = compare_with_previous(scored, self.previous)
        ids = clean_text(scored["account_id"].astype("string")).to_numpy(object)
        found = self.previous.index.get_indexer(pd.Index(ids, dtype=object))
        self._seen[found[found >= 0]] = True
        self.changes.update(compared["tier_change"].dropna())
        self.causes.update(compared["change_cause"].dropna())
        return compared

    def dropped(self) -> int:
        """Accounts of the previous file that no row of this run had."""
        return int((~self._seen).sum())
