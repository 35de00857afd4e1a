"""The built book as a reader sees it: on a phone, in dark mode, with a screen reader.

The browser tests (marked slow) read the visit of each page that tests/site_browser.py
records once per session, shared with tests/test_site.py:
- axe-core finds no serious or critical accessibility problem at 1280 px in light mode,
  and every image has alt text;
- at 390 px no page is wider than the screen (wide outputs scroll in their own box);
- in dark mode every piece of output text, and every table caption, has a WCAG AA
  contrast (4.5:1) with what is behind it;
- a page with Korean text loads the book's Korean font, and a page without none.
The other tests read the built files: no Markdown table left unrendered, solutions
without nbgrader's markers, each script once, the widget manager deferred, no source
maps, and one repository named everywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import site_pages
from helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
PHONE_WIDTH = 390
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def _lesson_pages() -> list[str]:
    return [p for p in site_pages() if p.startswith("lessons/")]


def _read(site_dir: Path, page_path: str) -> str:
    return (site_dir / page_path).read_text(encoding="utf-8")


# --- in the browser -------------------------------------------------------------------


@pytest.mark.slow
def test_no_serious_accessibility_problems(page_path, page_visit):
    serious = [v for v in page_visit.axe_violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{page_path}: axe-core reports\n" + "\n".join(
        f"  {v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in serious
    )


@pytest.mark.slow
def test_every_image_has_alt_text(page_path, page_visit):
    assert page_visit.images_without_alt == [], f"{page_path}: images without alt text"


@pytest.mark.slow
def test_no_sideways_scrolling_on_a_phone(page_path, page_visit):
    assert page_visit.phone_width <= PHONE_WIDTH + 1, (
        f"{page_path} is {page_visit.phone_width} px wide on a {PHONE_WIDTH} px screen; "
        f"sticking out: {page_visit.phone_sticking_out}"
    )


@pytest.mark.slow
def test_output_text_is_readable_in_dark_mode(page_path, page_visit):
    assert page_visit.dark_low_contrast == [], f"{page_path}: text under 4.5:1 in dark mode"


@pytest.mark.slow
def test_korean_text_gets_the_korean_font(page_path, page_visit, site_dir):
    loaded = sorted(page_visit.korean_fonts_loaded)
    if page_path == "book/glossary.html":
        # the Korean terms are bold, the sentence that introduces them regular
        assert loaded == ["400", "700"], f"{page_path}: Noto Sans KR weights in use: {loaded}"
    elif HANGUL.search(_read(site_dir, page_path)):
        assert loaded, f"{page_path} shows Hangul but loaded no Noto Sans KR face"
    else:
        assert loaded == [], f"{page_path} has no Hangul but downloaded the Korean font"


# --- in the built files ---------------------------------------------------------------


def test_no_markdown_table_left_as_text(page_path, site_dir):
    """A Markdown table that failed to parse shows up as a paragraph of pipes and dashes."""
    paragraphs = re.findall(r"<p\b[^>]*>(.*?)</p>", _read(site_dir, page_path), re.S)
    raw = [p for p in paragraphs if re.search(r"\|\s*:?-{3,}:?\s*\|", re.sub(r"<[^>]+>", "", p))]
    assert raw == [], f"{page_path}: raw Markdown tables {raw}"


def test_solutions_are_shown_without_nbgrader_markers(site_dir):
    pages = _lesson_pages()
    assert pages, "no lesson pages in the built book"
    for page_path in pages:
        html = _read(site_dir, page_path)
        assert "tag_solution" in html, f"{page_path}: no solution cell"
        assert "BEGIN SOLUTION" not in html and "END SOLUTION" not in html, f"{page_path} shows solution markers"


def test_strip_solution_markers_keeps_the_answer():
    strip = load_script("bertbook_sphinx").strip_solution_markers
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    assert strip(source) == "def f(x):\n    return 2 * x\n"
    kept = "y = 1  # ### BEGIN SOLUTION is a marker only on a line of its own"
    assert strip(kept) == kept


def test_each_script_is_loaded_once(site_dir):
    for page_path in site_pages():
        head = _read(site_dir, page_path).split("</head>", 1)[0]
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", head, re.S)
        keys = [re.sub(r"\s+", " ", attrs + body).strip() for attrs, body in scripts]
        repeated = sorted({k[:100] for k in keys if keys.count(k) > 1})
        assert repeated == [], f"{page_path} loads these scripts twice: {repeated}"


def test_widget_manager_does_not_block_the_page(site_dir):
    """The 3.6 MB widget manager (and require.js before it) run after the page is parsed."""
    pages = [p for p in site_pages() if "application/vnd.jupyter.widget-state+json" in _read(site_dir, p)]
    assert pages, "no page holds widget state"
    for page_path in pages:
        head = _read(site_dir, page_path).split("</head>", 1)[0]
        tags = re.findall(r"<script\b[^>]*\bsrc=\"[^\"]*(?:require\.js|embed-amd\.js|widgets-setup\.js)[^>]*>", head)
        assert len(tags) == 3, f"{page_path}: {tags}"
        blocking = [t for t in tags if not re.search(r"\b(defer|async)\b", t)]
        assert blocking == [], f"{page_path}: render-blocking scripts {blocking}"


def test_no_source_maps_are_shipped(site_dir):
    static = site_dir / "_static"
    assert sorted(static.rglob("*.map")) == []
    comment = re.compile(r"^\s*(//|/\*)[#@]\s*sourceMappingURL=", re.M)
    pointing = [
        p.relative_to(site_dir).as_posix()
        for p in [*static.rglob("*.js"), *static.rglob("*.css")]
        if comment.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert pointing == [], f"files that still point at a source map: {pointing}"


def test_custom_css_files_exist(site_dir):
    """Every url() of our stylesheet (the Korean font) is served by the site."""
    css = (site_dir / "_static" / "custom.css").read_text(encoding="utf-8")
    urls = re.findall(r"url\(\s*[\"']?([^\"')]+)", css)
    assert any("noto-sans-kr" in u for u in urls)
    missing = [u for u in urls if not (site_dir / "_static" / u).is_file()]
    assert missing == []


def test_bertviz_menus_are_named():
    name_selects = load_script("offline_site").name_selects
    html, n = name_selects('Layer: <select id="layer"></select>\n   Attention: <select id="filter"></select>')
    assert n == 2 and 'aria-label="Layer"' in html and 'aria-label="Attention"' in html
    assert name_selects('Layer: <select aria-label="Layer">')[1] == 0


def test_one_repository_everywhere(site_dir):
    """The lessons install bertlib from, Colab opens and the README sends forks to one repository."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    expected = urlsplit(config["repository"]["url"]).path.strip("/")
    named: dict[str, set[str]] = {}

    for notebook in sorted((ROOT / "lessons").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        setup = next(("".join(c["source"]) for c in cells if c["cell_type"] == "code"), "")
        installs = re.findall(r"git\+https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?[\"'@\s]", setup)
        assert installs, f"{notebook.name}: the setup cell does not install bertlib from GitHub"
        named[f"{notebook.name} setup cell"] = set(installs)

    clones = re.findall(r"git clone https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?\s", _read(ROOT, "book/setup.md"))
    assert clones, "book/setup.md: no git clone command"
    named["book/setup.md"] = set(clones)

    for page_path in _lesson_pages():
        html = _read(site_dir, page_path)
        colab = set(re.findall(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/", html))
        assert colab, f"{page_path}: no Colab button"
        named[f"{page_path} Colab button"] = colab
        button = set(re.findall(r"href=\"https://github\.com/([\w.-]+/[\w.-]+)\"[^>]*btn-source-repository", html))
        named[f"{page_path} repository button"] = button

    wrong = {where: repos for where, repos in named.items() if repos != {expected}}
    assert wrong == {}, f"_config.yml names {expected}; these name another repository: {wrong}"


def test_primary_sidebar_is_a_navigation_landmark(site_dir):
    """The book's title and the search button sit in a landmark (axe's `region` rule)."""
    for page_path in site_pages():
        html = _read(site_dir, page_path)
        if 'http-equiv="Refresh"' in html:  # index.html only sends the reader to the first page
            continue
        tag = re.search(r'<div id="pst-primary-sidebar"[^>]*>', html)
        assert tag, f"{page_path}: no primary sidebar"
        assert 'role="navigation" aria-label="Book"' in tag.group(0), f"{page_path}: {tag.group(0)}"
