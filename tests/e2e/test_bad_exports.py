"""A corpus of bad exports: each is a 300-account sample export with one defect, run through
`icpfit validate` (and a few through `icpfit train`) as a user would. Every one ends in its exit
code and a message naming the file and the column (or key) and the fix, never a traceback and
never an `internal error`; the defects icpfit reads instead (byte-order marks, UTF-16, ids that
look like blanks, day-first dates with their `date_format`) are read, not refused."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icpfit.features.sample import SampleExport, generate_sample
from icpfit.usecases.data import write_sample
from tests.e2e.cli import invoke, store_in

AS_OF = "2026-09-30"
LENIENT = {"ideal": {"train": 6, "fold": 1}, "non_ideal": {"train": 6, "fold": 1}}


@cache
def sample(seed: int = 3, business: str = "subscription", as_of: date = date(2026, 9, 30)):
    return generate_sample(accounts=300, seed=seed, as_of=as_of, business=business)


def export_in(folder: Path, export: SampleExport | None = None) -> Path:
    """The sample export written to `folder` as CSV with its icpfit.yaml (returned)."""
    return write_sample(export or sample(), folder)


# --- ways to break an export -------------------------------------------------------------------


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


def edit_config(folder: Path, change: Callable[[dict], None]) -> None:
    path = folder / "icpfit.yaml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def set_cells(table: str, column: str, values: dict[int, str]) -> Callable[[Path], None]:
    """Put `values` (by row position) into one column."""

    def inject(folder: Path) -> None:
        frame = read(folder, table)
        for row, value in values.items():
            frame.loc[row, column] = value
        write(folder, table, frame)

    return inject


def truncate(table: str, rows: int) -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        write(folder, table, read(folder, table).head(rows))

    return inject


def one_account_without_deals(folder: Path) -> None:
    """The accounts table cut to one account, one that never had an opportunity."""
    accounts = read(folder, "accounts")
    dealt = accounts["account_id"].isin(read(folder, "opportunities")["account_id"])
    write(folder, "accounts", accounts[~dealt].head(1))


def raw_bytes(table: str, data: bytes) -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        (folder / f"{table}.csv").write_bytes(data)

    return inject


def encoded(table: str, encoding: str, bom: bytes = b"") -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        text = (folder / f"{table}.csv").read_text(encoding="utf-8")
        (folder / f"{table}.csv").write_bytes(bom + text.encode(encoding))

    return inject


def latin1_accounts(folder: Path) -> None:
    frame = read(folder, "accounts")
    frame.loc[6, "country"] = "Côte d'Ivoire"
    (folder / "accounts.csv").write_bytes(frame.to_csv(index=False).encode("latin-1"))


def repeated_header(folder: Path) -> None:
    frame = read(folder, "accounts")
    text = frame.to_csv(index=False).splitlines()
    text[0] = text[0].replace("country", "industry")
    (folder / "accounts.csv").write_text("\n".join(text) + "\n")


def mapped_onto_existing(folder: Path) -> None:
    frame = read(folder, "accounts")
    write(folder, "accounts", frame.assign(CompanyId=frame["account_id"]))
    edit_config(
        folder, lambda c: c.setdefault("columns", {}).update(accounts={"account_id": "CompanyId"})
    )


def ragged_row(folder: Path) -> None:
    lines = (folder / "accounts.csv").read_text().splitlines()
    lines[4] = lines[4] + ",Acme, Inc."
    (folder / "accounts.csv").write_text("\n".join(lines) + "\n")


def as_parquet(table: str, change: Callable[[pd.DataFrame], pd.DataFrame] = lambda f: f):
    """The table as Parquet (typed as pandas infers it), changed; the config points at it."""

    def inject(folder: Path) -> None:
        frame = pd.read_csv(folder / f"{table}.csv", dtype={"account_id": str})
        change(frame).to_parquet(folder / f"{table}.parquet", index=False)
        (folder / f"{table}.csv").unlink()
        edit_config(folder, lambda c: c["data"].update({table: f"{table}.parquet"}))

    return inject


def corrupt_parquet(folder: Path) -> None:
    as_parquet("accounts")(folder)
    path = folder / "accounts.parquet"
    path.write_bytes(path.read_bytes()[:-100])


def day_first_dates(with_format: bool) -> Callable[[Path], None]:
    """Opportunity dates written 30/09/2026, with or without `data.date_format` saying so."""

    def inject(folder: Path) -> None:
        frame = read(folder, "opportunities")
        for column in ("created_date", "close_date"):
            dates = pd.to_datetime(frame[column].replace("", None))
            frame[column] = dates.dt.strftime("%d/%m/%Y").fillna("")
        write(folder, "opportunities", frame)
        if with_format:
            edit_config(
                folder, lambda c: c["data"].update(date_format={"opportunities": "%d/%m/%Y"})
            )

    return inject


def both_orders(folder: Path) -> None:
    """Unambiguous dates, some written day first (13/04/2025) and some month first (04/13/2025)."""
    frame = read(folder, "opportunities")
    frame.loc[0, "close_date"] = "28/05/2022"
    frame.loc[1, "close_date"] = "09/17/2022"
    write(folder, "opportunities", frame)


def closed_before_created(folder: Path) -> None:
    frame = read(folder, "opportunities")
    won = frame.index[frame["stage"].eq("won") & frame["created_date"].ne("")][:3]
    frame.loc[won, ["created_date", "close_date"]] = frame.loc[
        won, ["close_date", "created_date"]
    ].to_numpy()
    write(folder, "opportunities", frame)


def ids_that_look_blank(folder: Path) -> None:
    """Three customers whose ids are NA, None and null, in every table that names them."""
    opportunities = read(folder, "opportunities")
    won = opportunities.loc[opportunities["stage"].eq("won"), "account_id"].unique()
    renames = dict(zip(won[:3], ["NA", "None", "null"], strict=True))
    for table in ("accounts", "opportunities", "revenue", "technologies", "signals"):
        frame = read(folder, table)
        write(folder, table, frame.assign(account_id=frame["account_id"].replace(renames)))


def numeric_ids_in_parquet(folder: Path) -> None:
    """Ids as numbers: 0012-style text in the CSV tables, whole floats in accounts.parquet (as
    pandas stores an integer column that had a blank)."""
    numbers = {f"ACC-{i:06d}": str(i) for i in range(1, 301)}
    for table in ("opportunities", "revenue", "technologies", "signals"):
        frame = read(folder, table)
        write(folder, table, frame.assign(account_id=frame["account_id"].map(numbers)))
    accounts = read(folder, "accounts")
    write(folder, "accounts", accounts.assign(account_id=accounts["account_id"].map(numbers)))
    as_parquet("accounts", lambda f: f.assign(account_id=f["account_id"].astype(float)))(folder)


def params(**given) -> Callable[[Path], None]:
    return lambda folder: edit_config(folder, lambda c: c["model"]["params"].update(given))


def no_as_of_and_old_data(folder: Path) -> None:
    """An export that ended in 2024-09 and a config without as_of: today is past its end."""
    export_in(folder, sample(as_of=date(2024, 9, 30)))
    edit_config(folder, lambda c: c.pop("as_of"))


def transactional(folder: Path) -> None:
    export_in(folder, sample(business="transactional"))


def config_value(**data) -> Callable[[Path], None]:
    return lambda folder: edit_config(folder, lambda c: c["data"].update(data))


def then(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        for step in steps:
            step(folder)

    return inject


# --- the corpus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    inject: Callable[[Path], None]
    code: int
    says: tuple[str, ...]
    """Substrings of the output (whitespace collapsed), in any order."""
    command: str = "validate"
    as_of: str | None = AS_OF


CASES = {
    # empty and tiny tables, cutoffs outside the data
    "accounts file empty": Case(
        raw_bytes("accounts", b""), 1, ("accounts.csv: the file is empty", "header row")
    ),
    "accounts header only": Case(
        truncate("accounts", 0), 1, ("accounts.csv: no rows, only a header", "fix: export")
    ),
    "opportunities header only": Case(
        truncate("opportunities", 0), 1, ("opportunities.csv: no rows, only a header",)
    ),
    "revenue header only": Case(truncate("revenue", 0), 1, ("revenue.csv: no rows",)),
    "technologies header only (optional)": Case(truncate("technologies", 0), 0, ("0 errors",)),
    "signals header only (optional)": Case(truncate("signals", 0), 0, ("0 errors",)),
    "one account, no deals": Case(
        one_account_without_deals,
        1,
        ("opportunities.csv: none of the 1 accounts in accounts.csv has a won or lost",),
    ),
    "one account, no deals, train": Case(
        one_account_without_deals,
        1,
        ("opportunities.csv: none of the 1 accounts in accounts.csv has a won or lost",),
        command="train",
    ),
    "accounts header only, train": Case(
        truncate("accounts", 0), 1, ("accounts.csv: no rows, only a header",), command="train"
    ),
    "as_of before the data": Case(
        lambda folder: None,
        1,
        ("as_of 2015-01-01 is before the data", "fix: set as_of: 2026-09-30 in icpfit.yaml"),
        as_of="2015-01-01",
    ),
    "as_of before the data, train": Case(
        lambda folder: None,
        1,
        ("as_of 2015-01-01 is before the data",),
        command="train",
        as_of="2015-01-01",
    ),
    "as_of after the revenue": Case(
        lambda folder: None,
        1,
        (
            "as_of 2027-06-30 is after the end of the data: revenue.csv ends in 2026-09",
            "would count as churned",
            "fix: set as_of: 2026-09-30 in icpfit.yaml",
        ),
        as_of="2027-06-30",
    ),
    "as_of missing, data ended in the past": Case(
        no_as_of_and_old_data,
        1,
        (
            "(today: neither the config nor --as-of sets as_of) is after the end of the data",
            "revenue.csv ends in 2024-09",
            "fix: set as_of: 2024-09-30 in icpfit.yaml",
        ),
        as_of=None,
    ),
    "as_of missing, data ended in the past, train": Case(
        no_as_of_and_old_data,
        1,
        ("revenue.csv ends in 2024-09", "set as_of: 2024-09-30"),
        command="train",
        as_of=None,
    ),
    "as_of after the last order (bookings)": Case(
        transactional,
        1,
        (
            "is after the end of the data: the last closed deal in opportunities.csv is on",
            "so they would count as never ordering again",
            "fix: set as_of: 2026-09-30",
        ),
        as_of="2027-06-30",
    ),
    # encodings and file formats
    "latin-1 accounts": Case(
        latin1_accounts,
        1,
        (
            "accounts.csv: not UTF-8 text: line 8 has the byte 0xF4",
            "iconv -f latin1 -t utf-8 accounts.csv",
        ),
    ),
    "UTF-8 with a byte-order mark": Case(
        encoded("accounts", "utf-8", codecs.BOM_UTF8), 0, ("0 errors",)
    ),
    "UTF-16 with a byte-order mark": Case(encoded("opportunities", "utf-16"), 0, ("0 errors",)),
    "UTF-16 without a byte-order mark": Case(
        encoded("revenue", "utf-16-le"),
        1,
        ("revenue.csv: has NUL bytes: probably UTF-16", "iconv -f utf-16le -t utf-8"),
    ),
    "a workbook named .csv": Case(
        raw_bytes("signals", b"PK\x03\x04" + bytes(200)),
        1,
        ("signals.csv: is a zip archive or a workbook (.xlsx), not CSV text", "CSV UTF-8"),
    ),
    "corrupt Parquet": Case(
        corrupt_parquet, 1, ("accounts.parquet: not a readable Parquet file", "export it again")
    ),
    "repeated header column": Case(
        repeated_header,
        1,
        ("accounts.csv: column 'industry' appears 2 times in the header (columns 2, 5)",),
    ),
    "mapped column lands on an existing one": Case(
        mapped_onto_existing,
        1,
        (
            "accounts.csv: both 'CompanyId' (mapped under columns.accounts.account_id",
            "a column named 'account_id'",
        ),
    ),
    "separated by semicolons": Case(
        lambda folder: read(folder, "accounts").to_csv(
            folder / "accounts.csv", index=False, sep=";"
        ),
        1,
        ("accounts.csv: the header is one column", "separated by semicolons, not commas"),
    ),
    "a row with more fields than the header": Case(
        ragged_row,
        1,
        (
            "accounts.csv: not a well-formed CSV table: line 5 has 15 fields where the header "
            "has 13",
            "quote values",
        ),
    ),
    # dates
    "day-first dates without date_format": Case(
        day_first_dates(with_format=False),
        1,
        (
            "opportunities.csv: column 'created_date' has dates that read two ways",
            "only read day first",
            "icpfit does not guess",
            "fix: set data.date_format: '%d/%m/%Y' in icpfit.yaml",
        ),
    ),
    "day-first dates with date_format": Case(day_first_dates(with_format=True), 0, ("0 errors",)),
    "dates in both orders": Case(
        both_orders,
        1,
        (
            "opportunities.csv: column 'close_date' mixes dates written day first and month first",
            "data.date_format",
        ),
    ),
    "dates not in the date_format": Case(
        then(config_value(date_format="%d/%m/%Y"), set_cells("revenue", "month", {3: "March 5"})),
        1,
        (
            "revenue.csv: column 'month' has 1 unparseable dates at line 5",
            "as data.date_format in icpfit.yaml says ('%d/%m/%Y')",
        ),
    ),
    "date_format that is not one": Case(
        config_value(date_format="%d/%m"),
        2,
        ("icpfit.yaml: data.date_format: does not name the year (%Y) and the month",),
    ),
    "won deals closed before they were created": Case(
        closed_before_created,
        0,
        (
            "opportunities.csv: 3 won or lost opportunities closed before they were created",
            "(won, created",
            "fix: correct created_date or close_date",
        ),
    ),
    # model parameters
    "misspelt model parameter": Case(
        params(num_leavs=15),
        2,
        ("icpfit.yaml: model.params.num_leavs: not a LightGBM parameter; did you mean num_leaves",),
    ),
    "misspelt model parameter, train": Case(
        params(num_leavs=15), 2, ("model.params.num_leavs",), command="train"
    ),
    "model parameter of the wrong type": Case(
        params(num_leaves="many"),
        2,
        (
            "icpfit.yaml: model.params.num_leaves: LightGBM refuses 'many': it should be of "
            "type int",
        ),
    ),
    "model parameter that is not a number": Case(
        params(learning_rate="fast"),
        2,
        ("model.params.learning_rate: LightGBM refuses 'fast': it must be a number",),
    ),
    # numbers
    "inf headcount": Case(
        set_cells("accounts", "employees", {9: "inf"}),
        1,
        (
            "accounts.csv: column 'employees' has 1 values that are not finite numbers at line 11",
            "'inf'",
            "leave unknown values empty",
        ),
    ),
    "inf headcount, train": Case(
        set_cells("accounts", "employees", {9: "inf"}),
        1,
        ("column 'employees' has 1 values that are not finite numbers",),
        command="train",
    ),
    "-inf, 1e308 and nan text": Case(
        then(
            set_cells("accounts", "web_visits_monthly", {2: "-inf"}),
            set_cells("accounts", "annual_revenue", {3: "1e308", 4: "1e400"}),
            set_cells("accounts", "total_funding", {5: "nan"}),
        ),
        1,
        (
            "column 'web_visits_monthly' has 1 values that are not finite numbers at line 4",
            "column 'annual_revenue' has 2 values that are not finite numbers at lines 5, 6",
            "column 'total_funding' has 1 values that are not finite numbers at line 7",
        ),
    ),
    "inf mrr": Case(
        set_cells("revenue", "mrr", {0: "Infinity"}),
        1,
        ("revenue.csv: column 'mrr' has 1 values that are not finite numbers at line 2",),
    ),
    "inf in a Parquet column": Case(
        as_parquet(
            "accounts", lambda f: f.assign(employees=f["employees"].mask(f.index == 0, np.inf))
        ),
        1,
        ("accounts.parquet: column 'employees' has", "not finite numbers at row 1"),
    ),
    # ids
    "ids NA, None and null": Case(ids_that_look_blank, 0, ("0 errors",)),
    "numeric ids, whole floats in Parquet": Case(numeric_ids_in_parquet, 0, ("0 errors",)),
    # values that look like markup
    "stage value with markup": Case(
        set_cells("opportunities", "stage", {0: "[/x]"}),
        1,
        ("opportunities.csv: column 'stage' has values not mapped to won/lost/open: '[/x]' (1)",),
    ),
    "mrr value with markup": Case(
        set_cells("revenue", "mrr", {1: "[bold]12"}),
        1,
        ("revenue.csv: column 'mrr' has 1 non-numeric values at line 3, e.g. '[bold]12'",),
    ),
}


def run(case: Case, config: Path):
    args = [case.command, "--config", config]
    if case.as_of is not None:
        args += ["--as-of", case.as_of]
    return invoke(*args, code=case.code)


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_export_ends_in_a_clear_message(tmp_path, name):
    case = CASES[name]
    with store_in(tmp_path):
        config = export_in(tmp_path / "data")
        case.inject(tmp_path / "data")
        result = run(case, config)
    text = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in text and "internal error" not in text
    for expected in case.says:
        assert expected in text, f"{expected!r} not in:\n{text}"


def test_a_messy_but_sound_export_trains(tmp_path):
    """Day-first dates with their date_format, ids that look like blanks, a byte-order mark and
    UTF-16: read as written, and trained on."""
    with store_in(tmp_path):
        folder = tmp_path / "data"
        config = export_in(folder, sample(seed=2))
        day_first_dates(with_format=True)(folder)
        ids_that_look_blank(folder)
        encoded("accounts", "utf-8", codecs.BOM_UTF8)(folder)
        encoded("signals", "utf-16")(folder)
        edit_config(folder, lambda c: c.update(minimums=LENIENT))
        trained = invoke("train", "--config", config, "--as-of", AS_OF, "--promote", "never")
    assert "Registered icp-fit v1 as challenger" in " ".join(trained.stdout.split())
