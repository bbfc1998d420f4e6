"""The page `train --report` and `compare` both write: sections of text, tables and plots,
rendered by one Jinja2 template (`templates/page.j2`, autoescaped).

Tables go through pandas' Styler, which escapes every cell; plots are PNG bytes inlined as data
URIs, so the page opens offline with no request at all. Nothing here knows what a section says.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache

import jinja2
import pandas as pd
from markupsafe import Markup

TEMPLATE = "page.j2"


@dataclass(frozen=True)
class Table:
    html: Markup
    caption: str = ""


@dataclass(frozen=True)
class Plot:
    png: bytes
    alt: str
    caption: str = ""

    @property
    def src(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Legend:
    """The colour of each level of one categorical feature in a plot."""

    feature: str
    levels: tuple[tuple[str, str], ...]
    """(level name, CSS colour) pairs, in the plot's order."""


@dataclass(frozen=True)
class Section:
    """One titled part of the page; `absent` says plainly what stands where content is missing
    (e.g. "no champion yet: nothing to migrate from"), never "not available"."""

    id: str
    title: str
    lead: str = ""
    """The sentence to read first (shown bold)."""
    tone: str = ""
    """'good', 'warn' or '': the lead's colour."""
    notes: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    plots: tuple[Plot, ...] = ()
    legends: tuple[Legend, ...] = ()
    code: str = ""
    absent: str = ""


@dataclass(frozen=True)
class Page:
    title: str
    heading: str
    intro: tuple[str, ...]
    sections: tuple[Section, ...]


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("icpfit.training", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(page: Page) -> str:
    """The page as one self-contained HTML document."""
    return environment().get_template(TEMPLATE).render(page=page)


def table(
    frame: pd.DataFrame,
    key: str,
    caption: str = "",
    index: bool = False,
    digits: int = 3,
    formats: dict | None = None,
) -> Table:
    """`frame` as an HTML table with every cell and header escaped; numbers right-aligned with
    `digits` decimals (`formats`: per-column format strings or functions), text left-aligned.
    `key` names the table's element ids, unique within a page."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    styler = (
        frame.style.format(formats, precision=digits, thousands=",", na_rep="–", escape="html")
        .format_index(escape="html", axis=0)
        .format_index(escape="html", axis=1)
        .set_uuid(key)
        .set_table_attributes('class="data"')
    )
    if text:
        left = [{"selector": cell, "props": "text-align: left"} for cell in ("th", "td")]
        styler = styler.set_table_styles(dict.fromkeys(text, left), overwrite=False)
    if not index:
        styler = styler.hide(axis="index")
    return Table(Markup(styler.to_html()), caption)
