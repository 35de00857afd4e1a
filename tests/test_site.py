"""The built book in a real browser: offline, error-free, every view drawn.

Opens every HTML page of `_build/html` (built by `make book`) in headless
Chromium, served from 127.0.0.1 (once per page: tests/site_browser.py records
the visit, tests/test_site_reader.py checks the rest of it), and checks that
- no request leaves 127.0.0.1 (external requests are aborted and reported),
  and no request to the site itself fails (a missing vendored file, say);
- no JavaScript error is logged, apart from the allow-list below;
- every bertviz view draws its SVG and every ipywidget view renders;
- every <img> loads; exercise solutions start collapsed;
- each lesson's Colab button opens that lesson's notebook on GitHub.
Full-page screenshots of each lesson, at 1280 and 390 px, land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"

# JavaScript errors we accept, each with its reason (a compiled regex). Keep this
# list short; it is empty now (scripts/bertbook_sphinx.py removed the duplicate
# thebe configuration that used to throw on every page).
ALLOWED_JS_ERRORS: list[re.Pattern] = []


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


def test_no_page_loads_scripts_from_outside(page_path, site_dir):
    """Static check of the HTML: no <script src>, stylesheet or require path leaves the site."""
    html = (site_dir / page_path).read_text(encoding="utf-8")
    assert _offline_site_module().external_references(html) == []


@pytest.mark.slow
def test_page_in_browser(page_path, page_visit):
    problems = list(page_visit.not_drawn)
    if page_visit.broken_images:
        problems.append(f"images that did not load: {page_visit.broken_images}")
    if not all(page_visit.solutions_collapsed):
        problems.append("a solution cell is not collapsed behind a toggle")
    if page_path.startswith("lessons/"):
        expected = _expected_colab_url(page_path.removesuffix(".html") + ".ipynb")
        if page_visit.colab_links != {expected}:
            problems.append(f"Colab links {page_visit.colab_links or 'missing'}, expected {expected}")
    if page_visit.external:
        problems.append(f"requests outside 127.0.0.1: {page_visit.external}")
    if page_visit.failed:
        problems.append(f"requests that failed: {page_visit.failed}")
    unexpected = [e for e in page_visit.js_errors if not any(a.search(e) for a in ALLOWED_JS_ERRORS)]
    if unexpected:
        problems.append(f"JavaScript errors: {unexpected}")
    assert problems == [], f"{page_path}:\n" + "\n".join(problems)
