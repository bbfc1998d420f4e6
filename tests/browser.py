"""A real headless browser for the pages icpfit writes: Debian's chromium, driven by Playwright.

Playwright's own browser downloads are never used (`playwright install` cannot reach the
internet here); the system's chromium is launched instead, with everything that would phone home
switched off. A page is opened from its file:// URL, offline, and what a reader would see is
collected: each section's text, every image and whether it decoded, and every problem the
browser reported (console errors, uncaught exceptions, failed requests, requests that leave the
file).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("ICPFIT_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMAGES = """images => images.map(i => ({
    alt: i.alt, width: i.naturalWidth, section: i.closest('section')?.id ?? ''
}))"""
SECTIONS = "sections => sections.map(s => [s.id, s.innerText])"


@dataclass(frozen=True)
class Rendered:
    """A page as the browser showed it."""

    title: str
    text: str
    sections: dict[str, str]
    """Each <section>'s rendered text, by its id."""
    images: list[dict]
    """alt, naturalWidth (0: did not decode) and the id of the section holding it."""
    problems: list[str]

    def images_in(self, section: str) -> list[dict]:
        return [image for image in self.images if image["section"] == section]


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system's chromium, headless; the test fails (not skips) when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM}: no chromium to render the pages in; install Debian's "
            "(apt-get install chromium) or set ICPFIT_CHROMIUM to its path"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def render(browser: Browser, path: Path) -> Rendered:
    """Open `path` and wait for it to load; every problem the browser reports is kept."""
    url = path.resolve().as_uri()
    problems: list[str] = []
    page = browser.new_page()
    page.on(
        "console",
        lambda m: problems.append(f"console error: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on(
        "request",
        lambda r: (
            None
            if r.url == url or r.url.startswith("data:")
            else problems.append(f"request outside the file: {r.url}")
        ),
    )
    try:
        page.goto(url, wait_until="load")
        return Rendered(
            title=page.title(),
            text=page.inner_text("body"),
            sections=dict(page.eval_on_selector_all("section", SECTIONS)),
            images=page.eval_on_selector_all("img", IMAGES),
            problems=problems,
        )
    finally:
        page.close()
