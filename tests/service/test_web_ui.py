"""The web UI end to end in real headless Chromium (Debian ``chromium``, driven by Playwright).

Type a query, see results with highlighted snippets, apply domain and recency filters,
page with the keyboard, open the admin page; screenshots go to ``$HERON_ARTIFACTS_DIR``
(default ``build/test-artifacts/ui``) for CI to keep. Every request the pages make must
go to the heron server itself (no CDN).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heron.service import ServiceConfig, create_app

from .live import LiveServer, require_tool, serve
from .support import DOCS, build_index

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HERON_ARTIFACTS_DIR", REPO / "build" / "test-artifacts")) / "ui"
#: flags that work on this closed-network, root, GPU-less machine
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]

pw = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    today = dt.date.today().isoformat()
    recent = {"id": "r", "title": "Heron sighting this week", "url": "https://news.example.org/heron-today",
              "date": today, "language": "en", "metadata": {"topic": "birds", "year": 2026},
              "text": "A grey heron was seen fishing in the city pond today."}
    app = create_app(ServiceConfig(warmup=False, access_log=False), {"t": build_index([*DOCS, recent])})
    with serve(app) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = require_tool("chromium", "/usr/bin/chromium")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1100, "height": 800})
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    foreign: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(live.url) else foreign.append(r.url))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not foreign, f"the UI fetched from outside the server: {foreign}"
    assert not errors, f"JavaScript errors: {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def result_urls(page: Any) -> list[str]:
    return [str(u) for u in page.locator(".result .url").all_inner_texts()]


def test_search_filters_and_keyboard(page: Any, live: LiveServer) -> None:
    page.goto(live.url + "/")
    assert page.title() == "heron search"
    assert page.locator("#index option").all_inner_texts() == ["t"]
    modes = page.evaluate("fetch('/v1/info').then(r => r.json()).then(i => i.modes)")
    enabled = page.locator("#mode option:not([disabled])").evaluate_all("os => os.map(o => o.value)")
    assert enabled == modes and page.locator("#mode").input_value() == "lexical"  # what the server offers
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")  # focuses the query box
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("heron")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result")
    titles = page.locator(".result h3").all_inner_texts()
    assert "Grey heron" in titles and "Heron Island" in titles and "Domestic cat" not in titles
    assert "heron" in page.locator(".result mark").first.inner_text().lower()
    assert "ms" in page.locator("#status").inner_text()
    assert "q=heron" in page.url
    assert any("wikipedia.org" in u for u in result_urls(page))
    shot(page, "1-results")

    page.fill("#domains", "-wikipedia.org")
    page.press("#domains", "Enter")
    page.wait_for_function("() => ![...document.querySelectorAll('.result .url')]"
                           ".some(e => e.textContent.includes('wikipedia.org'))")
    urls = result_urls(page)
    assert urls and not any("wikipedia.org" in u for u in urls)
    assert "domains=-wikipedia.org" in page.url
    shot(page, "2-domain-filter")

    page.fill("#domains", "")
    page.select_option("#recency", "week")
    page.wait_for_function("() => document.querySelectorAll('.result').length === 1")
    assert page.locator(".result h3").all_inner_texts() == ["Heron sighting this week"]
    shot(page, "3-recency-filter")

    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")  # keyboard navigation focuses the first result's link
    assert page.evaluate("document.activeElement.closest('.result') !== null")
    page.go_back()  # the URL holds the search state: back restores the domain-filtered view
    page.wait_for_function("() => document.querySelector('#recency').value === ''")
    page.wait_for_function("() => document.querySelectorAll('.result').length > 1")


def test_errors_are_shown(page: Any, live: LiveServer) -> None:
    page.goto(live.url + "/?q=heron&lang=xyz")
    page.wait_for_selector("#status.error")
    assert "language" in page.locator("#status").inner_text()
    shot(page, "4-error")


def test_admin_page(page: Any, live: LiveServer) -> None:
    page.goto(live.url + "/admin")
    row = page.locator("#indexes tr[data-index=t]")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "6" and cells[2] == "1"  # documents, segments
    assert page.locator("#ready").inner_text() == "yes"
    page.wait_for_function("() => /\\d+(\\.\\d+)? \\/s/.test(document.querySelector('#m-qps').textContent)")
    assert "searches" in page.locator("#m-requests").inner_text()
    assert "ms" in page.locator("#m-latency").inner_text()
    assert '"text_fields"' in page.locator("#settings").inner_text()
    shot(page, "5-admin")
