"""One account, every attribute: its value in words and its exact contribution, and a waterfall."""

from __future__ import annotations

import io
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from icpfit.serving.estimates import apply_estimates
from icpfit.serving.reasons import Wording, contribution_text, plain_value, value_words
from icpfit.serving.scoring import account_features, specs_from_bundle
from icpfit.serving.treeshap import TreeShap, booster_matrix

WATERFALL_BARS = 12


def explain_account(
    row: pd.DataFrame,
    bundle: dict[str, Any],
    booster: lgb.Booster,
    explainer: TreeShap | None = None,
) -> tuple[pd.DataFrame, float]:
    """Per attribute: its label, the text a rep reads, its exact SHAP value (log-odds), its
    value and the median A-tier account's (`tier_a` in the bundle, where recorded); plus the
    base value. Largest contribution first.

    A blank the bundle estimates (a headcount) is filled as in scoring and reads as estimated.
    """
    renames = {export: canonical for canonical, export in bundle["accounts_columns"].items()}
    keyed = row.rename(columns=renames).head(1).assign(account_id="row0")
    specs = specs_from_bundle(bundle)
    features = account_features(keyed, bundle, specs)
    frame, estimated = apply_estimates(features.frame, bundle.get("estimates", []))
    explainer = explainer or TreeShap.from_booster(booster, bundle["best_iteration"])
    contrib = explainer.contributions(booster_matrix(frame, booster))[0]
    values = frame.iloc[0]
    guessed = estimated.iloc[0].to_dict()
    profiles, wording = bundle.get("profiles", {}), Wording.of(bundle)
    typical = bundle.get("tier_a", {}).get("values", {})
    table = pd.DataFrame(
        {
            "attribute": [s.name for s in specs],
            "label": [wording.label(s) for s in specs],
            "group": [s.group for s in specs],
            "reads as": [
                contribution_text(
                    s,
                    plain_value(values[s.name]),
                    profiles.get(s.name),
                    float(c),
                    estimated=guessed.get(s.name, False),
                    wording=wording,
                )
                for s, c in zip(specs, contrib[:-1], strict=True)
            ],
            "contribution": contrib[:-1],
            "this account": [value_words(s, plain_value(values[s.name])) for s in specs],
            "median A account": [
                value_words(s, typical[s.name]) if s.name in typical else "–" for s in specs
            ],
        }
    )
    order = table["contribution"].abs().sort_values(ascending=False).index
    return table.loc[order].reset_index(drop=True), float(contrib[-1])


def probability(margin: np.ndarray | float, calibration: dict[str, float]) -> np.ndarray:
    """The bundle's Platt calibration: log-odds margin -> fit probability."""
    slope, intercept = calibration["slope"], calibration["intercept"]
    return 1 / (1 + np.exp(-(slope * np.asarray(margin, dtype=float) + intercept)))


def probability_steps(
    table: pd.DataFrame, base: float, calibration: dict[str, float], top: int
) -> pd.DataFrame:
    """The waterfall in probability terms: from the average account's fit probability, the
    `top` largest contributions one at a time (largest first), then all the others as one step,
    ending at this account's probability. A step's size depends on the steps before it (the
    probability is not additive); the log-odds are, and sum exactly."""
    shown = table.head(top)
    rest = table.iloc[top:]
    steps = pd.DataFrame(
        {
            "feature": [*shown["attribute"], ""],
            "label": [*shown["label"], f"{len(rest)} other attributes"],
            "reads_as": [*shown["reads as"], ""],
            "this_account": [*shown["this account"], ""],
            "median_a": [*shown["median A account"], ""],
            "contribution": [*shown["contribution"], rest["contribution"].sum()],
        }
    )
    if rest.empty:
        steps = steps.iloc[:-1]
    after = base + steps["contribution"].cumsum().to_numpy()
    before = np.r_[base, after[:-1]]
    return steps.assign(
        before=probability(before, calibration),
        after=probability(after, calibration),
    ).assign(points=lambda d: 100 * (d["after"] - d["before"]))


def waterfall_png(table: pd.DataFrame, base: float, title: str) -> bytes:
    """From the average account's log-odds to this account's, the largest steps first."""
    shown = table.head(WATERFALL_BARS)
    rest = table["contribution"].iloc[WATERFALL_BARS:].sum()
    labels = [
        *(t.split(" — ")[0] for t in shown["reads as"]),
        f"{len(table) - len(shown)} other attributes",
    ]
    steps = [*shown["contribution"], rest]
    figure = Figure(figsize=(9, 0.42 * len(steps) + 1.6))
    axes = figure.add_subplot()
    position = base
    for row, step in enumerate(steps):
        axes.barh(
            len(steps) - row - 1, step, left=position, color="#2e7d32" if step >= 0 else "#c62828"
        )
        position += step
    axes.set_yticks(range(len(steps)), [str(s)[:60] for s in reversed(labels)], fontsize=8)
    axes.axvline(base, color="#888888", linewidth=0.8, linestyle="--")
    axes.margins(x=0.06)
    axes.set_xlabel(
        f"log-odds of an ideal customer (average account {base:.2f}, this account {position:.2f})"
    )
    axes.set_title(title)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
