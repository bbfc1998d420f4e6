"""Exact path-dependent TreeSHAP for LightGBM boosters: the numbers of
`booster.predict(X, pred_contrib=True)`, from precomputed tables instead of the recursion.

The algorithm
-------------
The SHAP values are those of path-dependent TreeSHAP:

    S. M. Lundberg, G. Erion, H. Chen, A. DeGrave, J. M. Prutkin, B. Nair, R. Katz,
    J. Himmelfarb, N. Bansal, S.-I. Lee, "From local explanations to global understanding
    with explainable AI for trees", Nature Machine Intelligence 2, 56-67 (2020);
    S. M. Lundberg, G. G. Erion, S.-I. Lee, "Consistent individualized feature attribution
    for tree ensembles", arXiv:1802.03888 (2018).

For one tree and one row x, the value of a set S of features is the tree's output with the
features outside S integrated out along the training cover: at a split on a feature in S follow
x, at any other split take both children weighted by their share of the node's count. The SHAP
values are the Shapley values of that game; a model's are the sum of its trees', and so is its
expected value (a tree's game of the empty set: its count-weighted mean leaf value). LightGBM
computes them with the papers' polynomial-time recursion (Tree::TreeSHAP: one walk per tree and
row, extending and unwinding the path); this package reaches the same numbers, to rounding (the
tests hold it to 1e-9), as follows.

The game is a sum over leaves and Shapley values are linear, so each leaf has its own game. A
leaf of value w whose path has d distinct features gives each of them j two numbers: z_j, the
product of the path's cover shares (child count / node count) at its splits on j (the "zero
fraction"), and o_j = 1 if x satisfies all of the path's conditions on j, else 0 (the "one
fraction"). A feature repeated on the path is one player with the product of its splits, as
the recursion's unwinding merges it. The leaf's game is v(S) = w prod_{j in S} o_j
prod_{j not in S} z_j, features off the path get 0, and

    phi_i = w (o_i - z_i) sum_{s=0}^{d-1} s! (d-1-s)! / d! [t^s] prod_{j != i} (z_j + o_j t)

(`kernels._leaf_shap`, vectorised over rows or patterns).

Decision patterns and blocks
----------------------------
So a leaf's SHAP values depend on a row only through its *decision pattern* (o_1, ..., o_d),
one of 2**d, and can be tabulated. Each tree is cut into *blocks*: a subtree together with the
path from the root above it. A block's table is indexed by d path bits (bit j: the row
satisfies all of the path's conditions on the path's j-th distinct feature) then m decision
bits (1 = left) of the subtree's m internal nodes in preorder; each index fixes every leaf's
pattern, and the table's row for it holds the summed SHAP values of all the block's leaves, one
column per feature involved. Explaining a batch is then: one decision per node and row, one
table index per block and row, and a gather-and-add per column. A small dynamic programme per
tree (`planning`) chooses the blocks, trading work per row against table memory (at most 2**14
rows per table, a budget of 192 MiB for a model's tables). A leaf whose path has more distinct
features than a table may index, or whose table would cost more, is computed directly per row
instead (a *direct* block, the fallback), with the same polynomial in O(d^2).

Layout
------
`TreeShap.model` is a `kernels.Model`: Model(nodes: Nodes, leaves: Leaves, blocks: Blocks,
columns: Columns, terms: Terms, tables), NamedTuples of 1-d C-contiguous numpy arrays. Trees
keep LightGBM's order and each group concatenates them tree by tree; a `tree_start` array
(int64, n_trees + 1, from 0) gives tree t the range tree_start[t]:tree_start[t + 1] of its
group.

Within a tree, internal nodes are numbered 0, 1, ... in preorder (the root is 0: its *local*
id); tree t's node k is global node nodes.tree_start[t] + k. Leaves are numbered 0, 1, ... left
to right (not LightGBM's leaf_index). A child c >= 0 is the internal node c, c < 0 the leaf ~c.
A tree that is a single leaf has no nodes and no blocks; its value is in the expected value.

Nodes, one entry per internal node (n_nodes):
    feature       int64    the column split on
    kind          int64    kernels.NUM_NONE (NaN read as 0.0), NUM_ZERO (NaN and
                           |x| <= 1e-35f are missing), NUM_NAN (NaN is missing) or CATEGORICAL
    threshold     float64  numerical: left if x <= threshold; 0.0 if categorical
    default_left  bool     numerical: the side of a missing value (a categorical NaN goes right)
    cat_start     int64    the node's lookup table is cat_lut[cat_start : cat_start + cat_size]
    cat_size      int64    1 + the largest code that goes left; 0 for a numerical node
    cat_mask      uint64   bit c set if the code c < 64 goes left
    left, right   int64    the children, local (c >= 0) or a leaf (~c)
  and cat_lut     uint8    (sum of cat_size): 1 if the code goes left; x is truncated to
                           its code, and NaN or x outside (-1, cat_size) goes right
Leaves, one entry per leaf (n_leaves); only the raw score reads them:
    value         float64  leaf ~c of tree t is value[leaves.tree_start[t] + ~c]
Blocks, one entry per block (n_blocks):
    direct        bool     a single leaf computed per row, not from a table
    init          int64    2**d - 1: the index with all d path bits set
    value         float64  a direct block's leaf value; 0.0 for a table
    term_start    int64    (n_blocks + 1) block b's terms are term_start[b]:term_start[b + 1]
    col_start     int64    (n_blocks + 1) its columns are col_start[b]:col_start[b + 1]
    table_start   int64    (n_blocks + 1) its table is tables[table_start[b]:table_start[b + 1]]
                           (empty for a direct block)
Columns, for each block in turn its columns (n_columns):
    feature       int64    the feature whose SHAP value the column adds to: the path's distinct
                           features in order of first appearance from the root, then (a table)
                           the features first met in the subtree, in preorder
    z             float64  a direct block's z_j (product of the path's cover shares on the
                           feature); 0.0 for a table
Terms, for each block in turn: one per node on its path, root first, then (a table) one per
internal node of its subtree, in preorder (n_terms):
    node          int64    the local id of the node whose decision the term reads
    bit           int64    a path node: its feature's position among the path's distinct
                           features (the pattern bit, < d); the i-th node inside: d + i
    way           uint8    a path node: 1 if the path goes left there; 0 inside
    inside        bool     False: clear the bit if the decision differs from `way` (a path
                           condition); True: OR the decision (1 = left) into the bit
tables, float64 (sum of the tables' sizes): a block with n columns and bits = d + m index bits
    has a table of n * 2**bits entries, column by column: entry c * 2**bits + index is the
    summed SHAP value of the block's leaves for feature columns.feature[col_start[b] + c] when
    a row's index is `index` (every index is filled, contradictory decisions included).

The kernels take the model: contributions_kernel(x, out, expected, model) and
raw_scores_kernel(x, model). The first explains TASK_ROWS (1024) rows per parallel task, each
with its own work arrays: xt (n_features, rows) the rows feature-major; dec uint8 (largest
tree's n_nodes, rows) the current tree's decisions by local node id (1 = left); index int64
(rows); acc (n_features + 1, rows) the running SHAP values.

Modules: `trees` parses the dump, `planning` chooses the blocks and computes their tables and
arrays, `kernels` holds the NamedTuples and the numba code that explains a batch.
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
        x = self._matrix(x)
        out = np.empty((x.shape[0], self.n_features + 1))
        contributions_kernel(x, out, self.expected_value, self.model)
        return out

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        """Sum of the trees' leaf values, as booster.predict(raw_score=True)."""
        return raw_scores_kernel(self._matrix(x), self.model)


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
