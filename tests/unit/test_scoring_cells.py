"""The pure parts of "never a traceback" (issue 15): a numeric cell's error, ids as text, the
checks on scoring's files, the REST params, and the CLI's one error path."""

from __future__ import annotations

import errno
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from mlflow.exceptions import MlflowException

from icpfit.config import ConfigError
from icpfit.failures import failure, one_line
from icpfit.features.parsing import parse_numbers
from icpfit.io import InputError
from icpfit.serving.pyfunc import reasons_asked, refusal
from icpfit.serving.scoring import id_text, number_errors
from icpfit.usecases.files import (
    check_output_path,
    line_starting,
    read_header,
    same_file,
    unreadable,
)


def errors_of(cells: list, column: str = "employees") -> list[str | None]:
    raw = pd.Series(cells, dtype=object)
    return list(number_errors(column, raw, parse_numbers(raw)))


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ("inf", "employees: 'inf' is not a finite number"),
        ("-inf", "employees: '-inf' is not a finite number"),
        (" Infinity ", "employees: 'Infinity' is not a finite number"),
        ("nan", "employees: 'nan' is not a finite number"),
        ("NaN", "employees: 'NaN' is not a finite number"),
        ("1e308", "employees: '1e308' is not a finite number"),
        ("-1e400", "employees: '-1e400' is not a finite number"),
        ("lots", "employees: 'lots' is not a number"),
        ("[/x]", "employees: '[/x]' is not a number"),
        ("1,000", "employees: '1,000' is not a number"),
        ("250", None),
        (" 12.5 ", None),
        ("-3e5", None),
        ("1e-320", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_a_numeric_cell_is_a_number_a_blank_or_an_error(cell, error):
    assert errors_of([cell]) == [error]


def test_typed_numbers_from_parquet_are_checked_too():
    raw = pd.Series([1.0, np.inf, -np.inf, np.nan, 1e308, 3e38])
    assert list(number_errors("annual_revenue", raw, parse_numbers(raw))) == [
        None,
        "annual_revenue: 'inf' is not a finite number",
        "annual_revenue: '-inf' is not a finite number",
        None,  # a missing value in a float column is blank, not an error
        "annual_revenue: '1e+308' is not a finite number",
        None,
    ]


def test_errors_keep_the_rows_index():
    raw = pd.Series(["inf", "5"], index=[10, 11], dtype=object)
    assert list(number_errors("x", raw, parse_numbers(raw)).index) == [10, 11]


@pytest.mark.parametrize(
    ("values", "text"),
    [
        (pd.Series([12, 7], dtype="int64"), ["12", "7"]),
        (pd.Series([12, None], dtype="Int64"), ["12", None]),
        (pd.Series([12.0, np.nan]), ["12", None]),  # an integer column with a blank, as pandas
        (pd.Series([1.5, 2.0]), ["1.5", "2.0"]),
        (pd.Series(["0012", "NA", " x ", None], dtype=object), ["0012", "NA", " x ", None]),
        (pd.Series(["ACC-1", 12345, None], dtype=object), ["ACC-1", "12345", None]),
        (pd.Series(["[red]x", ""], dtype="string"), ["[red]x", ""]),
    ],
)
def test_ids_come_out_as_text_as_written(values, text):
    assert list(id_text(values)) == text


def test_the_same_file_by_any_name(tmp_path):
    original = tmp_path / "accounts.csv"
    original.write_text("account_id\n1\n")
    (tmp_path / "link.csv").symlink_to(original)
    os.link(original, tmp_path / "hard.csv")
    (tmp_path / "sub").mkdir()
    assert same_file(original, tmp_path / "sub" / ".." / "accounts.csv")
    assert same_file(original, tmp_path / "link.csv")
    assert same_file(original, tmp_path / "hard.csv")
    assert not same_file(original, tmp_path / "scored.csv")


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    (tmp_path / "a_folder.csv").mkdir()
    (tmp_path / "a_file.csv").write_text("x")
    with pytest.raises(InputError, match=r"--output .*a_folder.csv: is a folder; give a file"):
        check_output_path(tmp_path / "a_folder.csv", "--output")
    with pytest.raises(InputError, match=r"a_file.csv is a file, not a folder"):
        check_output_path(tmp_path / "a_file.csv" / "deeper" / "out.csv", "--output")
    check_output_path(tmp_path / "new" / "folder" / "out.csv", "--output")  # made when written
    check_output_path(tmp_path / "a_file.csv", "--output")  # replaced when written


def test_a_header_that_repeats_a_column_or_is_missing_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("account_id,employees,industry,employees\nA,1,x,2\n")
    with pytest.raises(
        InputError,
        match=r"dup.csv: column 'employees' appears 2 times in the "
        r"header \(columns 2, 4\); rename or remove the copies",
    ):
        read_header(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        read_header(empty)
    good = tmp_path / "good.csv"
    good.write_text("account_id,[/x]\nA,1\n")
    assert read_header(good) == ["account_id", "[/x]"]


def test_a_header_in_another_encoding_says_how_to_convert(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("account_id,région\nA,Île\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin.csv: not UTF-8 text .*iconv -f latin1 -t utf-8"):
        read_header(latin)
    utf16 = tmp_path / "wide.csv"
    utf16.write_text("account_id,industry\nA,x\n", encoding="utf-16")
    with pytest.raises(InputError, match=r"wide.csv: UTF-16 text .*iconv -f utf-16 -t utf-8"):
        read_header(utf16)


def test_a_row_with_too_many_cells_is_named_by_its_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("account_id,industry\nA,x\nB,y,surplus\nC,z\n")
    error = pa.ArrowInvalid("CSV parse error: Expected 2 columns, got 3: B,y,surplus")
    assert unreadable(path, error) == (
        "ragged.csv line 3: 3 cells where the header has 2; quote values that contain commas "
        'or line breaks ("Acme, Inc.") and export the file again'
    )
    assert line_starting(path, "C,z") == 4 and line_starting(path, "D") is None


def test_only_errors_about_the_files_content_are_read_errors(tmp_path):
    path = tmp_path / "in.parquet"
    corrupt = OSError("Couldn't deserialize thrift: TProtocolException: Invalid data")
    assert unreadable(path, corrupt).startswith(
        "in.parquet: cannot be read as Parquet (Couldn't deserialize thrift"
    )
    assert unreadable(path, pa.ArrowInvalid("Parquet magic bytes not found in footer"))
    disk_full = OSError(errno.ENOSPC, "No space left on device", "out.csv")
    assert unreadable(path, disk_full) is None  # the disk's problem, said by the CLI
    assert unreadable(path, pa.ArrowInvalid("Could not convert 'x' with type str")) is None


@pytest.mark.parametrize("value", [0, 3, 10, 3.0, "4"])
def test_rest_reasons_within_the_cli_range_are_taken(value):
    assert reasons_asked(value) == int(float(value))


@pytest.mark.parametrize("value", [-1, 11, 50, 2.5, "many", None, 10**9])
def test_rest_reasons_outside_it_are_refused_as_a_bad_request(value):
    with pytest.raises(MlflowException, match="is not a whole number from 0 to 10") as refused:
        reasons_asked(value)
    assert refused.value.get_http_status_code() == 400


def test_a_request_that_fails_as_a_whole_is_a_message_without_a_stack_trace():
    refused = refusal(KeyError("employees"))
    assert refused.get_http_status_code() == 400
    assert refused.message.startswith("icpfit could not score this request: KeyError:")
    assert "Traceback" not in refused.serialize_as_json()
    assert "stack_trace" not in refused.serialize_as_json()


def test_the_cli_says_each_kind_of_failure_in_words():
    assert failure(InputError("few.csv: input file not found")) == (
        "few.csv: input file not found",
        1,
    )
    assert failure(ConfigError("icpfit.yaml: unknown key")) == ("icpfit.yaml: unknown key", 2)
    assert failure(MlflowException("Run with id=abc not found")) == (
        "Run with id=abc not found",
        1,
    )
    denied = PermissionError(errno.EACCES, "Permission denied", "/srv/scored.csv")
    assert failure(denied) == ("/srv/scored.csv: Permission denied", 1)
    moved = IsADirectoryError(errno.EISDIR, "Is a directory", ".x.tmp", None, "x.csv")
    assert failure(moved) == (".x.tmp -> x.csv: Is a directory", 1)
    message, code = failure(KeyError("fit_tier\n[/x]"))
    assert code == 1 and "\n" not in message
    assert message == (
        "internal error: KeyError: 'fit_tier\\n[/x]' — rerun with --debug and report it"
    )
    assert failure(ZeroDivisionError())[0].startswith("internal error: ZeroDivisionError: ")


def test_an_internal_error_that_carries_a_traceback_shows_only_what_was_raised():
    worker = (
        "An exception was thrown from the Python worker: Traceback (most recent call last):\n"
        '  File "udf.py", line 3, in predict\n    raise\n'
        "mlflow.exceptions.MlflowException: Failed to enforce schema\n\tat org.apache.spark"
    )
    assert one_line(worker) == "mlflow.exceptions.MlflowException: Failed to enforce schema"
    assert one_line("x" * 1000) == "x" * 399 + "…"
    assert one_line(" a\n b ") == "a b" and one_line("") == "(no message)"
