"""The ICP filter: a few readable rules distilled from the model's scores (DESIGN §6).

A shallow regression tree is fitted to the model's probabilities on the scored population; each
leaf is a segment described by the conditions on its path. Segments whose ideal rate is well above
the average are the ICP, those well below the anti-ICP. It is also the rules-only baseline: it
scores an account with its segment's mean model probability.

The words and the SQL state the same thresholds (issue 17): a numeric split is shown as
`x < m` / `x ≥ m` with the roundest m that sends every training account where the tree sends it
(a year split at 2015.5 reads `≥ 2,016` in both). The SQL is a WHERE clause over `icp_accounts`,
a view `filter_document` writes too; both are built in `icp_filter_sql`, which also states what
the view computes and where SQLite's dialect differs from the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, localcontext

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeRegressor

from icpfit.config import IcpConfig
from icpfit.features.frame import FeatureSpec

MIN_LEVEL_SHARE = 0.02
ICP_LIFT, ANTI_ICP_LIFT = 1.5, 0.5


@dataclass(frozen=True)
class Condition:
    column: str
    """The encoded column: a numeric feature, a flag, or 'feature=level'."""
    op: str
    """Flags and levels: '<=' (not) or '>' (is). Numbers: '<' or '>=' the threshold."""
    threshold: float
    includes_missing: bool


@dataclass(frozen=True)
class Segment:
    leaf: int
    conditions: tuple[Condition, ...]
    coverage: float
    mean_score: float
    ideal_rate: float
    ideal_share: float
    lift: float
    kind: str
    """'icp', 'anti_icp' or 'neutral'."""


class IcpFilter:
    """Fit on the scored population; `predict` is the rules-only baseline score."""

    def __init__(self, specs: tuple[FeatureSpec, ...], max_depth: int = 3, seed: int = 42):
        self.specs, self.max_depth, self.seed = specs, max_depth, seed

    def fit(self, X: pd.DataFrame, scores: np.ndarray, target: pd.Series) -> IcpFilter:
        """`target` holds 1/0 for labelled accounts (others missing), to measure each segment."""
        self.levels_ = {
            s.name: _frequent_levels(X[s.name]) for s in self.specs if s.kind == "categorical"
        }
        encoded = self._encode(X)
        self.tree_ = DecisionTreeRegressor(
            max_depth=self.max_depth,
            min_samples_leaf=max(30, len(X) // 20),
            random_state=self.seed,
        ).fit(encoded, scores)
        self.columns_ = list(encoded.columns)
        self.segments_ = self._segments(encoded, scores, target)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.tree_.predict(self._encode(X))

    def leaves(self, X: pd.DataFrame) -> np.ndarray:
        """The segment (leaf id) of each account."""
        return self.tree_.apply(self._encode(X))

    def _encode(self, X: pd.DataFrame) -> pd.DataFrame:
        numeric = [s.name for s in self.specs if s.kind != "categorical"]
        parts = {c: X[c].astype(float) for c in numeric}
        for name, levels in self.levels_.items():
            values = X[name].astype(object)
            for level in levels:
                parts[f"{name}={level}"] = np.where(
                    values.isna(), np.nan, (values == level).astype(float)
                )
        return pd.DataFrame(parts, index=X.index)

    def _segments(
        self, encoded: pd.DataFrame, scores: np.ndarray, target: pd.Series
    ) -> tuple[Segment, ...]:
        leaves = self.tree_.apply(encoded)
        target = target.reindex(encoded.index)
        labelled = target.notna().to_numpy()
        y = target.to_numpy(dtype=float, na_value=np.nan)
        base_rate, total_ideal = np.nanmean(y), np.nansum(y)
        numeric = {s.name for s in self.specs if s.kind in ("numeric", "count")}
        segments = []
        for leaf, path in _paths(self.tree_, encoded, numeric).items():
            inside = leaves == leaf
            known = inside & labelled
            rate = float(np.nanmean(y[known])) if known.any() else float("nan")
            lift = float(rate / base_rate) if base_rate > 0 else float("nan")
            kind = (
                "icp" if lift >= ICP_LIFT else ("anti_icp" if lift <= ANTI_ICP_LIFT else "neutral")
            )
            segments.append(
                Segment(
                    leaf=int(leaf),
                    conditions=path,
                    coverage=float(inside.mean()),
                    mean_score=float(scores[inside].mean()),
                    ideal_rate=rate,
                    ideal_share=float(np.nansum(y[known]) / total_ideal) if total_ideal else 0.0,
                    lift=lift,
                    kind=kind,
                )
            )
        return tuple(sorted(segments, key=lambda s: -s.mean_score))


def _frequent_levels(values: pd.Series) -> list[str]:
    shares = values.astype(object).value_counts(normalize=True)
    return [str(level) for level, share in shares.items() if share >= MIN_LEVEL_SHARE]


def _paths(
    tree: DecisionTreeRegressor, encoded: pd.DataFrame, numeric: set[str]
) -> dict[int, tuple[Condition, ...]]:
    """Leaf id -> the conditions on its path from the root; numeric splits at a round cut."""
    t, columns = tree.tree_, list(encoded.columns)
    missing_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=bool))
    paths: dict[int, tuple[Condition, ...]] = {}
    stack: list[tuple[int, tuple[Condition, ...]]] = [(0, ())]
    while stack:
        node, path = stack.pop()
        if t.children_left[node] == -1:
            paths[node] = _without_implied(path)
            continue
        column, threshold = columns[t.feature[node]], float(t.threshold[node])
        left_missing = bool(missing_left[node])
        ops, cut = ("<=", ">"), threshold
        if column in numeric:
            ops, cut = ("<", ">="), round_cut(encoded[column].to_numpy(dtype=float), threshold)
        stack.append((t.children_left[node], (*path, Condition(column, ops[0], cut, left_missing))))
        stack.append(
            (t.children_right[node], (*path, Condition(column, ops[1], cut, not left_missing)))
        )
    return paths


def round_cut(values: np.ndarray, threshold: float) -> float:
    """The roundest m with `x < m` exactly for the training values the tree sends left.

    The tree compares values as 32-bit floats with a midpoint threshold (2015.5); any m above
    the largest value sent left and at most the smallest sent right splits them the same way,
    and reads the same in words and SQL: 2016 for years, 500 rather than 497.5."""
    known = values[~np.isnan(values)]
    left = known.astype(np.float32) <= threshold
    return _roundest(float(known[left].max()), float(known[~left].min()))


def _roundest(low: float, high: float) -> float:
    """The number with the fewest significant digits in (low, high]."""
    magnitude = max(abs(low), abs(high))
    with localcontext() as context:
        context.prec = 60
        step = Decimal(10) ** (math.floor(math.log10(magnitude)) + 1)
        for _ in range(20):
            cut = float((Decimal(low) / step).to_integral_value(ROUND_FLOOR) * step + step)
            if low < cut <= high:
                return cut
            step /= 10
    return high


def _without_implied(path: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """'industry is Fintech' makes an earlier 'industry is not Software' on the path redundant
    (unless only the latter leaves unknown industries out)."""
    chosen = {
        c.column.split("=", 1)[0]: c.includes_missing
        for c in path
        if "=" in c.column and c.op == ">"
    }

    def implied(c: Condition) -> bool:
        name = c.column.split("=", 1)[0]
        return (
            "=" in c.column
            and c.op == "<="
            and name in chosen
            and (c.includes_missing or not chosen[name])
        )

    return tuple(c for c in path if not implied(c))


# The filter in words and in SQL: the same clauses, numeric ones merged per column.
@dataclass(frozen=True)
class Bounds:
    """The numeric conditions of a path on one column: low ≤ column < high."""

    column: str
    low: float | None
    high: float | None
    includes_missing: bool


def clauses(segment: Segment) -> list[Condition | Bounds]:
    """Level and flag conditions as they are; numeric ones as one `Bounds` per column."""
    numeric: dict[str, list[Condition]] = {}
    for c in segment.conditions:
        if c.op in ("<", ">="):
            numeric.setdefault(c.column, []).append(c)
    merged = [
        Bounds(
            column,
            max((c.threshold for c in conditions if c.op == ">="), default=None),
            min((c.threshold for c in conditions if c.op == "<"), default=None),
            all(c.includes_missing for c in conditions),
        )
        for column, conditions in numeric.items()
    ]
    return [*(c for c in segment.conditions if c.column not in numeric), *merged]


def number_text(value: float, thousands: bool = True) -> str:
    """All the digits of a cut, never an exponent: '2,016', '0.0001', '12.5'."""
    exact = Decimal(repr(float(value))).normalize()
    return format(exact, ",f" if thousands else "f")


def condition_text(condition: Condition | Bounds, specs: dict[str, FeatureSpec]) -> str:
    unknown = " (or unknown)" if condition.includes_missing else ""
    if isinstance(condition, Bounds):
        low, high = condition.low, condition.high
        if low is not None and high is not None:
            text = f"{number_text(low)} ≤ {condition.column} < {number_text(high)}"
        elif low is not None:
            text = f"{condition.column} ≥ {number_text(low)}"
        else:
            text = f"{condition.column} < {number_text(high)}"
        return text + unknown
    above = condition.op == ">"
    if "=" in condition.column:
        name, level = condition.column.split("=", 1)
        return f"{name} {'is' if above else 'is not'} {level}{unknown}"
    source = specs[condition.column].source
    return f"{'uses' if above else 'does not use'} {source}{unknown}"


def segment_text(segment: Segment, specs: dict[str, FeatureSpec]) -> str:
    """The path's conditions, numeric bounds on one column merged: '120 ≤ employees < 900'."""
    return " AND ".join(condition_text(c, specs) for c in clauses(segment)) or "all accounts"


def filter_document(
    icp: IcpFilter, config: IcpConfig | None = None, as_of: date | None = None
) -> dict:
    """YAML-ready: each ICP and anti-ICP segment with its rule, coverage, ideal share and lift;
    under `sql` their WHERE clauses over the view `icp_accounts`, the view over the export as
    `config` names its columns (`view`), and a runnable query per kind (`query`)."""
    # imported here: icp_filter_sql imports this module's segments and clauses
    from icpfit.training.icp_filter_sql import ExportLayout, filter_sql

    specs = {s.name: s for s in icp.specs}
    layout = ExportLayout.of(config, as_of)

    def entry(segment: Segment) -> dict:
        return {
            "rule": segment_text(segment, specs),
            "coverage": round(segment.coverage, 4),
            "ideal_share": round(segment.ideal_share, 4),
            "ideal_rate": round(segment.ideal_rate, 4),
            "lift": round(float(segment.lift), 2),
            "mean_fit_probability": round(segment.mean_score, 4),
        }

    kinds = {kind: [s for s in icp.segments_ if s.kind == kind] for kind in ("icp", "anti_icp")}
    return {
        "icp": [entry(s) for s in kinds["icp"]],
        "anti_icp": [entry(s) for s in kinds["anti_icp"]],
        "sql": filter_sql(icp, layout),
    }
