"""Exact path-dependent TreeSHAP for LightGBM boosters: the numbers of
`booster.predict(X, pred_contrib=True)`, from precomputed tables instead of the recursion.

A leaf's SHAP values depend on a row only through its *decision pattern*: for each distinct
feature on the leaf's path, whether the row satisfies all of the path's conditions on it
(repeated features merge into one bit, as LightGBM's unwinding does). Each tree is cut into
*blocks*: a subtree together with the path above it. A block's table holds, for every
combination of (pattern bits of the path above, decisions of the nodes inside), the summed
contributions of all its leaves, one column per feature involved. Explaining a batch is then:
node decisions, one table index per block and row, a gather-and-add per column. A small dynamic
programme per tree chooses the blocks (work per row against table memory). A leaf whose path
has more distinct features than a table may index is computed directly per row instead, with
the same Shapley polynomial in O(d^2) (the fallback).

Modules: `trees` parses the dump, `planning` chooses the blocks and computes their tables,
`kernels` holds the numba code that explains a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from .kernels import Model, contributions_kernel, raw_scores_kernel
from .planning import assemble, plan_blocks
from .trees import parse_tree, tree_expected_value

__all__ = ["TreeShap", "booster_matrix"]


@dataclass(frozen=True)
class TreeShap:
    """Path-dependent SHAP values of a LightGBM booster (one output), as plain numpy arrays."""

    n_features: int
    expected_value: float
    model: Model

    @classmethod
    def from_booster(cls, booster: lgb.Booster, num_iteration: int | None = None) -> TreeShap:
        """The first `num_iteration` trees; None or <= 0: the best iteration if any, as predict."""
        if num_iteration is None or num_iteration <= 0:
            num_iteration = booster.best_iteration if booster.best_iteration > 0 else -1
        dump = booster.dump_model(num_iteration=num_iteration)
        if dump.get("num_tree_per_iteration", 1) != 1:
            raise ValueError("TreeShap explains boosters with one output (binary, regression)")
        if any(tree.get("is_linear", False) for tree in dump["tree_info"]):
            raise ValueError("TreeShap does not explain linear trees")
        trees = [parse_tree(info["tree_structure"]) for info in dump["tree_info"]]
        expected = 0.0
        for tree in trees:
            expected += tree_expected_value(tree)
        return cls(booster.num_feature(), expected, assemble(trees, plan_blocks(trees)))

    @property
    def table_bytes(self) -> int:
        return int(self.model.tables.nbytes)

    def _matrix(self, x: np.ndarray) -> np.ndarray:
        if isinstance(x, pd.DataFrame):
            raise TypeError("pass a matrix: booster_matrix(frame, booster)")
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected a 2-d matrix with {self.n_features} columns, got {x.shape}")
        if x.dtype not in (np.float32, np.float64):  # LightGBM reads any other type as float32
            x = x.astype(np.float32)
        return np.ascontiguousarray(x, dtype=np.float64)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features + 1): SHAP values in log-odds, the expected value last."""
        x, m = self._matrix(x), self.model
        out = np.empty((x.shape[0], self.n_features + 1))
        contributions_kernel(
            x, out, self.expected_value, m.tree_node_start, m.feature, m.kind, m.threshold,
            m.default_left, m.cat_start, m.cat_size, m.cat_lut, m.cat_mask, m.tree_block_start,
            m.block_direct, m.block_init, m.block_term_start, m.block_table_start,
            m.block_col_start, m.block_value, m.col_feature, m.col_z, m.term_node, m.term_bit,
            m.term_dir, m.term_or, m.tables,
        )  # fmt: skip
        return out

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        """Sum of the trees' leaf values, as booster.predict(raw_score=True)."""
        x, m = self._matrix(x), self.model
        return raw_scores_kernel(
            x, m.tree_node_start, m.feature, m.kind, m.threshold, m.default_left, m.cat_start,
            m.cat_size, m.cat_lut, m.left, m.right, m.tree_leaf_start, m.leaf_value,
        )  # fmt: skip


def booster_matrix(frame: pd.DataFrame, booster: lgb.Booster) -> np.ndarray:
    """The float64 matrix LightGBM predicts on for `frame` (columns in the booster's order).

    As lightgbm's `_data_from_pandas`: categorical columns become codes in the training
    categories (booster.pandas_categorical; unseen or missing -> NaN), and the matrix takes the
    common type of the columns and float32, so an all-float32 frame is read at float32 precision.
    """
    if frame.shape[1] != booster.num_feature():
        raise ValueError(f"expected {booster.num_feature()} columns, got {frame.shape[1]}")
    categorical = [c for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    levels = booster.pandas_categorical or []
    if len(levels) != len(categorical):
        raise ValueError(f"the booster has {len(levels)} categorical columns, the frame has "
                         f"{len(categorical)}")  # fmt: skip
    data = frame.copy(deep=False)
    for column, categories in zip(categorical, levels, strict=True):
        data[column] = frame[column].cat.set_categories(categories).cat.codes.replace(-1, np.nan)
    target = np.result_type(*[t.type for t in data.dtypes], np.float32)
    try:
        matrix = data.to_numpy(dtype=target)
    except ValueError:  # nullable columns
        matrix = data.to_numpy(dtype=target, na_value=np.nan)
    return np.ascontiguousarray(matrix, dtype=np.float64)
