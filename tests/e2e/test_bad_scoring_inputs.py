"""Bad inputs to `icpfit score`, `explain` and `compare` (issue 15): each one ends in a message
that names the file and the fix, with a non-zero exit, or is scored with the bad rows carrying
their own `error` and one output row per input row. Never a Python traceback, never an
"internal error" (the catch-all for what a user cannot cause), never a value read as markup.

Every case runs the real command in-process against the session's registry (`shared`): v1 is
champion, v2 challenger. The REST cases run `mlflow models serve` (the fixture of test_rest)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from icpfit.cli import app
from icpfit.serving.batch import read_batches
from icpfit.serving.pyfunc import IcpFitModel
from tests.e2e.cli import invoke, runner
from tests.e2e.test_rest import post, server, strict_json  # noqa: F401 - `server` is a fixture

ROWS = 200
TABLES = ("--technologies", "data/technologies.csv", "--signals", "data/signals.csv")
AS_OF = ("--as-of", "2026-09-30")
A_B = ("--model-a", "models:/icp-fit/1", "--model-b", "models:/icp-fit/2")


def icpfit(*args, code: int = 0):
    """`icpfit ARGS` through tests/e2e/cli.py `invoke`: exits `code`, and not by a crash that
    happens to exit with it, nor through the internal-error catch-all."""
    result = invoke(*args, code=code)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    output = result.stdout + result.stderr
    assert not crashed, "".join(traceback.format_exception(*result.exc_info))
    assert "Traceback" not in output
    assert "internal error" not in output, output
    assert "MarkupError" not in output
    return result


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def rows(shared, tmp_path, monkeypatch) -> pd.DataFrame:
    """200 accounts of the shared export as text in few.csv, in the test's own folder (the
    export's tables under data/)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(shared.data)
    frame = pd.read_csv(shared.data / "accounts.csv", dtype=str).head(ROWS)
    frame.to_csv("few.csv", index=False)
    return frame


def write(rows: pd.DataFrame, name: str) -> None:
    rows.to_csv(name, index=False) if name.endswith(".csv") else rows.to_parquet(name)


def with_cell(rows: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    changed = rows.astype({column: object})
    changed.loc[row, column] = value
    return changed


def lines_of(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def edit_lines(source: str, target: str, edit: Callable[[list[str]], list[str]]) -> None:
    Path(target).write_text("\n".join(edit(lines_of(source))) + "\n", encoding="utf-8")


# Refusals: a message naming the file (or option) and the fix, exit 1, nothing written ------------


def _same_by_symlink(rows: pd.DataFrame) -> None:
    Path("link.csv").symlink_to(Path("few.csv").resolve())


def _same_by_hardlink(rows: pd.DataFrame) -> None:
    os.link("few.csv", "hard.csv")


def _folder(rows: pd.DataFrame) -> None:
    Path("outdir.csv").mkdir()


def _garbage_parquet(rows: pd.DataFrame) -> None:
    Path("bad.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")


def _cut_parquet(rows: pd.DataFrame) -> None:
    write(rows, "whole.parquet")
    Path("cut.parquet").write_bytes(Path("whole.parquet").read_bytes()[:-100])


def _empty(rows: pd.DataFrame) -> None:
    Path("empty.csv").write_text("")


def _duplicated_header(rows: pd.DataFrame) -> None:
    edit_lines(
        "few.csv", "dup.csv", lambda ls: [ls[0].replace("annual_revenue", "employees"), *ls[1:]]
    )


def _ragged(rows: pd.DataFrame) -> None:
    edit_lines("few.csv", "ragged.csv", lambda ls: [*ls[:11], ls[11] + ",surplus", *ls[12:]])


def _open_quote(rows: pd.DataFrame) -> None:
    edit_lines("few.csv", "quote.csv", lambda ls: [*ls[:11], '"' + ls[11], *ls[12:]])


def _latin1(rows: pd.DataFrame) -> None:
    changed = with_cell(rows, 3, "industry", "Télécommunications")
    Path("latin1.csv").write_bytes(changed.to_csv(index=False).encode("latin-1"))


def _binary(rows: pd.DataFrame) -> None:
    Path("binary.csv").write_bytes(bytes(range(256)) * 40)


def _no_id(rows: pd.DataFrame) -> None:
    write(rows.drop(columns=["account_id"]), "noid.csv")


def _bad_signals(rows: pd.DataFrame) -> None:
    signals = pd.read_csv("data/signals.csv", dtype=str).head(50)
    write(with_cell(signals, 4, "date", "[/x]"), "signals_bad.csv")


def _inf_row(rows: pd.DataFrame) -> None:
    write(with_cell(rows, 7, "employees", "inf"), "inf.csv")


def _plot_folder(rows: pd.DataFrame) -> None:
    Path("plots").mkdir()


def _nothing(rows: pd.DataFrame) -> None:
    pass


@dataclass(frozen=True)
class Refused:
    args: tuple[str, ...]
    message: str
    prepare: Callable[[pd.DataFrame], None] = _nothing
    code: int = 1


def score(source: str = "few.csv", output: str = "out.csv", *extra: str) -> tuple[str, ...]:
    return ("score", "--input", source, "--output", output, *TABLES, *AS_OF, *extra)


def explain(account: str, source: str = "few.csv", *extra: str) -> tuple[str, ...]:
    return ("explain", "--input", source, "--account-id", account, *TABLES, *AS_OF, *extra)


def compare(source: str = "few.csv", *extra: str, models: tuple[str, ...] = A_B):
    return ("compare", *models, "--input", source, *TABLES, *AS_OF, *extra)


REFUSED = {
    "output is the input": Refused(
        score("few.csv", "few.csv"), "--output few.csv is the --input file"
    ),
    "output is the input, spelt differently": Refused(
        score("few.csv", "./few.csv"), "is the --input file"
    ),
    "output is a symlink to the input": Refused(
        score("few.csv", "link.csv"), "is the --input file", _same_by_symlink
    ),
    "output is a hard link to the input": Refused(
        score("few.csv", "hard.csv"), "is the --input file", _same_by_hardlink
    ),
    "output is a folder": Refused(
        score("few.csv", "outdir.csv"), "--output outdir.csv: is a folder", _folder
    ),
    "output inside a file": Refused(
        score("few.csv", "few.csv/out.csv"), "few.csv is a file, not a folder"
    ),
    "output neither csv nor parquet": Refused(
        score("few.csv", "out.txt"), "--output out.txt: use a .csv or .parquet file"
    ),
    "input does not exist": Refused(score("nope.csv"), "nope.csv: input file not found"),
    "input is not parquet": Refused(
        score("bad.parquet"), "bad.parquet: cannot be read as Parquet", _garbage_parquet
    ),
    "input parquet cut short": Refused(
        score("cut.parquet"), "cut.parquet: cannot be read as Parquet", _cut_parquet
    ),
    "input empty": Refused(score("empty.csv"), "empty.csv: the file is empty", _empty),
    "header names a column twice": Refused(
        score("dup.csv"),
        "dup.csv: column 'employees' appears 2 times in the header (columns 3, 4); rename",
        _duplicated_header,
    ),
    "row with a cell too many": Refused(
        score("ragged.csv"),
        "ragged.csv line 12: 14 cells where the header has 13; quote values",
        _ragged,
    ),
    "quote never closed": Refused(
        score("quote.csv"),
        "quote.csv: a quote opened on line 12 is never closed, so the rest of the file reads as "
        'one cell; close it (a quote inside a value is written twice: "")',
        _open_quote,
    ),
    "latin-1 text": Refused(score("latin1.csv"), "latin1.csv: not UTF-8 text", _latin1),
    "binary bytes named .csv": Refused(score("binary.csv"), "binary.csv: not UTF-8 text", _binary),
    "no account_id column": Refused(
        score("noid.csv"), "noid.csv: missing required column 'account_id'", _no_id
    ),
    "model name not registered": Refused(
        score("few.csv", "out.csv", "--model", "models:/nope@champion"),
        "models:/nope@champion: not in the registry; registered models: icp-fit",
    ),
    "model version not registered": Refused(
        score("few.csv", "out.csv", "--model", "models:/icp-fit/99"),
        "models:/icp-fit/99: not in the registry; icp-fit has versions 1, 2",
    ),
    "model alias not set": Refused(
        score("few.csv", "out.csv", "--model", "models:/icp-fit@nightly"),
        "models:/icp-fit@nightly: not in the registry; icp-fit has versions 1, 2; aliases: "
        "@challenger -> v2, @champion -> v1",
    ),
    "model alias with brackets": Refused(
        score("few.csv", "out.csv", "--model", "models:/icp-fit@[/x]"),
        "no model at models:/icp-fit@[/x]: Invalid alias name",
    ),
    "model uri not a uri": Refused(
        score("few.csv", "out.csv", "--model", "nope"), "no model at nope: "
    ),
    "model run does not exist": Refused(
        score("few.csv", "out.csv", "--model", "runs:/0123456789abcdef/model"),
        "no model at runs:/0123456789abcdef/model: ",
    ),
    "as-of not a date": Refused(
        ("score", "--input", "few.csv", "--output", "out.csv", *TABLES, "--as-of", "[/x]"),
        "'[/x]' is not a date like 2026-09-30",
        code=2,
    ),
    "technologies file missing": Refused(
        ("score", "--input", "few.csv", "--output", "out.csv", "--technologies", "no.csv"),
        "--technologies: ",
    ),
    "signals file missing": Refused(
        ("score", "--input", "few.csv", "--output", "out.csv", "--signals", "no.csv"),
        "--signals no.csv: file not found",
    ),
    "signals with a date that is not one": Refused(
        (
            *("score", "--input", "few.csv", "--output", "out.csv"),
            *("--technologies", "data/technologies.csv", "--signals", "signals_bad.csv"),
        ),
        "--signals signals_bad.csv: column 'date' has 1 values that are not dates (lines 6)",
        _bad_signals,
    ),
    "spark with csv": Refused(
        score("few.csv", "out.csv", "--engine", "spark"),
        "--engine spark reads and writes Parquet",
    ),
    "changed-only without previous": Refused(
        score("few.csv", "out.csv", "--changed-only"), "--changed-only needs --previous FILE"
    ),
    "explain: model alias not set": Refused(
        explain("ACC-000001", "few.csv", "--model", "models:/icp-fit@nightly"),
        "models:/icp-fit@nightly: not in the registry; icp-fit has versions 1, 2",
    ),
    "explain: model uri not a uri": Refused(
        explain("ACC-000001", "few.csv", "--model", "nope"), "no model at nope: "
    ),
    "explain: account not in the file": Refused(
        explain("[/x]"), "few.csv: no row with account_id = '[/x]'"
    ),
    "explain: account with a non-finite number": Refused(
        explain("ACC-000008", "inf.csv"),
        "inf.csv: ACC-000008 cannot be scored, so not explained: employees: 'inf' is not a "
        "finite number; correct that cell",
        _inf_row,
    ),
    "explain: input not parquet": Refused(
        explain("ACC-000001", "bad.parquet"),
        "bad.parquet: cannot be read as Parquet",
        _garbage_parquet,
    ),
    "explain: header names a column twice": Refused(
        explain("ACC-000001", "dup.csv"), "column 'employees' appears 2 times", _duplicated_header
    ),
    "explain: plot is a folder": Refused(
        explain("ACC-000001", "few.csv", "--plot", "plots"),
        "--plot plots: is a folder",
        _plot_folder,
    ),
    "explain: input does not exist": Refused(
        explain("ACC-000001", "nope.csv"), "nope.csv: input file not found"
    ),
    "compare: model name not registered": Refused(
        compare(models=("--model-a", "models:/nope@champion", "--model-b", "models:/icp-fit/2")),
        "models:/nope@champion: not in the registry; registered models: icp-fit",
    ),
    "compare: model version not registered": Refused(
        compare(models=("--model-a", "models:/icp-fit/1", "--model-b", "models:/icp-fit/99")),
        "models:/icp-fit/99: not in the registry",
    ),
    "compare: input does not exist": Refused(compare("nope.csv"), "nope.csv: input file not found"),
    "compare: input not parquet": Refused(
        compare("bad.parquet"), "bad.parquet: ", _garbage_parquet
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_input_is_refused_with_a_message_and_nothing_is_written(rows, case: Refused):
    case.prepare(rows)
    before = Path("few.csv").read_bytes()
    result = icpfit(*case.args, code=case.code)
    assert case.message in one_line(result.stderr + result.stdout)
    assert Path("few.csv").read_bytes() == before  # the input is never touched
    assert not Path("out.csv").exists()


LOCAL = ("--technologies", "technologies.csv", "--signals", "signals.csv", *AS_OF)
"""The tables as copies in the test's folder: a run that wrongly wrote over one of them must not
reach the session's export under data/."""

OUTPUT_IS_READ = {
    "signals": (
        ("--output", "signals.csv"),
        "--output signals.csv is the --signals file: scoring would replace that table with the "
        "scores; write to another file",
    ),
    "technologies, spelt differently": (
        ("--output", "./technologies.csv"),
        "--output technologies.csv is the --technologies file: scoring would replace that table",
    ),
    "signals by a symlink": (
        ("--output", "link.csv"),
        "--output link.csv is the --signals file",
    ),
    "previous of a --changed-only run": (
        ("--output", "first.csv", "--previous", "first.csv", "--changed-only"),
        "--output first.csv is the --previous file: with --changed-only it would keep only this "
        "run's changes",
    ),
}


@pytest.fixture
def local_tables(rows) -> dict[str, bytes]:
    """technologies.csv, signals.csv (and link.csv to it), first.csv, a full scored run: their
    bytes."""
    for name in ("technologies.csv", "signals.csv"):
        shutil.copy(Path("data") / name, name)
    Path("link.csv").symlink_to(Path("signals.csv").resolve())
    icpfit("score", "--input", "few.csv", "--output", "first.csv", *LOCAL)
    return {n: Path(n).read_bytes() for n in ("technologies.csv", "signals.csv", "first.csv")}


@pytest.mark.parametrize(("args", "message"), OUTPUT_IS_READ.values(), ids=OUTPUT_IS_READ.keys())
def test_score_refuses_to_write_over_a_file_it_reads(local_tables, args, message):
    result = icpfit("score", "--input", "few.csv", *LOCAL, *args, code=1)
    assert message in one_line(result.stderr + result.stdout)
    assert {n: Path(n).read_bytes() for n in local_tables} == local_tables
    assert Path("link.csv").is_symlink()


def test_a_full_run_may_replace_the_previous_file_it_compares_with(local_tables):
    """--previous naming the output is what a run without --previous does: the previous file is
    read whole first, and the new full file becomes the next baseline."""
    result = icpfit(
        *("score", "--input", "few.csv", "--output", "first.csv", "--previous", "first.csv"),
        *LOCAL,
    )
    assert "Compared with the previous run in first.csv" in one_line(result.stdout)
    assert len(pd.read_csv("first.csv")) == ROWS


# Scored: one output row per input row, in order, ids as text, bad rows with their own error ------


@dataclass(frozen=True)
class Scored:
    make: Callable[[pd.DataFrame], pd.DataFrame]
    errors: dict[int, str] = field(default_factory=dict)
    """Row -> its error; every other row is scored without one."""
    name: str = "in.csv"


def _ids_only(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[["account_id"]].reindex(columns=rows.columns)


def _one_id_only(rows: pd.DataFrame) -> pd.DataFrame:
    changed = rows.copy()
    changed.loc[5, changed.columns.drop("account_id")] = None
    return changed


def _markup(rows: pd.DataFrame) -> pd.DataFrame:
    changed = with_cell(rows, 0, "account_id", "[red]x")
    changed = with_cell(changed, 1, "account_id", "[/x]")
    changed.loc[2:30, "industry"] = "[/x]"
    changed.loc[31:40, "country"] = "[bold]France"
    return changed


def _odd_text(rows: pd.DataFrame) -> pd.DataFrame:
    changed = rows.astype(object)
    changed.loc[0, "industry"] = "x" * 100_000
    changed.loc[1, "industry"] = 'Acme, "Inc."\nand sons'
    changed.loc[2, "account_id"] = 'ÄÇÇ-∂ 😀 "quoted", comma'
    changed.loc[3, "country"] = "日本"
    changed.loc[4, "account_id"] = "0012"
    changed.loc[5, "account_id"] = "1e5"
    return changed


SCORED = {
    "a row with only an account id": Scored(_one_id_only),
    "every row with only an account id": Scored(_ids_only),
    "inf": Scored(
        lambda r: with_cell(r, 3, "employees", "inf"),
        {3: "employees: 'inf' is not a finite number"},
    ),
    "-inf": Scored(
        lambda r: with_cell(r, 4, "annual_revenue", "-inf"),
        {4: "annual_revenue: '-inf' is not a finite number"},
    ),
    "Infinity": Scored(
        lambda r: with_cell(r, 4, "employees", "Infinity"),
        {4: "employees: 'Infinity' is not a finite number"},
    ),
    "1e308": Scored(
        lambda r: with_cell(r, 5, "web_visits_monthly", "1e308"),
        {5: "web_visits_monthly: '1e308' is not a finite number"},
    ),
    "1e400": Scored(
        lambda r: with_cell(r, 6, "annual_revenue", "1e400"),
        {6: "annual_revenue: '1e400' is not a finite number"},
    ),
    "a word for a number": Scored(
        lambda r: with_cell(r, 7, "employees", "[/x] lots"),
        {7: "employees: '[/x] lots' is not a number"},
    ),
    "a blank account id": Scored(
        lambda r: with_cell(r, 8, "account_id", None), {8: "account_id is empty"}
    ),
    "two bad cells in a row: the first is its error": Scored(
        lambda r: with_cell(with_cell(r, 9, "employees", "inf"), 9, "annual_revenue", "x"),
        {9: "employees: 'inf' is not a finite number"},
    ),
    "markup in ids and categories": Scored(_markup),
    "long, quoted, multi-line and non-latin text": Scored(_odd_text),
    "header only": Scored(lambda r: r.iloc[:0]),
    "parquet in and out": Scored(
        lambda r: with_cell(r, 3, "employees", "inf"),
        {3: "employees: 'inf' is not a finite number"},
        "in.parquet",
    ),
}


def _read(path: str) -> pd.DataFrame:
    if path.endswith(".csv"):
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return pd.read_parquet(path)


@pytest.mark.parametrize("case", SCORED.values(), ids=SCORED.keys())
def test_a_bad_row_is_scored_with_its_own_error_and_every_row_comes_out(rows, case: Scored):
    given = case.make(rows).reset_index(drop=True)
    write(given, case.name)
    target = "out" + Path(case.name).suffix
    result = icpfit("score", "--input", case.name, "--output", target, *TABLES, *AS_OF)
    out = _read(target)
    assert f"{len(given):,} rows scored" in one_line(result.stdout)
    assert_rows_out_as_in(given, out)
    assert texts(out["error"]) == [case.errors.get(i) for i in range(len(given))]
    scored = out[out["error"].isna()]
    assert scored["fit_tier"].notna().all() and scored["fit_probability"].notna().all()
    failed = out[out["error"].notna()]
    assert failed[["fit_probability", "fit_tier", "reason_1"]].isna().all().all()


def texts(values: pd.Series) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in values]


def assert_rows_out_as_in(given: pd.DataFrame, out: pd.DataFrame) -> None:
    """One output row per input row, in order, with the ids as text exactly as given."""
    assert len(out) == len(given)
    assert texts(out["account_id"]) == texts(given["account_id"])


def test_integer_ids_in_parquet_come_out_as_text_in_parquet(shared, rows):
    """Int64 ids (also with a blank, which pandas holds as floats) into a Parquet output."""
    given = shared.model_rows(30).assign(account_id=pd.array(range(1001, 1031), dtype="Int64"))
    given.to_parquet("ints.parquet")
    with_blank = given.assign(account_id=given["account_id"].astype("Int64").mask(given.index == 4))
    with_blank.to_parquet("blank.parquet")
    for source in ("ints.parquet", "blank.parquet"):
        icpfit("score", "--input", source, "--output", f"out-{source}")
        assert str(pq.read_schema(f"out-{source}").field("account_id").type) == "string"
    out = pd.read_parquet("out-ints.parquet")
    assert list(out["account_id"]) == [str(i) for i in range(1001, 1031)]
    assert out["error"].isna().all() and out["fit_tier"].notna().all()
    blank = pd.read_parquet("out-blank.parquet")
    assert blank.loc[3, "account_id"] == "1004" and blank.loc[5, "account_id"] == "1006"
    assert texts(blank["account_id"])[4] is None and blank.loc[4, "error"] == "account_id is empty"
    explained = icpfit("explain", "--input", "blank.parquet", "--account-id", "1006")
    assert "1006 · icp-fit v1 · tier" in one_line(explained.stdout)


def test_non_finite_numbers_in_parquet_and_signal_columns_are_row_errors(shared, rows):
    given = shared.model_rows(20)
    signal = next(c for c in given.columns if c.startswith("signals_"))
    given = with_cell(given, 2, "employees", float("inf"))
    given = with_cell(given, 3, "annual_revenue", -1e308)
    given = with_cell(given, 4, signal, "inf")
    given[signal] = given[signal].astype(str)
    given.to_parquet("typed.parquet")
    icpfit("score", "--input", "typed.parquet", "--output", "out.csv")
    out = _read("out.csv")
    assert len(out) == 20
    assert out.loc[2, "error"] == "employees: 'inf' is not a finite number"
    assert out.loc[3, "error"] == "annual_revenue: '-1e+308' is not a finite number"
    assert out.loc[4, "error"] == f"{signal}: 'inf' is not a finite number"
    assert out["error"].notna().sum() == 3
    words = out.filter(regex=r"^(reason|risk)_").stack()
    assert not words.str.contains(r"\binf[BMk]?\b|1e\+?308").any()  # never "Employees infB"


def test_output_in_a_folder_that_does_not_exist_yet_is_made(rows):
    icpfit(*score("few.csv", "new/folder/out.csv"))
    assert len(_read("new/folder/out.csv")) == ROWS


def test_utf16_is_read_or_refused_with_the_fix(rows):
    Path("utf16.csv").write_text(Path("few.csv").read_text(encoding="utf-8"), encoding="utf-16")
    result = runner.invoke(app, list(score("utf16.csv")))
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output and "internal error" not in output
    if result.exit_code == 0:  # an encoding the reader detects
        assert len(_read("out.csv")) == ROWS
    else:
        assert result.exit_code == 1
        assert "utf16.csv: UTF-16 text" in one_line(output) and "iconv -f utf-16" in output


# Markup never reaches the terminal's renderer: validate and train print user values literally ---


@pytest.fixture
def export_with_markup(shared, tmp_path) -> Path:
    """A copy of the shared export with an account id `[red]x`, an industry `[/x]` and a
    headcount `[/employees]` (not a number: the export has an error that quotes it)."""
    folder = tmp_path / "export"
    shutil.copytree(shared.data, folder, ignore=shutil.ignore_patterns("truth"))
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str)
    accounts.loc[0, "account_id"] = "[red]x"
    accounts.loc[1:40, "industry"] = "[/x]"
    accounts.loc[41, "employees"] = "[/employees]"
    accounts.to_csv(folder / "accounts.csv", index=False)
    return folder / "icpfit.yaml"


def test_validate_prints_values_with_brackets_literally(export_with_markup):
    result = icpfit("validate", "--config", export_with_markup, "--as-of", "2026-09-30", code=1)
    assert "e.g. '[/employees]'" in one_line(result.stderr)


def test_train_prints_values_with_brackets_literally(store_copy, export_with_markup):
    result = icpfit("train", "--config", export_with_markup, "--as-of", "2026-09-30", code=1)
    assert "e.g. '[/employees]'" in one_line(result.stderr)


# The one error path: --debug, ICPFIT_DEBUG, and the internal-error line ---------------------------


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(rows, monkeypatch):
    import icpfit.usecases.scoring as scoring

    def broken(*args, **kwargs):
        raise RuntimeError("a bug [/x]\nsecond line")

    monkeypatch.setattr(scoring, "score_file", broken)
    result = invoke(*score(), code=1)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr
    assert one_line(result.stderr) == (
        "error: internal error: RuntimeError: a bug [/x] second line — rerun with --debug and "
        "report it"
    )
    debug = runner.invoke(app, ["--debug", *score()])
    assert isinstance(debug.exception, RuntimeError)  # raised: typer prints the traceback
    monkeypatch.setenv("ICPFIT_DEBUG", "1")
    assert isinstance(runner.invoke(app, list(score())).exception, RuntimeError)


def test_a_user_error_with_brackets_prints_literally(rows):
    result = icpfit(*explain("[bold]x[/bold]"), code=1)
    assert "no row with account_id = '[bold]x[/bold]'" in result.stderr


# REST answers as batch: per-row errors, refusals without a stack trace ----------------------------


def test_rest_gives_non_finite_numbers_their_row_error_as_batch_does(shared, server, rows):  # noqa: F811
    given = shared.model_rows(6).astype(object)
    given.loc[0, "employees"] = "inf"
    given.loc[1, "employees"] = "nan"
    given.loc[2, "annual_revenue"] = 1e308
    given.loc[3, [c for c in given.columns if c != "account_id"]] = None
    given.loc[4, "account_id"] = 12345
    status, text = post(server, given)
    assert status == 200, text[-2000:]
    answer = pd.DataFrame(strict_json(text)["predictions"])
    assert list(answer["account_id"]) == [
        "12345" if i == 4 else given.loc[i, "account_id"] for i in range(6)
    ]
    assert texts(answer["error"]) == [
        "employees: 'inf' is not a finite number",
        "employees: 'nan' is not a finite number",
        "annual_revenue: '1e+308' is not a finite number",
        None,
        None,
        None,
    ]
    assert answer.loc[3:, "fit_tier"].notna().all()
    given.to_csv("rest.csv", index=False)
    icpfit("score", "--input", "rest.csv", "--output", "rest-out.csv")
    batch = _read("rest-out.csv")
    for row in (0, 2):  # 'nan' in a CSV cell is read as blank (serving/batch.py's null values)
        assert batch.loc[row, "error"] == answer.loc[row, "error"]


def test_rest_refuses_a_request_as_a_whole_without_a_stack_trace(shared, server):  # noqa: F811
    records = json.loads(shared.model_rows(2).to_json(orient="records"))
    body = json.dumps({"dataframe_records": records, "params": {"reasons": 50}}).encode()
    request = urllib.request.Request(
        f"{server}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    answer = json.loads(refused.value.read().decode())
    assert refused.value.code == 400
    assert "reasons: 50 is not a whole number from 0 to 10" in answer["message"]
    assert "stack_trace" not in answer and "Traceback" not in json.dumps(answer)


def test_the_model_refuses_what_it_cannot_score_without_a_stack_trace(shared):
    """Columns named twice reach the model past MLflow's schema check only when the python model
    is called directly: through MLflow (a context) the failure is a message, HTTP 400."""
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    assert isinstance(model, IcpFitModel)
    given = shared.model_rows(3)
    twice = pd.concat([given, given[["employees"]]], axis=1)
    with pytest.raises(Exception) as direct:
        model.predict(None, twice)
    assert not isinstance(direct.value, MlflowException)
    with pytest.raises(MlflowException) as refused:
        model.predict(object(), twice)
    assert refused.value.message.startswith("icpfit could not score this request: ")
    assert refused.value.get_http_status_code() == 400
    assert "Traceback" not in refused.value.message


# Property: any cells, one output row per input row ------------------------------------------------


CELL = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["", " ", "[/x]", "[bold]", '"', '""', ",", "\n", "a,b", 'x"y', "\\"]),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "Infinity", "1e308", "-1e400", "1e-320"]),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=False).map(repr),
)
NULL_WORDS = {
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "n/a",
    "nan",
    "null",
}
"""pyarrow's CSV reader reads these as missing (serving/batch.py, `read_batches`); ids are
generated without them until it reads ids as written (issue 15, `NA` ids)."""
ID = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10).filter(
    lambda t: t.strip() not in NULL_WORDS
)
"""Any text, carriage returns and line breaks too (the scored CSV quotes them)."""
COLUMNS = ("industry", "employees", "annual_revenue", "country", "web_visits_monthly")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ids=st.lists(ID, min_size=6, max_size=6),
    cells=st.lists(st.tuples(st.sampled_from(COLUMNS), CELL), min_size=1, max_size=12),
)
def test_any_cells_give_one_row_per_input_row_in_order(rows, ids, cells):
    given = rows.head(6).assign(account_id=ids).astype(object)
    for n, (column, value) in enumerate(cells):
        given.loc[n % 6, column] = value
    with tempfile.TemporaryDirectory(dir=".") as folder:
        source, target = Path(folder) / "in.csv", Path(folder) / "out.csv"
        given.to_csv(source, index=False, quoting=csv.QUOTE_ALL)  # a bare \r would end a line
        result = icpfit("score", "--input", source, "--output", target, *TABLES, *AS_OF)
        assert "6 rows scored" in one_line(result.stdout)
        out = _read(str(target))
    assert list(out["account_id"]) == ids
    assert (out["fit_tier"].notna() | out["error"].notna()).all()


def test_line_breaks_and_carriage_returns_in_cells_come_out_intact(rows):
    """Quoted multi-line cells and lone carriage returns, in ids and in a text column: one row
    out per row in, for any CSV reader, ids as written (serving/batch.py `csv_text`)."""
    given = rows.astype(object)
    given.loc[0, "account_id"] = "ACC\rCR"
    given.loc[1, "account_id"] = 'ACC\nLF, "two"\r\nlines'
    given.loc[2, "industry"] = "Software\r"
    given.loc[3, "industry"] = 'Acme, "Inc."\nand sons\n'
    given.to_csv("cells.csv", index=False, quoting=csv.QUOTE_ALL)  # a bare \r would end a line
    plain = with_cell(rows, 2, "industry", "Software")
    plain.to_csv("plain.csv", index=False)
    for source, target in (("cells.csv", "out.csv"), ("plain.csv", "plain-out.csv")):
        result = icpfit("score", "--input", source, "--output", target, *TABLES, *AS_OF)
        assert f"{ROWS} rows scored" in one_line(result.stdout)
    out = _read("out.csv")
    assert_rows_out_as_in(given, out)
    assert out["error"].isna().all()
    assert out.loc[:1, "account_id"].tolist() == ["ACC\rCR", 'ACC\nLF, "two"\r\nlines']
    with Path("out.csv").open(newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) == ROWS + 1  # any CSV reader: same rows
    assert list(next(read_batches(Path("out.csv")))["account_id"][:2]) == list(
        given["account_id"][:2]
    )
    # the text cell was read whole: it scores as the same industry without its \r
    same = ["fit_probability", "fit_tier", "reason_1", "risk_1"]
    assert out.loc[2, same].tolist() == _read("plain-out.csv").loc[2, same].tolist()


def test_spark_gives_the_same_row_errors_and_text_ids(shared, rows):
    given = shared.model_rows(40).assign(account_id=pd.array(range(1, 41), dtype="Int64"))
    given = with_cell(with_cell(given, 2, "employees", float("inf")), 3, "annual_revenue", 1e308)
    given.astype({"employees": float, "annual_revenue": float}).to_parquet("in.parquet")
    result = icpfit(
        *("score", "--input", "in.parquet", "--output", "spark.parquet"),
        *("--engine", "spark", "--spark-master", "local[1]"),
    )
    assert "40 rows scored by icp-fit v1 on Spark" in one_line(result.stdout)
    out = pd.read_parquet("spark.parquet").sort_values("account_id", key=lambda s: s.astype(int))
    assert list(out["account_id"]) == [str(i) for i in range(1, 41)]
    errors = dict(zip(out["account_id"], texts(out["error"]), strict=True))
    assert errors["3"] == "employees: 'inf' is not a finite number"
    assert errors["4"] == "annual_revenue: '1e+308' is not a finite number"
    assert sum(e is not None for e in errors.values()) == 2
