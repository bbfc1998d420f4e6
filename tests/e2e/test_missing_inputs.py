"""A model never scores on inputs it was trained with but was not given: every engine refuses a
missing family of inputs with the fix, and blanks are scored as unknown and counted."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from icpfit.serving.inputs import MissingInputs
from tests.e2e.cli import invoke

TABLES = ("--technologies", "data/technologies.csv", "--signals", "data/signals.csv")
AS_OF = ("--as-of", "2026-09-30")


@pytest.fixture
def rows(shared, tmp_path, monkeypatch) -> pd.DataFrame:
    """200 accounts of the shared export in few.csv, in the test's own folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(shared.data)
    frame = pd.read_csv(shared.data / "accounts.csv", dtype=str).head(200)
    frame.to_csv("few.csv", index=False)
    return frame


def test_score_refuses_each_missing_family_and_names_the_fix(rows):
    no_tech = invoke("score", "--input", "few.csv", "--output", "out.csv", code=1)
    assert (
        "few.csv: this model uses technologies: pass --technologies FILE or a tech_stack column"
        in no_tech.stderr
    )
    assert "this model uses signals (" in no_tech.stderr and "pass --signals FILE" in no_tech.stderr
    no_signals = invoke("score", "--input", "few.csv", "--output", "out.csv", *TABLES[:2], code=1)
    assert "technologies" not in no_signals.stderr and "--signals FILE" in no_signals.stderr
    without = rows.drop(columns=["employees"])
    without.to_csv("no_employees.csv", index=False)
    no_column = invoke(
        "score", "--input", "no_employees.csv", "--output", "out.csv", *TABLES, *AS_OF, code=1
    )
    assert "uses the account column(s) employees, which the input lacks" in no_column.stderr
    assert not Path("out.csv").exists()


def test_blanks_are_scored_as_unknown_and_counted(rows):
    rows.assign(employees=None).to_csv("blank.csv", index=False)
    result = invoke("score", "--input", "blank.csv", "--output", "out.csv", *TABLES, *AS_OF)
    assert "inputs the model uses were blank in some rows" in result.stdout
    assert "employees 200" in " ".join(result.stdout.split())
    out = pd.read_csv("out.csv")
    assert len(out) == 200 and out["error"].isna().all()
    full = invoke("score", "--input", "few.csv", "--output", "full.csv", *TABLES, *AS_OF)
    assert "employees 200" not in " ".join(full.stdout.split())
    before = pd.read_csv("full.csv")["data_coverage"]
    assert (out["data_coverage"] <= before).all()
    assert (out["data_coverage"] < before)[rows["employees"].notna().to_numpy()].all()


def test_explain_and_compare_refuse_too(rows):
    account = rows["account_id"].iloc[0]
    explained = invoke("explain", "--input", "few.csv", "--account-id", account, code=1)
    assert "this model uses technologies" in explained.stderr
    compared = invoke(
        "compare",
        "--model-a",
        "models:/icp-fit/1",
        "--model-b",
        "models:/icp-fit/2",
        "--input",
        "few.csv",
        "--technologies",
        "data/technologies.csv",
        code=1,
    )
    assert "this model uses signals" in compared.stderr
    ok = invoke("explain", "--input", "few.csv", "--account-id", account, *TABLES, *AS_OF)
    assert f"{account} · icp-fit v1 · tier" in ok.stdout


def test_spark_engine_refuses_before_starting_spark(rows):
    rows.to_parquet("few.parquet")
    result = invoke(
        "score", "--engine", "spark", "--input", "few.parquet", "--output", "o.parquet", code=1
    )
    assert "this model uses technologies" in result.stderr


def test_the_registered_model_itself_refuses_as_rest_would(rows):
    """`mlflow models serve` calls this same predict: a request without the tech stack gets the
    message, not scores computed as if the account had no technologies."""
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion")
    typed = pd.read_csv("few.csv").head(3)  # as a JSON request would type them
    with pytest.raises(MissingInputs, match="this model uses technologies"):
        model.predict(typed)
