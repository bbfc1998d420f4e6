"""`icpfit score` from the registry: DESIGN §8 output, reasons, and every bad input of issue 4."""

from __future__ import annotations

import json
import re

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
    assert not reasons.str.contains("unknown").any()  # a missing value is never a reason for fit
    disqualified = out[out["fit_tier"] == "X"]
    assert (
        len(disqualified)
        and (disqualified["reason_1"] == disqualified["disqualified_reason"]).all()
        and (disqualified["fit_score"] == 0).all()
    )


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
        unseen.drop(columns="scored_at"), unknown.drop(columns="scored_at")
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


def explanation(stdout: str) -> tuple[dict, pd.DataFrame, float, float]:
    """`icpfit explain` output read back: the header, the attribute table, base and total."""
    header = re.search(
        r"(?P<account>\S+) · (?P<model>\S+) v(?P<version>\d+) · tier (?P<tier>\w) · fit score "
        r"(?P<score>[\d.]+) · probability (?P<probability>[\d.]+)",
        stdout,
    )
    rows: list[list[str]] = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) != 3 or cells[0] == "attribute":
            continue
        if cells[0]:
            rows.append(cells)
        else:  # a long "reads as" wrapped onto the next line
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    table = pd.DataFrame(rows, columns=["attribute", "reads as", "contribution"])
    table["contribution"] = table["contribution"].astype(float)
    totals = re.search(r"Average account: (\S+) log-odds; this account: (\S+)", stdout)
    return header.groupdict(), table, float(totals[1]), float(totals[2])


def test_explain_shows_every_attribute_adds_up_and_draws_a_waterfall(shared, workspace):
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
        result = invoke(
            "explain",
            "--input",
            data / "accounts.csv",
            "--account-id",
            account,
            "--plot",
            plot,
            *tables(workspace),
        )
        header, table, base, total = explanation(result.stdout)
        expected = scored.loc[account]
        assert (header["account"], header["model"], header["version"]) == (account, "icp-fit", "1")
        assert header["tier"] == expected["fit_tier"]
        assert float(header["score"]) == expected["fit_score"]
        assert float(header["probability"]) == pytest.approx(expected["fit_probability"], abs=5e-4)
        # every attribute of the model once, largest contribution first
        assert len(table) == features and table["attribute"].is_unique
        sizes = table["contribution"].abs().to_numpy()
        assert (np.diff(sizes) <= 1e-3).all()
        # the contributions lead from the average account to this one (each printed to 3 dp)
        assert total == pytest.approx(base + table["contribution"].sum(), abs=5e-4 * len(table))
        # each value is the one `icpfit score --contributions` gives for the attribute
        given = json.loads(expected["contributions"])
        assert set(given) == set(table["attribute"])
        for attribute, value in zip(table["attribute"], table["contribution"], strict=True):
            assert value == pytest.approx(given[attribute], abs=6e-4), attribute
        # the reasons and risks `icpfit score` gave are this table's pushes up and down
        reads = dict(zip(table["reads as"], table["contribution"], strict=True))
        reasons = expected[["reason_1", "reason_2", "reason_3"]].dropna()
        risks = expected[["risk_1", "risk_2", "risk_3"]].dropna()
        assert len(reasons) and len(risks)
        assert all(reads[text] > 0 for text in reasons), (list(reasons), reads)
        assert all(reads[text] < 0 for text in risks), (list(risks), reads)
        image = matplotlib.image.imread(plot)
        assert image.shape[0] > 200 and image.std() > 0
        seen.append((base, total, expected["fit_probability"], plot.read_bytes()))
    (base_a, total_a, p_a, png_a), (base_d, total_d, p_d, png_d) = seen
    assert base_a == base_d, "the average account is the same for both"
    assert total_a > total_d and p_a > p_d and png_a != png_d
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
