"""TreeShap against LightGBM's own pred_contrib, on small real models trained in the test."""

from __future__ import annotations

import pickle

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpfit.serving.treeshap import TreeShap, booster_matrix, planning

EXACT = 1e-9
QUIET = {"verbose": -1, "num_threads": 1, "seed": 1, "deterministic": True}


def train(x, y, rounds: int = 20, categorical=(), init_model=None, **params) -> lgb.Booster:
    params = {"objective": "binary", "num_leaves": 15, **QUIET, **params}
    data = lgb.Dataset(x, y, categorical_feature=list(categorical) or "auto")
    return lgb.train(params, data, rounds, init_model=init_model)


def numeric_data(seed: int, rows: int = 1500, features: int = 6, nan_rate: float = 0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    x[rng.random(x.shape) < 0.15] = 0.0
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=rows) > 0).astype(int)
    x[rng.random(x.shape) < nan_rate] = np.nan
    return x, y


def assert_exact(booster: lgb.Booster, x, shap: TreeShap | None = None, **predict) -> np.ndarray:
    shap = shap or TreeShap.from_booster(booster, predict.get("num_iteration"))
    ours = shap.contributions(x)
    theirs = booster.predict(x, pred_contrib=True, **predict)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= EXACT
    return ours


def node_fields(booster: lgb.Booster, field: str) -> set:
    found, stack = set(), [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            found.add(node[field])
            stack += [node["left_child"], node["right_child"]]
    return found


def test_numeric_model_matches_pred_contrib():
    x, y = numeric_data(0)
    assert_exact(train(x, y, max_depth=5), x)


def test_contributions_add_up_to_the_raw_score():
    x, y = numeric_data(1, nan_rate=0.1)
    booster = train(x, y)
    shap = TreeShap.from_booster(booster)
    raw = booster.predict(x, raw_score=True)
    assert np.abs(shap.contributions(x).sum(axis=1) - raw).max() <= EXACT
    assert np.abs(shap.raw_score(x) - raw).max() <= EXACT


def test_missing_values_routed_left_and_right():
    x, y = numeric_data(2, nan_rate=0.3)
    y = np.where(np.isnan(x[:, 0]), 1, y)
    booster = train(x, y, rounds=30)
    assert node_fields(booster, "default_left") == {True, False}
    assert "NaN" in node_fields(booster, "missing_type")
    assert_exact(booster, x)


def test_zero_as_missing():
    x, y = numeric_data(3, nan_rate=0.1)
    booster = train(x, y, zero_as_missing=True)
    assert "Zero" in node_fields(booster, "missing_type")
    probes = np.array([[v] * 6 for v in (0.0, np.nan, 1e-36, -1e-36, 1.000000005e-35, -1e-30)])
    assert_exact(booster, np.vstack([x, probes]))


def test_use_missing_false_reads_nan_as_zero():
    x, y = numeric_data(4, nan_rate=0.2)
    booster = train(x, y, use_missing=False)
    assert node_fields(booster, "missing_type") == {"None"}
    ours = assert_exact(booster, x)
    shap = TreeShap.from_booster(booster)
    np.testing.assert_array_equal(ours, shap.contributions(np.nan_to_num(x, nan=0.0)))


def categorical_frame(seed: int, rows: int = 2000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    colour = pd.Categorical(rng.choice(list("rgbcmyk"), rows), categories=list("rgbcmyk"))
    size = pd.Categorical(rng.choice(["s", "m", "l", "xl"], rows))
    frame = pd.DataFrame({"colour": colour, "amount": rng.normal(size=rows), "size": size})
    frame.loc[rng.random(rows) < 0.1, "colour"] = np.nan
    signal = np.isin(frame["colour"], ["r", "c", "k"]) + (frame["size"] == "xl") + frame["amount"]
    return frame, (signal + rng.normal(size=rows) * 0.5 > 1).to_numpy().astype(int)


def test_categorical_splits_with_unseen_and_missing_categories():
    frame, y = categorical_frame(5)
    booster = train(frame, y, min_data_per_group=5, cat_smooth=1)
    assert "==" in node_fields(booster, "decision_type")
    probe = pd.DataFrame(
        {
            "colour": pd.Categorical(["r", "zzz", None, "k"], categories=["k", "zzz", "r"]),
            "amount": [0.5, -1.0, np.nan, 2.0],
            "size": pd.Categorical(["xl", "s", "xxl", None]),
        }
    )
    test = pd.concat([frame.head(300), probe], ignore_index=True).astype(
        {"colour": "category", "size": "category"}
    )
    shap = TreeShap.from_booster(booster)
    ours = shap.contributions(booster_matrix(test, booster))
    assert np.abs(ours - booster.predict(test, pred_contrib=True)).max() <= EXACT


def test_booster_matrix_recodes_categories_as_lightgbm_does():
    frame, y = categorical_frame(6)
    booster = train(frame, y)
    shuffled = frame.assign(colour=frame["colour"].cat.reorder_categories(list("kymcbgr")))
    matrix = booster_matrix(shuffled, booster)
    np.testing.assert_array_equal(matrix, booster_matrix(frame, booster))
    assert np.isnan(matrix[frame["colour"].isna().to_numpy(), 0]).all()
    raw = booster.predict(shuffled, raw_score=True)
    assert np.abs(TreeShap.from_booster(booster).raw_score(matrix) - raw).max() <= EXACT


def test_booster_matrix_reads_a_float32_frame_at_float32_precision():
    x, y = numeric_data(7, features=3)
    booster = train(x, y)
    frame = pd.DataFrame(x.astype(np.float32) + np.float32(1e-4), columns=list("abc"))
    matrix = booster_matrix(frame, booster)
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, frame.to_numpy().astype(np.float64))
    shap = TreeShap.from_booster(booster)
    assert (
        np.abs(shap.contributions(matrix) - booster.predict(frame, pred_contrib=True)).max() < EXACT
    )


def test_booster_matrix_keeps_the_frame_and_takes_any_column_labels():
    frame, y = categorical_frame(19)
    frame.columns = [0, 1, 2]
    booster = train(frame, y)
    before = frame.copy()
    matrix = booster_matrix(frame, booster)
    pd.testing.assert_frame_equal(frame, before)
    raw = booster.predict(frame, raw_score=True)
    assert np.abs(TreeShap.from_booster(booster).raw_score(matrix) - raw).max() <= EXACT
    with pytest.raises(TypeError, match="booster_matrix"):
        TreeShap.from_booster(booster).contributions(frame)


def test_booster_matrix_rejects_a_frame_of_the_wrong_width():
    x, y = numeric_data(8, features=3)
    with pytest.raises(ValueError, match="expected 3 columns, got 2"):
        booster_matrix(pd.DataFrame(x[:, :2]), train(x, y, rounds=2))


def test_categorical_values_that_are_not_codes():
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 6, 2000).astype(float)
    x = np.c_[codes, rng.normal(size=2000)]
    y = (np.isin(codes, [0, 3]) ^ (rng.random(2000) < 0.1)).astype(int)
    booster = train(x, y, categorical=[0], min_data_per_group=5, cat_smooth=1)
    odd = [np.nan, -0.5, -1.0, 0.7, 3.9, 1e10, -1e10, np.inf, 40.0, 2**31, -(2**31)]
    assert_exact(booster, np.c_[odd, np.zeros(len(odd))])


def test_categories_beyond_64_codes():
    rng = np.random.default_rng(18)
    codes = rng.integers(0, 150, 6000).astype(float)
    x = np.c_[codes, rng.normal(size=6000)]
    y = ((codes % 3 == 0) ^ (rng.random(6000) < 0.1)).astype(int)
    booster = train(x, y, categorical=[0], min_data_per_group=5, cat_smooth=1, max_cat_threshold=80)
    lefts = [int(c) for t in node_fields(booster, "threshold") if isinstance(t, str)
             for c in t.split("||")]  # fmt: skip
    assert max(lefts) >= 64
    probe = np.c_[[np.nan, -1, 63.5, 64, 100.2, 149, 150, 1e6], np.zeros(8)]
    assert_exact(booster, np.vstack([x, probe]))


def test_single_leaf_trees_only_add_to_the_expected_value():
    x, y = numeric_data(10)
    constant = train(x, np.ones_like(y), rounds=3)
    assert constant.num_trees() == 1
    ours = assert_exact(constant, x)
    assert not ours[:, :-1].any()
    mixed = train(x, y, rounds=5, init_model=constant)
    assert [t["num_leaves"] for t in mixed.dump_model()["tree_info"]][0] == 1
    assert_exact(mixed, x)


def test_deep_leaf_wise_trees_fall_back_to_direct_computation():
    x, y = numeric_data(11, rows=4000, features=30, nan_rate=0.05)
    y = (np.nansum(x * np.linspace(-1, 1, 30), axis=1) > 0).astype(int)
    booster = train(x, y, rounds=3, num_leaves=255, max_depth=-1, min_data_in_leaf=2)
    shap = TreeShap.from_booster(booster)
    assert shap.model.blocks.direct.any()
    assert_exact(booster, x, shap)


def test_batches_give_the_same_numbers_as_the_whole():
    x, y = numeric_data(12, rows=1300, nan_rate=0.1)
    shap = TreeShap.from_booster(train(x, y))
    whole = shap.contributions(x)
    halves = np.vstack([shap.contributions(x[:517]), shap.contributions(x[517:])])
    np.testing.assert_array_equal(whole, halves)
    assert shap.contributions(x[:0]).shape == (0, 7)


def test_num_iteration_keeps_the_first_trees():
    x, y = numeric_data(13)
    booster = train(x, y, rounds=20)
    assert_exact(booster, x, num_iteration=7)
    booster.best_iteration = 4
    assert_exact(booster, x)
    assert not np.allclose(TreeShap.from_booster(booster, 20).contributions(x[:50])[:, -1],
                           TreeShap.from_booster(booster).contributions(x[:50])[:, -1])  # fmt: skip


def test_features_never_split_on_get_zero():
    x, y = numeric_data(14, features=5)
    x[:, 3] = 1.0
    ours = assert_exact(train(x, y), x)
    assert not ours[:, 3].any()


def test_integer_input_is_read_as_float32_like_lightgbm():
    rng = np.random.default_rng(15)
    x = rng.integers(2**24 - 8, 2**24 + 8, size=(800, 2))
    y = (x[:, 0] > 2**24).astype(int)
    assert_exact(train(x.astype(float), y, rounds=3, min_data_in_leaf=5), x)


def test_survives_pickling():
    x, y = numeric_data(16, nan_rate=0.1)
    shap = TreeShap.from_booster(train(x, y))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(shap)).contributions(x),
                                  shap.contributions(x))  # fmt: skip


def test_rejects_a_matrix_of_the_wrong_width():
    x, y = numeric_data(17)
    with pytest.raises(ValueError, match="6 columns"):
        TreeShap.from_booster(train(x, y, rounds=2)).contributions(x[:, :5])


@st.composite
def models(draw):
    seed = draw(st.integers(0, 10_000))
    rows, features = draw(st.integers(30, 400)), draw(st.integers(1, 6))
    categorical = draw(st.lists(st.integers(0, features - 1), max_size=2, unique=True))
    params = {
        "num_leaves": draw(st.integers(2, 40)),
        "max_depth": draw(st.sampled_from([-1, 1, 2, 4, 7])),
        "min_data_in_leaf": draw(st.integers(1, 20)),
        "zero_as_missing": draw(st.booleans()),
        "use_missing": draw(st.booleans()),
        "min_data_per_group": 1,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": draw(st.sampled_from([1, 4, 32])),
    }
    return seed, rows, features, categorical, params, draw(st.sampled_from([0.0, 0.05, 0.4]))


def random_matrix(rng, rows: int, features: int, categorical: list[int], nan_rate: float):
    x = np.round(rng.normal(size=(rows, features)), 1)
    for column in categorical:
        x[:, column] = rng.integers(-1, 12, rows)
    x[rng.random(x.shape) < nan_rate] = np.nan
    return x


@settings(max_examples=25, deadline=None)
@given(models(), st.integers(1, 12), st.sampled_from([(14, 5e-4), (3, 0.0), (0, 0.0), (14, 0.0)]))
def test_random_models_match_pred_contrib(model, rounds, budget):
    """Also with other block plans: all leaves direct, small tables, blocks as big as allowed."""
    seed, rows, features, categorical, params, nan_rate = model
    rng = np.random.default_rng(seed)
    x = random_matrix(rng, rows, features, categorical, nan_rate)
    y = (rng.random(rows) < 0.5).astype(int)
    y[: rows // 2] = (np.nan_to_num(x[: rows // 2, 0]) > 0).astype(int)
    booster = train(x, y, rounds=rounds, categorical=categorical, **params)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(planning, "MAX_TABLE_BITS", budget[0])
        patch.setattr(planning, "COST_PER_BYTE", budget[1])
        shap = TreeShap.from_booster(booster)
    assert_exact(booster, random_matrix(rng, 300, features, categorical, nan_rate), shap)
    assert (
        np.abs(shap.contributions(x).sum(axis=1) - booster.predict(x, raw_score=True)).max() < EXACT
    )
