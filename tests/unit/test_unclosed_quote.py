"""A quote that is never closed makes the rest of a CSV one cell: the scoring commands say which
line opened it (icpfit/usecases/files.py `unclosed_quote`), not that a row has too few cells."""

from __future__ import annotations

import pytest

from icpfit.io import InputError
from icpfit.serving.batch import read_batches
from icpfit.usecases.files import open_quote, reading

FIX = 'close it (a quote inside a value is written twice: "") and export the file again'


def read_error(tmp_path, text: str, newline: str = "\n") -> str:
    """The message reading `text` as in.csv gives, as `score` and `compare` read it."""
    path = tmp_path / "in.csv"
    path.write_bytes(text.replace("\n", newline).encode())
    with pytest.raises(InputError) as info, reading(path):
        list(read_batches(path))
    return str(info.value)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_quote_opening_the_first_cell_is_named_by_its_line(tmp_path, newline):
    text = 'account_id,a,b\nA,1,2\n"B,3,4\nC,5,6\n'
    assert read_error(tmp_path, text, newline) == (
        f"in.csv: a quote opened on line 3 is never closed, so the rest of the file reads as "
        f"one cell; {FIX}"
    )


def test_the_line_is_the_quotes_not_the_rows_when_a_cell_before_it_spans_lines(tmp_path):
    text = 'account_id,a,b,c\nA,1,2,3\n"B\nb",x,"y\nC,z,w\nD,1,2,3\n'
    assert "a quote opened on line 4 is never closed" in read_error(tmp_path, text)


def test_doubled_quotes_inside_the_open_cell_do_not_close_it(tmp_path):
    text = 'account_id,a,b\nA,1,2\n"B ""the best"" co,3,4\nC,5,6\n'
    assert "a quote opened on line 3 is never closed" in read_error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("account_id,a,b\nA,1,2\nB,3\nC,5,6\n", "in.csv line 3: 2 cells where the header has 3"),
        ('account_id,a,b\nA,1,2\nB,x"y\nC,5,6\n', "in.csv line 3: 2 cells where the header has 3"),
        ('account_id,a,b\nA,1\n"B,3,4\n', "in.csv line 2: 2 cells where the header has 3"),
    ],
    ids=["too few cells", "a quote inside a value", "a short row before the open quote"],
)
def test_a_short_row_without_an_open_quote_keeps_its_message(tmp_path, text, message):
    assert read_error(tmp_path, text).startswith(message)


@pytest.mark.parametrize(
    ("text", "opened"),
    [
        ('"a,b\nc', 0),
        ('x,"a,b\nc', 2),
        ('"a"",b', 0),
        ('"a","b\nc', 4),
        ('"a"b"c,d\n"e', None),  # a quote after a closed one is a character; the row ends
        ('x"y,"z', 4),
        ('x,y\n"z', None),
        ('x, "y\n', None),  # a space first: the quote is a character, as Arrow reads it
        ('"a\nb",c', None),
    ],
)
def test_open_quote_reads_quotes_as_arrow_does(text, opened):
    assert open_quote(text) == opened
