"""The checks `compare` shares with `score` (icpfit/usecases/files.py): its input files, its
report folder (never a file, never one of its inputs) and its model URIs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException

from icpfit.io import InputError
from icpfit.registry import ModelNotFound
from icpfit.usecases.files import check_input_file, check_output_folder, loading_model
from icpfit.usecases.models import REPORT_FILES


def test_an_input_is_an_existing_csv_or_parquet_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("account_id\nA1\n")
    check_input_file(Path("a.csv"), "--input")
    with pytest.raises(InputError, match=r"^--input-before b\.txt: use a \.csv or \.parquet"):
        check_input_file(Path("b.txt"), "--input-before")
    with pytest.raises(InputError, match="c.parquet: input file not found"):
        check_input_file(tmp_path / "c.parquet", "--input")


def test_a_report_folder_may_be_new_or_an_existing_folder(tmp_path):
    inputs = {"--input": tmp_path / "accounts.csv"}
    check_output_folder(tmp_path / "new" / "report", "--output", REPORT_FILES, inputs)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "compare.html").write_text("last quarter's")  # replaced, as before
    check_output_folder(tmp_path / "old", "--output", REPORT_FILES, inputs)
    check_output_folder(tmp_path, "--output", REPORT_FILES, inputs)  # beside the input


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("accounts.csv", "--output {t}/accounts.csv is the --input file; --output names a folder"),
        ("taken", "--output {t}/taken: is a file; --output names a folder"),
        ("link", "--output {t}/link is the --input file"),
        (
            "inputs",
            "--output {t}/inputs: writing tier_moves.csv there would replace the "
            "--input-before file; give another folder",
        ),
        ("odd", "--output {t}/odd: {t}/odd/compare.html is a folder, where the report writes"),
        ("accounts.csv/report", "{t}/accounts.csv is a file, not a folder; write elsewhere"),
    ],
)
def test_a_report_folder_that_would_fail_or_replace_an_input_is_refused(tmp_path, folder, message):
    (tmp_path / "accounts.csv").write_text("account_id\nA1\n")
    (tmp_path / "taken").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "accounts.csv")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "tier_moves.csv").write_text("account_id\nA1\n")
    (tmp_path / "odd" / "compare.html").mkdir(parents=True)
    inputs = {
        "--input": tmp_path / "accounts.csv",
        "--input-before": tmp_path / "inputs" / "tier_moves.csv",
    }
    with pytest.raises(InputError) as refused:
        check_output_folder(tmp_path / folder, "--output", REPORT_FILES, inputs)
    assert message.format(t=tmp_path) in str(refused.value)


def test_a_report_folder_we_may_not_write_in_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    (tmp_path / "locked").mkdir(mode=0o500)
    with pytest.raises(InputError, match="permission denied"):
        check_output_folder(tmp_path / "locked" / "report", "--output", REPORT_FILES, {})


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (MlflowException("No such artifact: 'nope'"), "no model at nope: No such artifact: 'nope'"),
        (OSError(errno.ENOENT, "No such file or directory"), "no model at nope: No such file"),
    ],
)
def test_a_uri_that_names_no_model_is_said_in_words(raised, message):
    with pytest.raises(InputError) as refused, loading_model("nope"):
        raise raised
    assert str(refused.value).startswith(message)
    assert str(refused.value).endswith(
        "give models:/NAME@ALIAS, models:/NAME/VERSION or the path of a logged model"
    )


def test_a_name_version_or_alias_the_registry_lacks_lists_what_it_has():
    with pytest.raises(ModelNotFound), loading_model("models:/icp-fit/9"):
        raise ModelNotFound("models:/icp-fit/9: not in the registry; icp-fit has versions 1, 2")
