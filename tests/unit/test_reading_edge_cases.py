"""Reading an export as written: encodings, ids as text, dates never guessed, numbers that are
finite, cutoffs inside the data, LightGBM parameters LightGBM knows."""

from __future__ import annotations

import codecs
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from icpfit.config import ConfigError, LabelRules, config_from_dict
from icpfit.features.labels import label_accounts
from icpfit.features.parsing import (
    LARGEST_NUMBER,
    day_month_order,
    ids_as_text,
    not_finite,
    parse_dates,
    parse_numbers,
    unparsed,
    year_last_order,
)
from icpfit.features.pipeline import prepare
from icpfit.io import read_export, read_table
from icpfit.model_params import param_problems, plain_reason
from icpfit.table_text import (
    UnreadableTable,
    decoded_text,
    other_separator,
    repeated_column,
    text_encoding,
)
from tests.conftest import AS_OF, make_config, raw_tables, tiny_export

# --- dates ----------------------------------------------------------------------------------------


def test_a_date_whose_day_and_month_could_be_either_is_ambiguous():
    order = day_month_order(pd.Series(["03/04/2025", "13/04/2025", "04/13/2025", "05/05/2025"]))
    assert order.ambiguous.tolist() == [True, False, False, False]
    assert order.day_first.tolist() == [False, True, False, False]
    assert order.month_first.tolist() == [False, False, True, False]
    assert order.dates.iloc[1] == order.dates.iloc[2] == pd.Timestamp("2025-04-13")
    assert order.dates.iloc[3] == pd.Timestamp("2025-05-05")  # both readings agree
    assert pd.isna(order.dates.iloc[0])


def test_no_valid_reading_is_neither_ambiguous_nor_ordered():
    order = day_month_order(pd.Series(["31/31/2026", "29/02/2025", "soon", None]))
    assert not order.ambiguous.any() and not order.day_first.any()
    assert not order.month_first.any() and order.dates.isna().all()


@pytest.mark.parametrize(
    ("cells", "needed", "suggested"),
    [
        (["03/04/2025"], True, "%d/%m/%Y"),  # only slash dates: no way to tell
        (["03/04/2025", "13/04/2025"], True, "%d/%m/%Y"),  # the file points day first
        (["03/04/2025", "04/13/2025"], True, "%m/%d/%Y"),  # ... or month first
        (["13/04/2025", "04/13/2025"], True, "%d/%m/%Y"),  # both orders in one column
        (["13/04/2025", "25/12/2024"], False, "%d/%m/%Y"),  # each reads one way only
        (["03.04.25"], True, "%d.%m.%y"),
    ],
)
def test_when_dates_need_a_date_format_and_which_one_they_point_to(cells, needed, suggested):
    order = day_month_order(pd.Series(cells))
    assert order.needs_format() is needed
    assert order.suggested_format(cells[0]) == suggested


def test_an_iso_column_has_no_year_last_dates():
    order = year_last_order(pd.Series(["2025-04-03", "2025-04-13T10:00:00Z", None]))
    assert not order.needs_format() and not order.day_first.any()


def test_dates_are_never_guessed_without_a_format():
    cells = pd.Series(["03/04/2025", "13/04/2025", "2025-04-03", "3 Apr 2025"])
    parsed = parse_dates(cells)
    assert pd.isna(parsed.iloc[0])  # 3 April or 4 March: not guessed
    assert parsed.iloc[1:].tolist() == [
        pd.Timestamp("2025-04-13"),
        *[pd.Timestamp("2025-04-03")] * 2,
    ]


@pytest.mark.parametrize(
    ("date_format", "day"), [("%d/%m/%Y", "2025-04-03"), ("%m/%d/%Y", "2025-03-04")]
)
def test_a_date_format_reads_the_dates_and_iso_still_works(date_format, day):
    parsed = parse_dates(
        pd.Series(["03/04/2025", "03/04/2025 10:30", "2025-12-31", "soon"]), date_format
    )
    assert parsed.iloc[0] == parsed.iloc[1] == pd.Timestamp(day)
    assert parsed.iloc[2] == pd.Timestamp("2025-12-31") and pd.isna(parsed.iloc[3])


def opportunities_with(close_dates: list[str]) -> dict[str, pd.DataFrame]:
    frames = tiny_export()
    return {**frames, "opportunities": frames["opportunities"].assign(close_date=close_dates)}


def errors_of(frames, config=None, as_of=AS_OF) -> list[str]:
    _, problems = prepare(raw_tables(**frames), config or make_config(), as_of)
    return [p.message for p in problems if p.is_error]


def test_ambiguous_dates_are_an_error_asking_for_date_format():
    (message,) = errors_of(opportunities_with(["03/01/2026", "10/02/2026", "13/02/2026"]))
    assert message.startswith("opportunities.csv: column 'close_date' has dates that read two ways")
    assert "'03/01/2026', '10/02/2026' at lines 2, 3" in message
    assert "'13/02/2026' at line 4 only reads day first" in message
    assert "fix: set data.date_format: '%d/%m/%Y' in icpfit.yaml" in message


def test_the_date_format_in_the_config_reads_them():
    config = make_config(
        data={**make_config().data.model_dump(exclude_none=True), "date_format": "%d/%m/%Y"}
    )
    frames = opportunities_with(["15/01/2026", "10/02/2026", "01/03/2026"])
    prepared, problems = prepare(raw_tables(**frames), config, AS_OF)
    assert problems == []
    assert prepared.export.opportunities["close_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-01-15",
        "2026-02-10",
        "2026-03-01",
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("'%d/%m'", "data.date_format: does not name the year (%Y) and the month"),
        ("{deals: '%d/%m/%Y'}", "data.date_format: unknown table 'deals'; allowed: accounts"),
        (
            "{revenue: '%m/%Q/%Y'}",
            "data.date_format: revenue: '%m/%Q/%Y' is not a format Python reads",
        ),
    ],
)
def test_a_date_format_that_cannot_be_one_is_a_config_error(tmp_path, given, expected):
    path = tmp_path / "icpfit.yaml"
    path.write_text(
        f"data: {{accounts: a.csv, opportunities: o.csv, revenue: r.csv, date_format: {given}}}\n"
    )
    from icpfit.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"icpfit.yaml: {expected}")


# --- numbers --------------------------------------------------------------------------------------


def test_numbers_that_are_not_finite_are_bad_values_not_numbers():
    cells = pd.Series(["12", "inf", "-inf", "nan", "1e308", "1e400", "lots", None, "3e38"])
    parsed = parse_numbers(cells)
    assert parsed.iloc[0] == 12 and parsed.iloc[8] == 3e38
    assert parsed.iloc[1:8].isna().all()
    assert unparsed(cells, parsed).tolist() == [False, *[True] * 6, False, False]
    assert not_finite(cells).tolist() == [False, *[True] * 5, False, False, False]
    assert LARGEST_NUMBER < 1e39


def test_typed_numbers_from_parquet_that_are_not_finite_are_bad_values():
    numbers = pd.Series([1.0, np.inf, np.nan, -1e300])
    assert parse_numbers(numbers).isna().tolist() == [False, True, True, True]
    assert unparsed(numbers, parse_numbers(numbers)).tolist() == [False, True, False, True]


def test_inf_in_a_numeric_account_column_is_an_error_with_the_lines():
    frames = tiny_export()
    frames["accounts"] = frames["accounts"].assign(employees=["250", "inf", None, "1e400"])
    (message,) = errors_of(frames)
    assert message.startswith(
        "accounts.csv: column 'employees' has 2 values that are not finite numbers at lines 3, 5"
    )
    assert "'inf', '1e400'" in message and "leave unknown values empty" in message


# --- ids, missing words and markup ----------------------------------------------------------------


def write_csv(tmp_path, text: str, name: str = "accounts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ids_are_read_exactly_as_written(tmp_path):
    path = write_csv(
        tmp_path,
        "account_id,industry,employees\nNA,NA,nan\nNone,nan,12\nnull,NULL,\n0012,Software,n/a\n,x,1\n",
    )
    frame = read_table(path, number_columns=["employees"])
    assert frame["account_id"].tolist()[:4] == ["NA", "None", "null", "0012"]
    assert pd.isna(frame["account_id"].iloc[4])
    assert frame["industry"].isna().tolist() == [True, True, True, False, False]
    # a NaN spelling in a numeric column is a value to report, a word for 'nothing' is missing
    assert frame["employees"].tolist()[:1] == ["nan"]
    assert frame["employees"].isna().tolist() == [False, False, True, True, False]


def test_parquet_ids_become_their_decimal_text(tmp_path):
    path = tmp_path / "opportunities.parquet"
    pd.DataFrame(
        {"opportunity_id": [7, 8, 9], "account_id": [12.0, None, 3.0], "amount": [1.5, 2.0, 3.0]}
    ).to_parquet(path, index=False)
    frame = read_table(path)
    assert frame["opportunity_id"].tolist() == ["7", "8", "9"]
    assert frame["account_id"].tolist()[::2] == ["12", "3"] and pd.isna(frame["account_id"][1])
    assert frame["amount"].dtype == float


def test_ids_as_text_keeps_fractions_and_text():
    assert ids_as_text(pa.array([1.5, 2.0])).to_pylist() == ["1.5", "2"]
    assert ids_as_text(pa.chunked_array([["NA", "0012"]])).to_pylist() == ["NA", "0012"]


def test_accounts_named_na_none_and_null_are_accounts():
    frames = tiny_export()
    renames = {"A1": "NA", "A2": "None", "A3": "null"}
    for name in ("accounts", "opportunities", "revenue", "technologies"):
        frames[name] = frames[name].assign(account_id=frames[name]["account_id"].replace(renames))
    prepared, problems = prepare(raw_tables(**frames), make_config(), AS_OF)
    assert problems == []
    assert prepared.labels.loc["NA", "cohort"] == tiny_labels().loc["A1", "cohort"]


def tiny_labels() -> pd.DataFrame:
    prepared, _ = prepare(raw_tables(**tiny_export()), make_config(), AS_OF)
    return prepared.labels


def test_messages_carry_markup_in_values_as_plain_text():
    frames = tiny_export()
    frames["opportunities"] = frames["opportunities"].assign(stage=["won", "[/x]", "[bold]"])
    (message,) = errors_of(frames)
    assert "'[/x]' (1)" in message and "'[bold]' (1)" in message
    assert isinstance(message, str)


# --- encodings and file formats -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (b"", "utf-8"),
    ],
)
def test_the_encoding_comes_from_the_byte_order_mark(bom, encoding):
    assert text_encoding(bom + b"account_id\n") == encoding


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be"])
def test_utf8_and_utf16_files_read_the_same(tmp_path, encoding):
    text = "account_id,country\nA1,Côte d'Ivoire\nA2,Österreich\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    path = tmp_path / "accounts.csv"
    path.write_bytes(data)
    frame = read_table(path)
    assert frame.columns.tolist() == ["account_id", "country"]
    assert frame["country"].tolist() == ["Côte d'Ivoire", "Österreich"]


def test_latin1_names_the_first_bad_line_and_how_to_convert():
    data = "account_id,country\nA1,France\nA2,Côte d'Ivoire\n".encode("latin-1")
    with pytest.raises(UnreadableTable) as info:
        decoded_text(data, "accounts.csv")
    message = str(info.value)
    assert message.startswith("accounts.csv: not UTF-8 text: line 3 has the byte 0xF4")
    assert "iconv -f latin1 -t utf-8 accounts.csv > utf8-accounts.csv" in message


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("account_id\nA1\n".encode("utf-16-le"), "probably UTF-16 text without a byte-order mark"),
        (b"PK\x03\x04rest of a workbook", "is a zip archive or a workbook (.xlsx)"),
    ],
)
def test_bytes_that_are_not_text_say_what_they_look_like(data, says):
    with pytest.raises(UnreadableTable, match=says.replace("(", r"\(").replace(")", r"\)")):
        text_encoding(data)


def test_a_repeated_header_column_is_named():
    assert repeated_column(["account_id", "industry", " industry", "x"]).startswith(
        "column 'industry' appears 2 times in the header (columns 2, 3)"
    )
    assert repeated_column(["account_id", "industry"]) is None


def test_a_file_separated_by_something_else_says_so(tmp_path):
    assert other_separator(["account_id;industry"]) == "semicolons"
    assert other_separator(["account_id\tindustry"]) == "tabs"
    assert other_separator(["account_id"]) is None
    assert other_separator(["account_id", "a;b"]) is None
    with pytest.raises(UnreadableTable, match="separated by semicolons, not commas"):
        read_table(write_csv(tmp_path, "account_id;industry\nA1;Software\n"))


def test_a_ragged_line_is_named(tmp_path):
    with pytest.raises(UnreadableTable) as info:
        read_table(write_csv(tmp_path, "account_id,a\nA1,1\nA2,Acme, Inc.\n"))
    assert str(info.value).startswith(
        "accounts.csv: not a well-formed CSV table: line 3 has 3 fields where the header has 2"
    )


def test_read_table_refuses_a_repeated_header_and_an_empty_file(tmp_path):
    with pytest.raises(UnreadableTable, match="accounts.csv: column 'a' appears 2 times"):
        read_table(write_csv(tmp_path, "account_id,a,a\nA1,1,2\n"))
    with pytest.raises(UnreadableTable, match="accounts.csv: the file is empty"):
        read_table(write_csv(tmp_path, "\n\n"))


def test_a_corrupt_parquet_file_is_named(tmp_path):
    path = tmp_path / "accounts.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableTable, match="accounts.parquet: not a readable Parquet file"):
        read_table(path)


def test_read_export_names_a_mapped_column_that_lands_on_another(tmp_path):
    write_csv(tmp_path, "account_id,CompanyId\nA1,A1\n")
    write_csv(tmp_path, "opportunity_id,account_id,stage,close_date\n", "opportunities.csv")
    write_csv(tmp_path, "account_id,month,mrr\n", "revenue.csv")
    config = config_from_dict(
        {
            "data": {
                "accounts": "accounts.csv",
                "opportunities": "opportunities.csv",
                "revenue": "revenue.csv",
            },
            "columns": {"accounts": {"account_id": "CompanyId"}},
        },
        source=tmp_path / "icpfit.yaml",
    )
    tables, problems = read_export(config)
    assert "accounts" not in tables
    assert problems[0].message.startswith(
        "accounts.csv: both 'CompanyId' (mapped under columns.accounts.account_id in icpfit.yaml)"
    )


# --- empty tables, cutoffs and closed-before-created ------------------------------------------


def test_labels_of_no_accounts_and_of_accounts_with_no_deals_do_not_crash():
    frames = tiny_export()
    opportunities = frames["opportunities"].assign(
        created_date=pd.to_datetime(frames["opportunities"]["created_date"]),
        close_date=pd.to_datetime(frames["opportunities"]["close_date"]),
        amount=frames["opportunities"]["amount"].astype(float),
    )
    revenue = frames["revenue"].assign(
        month=pd.to_datetime(frames["revenue"]["month"]), mrr=frames["revenue"]["mrr"].astype(float)
    )
    rules = LabelRules(window_months=3)
    assert label_accounts(pd.Series([], dtype=str), opportunities, revenue, rules, AS_OF).empty
    early = label_accounts(pd.Series(["A1", "A4"]), opportunities, revenue, rules, date(2015, 1, 1))
    assert early["cohort"].tolist() == ["prospect", "prospect"]
    books = LabelRules(mode="bookings", window_months=3)
    assert label_accounts(pd.Series(["A4"]), opportunities, revenue, books, AS_OF)[
        "cohort"
    ].tolist() == ["prospect"]


def test_a_required_table_with_only_a_header_is_an_error():
    frames = tiny_export()
    frames["accounts"] = frames["accounts"].iloc[:0]
    assert errors_of(frames) == [
        "accounts.csv: no rows, only a header (the accounts table is required); fix: export the "
        "accounts table with its rows"
    ]


def test_a_cutoff_before_the_data_names_the_first_date_and_the_end():
    (message,) = errors_of(tiny_export(), as_of=date(2020, 1, 31))
    assert message.startswith(
        "as_of 2020-01-31 is before the data: nothing is known until 2026-01-15"
    )
    assert "fix: set as_of: 2026-04-30 in icpfit.yaml (or --as-of 2026-04-30)" in message


def test_a_cutoff_after_the_revenue_ends_names_the_customers_and_the_date_to_use():
    frames = tiny_export()
    late = pd.DataFrame(
        {
            "account_id": ["A3"],
            "stage": ["won"],
            "opportunity_id": ["O4"],
            "created_date": ["2026-03-01"],
            "close_date": ["2026-03-20"],
            "amount": ["10"],
        }
    )
    frames["opportunities"] = pd.concat([frames["opportunities"], late], ignore_index=True)
    (message,) = errors_of(frames, as_of=date(2026, 9, 30))
    assert message.startswith(
        "as_of 2026-09-30 is after the end of the data: revenue.csv ends in 2026-04, and 1 "
        "customers' first 3 months end after that (e.g. 'A3'), so they would count as churned"
    )
    assert message.endswith("fix: set as_of: 2026-04-30 in icpfit.yaml (or --as-of 2026-04-30)")


def test_a_cutoff_past_the_data_that_no_window_reaches_is_not_an_error():
    # the tiny export's revenue ends in April and both customers' windows end by then
    assert errors_of(tiny_export(), as_of=date(2026, 9, 30)) == []


def test_won_deals_closed_before_they_were_created_are_a_warning_with_the_rows():
    frames = tiny_export()
    frames["opportunities"] = frames["opportunities"].assign(
        created_date=["2026-02-01", "2026-01-05", "2026-02-01"]
    )
    _, problems = prepare(raw_tables(**frames), make_config(), AS_OF)
    (warning,) = [p.message for p in problems if not p.is_error]
    assert warning.startswith(
        "opportunities.csv: 1 won or lost opportunities closed before they were created, at "
        "line 2: O1 (won, created 2026-02-01, closed 2026-01-15)"
    )


# --- LightGBM parameters ------------------------------------------------------------------------


def test_unknown_parameters_name_the_closest_lightgbm_names():
    assert param_problems({"num_leavs": 5, "n_estimators": 10, "subsample": 0.8}) == [
        "model.params.num_leavs: not a LightGBM parameter; did you mean num_leaves or num_leaf "
        "or num_class?"
    ]


def test_values_lightgbm_refuses_are_named_with_its_reason():
    problems = param_problems({"num_leaves": "many", "learning_rate": "fast", "lambda_l2": -1})
    assert problems == [
        "model.params.num_leaves: LightGBM refuses 'many': it should be of type int, got \"many\"",
        "model.params.learning_rate: LightGBM refuses 'fast': it must be a number, and 'fast' is "
        "not one",
        "model.params.lambda_l2: LightGBM refuses -1: it must be >= 0.0",
    ]
    assert param_problems({"num_leaves": 15, "deterministic": True}) == []


def test_lightgbm_source_locations_are_dropped():
    assert plain_reason("Something odd at /src/io/config.cpp, line 3 .") == "Something odd"


def test_a_config_with_a_misspelt_parameter_names_the_file_and_key():
    with pytest.raises(ConfigError) as info:
        config_from_dict(
            {
                "data": {"accounts": "a.csv", "opportunities": "o.csv", "revenue": "r.csv"},
                "model": {"params": {"num_leavs": 5, "max_bin": "x"}},
            },
            source=None,
        )
    assert str(info.value).splitlines() == [
        "config: model.params.num_leavs: not a LightGBM parameter; did you mean num_leaves or "
        "num_leaf or num_class?",
        "config: model.params.max_bin: LightGBM refuses 'x': it should be of type int, got \"x\"",
    ]
