"""A worked example: TreeShap on a two-tree model small enough to explain by hand.

The model is hand-written LightGBM model text (`MODEL`), a regression on two features x0, x1,
so the raw score is the prediction. Every split is "x <= 0.5 goes left"; the counts are the
training rows reaching each node (LightGBM's internal_count and leaf_count), the cover that
path-dependent TreeSHAP integrates unknown features over.

Tree 1, one split (100 rows):

    x0 <= 0.5 ? leaf 2.0 (75 rows) : leaf -2.0 (25 rows)

    E[f1] = 0.75 * 2.0 + 0.25 * (-2.0) = 1.0. x0 is the only player, so it takes everything:
    phi_x0 = f1(x) - E[f1] = +1.0 if x0 <= 0.5, else -3.0; phi_x1 = 0.

Tree 2, depth 2 on both features (100 rows):

    x1 <= 0.5 ? (x0 <= 0.5 ? A = 4.0 (20 rows) : B = 0.0 (20 rows)) : C = -1.0 (60 rows)

    E[f2] = 0.2 * 4.0 + 0.2 * 0.0 + 0.6 * (-1.0) = 0.2. The game v(S) is the tree's output
    when the features in S are known: at a split on a known feature follow x, at any other take
    both children weighted by their rows.

        v({})       = E[f2]                                            =  0.2
        v({x1})     = x1 <= 0.5: (20 * 4.0 + 20 * 0.0) / 40 = 2.0, else C = -1.0
        v({x0})     = 0.4 * (A = 4.0 if x0 <= 0.5 else B = 0.0) + 0.6 * C = 1.0 or -0.6
        v({x0, x1}) = f2(x)

    With two players the Shapley value averages the two orderings (x0 first, x1 first):

        phi_x0 = ((v({x0}) - v({})) + (v({x0, x1}) - v({x1}))) / 2
        phi_x1 = ((v({x1}) - v({})) + (v({x0, x1}) - v({x0}))) / 2

    x = (0, 0), f2 = A = 4:   phi_x0 = ((1.0 - 0.2) + (4 - 2.0)) / 2   =  1.4
                              phi_x1 = ((2.0 - 0.2) + (4 - 1.0)) / 2   =  2.4
    x = (1, 0), f2 = B = 0:   phi_x0 = ((-0.6 - 0.2) + (0 - 2.0)) / 2  = -1.4
                              phi_x1 = ((2.0 - 0.2) + (0 + 0.6)) / 2   =  1.2
    x = (0, 1), f2 = C = -1:  phi_x0 = ((1.0 - 0.2) + (-1 + 1.0)) / 2  =  0.4
                              phi_x1 = ((-1.0 - 0.2) + (-1 - 1.0)) / 2 = -1.6
    x = (1, 1), f2 = C = -1:  phi_x0 = ((-0.6 - 0.2) + (-1 + 1.0)) / 2 = -0.4
                              phi_x1 = ((-1.0 - 0.2) + (-1 + 0.6)) / 2 = -0.8

    (On (0, 1) x0 gets +0.4 though the row's path never tests it: knowing x0 <= 0.5 rules out
    B in v({x0}). That is path-dependent TreeSHAP, and LightGBM's numbers, too.)

The model: the sum of both trees, expected value E[f1] + E[f2] = 1.2 (last column):

    x         raw score    phi_x0            phi_x1   check: sum + 1.2
    (0, 0)    2 + 4 = 6    1.0 + 1.4 =  2.4   2.4      2.4 + 2.4 + 1.2 =  6
    (1, 0)   -2 + 0 = -2  -3.0 - 1.4 = -4.4   1.2     -4.4 + 1.2 + 1.2 = -2
    (0, 1)    2 - 1 = 1    1.0 + 0.4 =  1.4  -1.6      1.4 - 1.6 + 1.2 =  1
    (1, 1)   -2 - 1 = -3  -3.0 - 0.4 = -3.4  -0.8     -3.4 - 0.8 + 1.2 = -3

A fifth row (NaN, 0.7) reads as (0, 1): these splits have missing_type None (decision_type 2),
so LightGBM reads NaN as 0.0.

The engine's route to the same numbers, per leaf (package docstring): a leaf of value w on a
path with distinct features j has z_j (the path's row share at its splits on j) and o_j (1 if
x satisfies the path's conditions on j), and phi_i = w (o_i - z_i) sum_s w_s [t^s]
prod_{j != i} (z_j + o_j t) with w_s = s! (d-1-s)! / d!. For x = (0, 0) in tree 2: leaf A
(z_x1 = 0.4, z_x0 = 0.5, o = 1, 1) gives phi_x0 = 4 * 0.5 * (0.4 + 1) / 2 = 1.4 and
phi_x1 = 4 * 0.6 * (0.5 + 1) / 2 = 1.8; leaf B has w = 0; leaf C (z_x1 = 0.6, o_x1 = 0) gives
phi_x1 = -1 * (0 - 0.6) = 0.6; so phi_x1 = 1.8 + 0.6 = 2.4.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from icpfit.serving.treeshap import TreeShap, planning

MODEL = """tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=regression
feature_names=x0 x1
feature_infos=[0:1] [0:1]

Tree=0
num_leaves=2
num_cat=0
split_feature=0
split_gain=1
threshold=0.5
decision_type=2
left_child=-1
right_child=-2
leaf_value=2 -2
leaf_weight=75 25
leaf_count=75 25
internal_value=1
internal_weight=100
internal_count=100
is_linear=0
shrinkage=1


Tree=1
num_leaves=3
num_cat=0
split_feature=1 0
split_gain=1 1
threshold=0.5 0.5
decision_type=2 2
left_child=1 -1
right_child=-3 -2
leaf_value=4 0 -1
leaf_weight=20 20 60
leaf_count=20 20 60
internal_value=0.2 2
internal_weight=100 40
internal_count=100 40
is_linear=0
shrinkage=1


end of trees

pandas_categorical:null
"""

X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [np.nan, 0.7]])
RAW = np.array([6.0, -2.0, 1.0, -3.0, 1.0])
EXPECTED_VALUE = 1.2
# phi_x0, phi_x1, expected value: the table of the module docstring
SHAP = np.array(
    [
        [2.4, 2.4, 1.2],
        [-4.4, 1.2, 1.2],
        [1.4, -1.6, 1.2],
        [-3.4, -0.8, 1.2],
        [1.4, -1.6, 1.2],
    ]
)
HAND = 1e-12  # the engine's float arithmetic against the decimal numbers above

# (MAX_TABLE_BITS, COST_PER_BYTE): the default; free memory (one table per tree); tables of at
# most 2 rows (tree 2's leaves A and B, two distinct features each, computed directly); no
# tables at all (every leaf computed directly)
PLANS = {
    "default": (planning.MAX_TABLE_BITS, planning.COST_PER_BYTE),
    "one table per tree": (14, 0.0),
    "small tables": (1, 0.0),
    "every leaf direct": (0, 0.0),
}


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    return lgb.Booster(model_str=MODEL)


def explainer(booster: lgb.Booster, plan: str) -> TreeShap:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(planning, "MAX_TABLE_BITS", PLANS[plan][0])
        patch.setattr(planning, "COST_PER_BYTE", PLANS[plan][1])
        return TreeShap.from_booster(booster)


@pytest.mark.parametrize("plan", PLANS)
def test_shap_values_are_the_hand_computed_ones(booster, plan):
    shap = explainer(booster, plan)
    assert shap.expected_value == pytest.approx(EXPECTED_VALUE, abs=HAND)
    ours = shap.contributions(X)
    np.testing.assert_allclose(ours, SHAP, rtol=0, atol=HAND)
    np.testing.assert_allclose(ours.sum(axis=1), RAW, rtol=0, atol=HAND)
    np.testing.assert_allclose(shap.raw_score(X), RAW, rtol=0, atol=HAND)


@pytest.mark.parametrize("plan", PLANS)
def test_shap_values_are_lightgbms(booster, plan):
    np.testing.assert_allclose(booster.predict(X, raw_score=True), RAW, rtol=0, atol=HAND)
    theirs = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(theirs, SHAP, rtol=0, atol=HAND)
    np.testing.assert_allclose(explainer(booster, plan).contributions(X), theirs, rtol=0, atol=1e-9)


def test_the_arrays_of_one_table_per_tree(booster):
    """The layout of the package docstring on this model, with memory free."""
    model = explainer(booster, "one table per tree").model
    nodes, blocks, columns, terms = model.nodes, model.blocks, model.columns, model.terms
    # internal nodes in preorder, tree by tree: tree 1's root; tree 2's root (x1), then x0
    np.testing.assert_array_equal(nodes.tree_start, [0, 1, 3])
    np.testing.assert_array_equal(nodes.feature, [0, 1, 0])
    np.testing.assert_array_equal(nodes.threshold, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(nodes.left, [~0, 1, ~0])  # local ids; ~leaf
    np.testing.assert_array_equal(nodes.right, [~1, ~2, ~1])  # leaves left to right: A, B, C
    np.testing.assert_array_equal(model.leaves.tree_start, [0, 2, 5])
    np.testing.assert_array_equal(model.leaves.value, [2.0, -2.0, 4.0, 0.0, -1.0])
    # one block per tree, rooted at the root: no path bits (init 0), one bit per inside node
    np.testing.assert_array_equal(blocks.tree_start, [0, 1, 2])
    np.testing.assert_array_equal(blocks.direct, [False, False])
    np.testing.assert_array_equal(blocks.init, [0, 0])
    np.testing.assert_array_equal(blocks.term_start, [0, 1, 3])
    np.testing.assert_array_equal(blocks.col_start, [0, 1, 3])
    np.testing.assert_array_equal(blocks.table_start, [0, 2, 10])
    np.testing.assert_array_equal(columns.feature, [0, 1, 0])  # tree 2: x1 met first
    np.testing.assert_array_equal(terms.node, [0, 0, 1])
    np.testing.assert_array_equal(terms.bit, [0, 0, 1])
    np.testing.assert_array_equal(terms.inside, [True, True, True])
    # index = decisions (1 = left); column by column. Tree 1: index 0 is x0 > 0.5 (-3), 1 is
    # x0 <= 0.5 (+1). Tree 2: bit 0 is x1 <= 0.5, bit 1 is x0 <= 0.5, so indices 0-3 are the
    # rows (1, 1), (1, 0), (0, 1), (0, 0); column x1, then column x0.
    tree_1 = [-3.0, 1.0]
    tree_2_x1, tree_2_x0 = [-0.8, 1.2, -1.6, 2.4], [-0.4, -1.4, 0.4, 1.4]
    np.testing.assert_allclose(model.tables, tree_1 + tree_2_x1 + tree_2_x0, rtol=0, atol=HAND)


def test_every_leaf_direct_is_one_block_per_leaf(booster):
    model = explainer(booster, "every leaf direct").model
    blocks, columns = model.blocks, model.columns
    np.testing.assert_array_equal(blocks.direct, [True] * 5)
    np.testing.assert_array_equal(blocks.value, [2.0, -2.0, 4.0, 0.0, -1.0])
    # each leaf's distinct path features and their row shares z: tree 1's two leaves (x0),
    # then A and B (x1, x0), then C (x1)
    np.testing.assert_array_equal(columns.feature, [0, 0, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(columns.z, [0.75, 0.25, 0.4, 0.5, 0.4, 0.5, 0.6], rtol=0, atol=HAND)
    assert model.tables.size == 0


def test_small_tables_mix_tables_and_direct_leaves(booster):
    """Tree 1 one table (1 bit); tree 2: A and B direct (2 path bits), C a table (1 bit)."""
    model = explainer(booster, "small tables").model
    np.testing.assert_array_equal(model.blocks.direct, [False, True, True, False])
    np.testing.assert_array_equal(model.blocks.tree_start, [0, 1, 4])
