"""Every figure a lesson draws reaches the reader numbered, captioned and described.

A plot in a lesson is a cell output. On the built page myst-nb wraps it in a
``<figure>`` when the cell carries figure metadata (``mystnb.figure``: a caption
and a name), and Sphinx numbers it; the image's alt text comes from
``mystnb.image.alt``. Without that metadata the image sits bare in the output and
its alt text is its own file path, which tells a screen reader nothing.

These tests read the built files (no browser): every image in a lesson's cell
outputs is inside a numbered figure with a caption, and its alt text is a
description, not a path. Images inside widget state (the saved ipywidgets views)
are the live explorers' fallback and are left to the browser tests.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from conftest import site_pages

MIN_ALT_WORDS = 4
_VOID = {
    "img",
    "br",
    "hr",
    "meta",
    "link",
    "input",
    "source",
    "wbr",
    "col",
    "area",
    "embed",
}  # "Loss curve" says little; a description names what is plotted


def _lesson_pages() -> list[str]:
    return [p for p in site_pages() if p.startswith("lessons/")]


class _OutputImages(HTMLParser):
    """Collect the images in cell outputs with the figure and caption around each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.images: list[dict] = []
        self._figure: dict | None = None
        self._in_caption = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag in _VOID:
            if tag == "img":
                self._image(a)
            return
        self.stack.append((tag, classes))
        if tag == "figure":
            self._figure = {"caption": "", "number": "", "images": []}
        elif tag == "figcaption":
            self._in_caption += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in {t for t, _ in self.stack}:
            return  # `<img ... />` reaches here too; a stray end tag closes nothing
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == "figcaption":
                self._in_caption -= 1
            if open_tag == "figure" and self._figure is not None:
                for image in self._figure["images"]:
                    image["caption"] = self._figure["caption"].strip()
                    image["number"] = self._figure["number"].strip()
                self._figure = None
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._figure is not None and self._in_caption:
            self._figure["caption"] += data
            if any("caption-number" in c for _, c in self.stack):
                self._figure["number"] += data

    def _image(self, attrs: dict) -> None:
        in_output = any("cell_output" in c for _, c in self.stack)
        in_widget = any(c & {"widget-subarea", "jupyter-widgets", "live-explorer"} for _, c in self.stack)
        if not in_output or in_widget:
            return
        image = {"src": attrs.get("src", ""), "alt": attrs.get("alt"), "caption": "", "number": ""}
        if self._figure is not None:
            self._figure["images"].append(image)
        self.images.append(image)


def _output_images(site_dir: Path, page_path: str) -> list[dict]:
    parser = _OutputImages()
    parser.feed((site_dir / page_path).read_text(encoding="utf-8"))
    return parser.images


def _lesson_images(site_dir: Path) -> dict[str, list[dict]]:
    pages = _lesson_pages()
    assert pages, "no lesson pages in the built book"
    return {page: _output_images(site_dir, page) for page in pages}


def test_every_lesson_figure_is_numbered_and_captioned(site_dir):
    problems = {}
    for page, images in _lesson_images(site_dir).items():
        bare = [i["src"].rsplit("/", 1)[-1][:16] for i in images if not i["caption"]]
        unnumbered = [i["caption"][:40] for i in images if i["caption"] and not re.search(r"\d", i["number"])]
        if bare or unnumbered:
            problems[page] = {"no caption (add mystnb.figure metadata)": bare, "no number": unnumbered}
    assert problems == {}, f"lesson figures without a numbered caption: {problems}"


def test_every_lesson_figure_has_a_description_for_screen_readers(site_dir):
    problems = {}
    for page, images in _lesson_images(site_dir).items():
        poor = [
            (i["src"].rsplit("/", 1)[-1][:16], i["alt"])
            for i in images
            if not i["alt"]
            or re.search(r"\.(png|jpe?g|svg)$", i["alt"].strip(), re.I)
            or len(i["alt"].split()) < MIN_ALT_WORDS
        ]
        if poor:
            problems[page] = poor
    assert problems == {}, f"images whose alt text is missing, a file path or too short: {problems}"


def test_the_figure_parser_sees_captions_and_bare_images():
    """The parser itself: a captioned figure is read as such, a bare output image is not."""
    html = (
        '<div class="cell_output"><figure><img src="a.png" alt="Loss falls over 200 steps" />'
        '<figcaption><p><span class="caption-number">Fig. 3 </span>'
        '<span class="caption-text">Training loss.</span></p></figcaption></figure>'
        '<img src="../_images/b.png" alt="../_images/b.png"/></div>'
        '<div class="widget-subarea"><div class="cell_output"><img src="w.png"></div></div>'
    )
    parser = _OutputImages()
    parser.feed(html)
    first, second = parser.images
    assert (first["number"], first["caption"]) == ("Fig. 3", "Fig. 3 Training loss.")
    assert second["caption"] == "" and second["alt"] == "../_images/b.png"
    assert len(parser.images) == 2  # the widget's image is not a lesson figure
