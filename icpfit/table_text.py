"""A table file's bytes as text, and what is wrong with them when they cannot be: encodings,
separators, header names. Pure functions over bytes and strings; `icpfit.io` reads the files."""

from __future__ import annotations

import codecs
import re


class UnreadableTable(ValueError):
    """A table file that cannot be read as a table; the message names the file, says what is
    wrong (and where) and how to fix it."""


def decoded_text(data: bytes, name: str) -> str:
    """The file's text: UTF-8 with or without a byte-order mark, or UTF-16/32 with one.
    Anything else is an UnreadableTable naming the first line that is not UTF-8 and saying how
    to convert the file."""
    encoding = text_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if encoding != "utf-8":
            raise UnreadableTable(
                f"{name}: not valid {encoding.upper()} text at line {line}, though it starts with "
                f"a {encoding.upper()} byte-order mark; fix: export it again as UTF-8"
            ) from None
        raise UnreadableTable(
            f"{name}: not UTF-8 text: line {line} has the byte 0x{data[exc.start]:02X}, which "
            "is not UTF-8 (the file is probably Latin-1 or Windows-1252); fix: convert it to "
            f"UTF-8, e.g. iconv -f latin1 -t utf-8 {name} > utf8-{name} (iconv -f cp1252 for "
            "Windows exports), then point the config at the converted file"
        ) from None


def text_encoding(data: bytes) -> str:
    """The encoding a table file's bytes are in, from its byte-order mark (UTF-8 without one).
    A workbook or UTF-16 without a byte-order mark is an UnreadableTable: neither can be
    read as UTF-8 text, and guessing would read the wrong characters."""
    boms = [
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ]
    for bom, encoding in boms:
        if data.startswith(bom):
            return encoding
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableTable(
            "is a zip archive or a workbook (.xlsx), not CSV text; fix: save it as "
            "'CSV UTF-8' (Excel: File > Save As) and point the config at the .csv file"
        )
    if b"\x00" in data[:4096]:
        raise UnreadableTable(
            "has NUL bytes: probably UTF-16 text without a byte-order mark; fix: convert it "
            "to UTF-8, e.g. iconv -f utf-16le -t utf-8"
        )
    return "utf-8"


def other_separator(header: list[str]) -> str | None:
    """The separator a one-column header is split by instead of commas ('semicolons', 'tabs',
    'bars'), or None."""
    if len(header) != 1:
        return None
    names = {";": "semicolons", "\t": "tabs", "|": "bars"}
    return next((name for sep, name in names.items() if sep in header[0]), None)


def repeated_column(header: list[str]) -> str | None:
    """'column 'x' appears twice in the header (columns 2 and 5); fix: ...', or None."""
    names = [name.strip() for name in header]
    for name in dict.fromkeys(names):
        places = [i + 1 for i, other in enumerate(names) if other == name]
        if len(places) > 1:
            where = ", ".join(map(str, places))
            return (
                f"column '{name}' appears {len(places)} times in the header (columns {where}); "
                "fix: rename or remove the repeated columns so each name is used once"
            )
    return None


def csv_problem(exc: Exception) -> str:
    """pandas' tokenizer error in words, with the fix."""
    text = str(exc).strip()
    if found := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text):
        expected, line, saw = found.groups()
        return (
            f"line {line} has {saw} fields where the header has {expected}; fix: quote values "
            'that contain the separator or a line break ("Acme, Inc.")'
        )
    return f"{text}; fix: quote values that contain the separator, a quote or a line break"
