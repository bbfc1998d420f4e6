"""`icpfit score` from the registry: DESIGN §8 output, reasons, and every bad input of issue 4."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from icpfit.cli import app
from icpfit.serving.batch import score_file
from tests.e2e.cli import invoke, runner, store_in

OUTPUT = [
    "account_id",
    "fit_probability",
    "fit_score",
    "fit_tier",
    "disqualified_reason",
    "data_coverage",
    "reason_1",
    "reason_2",
    "reason_3",
    "risk_1",
    "risk_2",
    "risk_3",
    "model_name",
    "model_version",
    "scored_at",
    "error",
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    with store_in(root):
        invoke("sample-data", "--out", "data", "--accounts", "5000", "--seed", "12")
        invoke("train", "--config", "data/icpfit.yaml")
        yield root


def score(workspace, rows: pd.DataFrame, *extra, code=0, name="in.csv"):
    source = workspace / name
    rows.to_csv(source, index=False) if name.endswith(".csv") else rows.to_parquet(source)
    target = workspace / f"out-{name}"
    target.unlink(missing_ok=True)
    result = invoke("score", "--input", source, "--output", target, *extra, code=code)
    return result, (pd.read_csv(target) if target.exists() else None)


def accounts(workspace, n=300) -> pd.DataFrame:
    return pd.read_csv(workspace / "data" / "accounts.csv").head(n)


def test_one_row_per_input_row_in_order_with_reasons_and_provenance(workspace):
    rows = accounts(workspace)
    result, out = score(workspace, rows, "--technologies", workspace / "data" / "technologies.csv")
    assert list(out.columns) == OUTPUT
    assert list(out["account_id"]) == list(rows["account_id"])
    assert set(out["model_version"].astype(str)) == {"1"} and set(out["model_name"]) == {"icp-fit"}
    assert "Wrote" in result.stdout and "scored by icp-fit v1" in result.stdout
    good = out[out["fit_tier"].isin(["A", "B"])]
    assert len(good) and good["reason_1"].notna().all()
    reasons = out[["reason_1", "reason_2", "reason_3"]].stack()
    assert not reasons.str.contains("unknown").any()  # a missing value is never a reason for fit
    disqualified = out[out["fit_tier"] == "X"]
    assert (
        len(disqualified)
        and (disqualified["reason_1"] == disqualified["disqualified_reason"]).all()
        and (disqualified["fit_score"] == 0).all()
    )


def test_batch_path_equals_the_registered_pyfunc(workspace):
    rows = accounts(workspace, 50)
    _, out = score(workspace, rows)
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion")
    direct = model.predict(rows)
    np.testing.assert_allclose(out["fit_probability"], direct["fit_probability"], rtol=1e-9)
    assert list(out["reason_1"].fillna("")) == list(direct["reason_1"].fillna(""))


def test_wrong_type_cell_is_a_row_error_and_the_others_are_scored(workspace):
    rows = accounts(workspace, 20).astype({"employees": object})
    rows.loc[3, "employees"] = "about fifty"
    _, out = score(workspace, rows)
    assert out.loc[3, "error"] == "employees: 'about fifty' is not a number"
    assert out.loc[3, "account_id"] == rows.loc[3, "account_id"]
    assert out.loc[3, ["fit_probability", "fit_tier", "reason_1"]].isna().all()
    assert out.drop(index=3)["fit_probability"].notna().all()


def test_unseen_category_level_is_scored_as_unknown(workspace):
    rows = accounts(workspace, 5).assign(industry="Space Mining")
    _, out = score(workspace, rows, "--reasons", "10")
    assert out["error"].isna().all() and out["fit_probability"].notna().all()
    words = out.filter(like="risk_").stack()
    assert not words.str.contains("Space Mining — common").any()


def test_empty_input_gives_the_header_only(workspace):
    _, out = score(workspace, accounts(workspace).iloc[:0])
    assert len(out) == 0 and list(out.columns) == OUTPUT


def test_duplicate_ids_are_all_scored_with_a_warning(workspace):
    rows = pd.concat([accounts(workspace, 10), accounts(workspace, 3)])
    result, out = score(workspace, rows)
    assert len(out) == 13
    assert "3 rows repeat an account_id" in result.stdout


def test_extra_columns_are_ignored(workspace):
    rows = accounts(workspace, 10)
    _, plain = score(workspace, rows)
    _, extra = score(workspace, rows.assign(notes="call back", lead_owner="ana"), name="extra.csv")
    pd.testing.assert_series_equal(plain["fit_probability"], extra["fit_probability"])


def test_missing_required_column_is_one_line(workspace):
    result, out = score(workspace, accounts(workspace, 5).drop(columns="account_id"), code=1)
    assert out is None
    assert "in.csv: missing required column 'account_id'" in result.stderr


def test_unknown_model_lists_versions_and_aliases(workspace):
    rows = accounts(workspace, 5)
    rows.to_csv(workspace / "x.csv", index=False)
    result = invoke(
        "score",
        "--model",
        "models:/icp-fit@nightly",
        "--input",
        workspace / "x.csv",
        "--output",
        workspace / "y.csv",
        code=1,
    )
    assert (
        "models:/icp-fit@nightly: not in the registry; icp-fit has versions 1; aliases: "
        "@champion -> v1" in result.stderr
    )


def test_parquet_in_and_out(workspace):
    rows = accounts(workspace, 30)
    rows.to_parquet(workspace / "in.parquet")
    invoke("score", "--input", workspace / "in.parquet", "--output", workspace / "o.parquet")
    out = pd.read_parquet(workspace / "o.parquet")
    assert list(out.columns) == OUTPUT and len(out) == 30


def test_an_interrupted_run_leaves_no_file(workspace):
    source = workspace / "big.parquet"
    accounts(workspace, 3000).to_parquet(source, row_group_size=1000)
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    calls = []

    def fails_on_second_batch(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return model.predict(None, batch)

    target = workspace / "partial.csv"
    with pytest.raises(KeyboardInterrupt):
        score_file(source, target, fails_on_second_batch, "icp-fit", "1", batch_rows=1000)
    assert not target.exists()
    assert not list(workspace.glob(".partial.csv.*"))


def test_explain_shows_every_attribute_adds_up_and_draws_a_waterfall(workspace):
    account = accounts(workspace, 1)["account_id"][0]
    plot = workspace / "why.png"
    result = invoke(
        "explain",
        "--input",
        workspace / "data" / "accounts.csv",
        "--account-id",
        account,
        "--technologies",
        workspace / "data" / "technologies.csv",
        "--plot",
        plot,
    )
    assert f"{account} · icp-fit v1 · tier" in result.stdout
    assert "Every attribute, largest first" in result.stdout and "industry" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = runner.invoke(
        app,
        ["explain", "--input", str(workspace / "data" / "accounts.csv"), "--account-id", "NOPE"],
    )
    assert missing.exit_code == 1 and "no row with account_id = 'NOPE'" in missing.stderr


def test_explanation_contributions_add_up_to_the_models_log_odds(workspace):
    from icpfit.serving.explain import explain_account

    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    row = accounts(workspace, 1)
    table, base = explain_account(row, model.bundle, model.booster)
    scored = model.predict(None, row, {"reasons": 0}).iloc[0]
    calibration = model.bundle["calibration"]
    margin = base + table["contribution"].sum()
    probability = 1 / (1 + np.exp(-(calibration["slope"] * margin + calibration["intercept"])))
    assert probability == pytest.approx(scored["fit_probability"], abs=1e-9)
    assert len(table) == len(model.bundle["specs"])


def test_every_path_gives_lightgbms_pred_contrib_exactly(workspace):
    """The fast engine against the reference: batch scoring, explain and training's global SHAP
    all give LightGBM's own TreeSHAP numbers on the registered model."""
    import json

    from icpfit.serving.explain import explain_account
    from icpfit.serving.scoring import account_features, specs_from_bundle

    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    rows = accounts(workspace, 400)
    keyed = rows.assign(account_id=[f"row{i}" for i in range(len(rows))])
    frame = account_features(keyed, model.bundle, specs_from_bundle(model.bundle)).frame
    reference = model.booster.predict(
        frame, pred_contrib=True, num_iteration=model.bundle["best_iteration"]
    )
    scored = model.predict(None, rows, {"reasons": 3, "contributions": True})
    given = np.array([list(json.loads(c).values()) for c in scored["contributions"]])
    assert np.abs(given - reference[:, :-1]).max() < 1e-6  # JSON keeps 6 decimals
    table, base = explain_account(rows.head(1), model.bundle, model.booster)
    by_name = dict(zip(table["attribute"], table["contribution"], strict=True))
    names = [s["name"] for s in model.bundle["specs"]]
    assert np.abs(np.array([by_name[n] for n in names]) - reference[0, :-1]).max() < 1e-9
    assert base == pytest.approx(reference[0, -1], abs=1e-9)
