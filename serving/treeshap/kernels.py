"""The numba kernels: SHAP values of leaves, node decisions, and the two batch loops over a
`Model`'s arrays (contributions and raw scores). The array layout is described in the package
docstring (`icpfit.serving.treeshap`).

The split-kind constants and the NamedTuples of the model live here, not in `trees` or
`planning`, because numba's on-disk cache is keyed on this file alone: it compiles module
constants into the code, and the NamedTuple classes are part of the cached signatures.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

NUM_NONE, NUM_ZERO, NUM_NAN, CATEGORICAL = 0, 1, 2, 3
K_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold is the float literal 1e-35f
TASK_ROWS = 1024  # rows per parallel task: their outputs and decisions stay in cache


class Nodes(NamedTuple):
    """Internal nodes of all trees, tree by tree; see the package docstring."""

    tree_start: np.ndarray  # int64 (n_trees + 1): tree t's nodes are tree_start[t]:[t + 1]
    feature: np.ndarray  # int64 (n_nodes): the column split on
    kind: np.ndarray  # int64 (n_nodes): NUM_NONE, NUM_ZERO, NUM_NAN or CATEGORICAL
    threshold: np.ndarray  # float64 (n_nodes): left if x <= threshold (0.0 if categorical)
    default_left: np.ndarray  # bool (n_nodes): the side of a missing value
    cat_start: np.ndarray  # int64 (n_nodes): the node's lookup table in cat_lut starts here
    cat_size: np.ndarray  # int64 (n_nodes): its length, 1 + largest left code; 0 if numerical
    cat_mask: np.ndarray  # uint64 (n_nodes): bit c set if code c < 64 goes left
    cat_lut: np.ndarray  # uint8 (sum of cat_size): 1 if the code goes left
    left: np.ndarray  # int64 (n_nodes): left child, local node id, or ~leaf if < 0
    right: np.ndarray  # int64 (n_nodes): right child, as left


class Leaves(NamedTuple):
    """Leaf values of all trees, tree by tree (only the raw score reads them)."""

    tree_start: np.ndarray  # int64 (n_trees + 1): tree t's leaves are tree_start[t]:[t + 1]
    value: np.ndarray  # float64 (n_leaves): leaf ~child of tree t is value[tree_start[t] + ~child]


class Blocks(NamedTuple):
    """Blocks of all trees, tree by tree, with the ranges of their terms, columns and table."""

    tree_start: np.ndarray  # int64 (n_trees + 1): tree t's blocks are tree_start[t]:[t + 1]
    direct: np.ndarray  # bool (n_blocks): a single leaf computed per row (the fallback)
    init: np.ndarray  # int64 (n_blocks): 2**d - 1, all d pattern bits of the path set
    value: np.ndarray  # float64 (n_blocks): the leaf value of a direct block, else 0.0
    term_start: np.ndarray  # int64 (n_blocks + 1): block b's terms are term_start[b]:[b + 1]
    col_start: np.ndarray  # int64 (n_blocks + 1): its columns are col_start[b]:[b + 1]
    table_start: np.ndarray  # int64 (n_blocks + 1): its table is tables[table_start[b]:[b + 1]]


class Columns(NamedTuple):
    """The features a block adds to, block by block."""

    feature: np.ndarray  # int64 (n_columns): the feature whose SHAP value the column adds to
    z: np.ndarray  # float64 (n_columns): a direct block's cover share of it, else 0.0


class Terms(NamedTuple):
    """How each block turns the node decisions of a row into its table index or its pattern."""

    node: np.ndarray  # int64 (n_terms): local id of the node whose decision is read
    bit: np.ndarray  # int64 (n_terms): the bit of the index (or the pattern) it sets or clears
    way: np.ndarray  # uint8 (n_terms): 1 if the path goes left there; 0 for a node inside
    inside: np.ndarray  # bool (n_terms): a node inside the block: its decision is OR-ed in


class Model(NamedTuple):
    """Everything the kernels read; the tables of all blocks are one float64 array."""

    nodes: Nodes
    leaves: Leaves
    blocks: Blocks
    columns: Columns
    terms: Terms
    tables: np.ndarray  # float64 (sum of the table sizes): each table column by column


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
def leaf_table(z, value):
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
    """Tree::NumericalDecision / Tree::CategoricalDecision for one value at one node."""
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
def _decide(values, nb, kind, threshold, default_left, cat_lut, cat_start, cat_size, cat_mask, out):
    """out[r] = 1 if row r goes left at one node, for the nb rows of a task whose values of the
    node's feature are `values` (_goes_left for a batch)."""
    if kind == NUM_NAN:
        for r in range(nb):
            x = values[r]
            out[r] = default_left if x != x else x <= threshold
    elif kind == NUM_NONE:
        for r in range(nb):
            x = values[r]
            out[r] = (0.0 if x != x else x) <= threshold
    elif kind == NUM_ZERO:
        for r in range(nb):
            x = values[r]
            x = 0.0 if x != x else x
            out[r] = default_left if (x >= -K_ZERO) & (x <= K_ZERO) else x <= threshold
    elif cat_size <= 64:  # categories as the bits of one word: vectorises
        limit = float(cat_size)
        for r in range(nb):
            x = values[r]
            inside = (x > -1.0) & (x < limit)
            out[r] = (cat_mask >> np.uint64(x if inside else 0.0)) & np.uint64(inside)
    else:
        limit = float(cat_size)
        for r in range(nb):
            x = values[r]
            inside = (x > -1.0) & (x < limit)
            out[r] = cat_lut[cat_start + int(x if inside else 0.0)] & inside


@njit(cache=True)
def _direct_block(acc, dec, nb, term_node, term_bit, term_way, features, z, value, scratch):
    """A leaf too deep for a table: its patterns from the decisions, then its polynomial.
    term_*: the block's terms; features, z: its columns."""
    d = z.shape[0]
    o, phi, poly, quot, total, plain = scratch
    o[:d, :nb] = 1.0
    for q in range(term_node.shape[0]):
        row, way, pattern = dec[term_node[q]], term_way[q], o[term_bit[q]]
        for r in range(nb):
            pattern[r] *= row[r] == way
    _leaf_shap(o, nb, z, value, phi, poly, quot, total, plain)
    for i in range(d):
        source, target = phi[i], acc[features[i]]
        for r in range(nb):
            target[r] += source[r]


@njit(cache=True)
def _table_block(acc, dec, nb, index, init, term_node, term_bit, term_way, term_inside, features,
                 table):  # fmt: skip
    """index = pattern bits of the path, then decisions inside; add the table's columns.
    term_*: the block's terms; features: its columns."""
    for r in range(nb):
        index[r] = init
    for q in range(term_node.shape[0]):
        row, bit = dec[term_node[q]], term_bit[q]
        if term_inside[q]:
            for r in range(nb):
                index[r] |= np.int64(row[r]) << bit
        else:
            way = term_way[q]
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
def contributions_kernel(x, out, expected, model):
    """out[r] = row r's SHAP values, `expected` last; tasks of TASK_ROWS rows in parallel.

    The arrays become locals before the parallel loop: numba takes a new reference to an array
    at every read from a NamedTuple (a few percent inside the loop), and its parallel loop
    cannot read a NamedTuple that is a field of another (model.nodes) at all.
    """
    nodes, blocks, columns, terms = model.nodes, model.blocks, model.columns, model.terms
    tree_node_start, feature, kind = nodes.tree_start, nodes.feature, nodes.kind
    threshold, default_left, cat_mask = nodes.threshold, nodes.default_left, nodes.cat_mask
    cat_start, cat_size, cat_lut = nodes.cat_start, nodes.cat_size, nodes.cat_lut
    tree_block_start, block_direct, block_init = blocks.tree_start, blocks.direct, blocks.init
    block_value, block_term_start = blocks.value, blocks.term_start
    block_col_start, block_table_start = blocks.col_start, blocks.table_start
    col_feature, col_z = columns.feature, columns.z
    term_node, term_bit, term_way, term_inside = terms.node, terms.bit, terms.way, terms.inside
    tables = model.tables
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
                g = n0 + k  # tree t's node k
                _decide(xt[feature[g]], nb, kind[g], threshold[g], default_left[g], cat_lut,
                        cat_start[g], cat_size[g], cat_mask[g], dec[k])  # fmt: skip
            for b in range(tree_block_start[t], tree_block_start[t + 1]):
                c0, c1 = block_col_start[b], block_col_start[b + 1]
                q0, q1 = block_term_start[b], block_term_start[b + 1]
                node, bit, way = term_node[q0:q1], term_bit[q0:q1], term_way[q0:q1]
                if block_direct[b]:
                    _direct_block(acc, dec, nb, node, bit, way, col_feature[c0:c1], col_z[c0:c1],
                                  block_value[b], scratch)  # fmt: skip
                else:
                    table = tables[block_table_start[b] : block_table_start[b + 1]]
                    _table_block(acc, dec, nb, index, block_init[b], node, bit, way,
                                 term_inside[q0:q1], col_feature[c0:c1], table)  # fmt: skip
        for r in range(nb):
            for f in range(n_features):
                out[r0 + r, f] = acc[f, r]
            out[r0 + r, n_features] = expected


@njit(cache=True, parallel=True)
def raw_scores_kernel(x, model):
    """Each row's sum of leaf values, one tree walk per tree."""
    nodes, leaves = model.nodes, model.leaves  # locals before the loop, as contributions_kernel
    tree_start, feature, left, right = nodes.tree_start, nodes.feature, nodes.left, nodes.right
    kind, threshold, default_left = nodes.kind, nodes.threshold, nodes.default_left
    cat_lut, cat_start, cat_size = nodes.cat_lut, nodes.cat_start, nodes.cat_size
    leaf_start, leaf_value = leaves.tree_start, leaves.value
    n = x.shape[0]
    scores = np.zeros(n)
    for r in prange(n):
        total = 0.0
        for t in range(tree_start.shape[0] - 1):
            n0 = tree_start[t]
            node = 0 if tree_start[t + 1] > n0 else -1
            while node >= 0:
                k = n0 + node
                go = _goes_left(x[r, feature[k]], kind[k], threshold[k], default_left[k], cat_lut,
                                cat_start[k], cat_size[k])  # fmt: skip
                node = left[k] if go else right[k]
            total += leaf_value[leaf_start[t] + ~node]
        scores[r] = total
    return scores
