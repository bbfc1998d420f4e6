"""The numba kernels: SHAP values of leaves, node decisions, and the two batch loops over a
`Model`'s flat arrays (contributions and raw scores).

The split-kind constants live here, not in `trees`, because numba's on-disk cache is keyed on
this file alone and compiles module constants into the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

NUM_NONE, NUM_ZERO, NUM_NAN, CATEGORICAL = 0, 1, 2, 3
K_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold is the float literal 1e-35f
TASK_ROWS = 1024  # rows per parallel task: their outputs and decisions stay in cache


@dataclass(frozen=True)
class Model:
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
def contributions_kernel(
    x, out, expected, tree_node_start, feature, kind, threshold, default_left, cat_start,
    cat_size, cat_lut, cat_mask, tree_block_start, block_direct, block_init, block_term_start,
    block_table_start, block_col_start, block_value, col_feature, col_z, term_node, term_bit,
    term_dir, term_or, tables,
):  # fmt: skip
    """out[r] = row r's SHAP values, `expected` last; tasks of TASK_ROWS rows in parallel."""
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
def raw_scores_kernel(
    x, tree_node_start, feature, kind, threshold, default_left, cat_start, cat_size, cat_lut,
    left, right, tree_leaf_start, leaf_value,
):  # fmt: skip
    """Each row's sum of leaf values, one tree walk per tree."""
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
