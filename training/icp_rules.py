"""The ICP filter in words, as YAML-ready data and as a SQL WHERE clause."""

from __future__ import annotations

from icpfit.features.frame import FeatureSpec
from icpfit.training.icp_filter import Condition, IcpFilter, Segment


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
