"""The ICP filter: a few readable rules distilled from the model's scores (DESIGN §6).

A shallow regression tree is fitted to the model's probabilities on the scored population; each
leaf is a segment described by the conditions on its path. Segments whose ideal rate is well above
the average are the ICP, those well below the anti-ICP. It is also the rules-only baseline: it
scores an account with its segment's mean model probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeRegressor

from icpfit.features.frame import FeatureSpec

MIN_LEVEL_SHARE = 0.02
ICP_LIFT, ANTI_ICP_LIFT = 1.5, 0.5


@dataclass(frozen=True)
class Condition:
    column: str
    """The encoded column: a numeric feature, a flag, or 'feature=level'."""
    op: str
    """'<=' (left of the split) or '>'."""
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
        segments = []
        for leaf, path in _paths(self.tree_, self.columns_).items():
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


def _paths(tree: DecisionTreeRegressor, columns: list[str]) -> dict[int, tuple[Condition, ...]]:
    """Leaf id -> the conditions on its path from the root."""
    t = tree.tree_
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
        stack.append(
            (t.children_left[node], (*path, Condition(column, "<=", threshold, left_missing)))
        )
        stack.append(
            (t.children_right[node], (*path, Condition(column, ">", threshold, not left_missing)))
        )
    return paths


def _without_implied(path: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """'industry is Fintech' makes an earlier 'industry is not Software' on the path redundant."""
    chosen = {c.column.split("=", 1)[0] for c in path if "=" in c.column and c.op == ">"}
    return tuple(
        c
        for c in path
        if not ("=" in c.column and c.op == "<=" and c.column.split("=", 1)[0] in chosen)
    )


# The filter in words, as YAML-ready data and as a SQL WHERE clause.
def _number(value: float) -> str:
    return f"{value:,.4g}"


def condition_text(condition: Condition, specs: dict[str, FeatureSpec]) -> str:
    unknown = " (or unknown)" if condition.includes_missing else ""
    above = condition.op == ">"
    if "=" in condition.column:
        name, level = condition.column.split("=", 1)
        return f"{name} {'is' if above else 'is not'} {level}{unknown}"
    spec = specs[condition.column]
    if spec.kind == "flag":
        return f"{'uses' if above else 'does not use'} {spec.source}{unknown}"
    return f"{condition.column} {'>' if above else '≤'} {_number(condition.threshold)}{unknown}"


def segment_text(segment: Segment, specs: dict[str, FeatureSpec]) -> str:
    """The path's conditions, numeric bounds on one column merged: '120 < employees ≤ 900'."""
    bounds: dict[str, list[Condition]] = {}
    for c in segment.conditions:
        if "=" not in c.column and specs[c.column].kind != "flag":
            bounds.setdefault(c.column, []).append(c)
    parts = [condition_text(c, specs) for c in segment.conditions if c.column not in bounds]
    for column, conditions in bounds.items():
        low = max((c.threshold for c in conditions if c.op == ">"), default=None)
        high = min((c.threshold for c in conditions if c.op == "<="), default=None)
        unknown = " (or unknown)" if all(c.includes_missing for c in conditions) else ""
        if low is not None and high is not None:
            parts.append(f"{_number(low)} < {column} ≤ {_number(high)}{unknown}")
        else:
            op, value = (">", low) if low is not None else ("≤", high)
            parts.append(f"{column} {op} {_number(value)}{unknown}")
    return " AND ".join(parts) or "all accounts"


def condition_sql(condition: Condition, specs: dict[str, FeatureSpec], tech_column: str) -> str:
    above = condition.op == ">"
    if "=" in condition.column:
        name, level = condition.column.split("=", 1)
        quoted = level.replace("'", "''")
        expression, column = f"{name} {'=' if above else '<>'} '{quoted}'", name
    elif specs[condition.column].kind == "flag":
        source = specs[condition.column].source.replace("'", "''")
        expression = f"{tech_column} {'' if above else 'NOT '}LIKE '%{source}%'"
        column = tech_column
    else:
        column = (
            specs[condition.column].source
            if specs[condition.column].kind == "numeric"
            else condition.column
        )
        expression = f"{column} {'>' if above else '<='} {condition.threshold:.6g}"
    return f"({expression} OR {column} IS NULL)" if condition.includes_missing else expression


def where_clause(
    segments: list[Segment], specs: dict[str, FeatureSpec], tech_column: str = "tech_stack"
) -> str:
    """SQL WHERE for the union of segments; technology flags read a delimited tech column."""
    clauses = [
        " AND ".join(condition_sql(c, specs, tech_column) for c in s.conditions) or "TRUE"
        for s in segments
    ]
    return "\n   OR ".join(f"({c})" for c in clauses) if clauses else "FALSE"


def filter_document(icp: IcpFilter, tech_column: str = "tech_stack") -> dict:
    """YAML-ready: each ICP and anti-ICP segment with its rule, coverage, ideal share and lift."""
    specs = {s.name: s for s in icp.specs}

    def entry(segment: Segment) -> dict:
        return {
            "rule": segment_text(segment, specs),
            "coverage": round(segment.coverage, 4),
            "ideal_share": round(segment.ideal_share, 4),
            "ideal_rate": round(segment.ideal_rate, 4),
            "lift": round(float(segment.lift), 2),
            "mean_fit_probability": round(segment.mean_score, 4),
        }

    icp_segments = [s for s in icp.segments_ if s.kind == "icp"]
    anti = [s for s in icp.segments_ if s.kind == "anti_icp"]
    return {
        "icp": [entry(s) for s in icp_segments],
        "anti_icp": [entry(s) for s in anti],
        "sql": {
            "icp": where_clause(icp_segments, specs, tech_column),
            "anti_icp": where_clause(anti, specs, tech_column),
        },
    }
