#!/usr/bin/env python3
"""Make the built book load every script from the site itself, and tidy what it ships.

Run after `jupyter-book build` (the Makefile does):

    python3 scripts/offline_site.py _build/html

bertviz writes its CDN URLs into each notebook output (a <script src> for
require.js and `require.config` paths for d3 and jQuery). A copy served at
the CDN's address would not do: the browser would still go out to the CDN.
So we rewrite those references to page-relative paths into
`_static/vendor/`, where scripts/fetch_vendor.py put the npm copies.

bertviz also writes its two menus as "Layer: <select>" and "Attention:
<select>", with no label a screen reader can use: each such <select> gets
its visible label as its aria-label. The theme's primary sidebar (the book's
title, the search button, the menu) becomes a navigation landmark, so that
no content sits outside a landmark.

The themes ship source maps (`*.map`, about 3.5 MB) that no reader needs:
we delete them, and the `sourceMappingURL` comments that point at them, so
that a browser's developer tools do not ask for missing files.

Then we check every page: a <script src>, a stylesheet <link> or a
require.js path that still points outside the site fails the run, naming
the page and the URL. (Plain <a href> links to other sites are fine.)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# CDN URL (a regex) -> file under _static/ that replaces it. require.js paths
# name modules without ".js" (require.js appends it), so those keep that form.
REWRITES: list[tuple[str, str]] = [
    (
        r"https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[\d.]+/require(?:\.min)?\.js",
        "vendor/requirejs/require.js",
    ),
    (r"https://cdnjs\.cloudflare\.com/ajax/libs/d3/5\.7\.0/d3\.min(?!\.js)", "vendor/d3/d3.min"),
    (
        r"https://(?:cdnjs\.cloudflare\.com|ajax\.googleapis\.com)/ajax/libs/jquery/2\.0\.0/jquery\.min(?!\.js)",
        "vendor/jquery/jquery.min",
    ),
]

# A <select> right after its visible label, with no accessible name (bertviz's menus).
UNNAMED_SELECT = re.compile(r"\b([A-Z][A-Za-z ]{0,30}):(\s*)<select\b(?![^>]*\baria-label)")

# A source map reference at the start of a line of a script or a stylesheet.
SOURCE_MAP_COMMENT = re.compile(
    r"^[ \t]*(?://[#@][ \t]*sourceMappingURL=[^\n]*|/\*[#@][ \t]*sourceMappingURL=[^\n]*?\*/)[ \t]*$", re.M
)

# What must not point outside the site once we are done.
SCRIPT_SRC = re.compile(r"<script\b[^>]*?\bsrc=[\"'](https?:)?//([^\"']+)", re.I)
STYLESHEET = re.compile(r"<link\b[^>]*?\brel=[\"']?(?:stylesheet|preload|modulepreload)[^>]*>", re.I)
HREF_EXTERNAL = re.compile(r"\bhref=[\"'](?:https?:)?//([^\"']+)", re.I)
REQUIRE_PATH = re.compile(r"\b\w+\s*:\s*[\"'](https?://[^\"']+)[\"']")
REQUIRE_CONFIG = re.compile(r"require(?:js)?\.config\(\s*\{.*?\}\s*\)", re.S)


def rewrite_page(html: str, static_prefix: str) -> tuple[str, int]:
    """Rewrite the CDN URLs of one page; `static_prefix` is e.g. '../_static/'."""
    count = 0
    for pattern, target in REWRITES:
        html, n = re.subn(pattern, static_prefix + target, html)
        count += n
    return html, count


PRIMARY_SIDEBAR = re.compile(r'(<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar[^"]*")>')


def sidebar_landmark(html: str) -> tuple[str, int]:
    """Make the primary sidebar a navigation landmark, so the book's title and the search button
    above its "Main" menu sit in a landmark too (axe's `region` rule)."""
    return PRIMARY_SIDEBAR.subn(r'\1 role="navigation" aria-label="Book">', html)


def name_selects(html: str) -> tuple[str, int]:
    """Give each unnamed <select> that follows "Label:" that label as its aria-label."""
    return UNNAMED_SELECT.subn(lambda m: f'{m.group(1)}:{m.group(2)}<select aria-label="{m.group(1)}"', html)


def drop_source_maps(static: Path) -> tuple[int, int]:
    """Delete the *.map files under `static` and the comments that point at them."""
    maps = sorted(static.rglob("*.map"))
    for path in maps:
        path.unlink()
    comments = 0
    for path in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new, n = SOURCE_MAP_COMMENT.subn("", text)
        if n:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
            comments += n
    return len(maps), comments


def external_references(html: str) -> list[str]:
    """URLs outside the site that the page would load by itself."""
    found = [m.group(2) for m in SCRIPT_SRC.finditer(html)]
    for tag in STYLESHEET.findall(html):
        found += HREF_EXTERNAL.findall(tag)
    for block in REQUIRE_CONFIG.findall(html):
        found += REQUIRE_PATH.findall(block)
    return found


def main(site: Path) -> int:
    if not (site / "_static").is_dir():
        print(f"offline_site: {site} is not a built book (no _static/)", file=sys.stderr)
        return 2
    vendor = site / "_static" / "vendor"
    if not (vendor / "VERSIONS.json").is_file():
        print(
            "offline_site: _static/vendor is missing; run scripts/fetch_vendor.py before the build",
            file=sys.stderr,
        )
        return 2
    rewritten, named, problems = 0, 0, []
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.relative_to(site).parts:
            continue
        html = page.read_text(encoding="utf-8")
        prefix = os.path.relpath(site / "_static", page.parent).replace(os.sep, "/") + "/"
        new, n = rewrite_page(html, prefix)
        new, m = name_selects(new)
        new, k = sidebar_landmark(new)
        if n or m or k:
            page.write_text(new, encoding="utf-8")
            rewritten += n
            named += m
        problems += [f"{page.relative_to(site)}: {url}" for url in external_references(new)]
    maps, comments = drop_source_maps(site / "_static")
    print(f"offline_site: rewrote {rewritten} CDN reference(s) to _static/vendor/")
    print(f"offline_site: named {named} <select> menu(s); removed {maps} source map(s), {comments} reference(s)")
    if problems:
        print(
            "offline_site: these pages still load files from outside the site:",
            *problems,
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")))
