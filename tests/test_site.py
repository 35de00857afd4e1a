"""The built book in a real browser: offline, error-free, every view drawn.

Opens every HTML page of `_build/html` (built by `make book`) in headless
Chromium, served from 127.0.0.1, and checks that
- no request leaves 127.0.0.1 (external requests are aborted and reported),
  and no request to the site itself fails (a missing vendored file, say);
- no JavaScript error is logged, apart from the allow-list below;
- every bertviz view draws its SVG and every ipywidget view renders;
- every <img> loads; exercise solutions start collapsed;
- each lesson's Colab button opens that lesson's notebook on GitHub.
A full-page screenshot of each lesson lands in test-artifacts/screenshots/.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
NOT_BUILT = "<the book is not built>"

# JavaScript errors we accept, each with its reason. Keep this list short.
ALLOWED_JS_ERRORS = [
    # Jupyter Book 1 includes its thebe configuration script twice on every
    # page, so the second `const THEBE_JS_URL` throws. Harmless: thebe (live
    # code) is switched off in _config.yml and nothing else uses it.
    re.compile(r"^(SyntaxError: )?Identifier 'THEBE_JS_URL' has already been declared$"),
]

WIDGET_VIEW = 'type="application/vnd.jupyter.widget-view+json"'
BERTVIZ_ID = re.compile(r"""\bid=["'](bertviz[^"']*)["']""")


def _pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        return [NOT_BUILT]  # the site_dir fixture then fails with a clear message
    return sorted(
        p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts
    )


def pytest_generate_tests(metafunc):
    if "page_path" in metafunc.fixturenames:
        metafunc.parametrize("page_path", _pages())


def _offline_site_module():
    spec = importlib.util.spec_from_file_location("offline_site", ROOT / "scripts" / "offline_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected_colab_url(notebook: str) -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]
    owner_repo = urlsplit(repo["url"]).path.strip("/")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    book_path = (repo.get("path_to_book") or "").strip("/")
    path = f"{book_path}/{notebook}" if book_path else notebook
    return f"{colab}/github/{owner_repo}/blob/{repo['branch']}/{path}"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_no_page_loads_scripts_from_outside(page_path, site_dir):
    """Static check of the HTML: no <script src>, stylesheet or require path leaves the site."""
    html = (site_dir / page_path).read_text(encoding="utf-8")
    assert _offline_site_module().external_references(html) == []


@pytest.mark.slow
def test_page_in_browser(page_path, site_dir, site_url, browser):
    html = (site_dir / page_path).read_text(encoding="utf-8")
    bertviz_ids = BERTVIZ_ID.findall(html)
    n_widget_views = html.count(WIDGET_VIEW)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    external, failed, js_errors, problems = [], [], [], []

    def route(route):
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            external.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("websocket", lambda ws: external.append(ws.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
    page.on("console", lambda m: m.type == "error" and js_errors.append(m.text))
    page.on("pageerror", lambda e: js_errors.append(str(e)))

    def wait_for(script: str, what: str, arg=None) -> None:
        try:
            page.wait_for_function(script, arg=arg, timeout=20_000)
        except PlaywrightTimeoutError:
            problems.append(f"not drawn after 20 s: {what}")

    try:
        page.goto(site_url + page_path, wait_until="load")
        page.wait_for_load_state("networkidle")

        for vis_id in bertviz_ids:
            wait_for(
                """id => { const svg = document.getElementById(id)?.querySelector('svg');
                           return svg && svg.childElementCount > 0; }""",
                f"bertviz view #{vis_id}",
                arg=vis_id,
            )
        if n_widget_views:
            wait_for(
                """() => { const views = [...document.querySelectorAll(
                               'script[type="application/vnd.jupyter.widget-view+json"]')];
                           return views.length > 0 && views.every(v => {
                               const area = v.previousElementSibling;
                               return area && area.classList.contains('widget-subarea')
                                   && area.querySelector('.jupyter-widgets, [class*="widget-"]');
                           }); }""",
                f"{n_widget_views} ipywidget view(s)",
            )
            drawn = page.locator(".widget-subarea").count()
            if drawn != n_widget_views:
                problems.append(f"{drawn} widget areas for {n_widget_views} widget views")

        broken = page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        if broken:
            problems.append(f"images that did not load: {broken}")

        collapsed = page.evaluate(
            """() => [...document.querySelectorAll('.tag_solution')].map(e => {
                   const d = e.closest('details.toggle-details'); return !!d && !d.open; })"""
        )
        if not all(collapsed):
            problems.append("a solution cell is not collapsed behind a toggle")

        if page_path.startswith("lessons/"):
            notebook = page_path.removesuffix(".html") + ".ipynb"
            links = set(
                page.eval_on_selector_all('a[href*="colab.research.google.com"]', "els => els.map(e => e.href)")
            )
            if links != {_expected_colab_url(notebook)}:
                problems.append(f"Colab links {links or 'missing'}, expected {_expected_colab_url(notebook)}")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{Path(page_path).stem}.png"), full_page=True)
    finally:
        context.close()

    if external:
        problems.append(f"requests outside 127.0.0.1: {external}")
    if failed:
        problems.append(f"requests that failed: {failed}")
    unexpected = [e for e in js_errors if not any(a.search(e) for a in ALLOWED_JS_ERRORS)]
    if unexpected:
        problems.append(f"JavaScript errors: {unexpected}")
    assert problems == [], f"{page_path}:\n" + "\n".join(problems)
