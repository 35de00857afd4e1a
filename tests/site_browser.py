"""One visit of a built page in headless Chromium, shared by the site tests (not a test module).

Opening a lesson page, waiting for its attention views and widgets and taking its
screenshots is most of the cost of the browser tests, so each page is opened once and
everything the tests check is recorded on the way (conftest.py keeps the visits):

1. at 1280 x 900 in light mode, as a reader on a laptop: requests that leave 127.0.0.1
   or fail, JavaScript errors, bertviz views and widgets drawn, images loaded and
   described, solutions collapsed, the Colab links, then axe-core's accessibility
   audit (and, for a lesson, a full-page screenshot);
2. at 390 x 844, a phone: how wide the page is, what sticks out (and a screenshot);
3. in dark mode: the contrast of every piece of output text against its background.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "test-artifacts" / "vendor" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# What axe leaves out, to keep the audit of a lesson to a few seconds: the syntax
# colouring of the notebooks' code cells (thousands of spans in the theme's Pygments
# colours, which axe still checks in the code blocks of the book/ pages) and the lines
# bertviz draws (SVG shapes with nothing for a screen reader).
AXE_EXCLUDE = [[".cell_input pre"], ['div[id^="bertviz"] svg']]

WIDGET_VIEW = 'type="application/vnd.jupyter.widget-view+json"'

WIDGETS_DRAWN = """() => { const views = [...document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]')];
    return views.length > 0 && views.every(v => {
        const area = v.previousElementSibling;
        return area && area.classList.contains('widget-subarea')
            && area.querySelector('.jupyter-widgets, [class*="widget-"]');
    }); }"""

BERTVIZ_DRAWN = """id => { const svg = document.getElementById(id)?.querySelector('svg');
    return svg && svg.childElementCount > 0; }"""

# Elements and text that stick out of the viewport's width, unless a box that scrolls
# sideways (and fits) holds them: those are what make a page scroll sideways.
STICKING_OUT = """() => {
    const width = document.documentElement.clientWidth, out = [];
    const held = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
        if (getComputedStyle(p).overflowX !== 'visible' && p.getBoundingClientRect().right <= width + 1) return true; }
        return false; };
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
    for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect();
        if (r.width > 0 && r.right > width + 1 && !held(e)) out.push(`${name(e)} (right edge ${Math.round(r.right)} px)`);
    }
    const range = document.createRange(), walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n; (n = walker.nextNode());) {
        if (!n.textContent.trim()) continue;
        range.selectNodeContents(n);
        const r = range.getBoundingClientRect();
        if (r.width > 0 && r.right > width + 1 && !held(n.parentElement))
            out.push(`text "${n.textContent.trim().slice(0, 40)}" in ${name(n.parentElement)} (right edge ${Math.round(r.right)} px)`);
    }
    return out.slice(0, 8);
}"""

# WCAG contrast of each piece of text in the notebooks' outputs (and of every table
# caption) against what is painted behind it, semi-transparent layers composited.
# Text drawn inside SVG (bertviz, matplotlib) or typeset by MathJax is left out.
LOW_CONTRAST = """(minimum) => {
    const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
        const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
    const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
    const behind = (e) => { const layers = [];
        for (; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
        return layers.reverse().reduce((bg, layer) => over(layer, bg), [255, 255, 255, 1]); };
    const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
    const ratio = (a, b) => { const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x); return (hi + 0.05) / (lo + 0.05); };
    const low = [], seen = new Set(), article = document.querySelector('.bd-article') || document.body;
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    for (let n; (n = walker.nextNode());) {
        const e = n.parentElement;
        if (!n.textContent.trim() || seen.has(e)) continue;
        seen.add(e);
        if (!e.closest('.cell_output, caption') || e.closest('svg, mjx-container')) continue;
        const box = e.getBoundingClientRect(), style = getComputedStyle(e);
        if (!box.width || !box.height || style.visibility === 'hidden') continue;
        const bg = behind(e), k = ratio(over(parse(style.color), bg), bg);
        if (k < minimum) low.push(`${k.toFixed(2)}:1 "${n.textContent.trim().slice(0, 40)}" (${style.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
    }
    return low.slice(0, 8);
}"""


def _screenshot(page, name: str) -> None:
    # JPEG: a lesson is some 25,000 px tall, and encoding it as PNG takes seconds more
    page.screenshot(path=str(SCREENSHOTS / f"{name}.jpg"), full_page=True, type="jpeg", quality=80)


@dataclass
class PageVisit:
    """What one page showed in the browser."""

    external: list[str] = field(default_factory=list)  # requests that tried to leave 127.0.0.1
    failed: list[str] = field(default_factory=list)  # requests to the site that failed
    js_errors: list[str] = field(default_factory=list)
    not_drawn: list[str] = field(default_factory=list)  # bertviz views or widgets that never appeared
    broken_images: list[str] = field(default_factory=list)
    images_without_alt: list[str] = field(default_factory=list)
    solutions_collapsed: list[bool] = field(default_factory=list)
    colab_links: set[str] = field(default_factory=set)
    axe_violations: list[dict] = field(default_factory=list)  # id, impact, help, nodes (a few targets)
    korean_fonts_loaded: list[str] = field(default_factory=list)  # weights of Noto Sans KR in use
    phone_width: int = 0  # document.documentElement.scrollWidth at 390 px
    phone_sticking_out: list[str] = field(default_factory=list)
    dark_low_contrast: list[str] = field(default_factory=list)


def visit(browser, site_url: str, page_path: str, html: str, bertviz_ids: list[str]) -> PageVisit:
    """Open `page_path` once and record everything the site tests check (see the module docstring)."""
    result = PageVisit()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()

    def route(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            result.external.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("websocket", lambda ws: result.external.append(ws.url))
    page.on("response", lambda r: r.status >= 400 and result.failed.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: result.failed.append(f"{r.failure} {r.url}"))
    page.on("console", lambda m: m.type == "error" and result.js_errors.append(m.text))
    page.on("pageerror", lambda e: result.js_errors.append(str(e)))

    def wait_for(script: str, what: str, arg=None, timeout: int = 20_000) -> None:
        try:
            page.wait_for_function(script, arg=arg, timeout=timeout)
        except PlaywrightTimeoutError:
            result.not_drawn.append(f"not drawn after {timeout // 1000} s: {what}")

    lesson = page_path.startswith("lessons/")
    try:
        # 1. a laptop, light mode
        page.goto(site_url + page_path, wait_until="load")
        page.wait_for_load_state("networkidle")
        for vis_id in bertviz_ids:
            wait_for(BERTVIZ_DRAWN, f"bertviz view #{vis_id}", arg=vis_id)
        n_views = html.count(WIDGET_VIEW)
        if n_views:
            wait_for(WIDGETS_DRAWN, f"{n_views} ipywidget view(s)")
            drawn = page.locator(".widget-subarea").count()
            if drawn != n_views:
                result.not_drawn.append(f"{drawn} widget areas for {n_views} widget views")
        result.broken_images = page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        result.solutions_collapsed = page.evaluate(
            """() => [...document.querySelectorAll('.tag_solution')].map(e => {
                   const d = e.closest('details.toggle-details'); return !!d && !d.open; })"""
        )
        result.colab_links = set(
            page.eval_on_selector_all('a[href*="colab.research.google.com"]', "els => els.map(e => e.href)")
        )
        result.korean_fonts_loaded = page.evaluate(
            """async () => { await document.fonts.ready;
                   return [...document.fonts].filter(f => f.family.replace(/["']/g, '') === 'Noto Sans KR'
                       && f.status === 'loaded').map(f => String(f.weight)); }"""
        )
        if lesson:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            _screenshot(page, f"{Path(page_path).stem}-1280")
        # widgets-setup.js names what the widgets draw a moment after they appear
        if n_views:
            try:
                page.wait_for_function(
                    "() => !document.querySelector('.noUi-handle[role=slider]:not([aria-label]),"
                    " .widget-subarea img:not([alt])')",
                    timeout=5_000,
                )
            except PlaywrightTimeoutError:
                pass  # axe and the alt check below report what stayed unnamed
        result.images_without_alt = page.evaluate(
            "() => [...document.images].filter(i => !i.hasAttribute('alt')).map(i => i.src.slice(0, 80))"
        )
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result.axe_violations = page.evaluate(
            """async (exclude) => (await axe.run({exclude}, {resultTypes: ['violations']}))
                   .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""",
            AXE_EXCLUDE,
        )

        # 2. a phone
        page.set_viewport_size(PHONE)
        result.phone_width = page.evaluate("document.documentElement.scrollWidth")
        if result.phone_width > PHONE["width"] + 1:
            result.phone_sticking_out = page.evaluate(STICKING_OUT)
        if lesson:
            _screenshot(page, f"{Path(page_path).stem}-390")

        # 3. dark mode, as the theme's switch sets it
        page.evaluate(
            "() => { document.documentElement.dataset.mode = 'dark'; document.documentElement.dataset.theme = 'dark'; }"
        )
        result.dark_low_contrast = page.evaluate(LOW_CONTRAST, 4.5)
    finally:
        context.close()
    return result
