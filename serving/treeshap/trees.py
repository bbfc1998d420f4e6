"""LightGBM's `dump_model()` trees as flat lists, and the encoding of their split kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .kernels import CATEGORICAL, NUM_NAN, NUM_NONE, NUM_ZERO

MISSING_KINDS = {"None": NUM_NONE, "Zero": NUM_ZERO, "NaN": NUM_NAN}


@dataclass(frozen=True)
class Tree:
    """One tree; internal nodes numbered in preorder, a child < 0 is the leaf ~child."""

    feature: list[int]
    kind: list[int]
    threshold: list[float]
    default_left: list[bool]
    categories: list[list[int]]
    left: list[int]
    right: list[int]
    count: list[float]
    leaf_value: list[float]
    leaf_count: list[float]
    leaf_index: list[int]

    def size(self, node: int) -> float:
        return self.count[node] if node >= 0 else self.leaf_count[~node]


def parse_tree(structure: dict[str, Any]) -> Tree:
    fields: dict[str, list] = {name: [] for name in Tree.__dataclass_fields__}
    slots = [(structure, None, False)]
    while slots:
        node, parent, is_left = slots.pop()
        if "split_index" in node:
            ref = len(fields["feature"])
            categorical = node["decision_type"] == "=="
            fields["feature"].append(int(node["split_feature"]))
            fields["kind"].append(
                CATEGORICAL if categorical else MISSING_KINDS[node["missing_type"]]
            )
            fields["threshold"].append(0.0 if categorical else float(node["threshold"]))
            fields["default_left"].append(bool(node["default_left"]))
            cats = str(node["threshold"]).split("||") if categorical else []
            fields["categories"].append([int(c) for c in cats])
            fields["count"].append(float(node["internal_count"]))
            fields["left"].append(0)
            fields["right"].append(0)
            slots.append((node["right_child"], ref, False))
            slots.append((node["left_child"], ref, True))
        else:
            ref = ~len(fields["leaf_value"])
            fields["leaf_value"].append(float(node["leaf_value"]))
            fields["leaf_count"].append(float(node.get("leaf_count", 0)))
            fields["leaf_index"].append(int(node.get("leaf_index", 0)))
        if parent is not None:
            fields["left" if is_left else "right"][parent] = ref
    return Tree(**fields)


def tree_expected_value(tree: Tree) -> float:
    """Tree::ExpectedValue: leaves in LightGBM's order, weighted by count / root count."""
    if not tree.feature:
        return tree.leaf_value[0]
    total, value = tree.count[0], 0.0
    for leaf in np.argsort(tree.leaf_index, kind="stable"):
        value += (tree.leaf_count[leaf] / total) * tree.leaf_value[leaf]
    return value
