"""The quarterly retrain's comparison with the champion, and `icpfit compare`, on a real store."""

from __future__ import annotations

import csv
import errno
import html
import re
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from icpfit.training.compare import Comparison
from icpfit.usecases.models import REPORT_FILES
from tests.e2e.cli import invoke

TIERS = ["A", "B", "C", "D", "X"]


def run_of(client: MlflowClient, version: str):
    return client.get_run(client.get_model_version("icp-fit", version).run_id)


def summary_lines(stdout: str) -> list[str]:
    """The comparison's summary: the indented lines between the rule and the migration table."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Comparing " in line)
    end = next(i for i, line in enumerate(lines) if "Tier migration" in line)
    return [line.strip() for line in lines[start:end] if line.strip()]


def test_the_first_retrain_has_nothing_to_compare_with(shared):
    client = shared.client()
    assert "No champion yet: nothing to compare with" in shared.first
    run = run_of(client, "1")
    assert "compared_with" not in run.data.tags
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "population")}
    assert artifacts == {
        "population/training_population.parquet",
        "population/holdout_accounts.parquet",
    }


def test_a_retrain_compares_with_the_champion_prints_and_logs_it(shared, tmp_path):
    client, second = shared.client(), shared.second
    assert "Comparison with the champion" in second
    assert "Comparing icp-fit v1 (@champion) (A) with this run (2026Q3) (B)" in second
    assert "accounts neither model trained on" in second and "from the model" in second
    assert "95% paired CI" in second
    run = run_of(client, "2")
    assert run.data.tags["compared_with"] == "icp-fit v1 (@champion)"
    assert "drift_warnings" in run.data.tags
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "compare")}
    for name in ("compare.html", "tier_migration.csv", "tier_moves.csv", "holdout_metrics.csv"):
        assert f"compare/{name}" in logged
    folder = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="compare", dst_path=str(tmp_path)
    )
    migration = pd.read_csv(f"{folder}/tier_migration.csv").set_index("tier under A")
    prospects = pd.read_csv(f"{folder}/change_sources.csv")
    assert migration.to_numpy().sum() >= len(prospects) > 0
    scored = int(re.search(r"\(B\) on ([\d,]+) accounts", second)[1].replace(",", ""))
    assert migration.to_numpy().sum() == scored
    metrics = pd.read_csv(f"{folder}/holdout_metrics.csv").set_index("model")
    delta = metrics.loc["model B", "roc_auc"] - metrics.loc["model A", "roc_auc"]
    assert metrics.loc["B - A", "roc_auc"] == pytest.approx(delta)
    low, high = metrics.loc["B - A", ["roc_auc_low", "roc_auc_high"]]
    assert low <= delta <= high  # the paired bootstrap interval of the difference
    page = html.unescape((tmp_path / "compare" / "compare.html").read_text())
    for line in summary_lines(second):
        assert line in page, line


def test_compare_command_writes_html_and_csv_and_splits_model_from_data(shared, tmp_path):
    accounts = pd.read_csv(shared.data / "accounts.csv", dtype=str)
    now = accounts.head(400)
    before = now.assign(employees=(pd.to_numeric(now["employees"]) // 3).astype("Int64"))
    now.to_csv(tmp_path / "now.csv", index=False)
    before.to_csv(tmp_path / "before.csv", index=False)
    result = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/1",
        "--model-b",
        "models:/icp-fit@challenger",
        "--input",
        tmp_path / "now.csv",
        "--input-before",
        tmp_path / "before.csv",
        *shared.inputs(),
        "--output",
        tmp_path / "out",
    )
    assert "Comparing icp-fit v1 (A) with icp-fit v2 (@challenger) (B) on 400 accounts" in (
        result.stdout
    )

    def scored(model: str, snapshot: str) -> pd.DataFrame:
        target = tmp_path / f"{snapshot}-{model[-1]}.csv"
        invoke(
            "score",
            "--model",
            model,
            "--input",
            tmp_path / f"{snapshot}.csv",
            *shared.inputs(),
            "--output",
            target,
        )
        return pd.read_csv(target).set_index("account_id")

    a_now, b_now = scored("models:/icp-fit/1", "now"), scored("models:/icp-fit/2", "now")
    a_before, b_before = (
        scored("models:/icp-fit/1", "before"),
        scored("models:/icp-fit/2", "before"),
    )
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == set(REPORT_FILES)  # what --output is checked for

    # the migration is the two models' tiers for the same 400 accounts, as `icpfit score` gives
    migration = pd.read_csv(out / "tier_migration.csv").set_index("tier under A")
    expected = pd.crosstab(a_now["fit_tier"], b_now["fit_tier"]).reindex(
        index=TIERS, columns=TIERS, fill_value=0
    )
    np.testing.assert_array_equal(migration.loc[TIERS, TIERS].to_numpy(), expected.to_numpy())
    assert migration.to_numpy().sum() == 400

    # the moves are exactly the accounts off the diagonal, with both scores
    moves = pd.read_csv(out / "tier_moves.csv").set_index("account_id")
    changed = a_now.index[a_now["fit_tier"] != b_now["fit_tier"]]
    assert sorted(moves.index) == sorted(changed)
    assert (moves["tier_a"] == a_now.loc[moves.index, "fit_tier"]).all()
    assert (moves["tier_b"] == b_now.loc[moves.index, "fit_tier"]).all()
    np.testing.assert_allclose(moves["fit_score_a"], a_now.loc[moves.index, "fit_score"])
    np.testing.assert_allclose(moves["fit_score_b"], b_now.loc[moves.index, "fit_score"])
    np.testing.assert_allclose(moves["score_change"], moves["fit_score_b"] - moves["fit_score_a"])
    up = moves["tier_b"].map(TIERS.index) < moves["tier_a"].map(TIERS.index)
    assert (np.sign(moves["steps"]) == np.where(up, 1, -1)).all()

    # the summary counts what the tables hold, and the HTML page shows the summary
    lines = summary_lines(result.stdout)
    moved = re.search(
        r"Tier changed for (\d+) accounts \([\d.]+%\): (\d+) up, (\d+) down", lines[1]
    )
    assert tuple(map(int, moved.groups())) == (len(changed), int(up.sum()), int((~up).sum()))
    page = html.unescape((out / "compare.html").read_text())
    assert page.startswith("<!doctype html>")
    for line in lines:
        assert line in page, line

    # each account's change is the model's part (same data) plus the data's part (same model)
    sources = pd.read_csv(out / "change_sources.csv").set_index("account_id")
    assert sorted(sources.index) == sorted(now["account_id"])
    ids = sources.index
    for column, frame in (("a_before", a_before), ("b_before", b_before), ("b_now", b_now)):
        np.testing.assert_allclose(sources[column], frame.loc[ids, "fit_probability"], rtol=1e-9)
    np.testing.assert_allclose(sources["model_change"], sources["b_before"] - sources["a_before"])
    np.testing.assert_allclose(sources["data_change"], sources["b_now"] - sources["b_before"])
    total = sources["model_change"] + sources["data_change"]
    assert total.to_numpy() == pytest.approx(sources["total_change"].to_numpy())
    assert (sources["data_change"].abs() > 0).any(), "employees changed between the snapshots"

    # every feature of the models, once, in the drift and importance tables
    client = shared.client()
    features = int(run_of(client, "2").data.params["features"])
    drift = pd.read_csv(out / "feature_drift.csv")
    importance = pd.read_csv(out / "importance_change.csv")
    assert len(drift) == features and drift["feature"].is_unique and (drift["psi"] >= 0).all()
    assert set(importance["feature"]) == set(drift["feature"]) and len(importance) == features
    np.testing.assert_allclose(
        importance["change"], importance["importance_b"] - importance["importance_a"]
    )

    # the ICP filter diff is the two versions' logged filters, rule by rule
    rules = {}
    for version in ("1", "2"):
        path = mlflow.artifacts.download_artifacts(
            run_id=run_of(client, version).info.run_id,
            artifact_path="icp_filter.yaml",
            dst_path=str(tmp_path / f"filter{version}"),
        )
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        rules[version] = {
            (kind, entry["rule"]): entry["lift"]
            for kind in ("icp", "anti_icp")
            for entry in document[kind]
        }
    diff = pd.read_csv(out / "icp_filter_diff.csv")
    keyed = {(r.kind, r.rule): r for r in diff.itertuples()}
    status = {key: row.status for key, row in keyed.items()}
    assert {k for k, s in status.items() if s in ("kept", "dropped")} == set(rules["1"])
    assert {k for k, s in status.items() if s in ("kept", "added")} == set(rules["2"])
    for key, row in keyed.items():
        assert row.lift_a == pytest.approx(rules["1"].get(key, np.nan), nan_ok=True)
        assert row.lift_b == pytest.approx(rules["2"].get(key, np.nan), nan_ok=True)
    counts = diff["status"].value_counts()
    assert (
        f"ICP filter: {counts.get('kept', 0)} rules kept, {counts.get('added', 0)} added, "
        f"{counts.get('dropped', 0)} dropped" in lines
    )


def test_compare_with_an_unknown_version_lists_what_the_registry_has(shared):
    result = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/9",
        "--model-b",
        "models:/icp-fit/1",
        "--input",
        shared.data / "accounts.csv",
        code=1,
    )
    assert "models:/icp-fit/9: not in the registry; icp-fit has versions 1, 2" in result.output


def test_a_retrain_on_shifted_accounts_warns_of_drift_in_the_run_and_report(
    registry, store_copy, tmp_path
):
    shifted = tmp_path / "shifted"
    shutil.copytree(registry.data, shifted)
    accounts = pd.read_csv(shifted / "accounts.csv", dtype=str)
    accounts["employees"] = (pd.to_numeric(accounts["employees"]) * 20).astype("Int64")
    accounts.to_csv(shifted / "accounts.csv", index=False)
    result = invoke(
        "train",
        "--config",
        "shifted/icpfit.yaml",
        "--as-of",
        "2026-09-30",
        "--promote",
        "never",
        "--report",
        "shifted.html",
    )
    assert "employees (PSI" in result.stdout
    run = run_of(MlflowClient(tracking_uri=store_copy, registry_uri=store_copy), "3")
    assert "employees" in run.data.tags["drift_warnings"].split(", ")
    assert run.data.metrics["drifted_features"] >= 1
    report = (tmp_path / "shifted.html").read_text()
    assert "moved beyond PSI 0.25" in report and "employees" in report


# Bad inputs to `icpfit compare` (issue 15): the checks `score` makes, shared --------------------

TABLES = ("--technologies", "data/technologies.csv", "--signals", "data/signals.csv")
A_B = ("--model-a", "models:/icp-fit/1", "--model-b", "models:/icp-fit/2")


@pytest.fixture
def few(shared, tmp_path, monkeypatch) -> pd.DataFrame:
    """200 accounts of the shared export as text in few.csv, in the test's own folder (the
    export's tables under data/)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(shared.data)
    rows = pd.read_csv(shared.data / "accounts.csv", dtype=str).head(200)
    rows.to_csv("few.csv", index=False)
    return rows


def compare(source: str = "few.csv", *extra: str, models: tuple[str, ...] = A_B) -> tuple:
    return ("compare", *models, "--input", source, *TABLES, "--as-of", "2026-09-30", *extra)


def to_report(source: str = "few.csv", *extra: str) -> tuple:
    return compare(source, "--output", "report", *extra)


def edit_lines(target: str, edit) -> None:
    lines = Path("few.csv").read_text(encoding="utf-8").splitlines()
    Path(target).write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def _repeated_header(rows: pd.DataFrame) -> None:
    edit_lines("dup.csv", lambda ls: [ls[0].replace("annual_revenue", "employees"), *ls[1:]])


def _ragged(rows: pd.DataFrame) -> None:
    edit_lines("ragged.csv", lambda ls: [*ls[:11], ls[11] + ",surplus", *ls[12:]])


def _open_quote(rows: pd.DataFrame) -> None:
    edit_lines("quote.csv", lambda ls: [*ls[:11], '"' + ls[11], *ls[12:]])


def _latin1(rows: pd.DataFrame) -> None:
    changed = rows.astype(object)
    changed.loc[3, "industry"] = "Télécommunications"
    Path("latin1.csv").write_bytes(changed.to_csv(index=False).encode("latin-1"))


def _utf16(rows: pd.DataFrame) -> None:
    Path("utf16.csv").write_text(Path("few.csv").read_text(encoding="utf-8"), encoding="utf-16")


def _binary(rows: pd.DataFrame) -> None:
    Path("binary.csv").write_bytes(bytes(range(256)) * 40)


def _empty(rows: pd.DataFrame) -> None:
    Path("empty.csv").write_text("")


def _header_only(rows: pd.DataFrame) -> None:
    rows.head(0).to_csv("header.csv", index=False)


def _garbage_parquet(rows: pd.DataFrame) -> None:
    Path("bad.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")


def _cut_parquet(rows: pd.DataFrame) -> None:
    rows.to_parquet("whole.parquet")
    Path("cut.parquet").write_bytes(Path("whole.parquet").read_bytes()[:-100])


def _no_id(rows: pd.DataFrame) -> None:
    rows.drop(columns=["account_id"]).to_csv("noid.csv", index=False)


def _no_employees(rows: pd.DataFrame) -> None:
    rows.drop(columns=["employees"]).to_csv("noemp.csv", index=False)


def _taken_by_a_file(rows: pd.DataFrame) -> None:
    Path("report").write_text("not a folder")


def _input_in_the_report_folder(rows: pd.DataFrame) -> None:
    Path("report").mkdir()
    rows.to_csv("report/tier_moves.csv", index=False)


def _page_is_a_folder(rows: pd.DataFrame) -> None:
    Path("report/compare.html").mkdir(parents=True)


def _nothing(rows: pd.DataFrame) -> None:
    pass


COMPARE_REFUSED = {
    "header names a column twice": (
        to_report("dup.csv"),
        "dup.csv: column 'employees' appears 2 times in the header (columns 3, 4); rename",
        _repeated_header,
    ),
    "row with a cell too many": (
        to_report("ragged.csv"),
        "ragged.csv line 12: 14 cells where the header has 13; quote values",
        _ragged,
    ),
    "row with a cell too many in --input-before": (
        to_report("few.csv", "--input-before", "ragged.csv"),
        "ragged.csv line 12: 14 cells where the header has 13",
        _ragged,
    ),
    "quote never closed": (
        to_report("quote.csv"),
        "quote.csv: a quote opened on line 12 is never closed",
        _open_quote,
    ),
    "latin-1 text": (to_report("latin1.csv"), "latin1.csv: not UTF-8 text", _latin1),
    "utf-16 text": (to_report("utf16.csv"), "utf16.csv: UTF-16 text", _utf16),
    "binary bytes named .csv": (to_report("binary.csv"), "binary.csv: not UTF-8 text", _binary),
    "input empty": (to_report("empty.csv"), "empty.csv: the file is empty", _empty),
    "input with only a header": (
        to_report("header.csv"),
        "header.csv: no account rows, only a header",
        _header_only,
    ),
    "input not parquet": (
        to_report("bad.parquet"),
        "bad.parquet: cannot be read as Parquet",
        _garbage_parquet,
    ),
    "input parquet cut short": (
        to_report("cut.parquet"),
        "cut.parquet: cannot be read as Parquet",
        _cut_parquet,
    ),
    "input neither csv nor parquet": (
        to_report("few.txt"),
        "--input few.txt: use a .csv or .parquet file",
        _nothing,
    ),
    "input does not exist": (to_report("nope.csv"), "nope.csv: input file not found", _nothing),
    "input-before does not exist": (
        to_report("few.csv", "--input-before", "gone.csv"),
        "gone.csv: input file not found",
        _nothing,
    ),
    "no account_id column": (
        to_report("noid.csv"),
        "noid.csv: icp-fit v1 (A): missing required column 'account_id'",
        _no_id,
    ),
    "input-before lacks a column the models use": (
        to_report("few.csv", "--input-before", "noemp.csv"),
        "noemp.csv: icp-fit v1 (A): this model uses the account column(s) employees, which the "
        "input lacks",
        _no_employees,
    ),
    "technologies file missing": (
        ("compare", *A_B, "--input", "few.csv", "--technologies", "no.csv"),
        "--technologies no.csv: file not found",
        _nothing,
    ),
    "model uri not a uri": (
        compare(models=("--model-a", "models:/icp-fit/1", "--model-b", "nope")),
        "no model at nope: No such artifact: 'nope'; give models:/NAME@ALIAS, "
        "models:/NAME/VERSION or the path of a logged model",
        _nothing,
    ),
    "model run does not exist": (
        compare(models=("--model-a", "runs:/0123456789abcdef/model", "--model-b", "nope")),
        "no model at runs:/0123456789abcdef/model: ",
        _nothing,
    ),
    "model alias not set": (
        compare(models=("--model-a", "models:/icp-fit@nightly", *A_B[2:])),
        "models:/icp-fit@nightly: not in the registry; icp-fit has versions 1, 2",
        _nothing,
    ),
    "output is an existing file": (
        to_report(),
        "--output report: is a file; --output names a folder for the report's files",
        _taken_by_a_file,
    ),
    "output is the input": (
        compare("few.csv", "--output", "few.csv"),
        "--output few.csv is the --input file",
        _nothing,
    ),
    "output is the signals table": (
        compare("few.csv", "--output", "data/signals.csv"),
        "--output data/signals.csv is the --signals file",
        _nothing,
    ),
    "output would replace the input with a table": (
        compare("report/tier_moves.csv", "--output", "report"),
        "--output report: writing tier_moves.csv there would replace the --input file",
        _input_in_the_report_folder,
    ),
    "output holds a folder where the page goes": (
        to_report(),
        "--output report: report/compare.html is a folder, where the report writes its file",
        _page_is_a_folder,
    ),
    "output inside a file": (
        compare("few.csv", "--output", "few.csv/report"),
        "few.csv is a file, not a folder",
        _nothing,
    ),
}


def _tree(folder: str) -> dict[str, bytes | None]:
    """Every path under `folder` (its own if a file) with the bytes of the files."""
    root = Path(folder)
    paths = [root, *root.rglob("*")] if root.exists() else []
    return {str(p): p.read_bytes() if p.is_file() else None for p in paths}


@pytest.mark.parametrize(
    ("args", "message", "prepare"), COMPARE_REFUSED.values(), ids=COMPARE_REFUSED.keys()
)
def test_compare_refuses_a_bad_input_as_score_does(few, args, message, prepare):
    prepare(few)
    before, report = Path("few.csv").read_bytes(), _tree("report")
    result = invoke(*args, code=1)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert message in " ".join(output.split())
    assert Path("few.csv").read_bytes() == before  # the input is never touched
    assert _tree("report") == report  # nothing written where the report would go


def test_compare_reads_odd_cells_as_score_does_and_writes_only_its_report(few):
    """Quoted line breaks, a carriage return, a non-finite number and a blank id: compared,
    every account counted once."""
    given = few.astype(object)
    given.loc[1, "industry"] = 'Acme, "Inc."\nand sons'
    given.loc[2, "account_id"] = "ACC\rCR"
    given.loc[3, "employees"] = "inf"
    given.loc[4, "account_id"] = None
    given.to_csv("odd.csv", index=False, quoting=csv.QUOTE_ALL)
    result = invoke(*to_report("odd.csv"))
    assert "on 200 accounts" in result.stdout
    assert {p.name for p in Path("report").iterdir()} <= set(REPORT_FILES)
    migration = pd.read_csv("report/tier_migration.csv").set_index("tier under A")
    assert migration.to_numpy().sum() == 200
    assert migration.loc["error", "error"] == 2  # the blank id and the infinite headcount


def _earlier_report(rows: pd.DataFrame) -> None:
    Path("report").mkdir()
    Path("report/tier_migration.csv").write_text("an earlier report's table\n")
    Path("report/notes.txt").write_text("the user's own file\n")


def _scratch_left() -> list[str]:
    return [p.name for p in Path(".").iterdir() if ".icpfit-" in p.name]


@pytest.mark.parametrize("prepare", [_nothing, _earlier_report], ids=["no folder", "a report"])
def test_a_compare_that_fails_while_writing_leaves_the_report_folder_as_it_was(
    few, monkeypatch, prepare
):
    """The tables are written before the page: a disk that fills on the page used to leave
    them, a report of half a comparison (or half of two)."""
    prepare(few)
    before = _tree("report")

    def disk_full(self) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", "compare.html")

    with monkeypatch.context() as patch:
        patch.setattr(Comparison, "html", disk_full)
        result = invoke(*to_report(), code=1)
    assert "compare.html: No space left on device" in result.stderr + result.stdout
    assert _tree("report") == before and not _scratch_left()

    invoke(*to_report())
    written = {p.name for p in Path("report").iterdir()}
    assert written - {"notes.txt"} <= set(REPORT_FILES) and "compare.html" in written
    assert not _scratch_left()
