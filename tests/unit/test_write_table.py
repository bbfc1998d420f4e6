"""`icpfit.io.write_table`: what it writes reads back as the same rows, for any CSV reader."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from icpfit.io import dates_as_days, read_table, write_table

CELLS = ["plain", "carriage\rreturn", "ends in\r", 'line\nbreak, "quoted"', "crlf\r\nend", None]


def test_a_lone_carriage_return_in_a_cell_stays_in_its_row(tmp_path):
    target = tmp_path / "moves.csv"
    frame = pd.DataFrame({"account_id": [f"A{i}" for i in range(len(CELLS))], "note": CELLS})
    write_table(frame, target)
    with target.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["account_id", "note"],
            *([f"A{i}", cell or ""] for i, cell in enumerate(CELLS)),
        ]
    back = read_table(target)
    assert back["note"].tolist()[:-1] == CELLS[:-1] and pd.isna(back["note"].iloc[-1])
    assert len(pd.read_csv(target)) == len(CELLS)  # pandas' own reader too


@pytest.mark.parametrize("note", ["plain", "carriage\rreturn"])
def test_dates_are_written_as_days_and_numbers_bare(tmp_path, note):
    """With or without a cell that makes every text cell quoted."""
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2026-09-30 13:45", None]),
            "score": [0.25, None],
            "count": pd.array([3, None], dtype="Int64"),
            "note": [note, "x"],
        }
    )
    target = tmp_path / "table.csv"
    write_table(frame, target)
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][:3] == ["2026-09-30", "0.25", "3"] and rows[2][:3] == ["", "", ""]
    assert "0.25," in target.read_text(encoding="utf-8")  # a number is never quoted


def test_dates_as_days_leaves_its_frame_and_other_columns_alone():
    frame = pd.DataFrame([[pd.Timestamp("2026-01-02"), 1]], columns=["when", "when"])
    days = dates_as_days(frame)
    assert days.iloc[0].tolist() == ["2026-01-02", 1]
    assert frame.iloc[0, 0] == pd.Timestamp("2026-01-02")  # the caller's frame is unchanged
    plain = pd.DataFrame({"a": [1]})
    assert dates_as_days(plain) is plain


def test_parquet_is_written_as_stored(tmp_path):
    frame = pd.DataFrame({"note": ["carriage\rreturn"], "day": pd.to_datetime(["2026-09-30"])})
    write_table(frame, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame)
