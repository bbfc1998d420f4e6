"""`icpfit score` from the registry: DESIGN §8 output, reasons, and every bad input of issue 4."""

from __future__ import annotations

import json

import matplotlib.image
import mlflow
import numpy as np
import pandas as pd
import pytest

from icpfit.cli import app
from icpfit.serving.batch import score_file
from tests.e2e.cli import invoke, runner
from tests.e2e.conftest import AS_OF

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
    "input_digest",
]


@pytest.fixture
def workspace(shared, tmp_path):
    """The test's own folder, with the shared export under data/ and the shared registry as the
    tracking store (champion v1, challenger v2)."""
    (tmp_path / "data").symlink_to(shared.data)
    return tmp_path


def tables(workspace) -> tuple:
    """The technologies and signals the models read beside the account rows, as of the cutoff."""
    data = workspace / "data"
    return (
        *("--technologies", data / "technologies.csv", "--signals", data / "signals.csv"),
        *("--as-of", AS_OF),
    )


def score(workspace, rows: pd.DataFrame, *extra, code=0, name="in.csv", joined=True):
    """`icpfit score` on `rows`, with the technologies and signals tables unless `joined` is
    False (rows that already carry the tech stack and signal counts)."""
    source = workspace / name
    rows.to_csv(source, index=False) if name.endswith(".csv") else rows.to_parquet(source)
    target = workspace / f"out-{name}"
    target.unlink(missing_ok=True)
    given = tables(workspace) if joined else ()
    result = invoke("score", "--input", source, "--output", target, *given, *extra, code=code)
    return result, (pd.read_csv(target) if target.exists() else None)


def accounts(workspace, n=300) -> pd.DataFrame:
    return pd.read_csv(workspace / "data" / "accounts.csv").head(n)


def test_one_row_per_input_row_in_order_with_reasons_and_provenance(workspace):
    rows = accounts(workspace)
    result, out = score(workspace, rows)
    assert list(out.columns) == OUTPUT
    assert list(out["account_id"]) == list(rows["account_id"])
    assert set(out["model_version"].astype(str)) == {"1"} and set(out["model_name"]) == {"icp-fit"}
    assert "Wrote" in result.stdout and "scored by icp-fit v1" in result.stdout
    good = out[out["fit_tier"].isin(["A", "B"])]
    assert len(good) and good["reason_1"].notna().all()
    reasons = out[["reason_1", "reason_2", "reason_3"]].stack()
    assert not reasons.str.contains(r"^[^:]+ unknown").any()  # a missing value is no reason
    disqualified = out[out["fit_tier"] == "X"]
    assert len(disqualified) and disqualified["disqualified_reason"].notna().all()
    assert (disqualified["fit_score"] == 0).all()
    # their reasons are their fit reasons; the rule that fired stays in disqualified_reason
    assert disqualified["reason_1"].notna().mean() > 0.9
    assert not (disqualified["reason_1"] == disqualified["disqualified_reason"]).any()


def test_batch_path_equals_the_registered_pyfunc(shared, workspace):
    rows = shared.model_rows(50)
    _, out = score(workspace, rows, joined=False)
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
    rows = accounts(workspace, 40)
    _, seen = score(workspace, rows, "--reasons", "10", name="seen.csv")
    _, unseen = score(
        workspace, rows.assign(industry="Space Mining"), "--reasons", "10", name="unseen.csv"
    )
    _, unknown = score(workspace, rows.assign(industry=None), "--reasons", "10", name="none.csv")
    assert unseen["error"].isna().all() and unseen["fit_probability"].notna().all()
    # every column (probability, tier, coverage, reasons) as if the industry were missing
    pd.testing.assert_frame_equal(
        unseen.drop(columns=["scored_at", "input_digest"]),
        unknown.drop(columns=["scored_at", "input_digest"]),
    )
    assert (unseen["fit_probability"] - seen["fit_probability"]).abs().max() > 0.01, (
        "industry moves these accounts' scores, so scoring it as another level would show"
    )
    assert not unseen.astype(str).apply(lambda c: c.str.contains("Space Mining")).any().any()


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
        "models:/icp-fit@nightly: not in the registry; icp-fit has versions 1, 2; aliases: "
        "@challenger -> v2, @champion -> v1" in result.stderr
    )


def test_parquet_in_and_out(workspace):
    rows = accounts(workspace, 30)
    rows.to_parquet(workspace / "in.parquet")
    invoke(
        "score",
        "--input",
        workspace / "in.parquet",
        "--output",
        workspace / "o.parquet",
        *tables(workspace),
    )
    out = pd.read_parquet(workspace / "o.parquet")
    assert list(out.columns) == OUTPUT and len(out) == 30


def test_an_interrupted_run_leaves_no_file(shared, workspace):
    source = workspace / "big.parquet"
    shared.model_rows(3000).to_parquet(source, row_group_size=1000)
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    calls = []

    def fails_on_second_batch(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return model.predict(None, batch)

    target = workspace / "partial.csv"
    with pytest.raises(KeyboardInterrupt):
        score_file(source, target, fails_on_second_batch, batch_rows=1000)
    assert not target.exists()
    assert not list(workspace.glob(".partial.csv.*"))


def test_explain_shows_the_top_steps_in_probability_beside_the_median_a_account(shared, workspace):
    data = workspace / "data"
    rows = accounts(workspace)
    _, scored = score(workspace, rows, "--contributions")
    scored = scored.set_index("account_id")
    features = int(
        shared.client()
        .get_run(shared.client().get_model_version("icp-fit", "1").run_id)
        .data.params["features"]
    )
    picks = [
        scored.index[scored["fit_tier"] == "A"][0],
        scored.index[scored["fit_tier"] == "D"][0],
    ]
    seen = []
    for account in picks:
        plot = workspace / f"{account}.png"
        common = ("--input", data / "accounts.csv", "--account-id", account, *tables(workspace))
        result = invoke("explain", *common, "--plot", plot, "--format", "json")
        told = json.loads(result.stdout)
        expected = scored.loc[account]
        assert (told["account_id"], told["model_name"], told["model_version"]) == (
            account,
            "icp-fit",
            "1",
        )
        assert told["fit_tier"] == expected["fit_tier"]
        assert told["fit_score"] == expected["fit_score"]
        assert told["fit_probability"] == pytest.approx(expected["fit_probability"], abs=1e-6)
        steps = told["steps"]
        # the default 8 attributes one by one, largest first, then the rest as one step
        assert len(steps) == 9 and steps[-1]["attribute"] == f"{features - 8} other attributes"
        sizes = np.abs([s["log_odds"] for s in steps[:-1]])
        assert (np.diff(sizes) <= 1e-9).all()
        # from the average account's probability to this account's, step by step
        assert steps[0]["probability_before"] == pytest.approx(told["average_probability"])
        for before, after in zip(steps, steps[1:], strict=False):
            assert after["probability_before"] == pytest.approx(before["probability_after"])
        assert steps[-1]["probability_after"] == pytest.approx(told["fit_probability"], abs=1e-6)
        # each attribute's log-odds are the ones `icpfit score --contributions` gives
        given = json.loads(expected["contributions"])
        for step in steps[:-1]:
            assert step["log_odds"] == pytest.approx(given[step["feature"]], abs=2e-6)
            assert step["median_a_account"] not in (None, "–"), step
            assert step["this_account"]
        others = sum(v for k, v in given.items() if k not in {s["feature"] for s in steps})
        assert steps[-1]["log_odds"] == pytest.approx(others, abs=1e-4)
        # the reasons and risks `icpfit score` gave push the way the steps do
        pushes = {s["reads_as"]: s["log_odds"] for s in steps[:-1]}
        for text in expected[["reason_1", "reason_2", "reason_3"]].dropna():
            assert pushes.get(text, 1.0) > 0, text
        for text in expected[["risk_1", "risk_2", "risk_3"]].dropna():
            assert pushes.get(text, -1.0) < 0, text
        image = matplotlib.image.imread(plot)
        assert image.shape[0] > 200 and image.std() > 0
        seen.append((told["average_probability"], told["fit_probability"], plot.read_bytes()))
        # the terminal view fits its width; markdown is a table a CRM note can hold
        text = invoke("explain", *common, "--top", "5").stdout
        assert max(len(line) for line in text.splitlines()) <= 120
        assert text.count(" pts ") >= 6 and "median A" in text
        markdown = invoke("explain", *common, "--top", "3", "--format", "markdown").stdout
        assert "| attribute | this account | median A account | step |" in markdown
        table = [line for line in markdown.splitlines() if line.startswith("| ")]
        assert len(table) == 2 + 3 + 1, "header, rule, 3 attributes and the rest"
    (average_a, p_a, png_a), (average_d, p_d, png_d) = seen
    assert average_a == average_d, "the average account is the same for both"
    assert p_a > p_d and png_a != png_d
    missing = runner.invoke(
        app,
        ["explain", "--input", str(data / "accounts.csv"), "--account-id", "NOPE"]
        + list(map(str, tables(workspace))),
    )
    assert missing.exit_code == 1 and "no row with account_id = 'NOPE'" in missing.stderr


def test_explanation_contributions_add_up_to_the_models_log_odds(shared):
    from icpfit.serving.account_explanation import explain_account

    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    row = shared.model_rows(1)
    table, base = explain_account(row, model.bundle, model.booster)
    scored = model.predict(None, row, {"reasons": 0}).iloc[0]
    calibration = model.bundle["calibration"]
    margin = base + table["contribution"].sum()
    probability = 1 / (1 + np.exp(-(calibration["slope"] * margin + calibration["intercept"])))
    assert probability == pytest.approx(scored["fit_probability"], abs=1e-9)
    assert len(table) == len(model.bundle["specs"])


def test_every_path_gives_lightgbms_pred_contrib_exactly(shared):
    """The fast engine against the reference: batch scoring, explain and training's global SHAP
    all give LightGBM's own TreeSHAP numbers on the registered model."""
    import json

    from icpfit.serving.account_explanation import explain_account
    from icpfit.serving.scoring import account_features, specs_from_bundle

    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    rows = shared.model_rows(400)
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
