"""Shared fixtures. The site fixtures serve the built book (`make book`) locally."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BERTVIZ_ID = re.compile(r"""\bid=["'](bertviz[^"']*)["']""")
NOT_BUILT = "<the book is not built>"


def site_pages() -> list[str]:
    """Every HTML page of the built book, relative to it (the `page_path` of the site tests)."""
    if not (SITE / "index.html").is_file():
        return [NOT_BUILT]  # the site_dir fixture then fails with a clear message
    return sorted(
        p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts
    )


def pytest_generate_tests(metafunc):
    if "page_path" in metafunc.fixturenames:
        metafunc.parametrize("page_path", site_pages())


def require_site() -> Path:
    """The built book, or a failure that says how to build it (never a skip)."""
    if not (SITE / "index.html").is_file():
        pytest.fail(
            f"the book is not built ({SITE} is missing): run `make book` first "
            "(`make test` builds it before running pytest)",
            pytrace=False,
        )
    return SITE


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """Path of the built HTML book."""
    return require_site()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    # the live explorers' modules and WebAssembly, whatever the system's mimetypes table says
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass


@pytest.fixture(scope="session")
def site_url(site_dir: Path):
    """Base URL (ending in '/') of the built book served on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system's: Playwright cannot download its own here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _page_visits() -> dict:
    return {}


@pytest.fixture
def page_visit(page_path, site_dir, site_url, browser, _page_visits):
    """What `page_path` showed in the browser (tests/site_browser.py), opened once per session."""
    from site_browser import AXE, visit

    if page_path not in _page_visits:
        if not AXE.is_file():
            pytest.fail(f"{AXE} is missing: run `python3 scripts/fetch_vendor.py` (make book does)", pytrace=False)
        html = (site_dir / page_path).read_text(encoding="utf-8")
        _page_visits[page_path] = visit(browser, site_url, page_path, html, BERTVIZ_ID.findall(html))
    return _page_visits[page_path]
