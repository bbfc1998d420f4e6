"""Choosing each tree's blocks by a per-row cost model under a memory budget, computing their
tables, and assembling everything into the arrays of a `Model` (layout: the package docstring)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .kernels import Blocks, Columns, Leaves, Model, Nodes, Terms, leaf_table
from .trees import Tree

MAX_TABLE_BITS = 14  # a table has at most 2**14 rows
TABLE_BYTES = 192 * 2**20  # memory budget for the tables of one model
# Per-row cost model of a block (arbitrary units, roughly nanoseconds), used to choose blocks.
COST_BLOCK, COST_TERM, COST_GATHER, COST_DIRECT = 1.0, 0.3, 1.0, 1.0
COST_PER_BYTE = 5e-4


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


def _shapes(tree: Tree) -> tuple[list[int], dict[int, _Shape]]:
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


def _plan(tree: Tree, cost_per_byte: float) -> list[Block]:
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


def plan_blocks(trees: list[Tree]) -> list[list[Block]]:
    """Plans for all trees; memory is priced higher until the tables fit the budget."""
    cost_per_byte = COST_PER_BYTE
    while True:
        plans = [_plan(tree, cost_per_byte) if tree.feature else [] for tree in trees]
        if sum(map(_table_bytes, plans)) <= TABLE_BYTES or cost_per_byte > 1.0:
            return plans
        cost_per_byte *= 4


def _share(tree: Tree, node: int, goes_left: bool) -> float:
    """The cover share of the path's side of a split (zero fraction in Lundberg's notation)."""
    child = tree.left[node] if goes_left else tree.right[node]
    return tree.size(child) / tree.size(node)


def _path_shares(tree: Tree, path, features: list[int]) -> np.ndarray:
    z = dict.fromkeys(features, 1.0)
    for node, goes_left in path:
        z[tree.feature[node]] = _share(tree, node, goes_left) * z[tree.feature[node]]
    return np.array([z[f] for f in features])


def _leaves_below(tree: Tree, node: int):
    """(leaf, path from `node` to it) for each leaf of the subtree."""
    stack = [(node, ())]
    while stack:
        at, path = stack.pop()
        if at < 0:
            yield ~at, path
        else:
            stack.append((tree.right[at], (*path, (at, False))))
            stack.append((tree.left[at], (*path, (at, True))))


def _table(tree: Tree, node: int, shape: _Shape) -> np.ndarray:
    """Summed contributions of the block's leaves, by index: path pattern bits, then the
    decisions (1 = left) of the nodes inside, one bit each in preorder."""
    d = shape.path_bits
    if node < 0:
        z = _path_shares(tree, shape.path, shape.features)
        return leaf_table(z, tree.leaf_value[~node])
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
        table[:, columns] += leaf_table(z, tree.leaf_value[leaf])[pattern]
    return table


def _cat_lut(categories: list[int]) -> np.ndarray:
    """1 for the category codes that go left, indexed by code."""
    lut = np.zeros(max(categories, default=-1) + 1, np.uint8)
    lut[categories] = 1
    return lut


def _block_arrays(tree: Tree, blocks: list[Block], lists: dict[str, list]) -> None:
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


def assemble(trees: list[Tree], plans: list[list[Block]]) -> Model:
    """The flat arrays of all trees and their blocks, as the kernels read them."""
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
    rows = np.array(lists["terms"], dtype=np.int64).reshape(-1, 4)  # node, bit, way, inside
    nodes = Nodes(
        tree_start=np.cumsum([0] + [len(t.feature) for t in trees], dtype=np.int64),
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
    )
    leaves = Leaves(
        tree_start=np.cumsum([0] + [len(t.leaf_value) for t in trees], dtype=np.int64),
        value=np.array([v for t in trees for v in t.leaf_value], np.float64),
    )
    blocks = Blocks(
        tree_start=np.array(lists["tree_block_start"], np.int64),
        direct=np.array(lists["block_direct"], np.bool_),
        init=np.array(lists["block_init"], np.int64),
        value=np.array(lists["block_value"], np.float64),
        term_start=np.array(lists["block_term_start"], np.int64),
        col_start=np.array(lists["block_col_start"], np.int64),
        table_start=np.array(lists["block_table_start"], np.int64),
    )
    columns = Columns(
        feature=np.array(lists["col_feature"], np.int64),
        z=np.array(lists["col_z"], np.float64),
    )
    terms = Terms(
        node=rows[:, 0].copy(),
        bit=rows[:, 1].copy(),
        way=rows[:, 2].astype(np.uint8),
        inside=rows[:, 3].astype(np.bool_),
    )
    tables = np.concatenate([np.zeros(0), *lists["tables"]])
    return Model(
        nodes=nodes, leaves=leaves, blocks=blocks, columns=columns, terms=terms, tables=tables
    )
