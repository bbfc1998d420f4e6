"""What scoring reads and writes: ids exactly as written, missing words as missing, no guessed
dates, quoted line breaks and carriage returns read and written as one cell."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from icpfit.io import InputError
from icpfit.serving.batch import csv_text, read_batches
from icpfit.usecases.joins import read_signals


def test_an_id_is_kept_as_written_and_other_cells_read_as_training_reads_them(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('account_id,industry,employees\nNA,NA,\nnull,Software,nan\n"",,12\n0012,x,1\n')
    batch = next(read_batches(path))
    assert (
        batch["account_id"].tolist()[:2] == ["NA", "null"] and batch["account_id"].iloc[3] == "0012"
    )
    assert pd.isna(batch["account_id"].iloc[2]), "a blank id is missing (that row gets an error)"
    assert pd.isna(batch["industry"].iloc[0]) and batch["industry"].iloc[1] == "Software"
    assert batch["employees"].iloc[1] == "nan", "kept, so that the row is told it is no number"


def test_signal_dates_are_never_guessed(tmp_path):
    path = tmp_path / "signals.csv"
    path.write_text("account_id,date,signal_type\nA,2025-04-03,x\nB,03/04/2025,y\n")
    with pytest.raises(InputError, match="'03/04/2025'.*YYYY-MM-DD"):
        read_signals(path, {})
    path.write_text("account_id,date,signal_type\nA,2025-04-03,x\nB,13/04/2025,y\n")
    assert read_signals(path, {})["date"].dt.day.tolist() == [3, 13]


CELLS = ["plain", "Acme, Inc.", 'say "hi"', "two\nlines", "lone\rreturn", "crlf\r\nend", "", None]


def test_quoted_line_breaks_are_read_whole_wherever_a_csv_block_ends(tmp_path):
    """Blocks of 30 to 120 bytes: every byte of the file, a quoted "\\r\\n" too, is once the
    last of a block (Arrow alone drops that line feed: serving/batch.py `KeepCrlf`)."""
    path = tmp_path / "in.csv"
    rows = pd.DataFrame({"account_id": [f"A{i}\r{i}" for i in range(40)], "note": CELLS * 5})
    rows.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    notes = [None if c in ("", None) else c for c in CELLS] * 5
    for block in range(30, 121):
        read = pd.concat(list(read_batches(path, block_bytes=block)), ignore_index=True)
        assert read["account_id"].tolist() == rows["account_id"].tolist(), block
        assert [None if pd.isna(v) else v for v in read["note"]] == notes, block


def test_scored_csv_quotes_every_cell_a_reader_would_split(tmp_path):
    frame = pd.DataFrame(
        {"account_id": CELLS, "fit_probability": [0.25, 1.0, None, 0.5, 2e-9, 3.0, 0.0, 1.5]}
    )
    path = tmp_path / "out.csv"
    path.write_text(csv_text(frame), encoding="utf-8", newline="")
    with path.open(newline="", encoding="utf-8") as handle:
        assert [row[0] for row in csv.reader(handle)] == ["account_id", *(c or "" for c in CELLS)]
    back = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    assert back["account_id"].tolist()[:6] == CELLS[:6]
    assert back["fit_probability"].tolist()[:2] == ["0.25", "1.0"]
    read = next(read_batches(path))
    assert read["account_id"].tolist()[:6] == CELLS[:6] and len(read) == len(CELLS)


def test_scored_csv_without_a_carriage_return_is_what_pandas_writes():
    frame = pd.DataFrame({"account_id": CELLS[:4] + CELLS[6:], "n": [1, 2, 3, 4, 5, 6]})
    assert csv_text(frame) == frame.to_csv(index=False)
    assert csv_text(frame, header=False) == frame.to_csv(index=False, header=False)


def test_a_quote_left_open_in_the_last_column_is_an_error_not_lost_rows(tmp_path):
    """Arrow reads the rest of such a file as one cell without an error: rows would vanish."""
    from icpfit.io import InputError

    broken = tmp_path / "open.csv"
    broken.write_text('account_id,industry,note\nA1,Software,ok\nA2,Retail,"oops\nA3,H,x\nA4,F,y\n')
    with pytest.raises(InputError, match=r"open.csv: a quote opened on line 3 \(column 'note'\)"):
        list(read_batches(broken))
    closed = tmp_path / "closed.csv"
    closed.write_text('account_id,industry,note\nA1,Software,ok\nA2,Retail,"two\nlines"\n')
    rows = pd.concat(read_batches(closed))
    assert rows["note"].tolist() == ["ok", "two\nlines"]
