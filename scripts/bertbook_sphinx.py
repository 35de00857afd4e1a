"""A small Sphinx extension for the book's HTML: what the reader sees, not how it is built.

_config.yml registers it (`sphinx: local_extensions`). It does five things:

- **Solutions without their markers.** A lesson cell tagged `solution` keeps nbgrader's
  `### BEGIN SOLUTION` / `### END SOLUTION` lines in the notebook (the student edition and
  the graders need them), but on the site the reader sees only the answer: the marker lines
  are dropped from the rendered source of those cells.
- **Each script once.** Sphinx 7 registers an inline script added after the builder starts
  (sphinx-thebe's configuration, sphinx-togglebutton's selector) twice: once under the
  filename None and once under "", which compare unequal. The second copy of
  `const THEBE_JS_URL = ...` then throws a SyntaxError on every page. We keep the first
  copy of every script that appears more than once.
- **References as a list.** docutils gives each citation the role `doc-biblioentry`,
  which ARIA 1.2 deprecates and which a `role="list"` may not hold; a `listitem` is what
  the list expects.
- **Hidden code named by what it says.** myst-nb labels the summary of a `hide-input`
  cell "Toggle hidden content" while it shows "Show code cell source": a screen reader
  and a speech-control user would not find the same button. Without the label, the
  summary's name is its visible text.
- **Live explorers.** A page with a cell tagged `live-*` (`live-tokenizer`, `live-masking`,
  `live-fillmask`, `live-attention`, `live-attention-minilm`) loads
  `_static/bertlive/bertlive-boot.js`, which draws that explorer in the cell, running
  the book's models in the browser (see book/_static/bertlive/), and hides the saved
  widget output it replaces; that output stays as the fallback. The script sits at the
  top of <head> (async), with preload links for what the page's explorers need (the
  runtime, the small BERT, the tokenizer), so that the downloads and the WebAssembly
  start while the page is still being parsed.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

SOLUTION_MARKER = re.compile(r"^[ \t]*###[ \t]*(BEGIN|END) SOLUTION[ \t]*$")


def strip_solution_markers(source: str) -> str:
    """The source of a solution cell without nbgrader's marker lines."""
    return "\n".join(line for line in source.split("\n") if not SOLUTION_MARKER.match(line))


def _is_solution_cell(node: nodes.Element) -> bool:
    tags = (node.get("cell_metadata") or {}).get("tags", [])
    return node.get("nb_element") == "cell_code" and ("solution" in tags or "tag_solution" in node["classes"])


def hide_solution_markers(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for cell in doctree.findall(nodes.container):
        if not _is_solution_cell(cell):
            continue
        for block in cell.findall(nodes.literal_block):
            text = block.astext()
            stripped = strip_solution_markers(text)
            if stripped != text:
                # rawsource too: Sphinx highlights a literal block only when the two agree
                block.rawsource = stripped
                block.children = [nodes.Text(stripped)]


def _script_key(script: Any) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def unique_scripts(scripts: list) -> list:
    """The scripts of a page, each once, in their order (the first copy of each is kept)."""
    seen, kept = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


HIDDEN_CELL_SUMMARY = '<summary aria-label="Toggle hidden content">'
LIVE_CELL = re.compile(r'class="[^"]*\btag_(live-[\w-]+)')
LIVE_BOOT = "_static/bertlive/bertlive-boot.js"
# What each explorer needs first, fetched from the top of <head> while the page is still being
# parsed (preload and modulepreload links): the files keep their names from build to build
# (scripts/export_live.py writes live/<model>/model.onnx and live/<name>/tokenizer.json).
LIVE_MODULES = ["_static/bertlive/bertlive.mjs", "_static/vendor/tokenizers/tokenizers.min.mjs"]
LIVE_RUNTIME = [
    ("modulepreload", "_static/vendor/onnxruntime-web/ort.wasm.min.mjs"),
    ("modulepreload", "_static/vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs"),
    ("fetch", "_static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm"),
    ("fetch", "_static/live/small-bert/model.onnx"),
]
LIVE_TOKENIZER = {  # the tokenizer each explorer shows first
    "live-tokenizer": "_static/live/wordpiece-800/tokenizer.json",
    "live-masking": "_static/live/small-bert/tokenizer.json",
    "live-fillmask": "_static/live/small-bert/tokenizer.json",
    "live-attention": "_static/live/small-bert/tokenizer.json",
}
LIVE_NEEDS_SMALL_BERT = {"live-fillmask", "live-attention"}


def live_head(explorers: list[str], pathto) -> str:
    """The <head> tags of a page with live explorers: the boot script (async, fetched first), then preloads.

    ``fetchpriority="high"``: an async script is fetched at low priority by default, after the
    page's stylesheets and preloads; the boot script starts everything else, so it goes first.
    """
    links = [("fetch", "_static/live/manifest.json")]
    links += [("modulepreload", m) for m in LIVE_MODULES]
    links += [("fetch", LIVE_TOKENIZER[e]) for e in explorers if e in LIVE_TOKENIZER]
    if LIVE_NEEDS_SMALL_BERT & set(explorers):
        links += LIVE_RUNTIME
    tags = [
        f'<script async fetchpriority="high" src="{pathto(LIVE_BOOT, 1)}" data-explorers="{" ".join(explorers)}"></script>',
    ]
    for kind, path in dict.fromkeys(links):
        href = pathto(path, 1)
        if kind == "modulepreload":
            tags.append(f'<link rel="modulepreload" href="{href}" />')
        else:
            tags.append(f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{href}" />')
    return "\n" + "\n".join(tags) + "\n"


def tidy_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(list(context["script_files"]))
    if HIDDEN_CELL_SUMMARY in context.get("body", ""):
        context["body"] = context["body"].replace(HIDDEN_CELL_SUMMARY, "<summary>")
    explorers = list(dict.fromkeys(LIVE_CELL.findall(context.get("body", ""))))
    if explorers and "pathto" in context:
        context["metatags"] = context.get("metatags", "") + live_head(explorers, context["pathto"])


def _visit_citation(self, node: nodes.citation) -> None:
    # Sphinx sets these handlers on the translator instance; its class keeps the originals.
    before = len(self.body)
    type(self).visit_citation(self, node)
    for i in range(before, len(self.body)):
        self.body[i] = self.body[i].replace('role="doc-biblioentry"', 'role="listitem"')


def _depart_citation(self, node: nodes.citation) -> None:
    type(self).depart_citation(self, node)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", hide_solution_markers)
    # late, so that every extension has added its scripts to the page first
    app.connect("html-page-context", tidy_page, priority=900)
    app.add_node(nodes.citation, override=True, html=(_visit_citation, _depart_citation))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
