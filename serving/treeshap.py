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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import lightgbm as lgb
import numpy as np
import pandas as pd
from numba import njit, prange

K_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold is the float literal 1e-35f
NUM_NONE, NUM_ZERO, NUM_NAN, CATEGORICAL = 0, 1, 2, 3
MISSING_KINDS = {"None": NUM_NONE, "Zero": NUM_ZERO, "NaN": NUM_NAN}
TASK_ROWS = 1024  # rows per parallel task: their outputs and decisions stay in cache
MAX_TABLE_BITS = 14  # a table has at most 2**14 rows
TABLE_BYTES = 192 * 2**20  # memory budget for the tables of one model
# Per-row cost model of a block (arbitrary units, roughly nanoseconds), used to choose blocks.
COST_BLOCK, COST_TERM, COST_GATHER, COST_DIRECT = 1.0, 0.3, 1.0, 1.0
COST_PER_BYTE = 5e-4


@dataclass(frozen=True)
class _Tree:
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


def _parse_tree(structure: dict[str, Any]) -> _Tree:
    fields: dict[str, list] = {name: [] for name in _Tree.__dataclass_fields__}
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
    return _Tree(**fields)


def _expected_value(tree: _Tree) -> float:
    """Tree::ExpectedValue: leaves in LightGBM's order, weighted by count / root count."""
    if not tree.feature:
        return tree.leaf_value[0]
    total, value = tree.count[0], 0.0
    for leaf in np.argsort(tree.leaf_index, kind="stable"):
        value += (tree.leaf_count[leaf] / total) * tree.leaf_value[leaf]
    return value


# ----------------------------------------------------------------------------- numba kernels


@njit(cache=True)
def _shapley_weights(d):
    """w[s] = s! (d-1-s)! / d!: the Shapley weight of a coalition of s of the other d-1."""
    w = np.empty(max(d, 1))
    w[0] = 1.0 / d
    for s in range(d - 1):
        w[s + 1] = w[s] * (s + 1) / (d - 1 - s)
    return w


@njit(cache=True, error_model="numpy")
def _leaf_shap(o, n, z, value, phi, poly, quot, total, plain):
    """SHAP values of one leaf for n decision patterns (vectorised over them): phi[i, r].

    o[j, r] is 1 if pattern r satisfies the path's conditions on its j-th feature, z[j] the
    path's cover share of that feature. The leaf's path-dependent game is
    v(S) = value * prod_{j in S} o_j * prod_{j not in S} z_j, so with P(t) = prod_j (z_j + o_j t),
    phi_i = value * (o_i - z_i) * sum_s w[s] [t^s] P_i(t), where P_i = P / (z_i + t) if o_i = 1
    (synthetic division from the top: stable) and P / z_i otherwise (LightGBM's UnwoundPathSum
    divides by the zero fraction the same way).
    """
    d = z.shape[0]
    w = _shapley_weights(d)
    poly[0, :n] = 1.0
    poly[1 : d + 1, :n] = 0.0
    for j in range(d):
        zj, oj = z[j], o[j]
        for k in range(j + 1, 0, -1):
            high, low = poly[k], poly[k - 1]
            for r in range(n):
                high[r] = high[r] * zj + oj[r] * low[r]
        for r in range(n):
            poly[0, r] *= zj
    plain[:n] = 0.0
    for k in range(d):
        for r in range(n):
            plain[r] += w[k] * poly[k, r]
    for i in range(d):
        zi, oi, target = z[i], o[i], phi[i]
        for r in range(n):
            quot[r] = poly[d, r]
            total[r] = w[d - 1] * quot[r]
        for k in range(d - 1, 0, -1):
            wk, pk = w[k - 1], poly[k]
            for r in range(n):
                quot[r] = pk[r] - zi * quot[r]
                total[r] += wk * quot[r]
        for r in range(n):
            target[r] = value * (oi[r] - zi) * (total[r] if oi[r] > 0.0 else plain[r] / zi)


@njit(cache=True)
def _leaf_table(z, value):
    """Contributions of one leaf for all 2**d patterns: table[pattern, feature position]."""
    d, n = z.shape[0], 1 << z.shape[0]
    o = np.empty((d, n))
    for j in range(d):
        for pattern in range(n):
            o[j, pattern] = (pattern >> j) & 1
    phi = np.empty((d, n))
    _leaf_shap(o, n, z, value, phi, np.empty((d + 1, n)), np.empty(n), np.empty(n), np.empty(n))
    return phi.T


@njit(cache=True, inline="always")
def _goes_left(x, kind, threshold, default_left, cat_lut, cat_start, cat_size):
    """Tree::NumericalDecision / Tree::CategoricalDecision for one value."""
    if kind == CATEGORICAL:
        # static_cast<int> truncates towards zero; NaN and overflow give INT_MIN: right
        if not (x > -1.0 and x < cat_size):
            return False
        return cat_lut[cat_start + int(x)] == 1
    if x != x:
        if kind == NUM_NAN:
            return default_left
        x = 0.0
    if kind == NUM_ZERO and x >= -K_ZERO and x <= K_ZERO:
        return default_left
    return x <= threshold


@njit(cache=True)
def _decide(
    xt, nb, node, feature, kind, threshold, default_left, cat_start, cat_size, cat_lut, cat_mask,
    out,
):  # fmt: skip
    """out[r] = 1 if row r goes left at `node`, for the nb rows of a task (xt is feature-major)."""
    values = xt[feature[node]]
    k, t, dl = kind[node], threshold[node], default_left[node]
    if k == NUM_NAN:
        for r in range(nb):
            x = values[r]
            out[r] = dl if x != x else x <= t
    elif k == NUM_NONE:
        for r in range(nb):
            x = values[r]
            out[r] = (0.0 if x != x else x) <= t
    elif k == NUM_ZERO:
        for r in range(nb):
            x = values[r]
            x = 0.0 if x != x else x
            out[r] = dl if (x >= -K_ZERO) & (x <= K_ZERO) else x <= t
    elif cat_size[node] <= 64:  # categories as the bits of one word: vectorises
        mask, limit = cat_mask[node], float(cat_size[node])
        for r in range(nb):
            x = values[r]
            inside = (x > -1.0) & (x < limit)
            out[r] = (mask >> np.uint64(x if inside else 0.0)) & np.uint64(inside)
    else:
        cs, limit = cat_start[node], float(cat_size[node])
        for r in range(nb):
            x = values[r]
            inside = (x > -1.0) & (x < limit)
            out[r] = cat_lut[cs + int(x if inside else 0.0)] & inside


@dataclass(frozen=True)
class _Model:
    """Flat arrays of the trees (node ids local to their tree) and of their blocks."""

    tree_node_start: np.ndarray
    feature: np.ndarray
    kind: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    cat_start: np.ndarray
    cat_size: np.ndarray
    cat_lut: np.ndarray
    cat_mask: np.ndarray
    left: np.ndarray
    right: np.ndarray
    tree_leaf_start: np.ndarray
    leaf_value: np.ndarray
    tree_block_start: np.ndarray
    block_direct: np.ndarray
    block_init: np.ndarray
    block_term_start: np.ndarray
    block_table_start: np.ndarray
    block_col_start: np.ndarray
    block_value: np.ndarray
    col_feature: np.ndarray
    col_z: np.ndarray
    term_node: np.ndarray
    term_bit: np.ndarray
    term_dir: np.ndarray
    term_or: np.ndarray
    tables: np.ndarray


@njit(cache=True)
def _direct_block(acc, dec, nb, terms, bits, ways, features, z, value, scratch):
    """A leaf too deep for a table: its patterns from the decisions, then its polynomial."""
    d = z.shape[0]
    o, phi, poly, quot, total, plain = scratch
    o[:d, :nb] = 1.0
    for q in range(terms.shape[0]):
        row, way, pattern = dec[terms[q]], ways[q], o[bits[q]]
        for r in range(nb):
            pattern[r] *= row[r] == way
    _leaf_shap(o, nb, z, value, phi, poly, quot, total, plain)
    for i in range(d):
        source, target = phi[i], acc[features[i]]
        for r in range(nb):
            target[r] += source[r]


@njit(cache=True)
def _table_block(acc, dec, nb, index, init, terms, bits, ways, ors, features, table):
    """index = pattern bits of the path, then decisions inside; add the table's columns."""
    for r in range(nb):
        index[r] = init
    for q in range(terms.shape[0]):
        row, bit = dec[terms[q]], bits[q]
        if ors[q]:
            for r in range(nb):
                index[r] |= np.int64(row[r]) << bit
        else:
            way = ways[q]
            for r in range(nb):
                index[r] &= ~(np.int64(row[r] ^ way) << bit)
    rows = table.shape[0] // features.shape[0]
    for c in range(features.shape[0]):
        column, target = table[c * rows : (c + 1) * rows], acc[features[c]]
        for r in range(nb):
            target[r] += column[index[r]]


@njit(cache=True)
def _scratch(d, n):
    """Work arrays of _direct_block: patterns, SHAP values, polynomial, three rows."""
    return (np.empty((d, n)), np.empty((d, n)), np.empty((d + 1, n)), np.empty(n), np.empty(n),
            np.empty(n))  # fmt: skip


@njit(cache=True, parallel=True)
def _contributions(
    x, out, expected, tree_node_start, feature, kind, threshold, default_left, cat_start,
    cat_size, cat_lut, cat_mask, tree_block_start, block_direct, block_init, block_term_start,
    block_table_start, block_col_start, block_value, col_feature, col_z, term_node, term_bit,
    term_dir, term_or, tables,
):  # fmt: skip
    n, n_features = x.shape
    n_trees = tree_node_start.shape[0] - 1
    max_nodes = 1
    for t in range(n_trees):
        max_nodes = max(max_nodes, tree_node_start[t + 1] - tree_node_start[t])
    max_direct = 0
    for b in range(block_col_start.shape[0] - 1):
        if block_direct[b]:
            max_direct = max(max_direct, block_col_start[b + 1] - block_col_start[b])
    for task in prange((n + TASK_ROWS - 1) // TASK_ROWS):
        r0 = task * TASK_ROWS
        nb = min(TASK_ROWS, n - r0)
        xt = np.empty((n_features, nb))
        for r in range(nb):
            for f in range(n_features):
                xt[f, r] = x[r0 + r, f]
        acc = np.zeros((n_features + 1, nb))
        dec = np.empty((max_nodes, nb), np.uint8)
        index = np.empty(nb, np.int64)
        scratch = _scratch(max_direct, nb)
        for t in range(n_trees):
            n0 = tree_node_start[t]
            for k in range(tree_node_start[t + 1] - n0):
                _decide(xt, nb, n0 + k, feature, kind, threshold, default_left, cat_start,
                        cat_size, cat_lut, cat_mask, dec[k])  # fmt: skip
            for b in range(tree_block_start[t], tree_block_start[t + 1]):
                c0, c1 = block_col_start[b], block_col_start[b + 1]
                q0, q1 = block_term_start[b], block_term_start[b + 1]
                terms, bits, ways = term_node[q0:q1], term_bit[q0:q1], term_dir[q0:q1]
                if block_direct[b]:
                    _direct_block(acc, dec, nb, terms, bits, ways, col_feature[c0:c1],
                                  col_z[c0:c1], block_value[b], scratch)  # fmt: skip
                else:
                    table = tables[block_table_start[b] : block_table_start[b + 1]]
                    _table_block(acc, dec, nb, index, block_init[b], terms, bits, ways,
                                 term_or[q0:q1], col_feature[c0:c1], table)  # fmt: skip
        for r in range(nb):
            for f in range(n_features):
                out[r0 + r, f] = acc[f, r]
            out[r0 + r, n_features] = expected


@njit(cache=True, parallel=True)
def _raw_scores(
    x, tree_node_start, feature, kind, threshold, default_left, cat_start, cat_size, cat_lut,
    left, right, tree_leaf_start, leaf_value,
):  # fmt: skip
    n = x.shape[0]
    scores = np.zeros(n)
    for r in prange(n):
        total = 0.0
        for t in range(tree_node_start.shape[0] - 1):
            n0 = tree_node_start[t]
            node = 0 if tree_node_start[t + 1] > n0 else -1
            while node >= 0:
                k = n0 + node
                go = _goes_left(x[r, feature[k]], kind[k], threshold[k], default_left[k],
                                cat_lut, cat_start[k], cat_size[k])  # fmt: skip
                node = left[k] if go else right[k]
            total += leaf_value[tree_leaf_start[t] + ~node]
        scores[r] = total
    return scores


# ----------------------------------------------------------------------------- planning


class _Shape(NamedTuple):
    """A block rooted at a node (leaf ~l): the path above it and what lies below."""

    path: tuple[tuple[int, bool], ...]  # (internal node, goes left), from the root
    inside: tuple[int, ...]  # internal nodes of the subtree, preorder
    features: list[int]  # the path's distinct features in order of appearance, then new ones
    path_bits: int  # distinct features on the path

    @property
    def bits(self) -> int:
        return self.path_bits + len(self.inside)


def _unique(values: list[int]) -> list[int]:
    return list(dict.fromkeys(values))


def _shapes(tree: _Tree) -> tuple[list[int], dict[int, _Shape]]:
    """Every node in preorder, and its shape."""
    order, paths, stack = [], {}, [(0, ())]
    while stack:
        node, path = stack.pop()
        order.append(node)
        paths[node] = path
        if node >= 0:
            stack.append((tree.right[node], (*path, (node, False))))
            stack.append((tree.left[node], (*path, (node, True))))
    inside: dict[int, tuple[int, ...]] = {}
    below: dict[int, list[int]] = {}
    for node in reversed(order):
        if node < 0:
            inside[node], below[node] = (), []
        else:
            left, right = tree.left[node], tree.right[node]
            inside[node] = (node, *inside[left], *inside[right])
            below[node] = _unique([tree.feature[node], *below[left], *below[right]])
    shapes = {}
    for node in order:
        on_path = _unique([tree.feature[k] for k, _ in paths[node]])
        features = _unique(on_path + below[node])
        shapes[node] = _Shape(paths[node], inside[node], features, len(on_path))
    return order, shapes


def _table_cost(shape: _Shape, cost_per_byte: float) -> float:
    if shape.bits > MAX_TABLE_BITS:
        return np.inf
    work = COST_TERM * (len(shape.path) + len(shape.inside)) + COST_GATHER * len(shape.features)
    return COST_BLOCK + work + cost_per_byte * 8 * len(shape.features) * 2**shape.bits


def _direct_cost(shape: _Shape) -> float:
    return COST_BLOCK + COST_TERM * len(shape.path) + COST_DIRECT * shape.path_bits**2


Block = tuple[int, _Shape, bool]  # root node (leaf ~l), its shape, computed directly


def _plan(tree: _Tree, cost_per_byte: float) -> list[Block]:
    """Blocks covering every leaf once, the cheapest by the cost model."""
    order, shapes = _shapes(tree)
    best: dict[int, tuple[float, list[Block]]] = {}
    for node in reversed(order):
        shape = shapes[node]
        table = (_table_cost(shape, cost_per_byte), [(node, shape, False)])
        if node < 0:
            direct = (_direct_cost(shape), [(node, shape, True)])
            best[node] = min(table, direct, key=lambda c: c[0])
        else:
            left, right = best[tree.left[node]], best[tree.right[node]]
            best[node] = min(table, (left[0] + right[0], left[1] + right[1]), key=lambda c: c[0])
    return best[0][1]


def _table_bytes(plan: list[Block]) -> int:
    return sum(8 * len(s.features) * 2**s.bits for _, s, direct in plan if not direct)


def _plans(trees: list[_Tree]) -> list[list[Block]]:
    """Plans for all trees; memory is priced higher until the tables fit the budget."""
    cost_per_byte = COST_PER_BYTE
    while True:
        plans = [_plan(tree, cost_per_byte) if tree.feature else [] for tree in trees]
        if sum(map(_table_bytes, plans)) <= TABLE_BYTES or cost_per_byte > 1.0:
            return plans
        cost_per_byte *= 4


# ----------------------------------------------------------------------------- block tables


def _share(tree: _Tree, node: int, goes_left: bool) -> float:
    """The cover share of the path's side of a split (zero fraction in Lundberg's notation)."""
    child = tree.left[node] if goes_left else tree.right[node]
    return tree.size(child) / tree.size(node)


def _path_shares(tree: _Tree, path, features: list[int]) -> np.ndarray:
    z = dict.fromkeys(features, 1.0)
    for node, goes_left in path:
        z[tree.feature[node]] = _share(tree, node, goes_left) * z[tree.feature[node]]
    return np.array([z[f] for f in features])


def _leaves_below(tree: _Tree, node: int):
    """(leaf, path from `node` to it) for each leaf of the subtree."""
    stack = [(node, ())]
    while stack:
        at, path = stack.pop()
        if at < 0:
            yield ~at, path
        else:
            stack.append((tree.right[at], (*path, (at, False))))
            stack.append((tree.left[at], (*path, (at, True))))


def _table(tree: _Tree, node: int, shape: _Shape) -> np.ndarray:
    """Summed contributions of the block's leaves, by index: path pattern bits, then the
    decisions (1 = left) of the nodes inside, one bit each in preorder."""
    d = shape.path_bits
    if node < 0:
        z = _path_shares(tree, shape.path, shape.features)
        return _leaf_table(z, tree.leaf_value[~node])
    index = np.arange(2**shape.bits)
    table = np.zeros((index.size, len(shape.features)))
    position = {k: d + i for i, k in enumerate(shape.inside)}
    for leaf, below in _leaves_below(tree, node):
        features = _unique(shape.features[:d] + [tree.feature[k] for k, _ in below])
        z = _path_shares(tree, shape.path + below, features)
        bit_of = {f: b for b, f in enumerate(features)}
        bits = [(index >> b) & 1 for b in range(d)] + [np.ones_like(index)] * (len(features) - d)
        for k, goes_left in below:
            agrees = ((index >> position[k]) & 1) == goes_left
            bits[bit_of[tree.feature[k]]] = bits[bit_of[tree.feature[k]]] & agrees
        pattern = sum(bit << b for b, bit in enumerate(bits))
        columns = [shape.features.index(f) for f in features]
        table[:, columns] += _leaf_table(z, tree.leaf_value[leaf])[pattern]
    return table


# ----------------------------------------------------------------------------- assembly


def _cat_lut(categories: list[int]) -> np.ndarray:
    """1 for the category codes that go left, indexed by code."""
    lut = np.zeros(max(categories, default=-1) + 1, np.uint8)
    lut[categories] = 1
    return lut


def _block_arrays(tree: _Tree, blocks: list[Block], lists: dict[str, list]) -> None:
    """Append one tree's blocks to the flat lists (terms, columns, tables)."""
    for node, shape, direct in blocks:
        d = shape.path_bits
        features = shape.features[:d] if direct else shape.features
        for k, goes_left in shape.path:
            lists["terms"].append((k, features.index(tree.feature[k]), goes_left, False))
        if not direct:
            lists["terms"].extend((k, d + i, False, True) for i, k in enumerate(shape.inside))
        lists["block_term_start"].append(len(lists["terms"]))
        lists["block_direct"].append(direct)
        lists["block_init"].append(2**d - 1)
        lists["block_value"].append(tree.leaf_value[~node] if direct else 0.0)
        lists["col_feature"].extend(features)
        z = _path_shares(tree, shape.path, features) if direct else np.zeros(len(features))
        lists["col_z"].extend(z)
        lists["block_col_start"].append(len(lists["col_feature"]))
        if not direct:
            table = _table(tree, node, shape).T.ravel()  # column by column
            lists["tables"].append(table)
            lists["table_size"] += table.size
        lists["block_table_start"].append(lists["table_size"])


def _assemble(trees: list[_Tree], plans: list[list[Block]]) -> _Model:
    lists: dict[str, Any] = {"terms": [], "tables": [], "table_size": 0, "cat_lut": []}
    for name in ("block_direct", "block_init", "block_value"):
        lists[name] = []
    for name in ("col_feature", "col_z", "cat_start", "cat_size", "cat_mask"):
        lists[name] = []
    lists.update(block_term_start=[0], block_col_start=[0], block_table_start=[0])
    lists["tree_block_start"] = [0]
    cat_size = 0
    for tree, blocks in zip(trees, plans, strict=True):
        for categories in tree.categories:
            lut = _cat_lut(categories)
            lists["cat_start"].append(cat_size)
            lists["cat_size"].append(lut.size)
            lists["cat_lut"].append(lut)
            lists["cat_mask"].append(sum(1 << c for c in categories if c < 64))
            cat_size += lut.size
        _block_arrays(tree, blocks, lists)
        lists["tree_block_start"].append(lists["tree_block_start"][-1] + len(blocks))
    terms = np.array(lists["terms"], dtype=np.int64).reshape(-1, 4)
    return _Model(
        tree_node_start=np.cumsum([0] + [len(t.feature) for t in trees]),
        feature=np.array([f for t in trees for f in t.feature], np.int64),
        kind=np.array([k for t in trees for k in t.kind], np.int64),
        threshold=np.array([v for t in trees for v in t.threshold], np.float64),
        default_left=np.array([v for t in trees for v in t.default_left], np.bool_),
        cat_start=np.array(lists["cat_start"], np.int64),
        cat_size=np.array(lists["cat_size"], np.int64),
        cat_mask=np.array(lists["cat_mask"], np.uint64),
        cat_lut=np.concatenate([np.zeros(0, np.uint8), *lists["cat_lut"]]),
        left=np.array([v for t in trees for v in t.left], np.int64),
        right=np.array([v for t in trees for v in t.right], np.int64),
        tree_leaf_start=np.cumsum([0] + [len(t.leaf_value) for t in trees]),
        leaf_value=np.array([v for t in trees for v in t.leaf_value], np.float64),
        tree_block_start=np.array(lists["tree_block_start"], np.int64),
        block_direct=np.array(lists["block_direct"], np.bool_),
        block_init=np.array(lists["block_init"], np.int64),
        block_term_start=np.array(lists["block_term_start"], np.int64),
        block_table_start=np.array(lists["block_table_start"], np.int64),
        block_col_start=np.array(lists["block_col_start"], np.int64),
        block_value=np.array(lists["block_value"], np.float64),
        col_feature=np.array(lists["col_feature"], np.int64),
        col_z=np.array(lists["col_z"], np.float64),
        term_node=terms[:, 0].copy(),
        term_bit=terms[:, 1].copy(),
        term_dir=terms[:, 2].astype(np.uint8),
        term_or=terms[:, 3].astype(np.bool_),
        tables=np.concatenate([np.zeros(0), *lists["tables"]]),
    )


# ----------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class TreeShap:
    """Path-dependent SHAP values of a LightGBM booster (one output), as plain numpy arrays."""

    n_features: int
    expected_value: float
    model: _Model

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
        trees = [_parse_tree(info["tree_structure"]) for info in dump["tree_info"]]
        expected = 0.0
        for tree in trees:
            expected += _expected_value(tree)
        return cls(booster.num_feature(), expected, _assemble(trees, _plans(trees)))

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
        _contributions(
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
        return _raw_scores(
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
