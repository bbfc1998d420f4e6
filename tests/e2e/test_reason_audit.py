"""Reasons a rep can trust, counted over a whole scored universe (issue 14): no reason that
contradicts its sign, no vacuous item, no risk without a comparison, no fact said twice."""

from __future__ import annotations

import pandas as pd
import yaml

from icpfit.serving.reasons import audit_reasons
from tests.e2e.cli import invoke


def test_the_sample_universe_has_no_reason_a_rep_would_catch(shared, tmp_path):
    out = tmp_path / "scored.csv"
    invoke(
        "score",
        "--input",
        shared.data / "accounts.csv",
        "--output",
        out,
        *shared.inputs(),
        "--reasons",
        "3",
    )
    scored = pd.read_csv(out, dtype=str, keep_default_na=False).replace("", None)
    config = yaml.safe_load(shared.config.read_text())
    categories = config["features"]["technographic"]["categories"]
    counts = audit_reasons(scored, categories)
    assert counts == {
        "contradictions": 0,
        "vacuous": 0,
        "risks_without_comparison": 0,
        "duplicated_facts": 0,
    }
    said = scored[[f"{k}_{i}" for k in ("reason", "risk") for i in (1, 2, 3)]]
    assert said.notna().sum().min() > 0.5 * len(scored), "the rules must leave reasons to give"
    disqualified = scored["disqualified_reason"].notna()
    assert disqualified.any()
    rules = set(scored["disqualified_reason"].dropna())
    assert not scored.loc[disqualified, "reason_1"].dropna().isin(rules).any()
    assert scored.loc[disqualified, "reason_1"].notna().mean() > 0.9, "their fit reasons"
    assert scored["fit_score"].str.fullmatch(r"\d+").all(), "scores read as integers"
    assert scored["data_coverage"].str.fullmatch(r"[01](\.\d{1,2})?").all()
    assert scored["reason_1"].str.contains("Web visits per month").any(), "config labels"
