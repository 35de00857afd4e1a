"""The live book in the browser: first-answer time, per-keystroke latency, download sizes.

Usage (from the repository root, after ``make book``)::

    .venv/bin/python -m benchmarks.live               # measure, print, write live_results.{json,md}
    .venv/bin/python -m benchmarks.live --no-write    # measure and print only
    .venv/bin/python -m benchmarks.live --rewrite     # rewrite the .md from the .json (no measuring)

Serves ``_build/html`` on 127.0.0.1 and opens the pages with explorers in headless
Chromium (the system's, as the site tests do), where no host but 127.0.0.1 resolves
(``--host-resolver-rules``) and every request to another host is recorded. Requests are
watched, not intercepted: routing each one through Playwright would add a round trip to
this process to every file the page loads, which a reader's browser does not pay. For each
page, in a fresh browser context (an empty cache, as a first visit):

* **first answer**: milliseconds from the start of navigation until the explorer
  shows its first answer (bertlive.mjs stamps ``data-ready-ms`` with
  ``performance.now()``, which counts from the navigation's start), the median of
  ``--repeat`` first visits, each broken down into steps: the browser's navigation
  timing, the ``bertlive:<step>`` performance marks of bertlive-boot.js and
  bertlive.mjs, and when each download ended (resource timing);
* **per keystroke**: a sentence typed one key at a time into the explorer; for each
  key, the time from the ``input`` event until the new answer is in the page
  (bertlive.mjs stamps ``data-ms``), median and worst;
* **download sizes**: each model's ONNX file (from the manifest) and the runtime
  (onnxruntime-web's module and WebAssembly, the tokenizer library, our own scripts),
  as stored and gzip-compressed (what a server with compression sends).

Not a test: nothing fails when the machine is slow. It writes
``benchmarks/live_results.json`` and ``benchmarks/live_results.md``, which
``book/performance.md`` includes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import http.server
import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
# Offline without intercepting requests: no host but 127.0.0.1 resolves.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TYPED = "the teacher reads a book to the children ."
PAGES = [  # page, explorer, what to type into
    ("lessons/06_mlm.html", "live-fillmask", "fill-in-the-blank (chapter 6)"),
    ("lessons/04_self_attention.html", "live-attention", "attention (chapter 4)"),
    ("lessons/02_tokenization.html", "live-tokenizer", "tokenizer (chapter 2)"),
]
RUNTIME = [
    "vendor/onnxruntime-web/ort.wasm.min.mjs",
    "vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs",
    "vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm",
    "vendor/tokenizers/tokenizers.min.mjs",
    "bertlive/bertlive-boot.js",
    "bertlive/bertlive.mjs",
    "bertlive/bertlive.css",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, format, *args):  # noqa: A002
        pass


def _sizes(static: Path) -> dict[str, Any]:
    def one(path: Path) -> dict[str, int]:
        data = path.read_bytes()
        return {"bytes": len(data), "gzip": len(gzip.compress(data, 6))}

    manifest = json.loads((static / "live" / "manifest.json").read_text())
    models = {m["name"]: one(static / "live" / m["file"]) for m in manifest["models"]}
    for m in manifest["models"]:
        models[m["name"]]["tokenizer_bytes"] = (static / "live" / m["tokenizer"]).stat().st_size
        models[m["name"]]["max_abs_diff"] = m["max_abs_diff"]  # the build's check against PyTorch
    runtime = {name: one(static / name) for name in RUNTIME}
    return {"models": models, "runtime": runtime}


# When each step of the start-up ended, in ms since the navigation started: the browser's own
# navigation timing, then the performance marks that bertlive-boot.js and bertlive.mjs set
# (bertlive:<step>), then the downloads (resource timing: when each response ended).
_TIMELINE = r"""() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const out = {
    html: nav.responseEnd,
    dom_interactive: nav.domInteractive,
    dom_content_loaded: nav.domContentLoadedEventEnd || null,
    load: nav.loadEventEnd || null,
  };
  for (const m of performance.getEntriesByType("mark"))
    if (m.name.startsWith("bertlive:")) out[m.name.slice(9)] = m.startTime;
  for (const r of performance.getEntriesByType("resource")) {
    const name = r.name.split("?")[0].split("/").slice(-2).join("/");
    if (/\.(wasm|onnx|mjs)$|tokenizer\.json$|manifest\.json$|bertlive-boot\.js$/.test(name))
      out["fetched:" + name] = r.responseEnd;
  }
  return out;
}"""

# The steps of the breakdown table: (key in the timeline, what it means).
STEPS = [
    ("html", "HTML received"),
    ("boot", "boot script runs"),
    ("dom_interactive", "page parsed (interactive)"),
    ("dom_content_loaded", "DOMContentLoaded"),
    ("module", "bertlive.mjs evaluated"),
    ("manifest", "manifest read"),
    ("runtime", "onnxruntime-web imported"),
    ("fetched:onnxruntime-web/ort-wasm-simd-threaded.wasm", "WebAssembly downloaded"),
    ("model", "model downloaded"),
    ("session", "session created (wasm compiled and instantiated)"),
    ("tokenizer", "tokenizer ready"),
    ("ready", "first answer"),
]


def _step(timeline: dict[str, float], key: str, tag: str) -> float | None:
    """A step's time; the model steps are the small BERT's, the tokenizer the one the explorer uses first."""
    if key in ("model", "session"):
        return timeline.get(f"{key}:small-bert")
    if key == "tokenizer":
        return min((v for k, v in timeline.items() if k.startswith("tokenizer:")), default=None)
    if key == "ready":
        return timeline.get(f"ready:{tag}")
    return timeline.get(key)


def breakdown(timelines: list[dict[str, float]], tag: str) -> dict[str, float]:
    """The median time of each step over the first visits (steps a visit lacks are left out)."""
    return {
        key: round(statistics.median(xs), 1)
        for key, _ in STEPS
        if (xs := [x for t in timelines if (x := _step(t, key, tag)) is not None])
    }


def _first_answer(browser, url: str, tag: str) -> dict[str, Any]:
    """One first visit (a fresh context: empty cache): the first answer and the start-up's timeline."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="commit")
    selector = f'section.bertlive[data-explorer="{tag}"]'
    page.wait_for_selector(f'{selector}[data-ready="true"]', timeout=60_000)
    first = float(page.get_attribute(selector, "data-ready-ms"))
    page.wait_for_load_state("load")
    timeline = page.evaluate(_TIMELINE)
    context.close()
    return {"first_answer_ms": first, "timeline": {k: round(v, 1) for k, v in timeline.items() if v is not None}}


def _measure_page(browser, url: str, tag: str) -> dict[str, Any]:
    external: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    page.on("request", lambda r: None if urlsplit(r.url).hostname == "127.0.0.1" else external.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="commit")
    selector = f'section.bertlive[data-explorer="{tag}"]'
    page.wait_for_selector(f'{selector}[data-ready="true"]', timeout=60_000)
    first = float(page.get_attribute(selector, "data-ready-ms"))
    section = page.locator(selector)
    box = section.locator(".bertlive-answer")
    field = section.locator("input[type=text]").first
    field.fill("")
    page.wait_for_timeout(200)
    latencies = []
    for ch in TYPED:
        before = int(box.get_attribute("data-answered") or 0)
        field.press(ch if ch != " " else "Space")
        page.wait_for_function(
            "([el, n]) => Number(el.dataset.answered || 0) > n", arg=[box.element_handle(), before], timeout=10_000
        )
        latencies.append(float(box.get_attribute("data-ms")))
    context.close()
    return {
        "first_answer_ms": round(first, 1),
        "keystroke_ms_median": round(statistics.median(latencies), 2),
        "keystroke_ms_worst": round(max(latencies), 2),
        "keystrokes": len(latencies),
        "samples_ms": [round(x, 2) for x in latencies],
        "external_requests": external,
        "errors": errors,
    }


def _measure_optin(browser, url: str, tag: str = "live-attention-minilm") -> dict[str, Any]:
    """Chapter 10: from the click on "Load the real model" to the first attention picture."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="load")
    selector = f'section.bertlive[data-explorer="{tag}"]'
    button = page.locator(f"{selector} button.bertlive-load")
    button.wait_for(timeout=60_000)
    label = button.inner_text()
    clicked = page.evaluate("() => performance.now()")
    button.click()
    page.wait_for_selector(f'{selector}[data-ready="true"]', timeout=300_000)
    ready = float(page.get_attribute(selector, "data-ready-ms"))
    context.close()
    return {
        "page": url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1],
        "button": label,
        "click_to_answer_ms": round(ready - clicked, 1),
    }


def measure(site: Path = SITE, repeat: int = 5) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if not (site / "_static" / "live" / "manifest.json").is_file():
        raise SystemExit(f"{site} has no live models: run `make book` first")
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "load_start": os.getloadavg()[0],
        "typed": TYPED,
        "repeat": repeat,
        "pages": {},
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            results["chromium"] = browser.version
            for path, tag, title in PAGES:
                start = time.perf_counter()
                visits = [_first_answer(browser, base + path, tag) for _ in range(repeat)]
                page = _measure_page(browser, base + path, tag)
                page["first_answer_runs_ms"] = [round(v["first_answer_ms"], 1) for v in visits]
                page["first_answer_ms"] = round(statistics.median(page["first_answer_runs_ms"]), 1)
                page["timelines"] = [v["timeline"] for v in visits]
                page["breakdown_ms"] = breakdown(page["timelines"], tag)
                results["pages"][tag] = {"page": path, "title": title, **page}
                results["pages"][tag]["wall_s"] = round(time.perf_counter() - start, 1)
            if (site / "lessons" / "10_transfer_real_bert.html").is_file():
                results["minilm"] = _measure_optin(browser, base + "lessons/10_transfer_real_bert.html")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    results["load_end"] = os.getloadavg()[0]
    results["sizes"] = _sizes(site / "_static")
    return results


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f}"


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "<!-- Written by `python -m benchmarks.live`: do not edit by hand. -->",
        "",
        "<!-- begin: live-latency -->",
        "| explorer | first answer after page load (ms) | per keystroke, median (ms) | per keystroke, worst (ms) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for p in r["pages"].values():
        lines.append(
            f"| {p['title']} | {p['first_answer_ms']:.0f} | {p['keystroke_ms_median']:.1f} | {p['keystroke_ms_worst']:.1f} |"
        )
    lines += [
        "",
        f"Chromium {r['chromium']}, {r['cpus']} CPUs, load average {r['load_start']:.1f} at the start; "
        f"{r['date']}; first answer: the median of {r['repeat']} first visits (empty cache) per page; "
        f"{len(r['typed'])} keystrokes typed per explorer.",
        *(
            [
                "",
                f'Chapter 10, all-MiniLM-L6-v2 (opt-in, button "{r["minilm"]["button"]}"): '
                f"{r['minilm']['click_to_answer_ms'] / 1000:.1f} s from the click to the first attention picture, "
                "download from 127.0.0.1 included.",
            ]
            if "minilm" in r
            else []
        ),
        "<!-- end: live-latency -->",
        "",
        "<!-- begin: live-startup -->",
        "| step (ms after the navigation started, median) | "
        + " | ".join(p["title"] for p in r["pages"].values())
        + " |",
        "| --- |" + " ---: |" * len(r["pages"]),
        *(
            f"| {label} | "
            + " | ".join(
                f"{p['breakdown_ms'][key]:.0f}" if key in p["breakdown_ms"] else "" for p in r["pages"].values()
            )
            + " |"
            for key, label in STEPS
            if any(key in p["breakdown_ms"] for p in r["pages"].values())
        ),
        "<!-- end: live-startup -->",
        "",
        "<!-- begin: live-sizes -->",
        "| file | size (MB) | gzip (MB) | largest difference from PyTorch |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, s in r["sizes"]["models"].items():
        diff = ", ".join(f"{k} {v:.1e}" for k, v in s["max_abs_diff"].items())
        lines.append(f"| model: {name} (ONNX) | {_mb(s['bytes'])} | {_mb(s['gzip'])} | {diff} |")
    for name, s in r["sizes"]["runtime"].items():
        lines.append(f"| runtime: `{name}` | {_mb(s['bytes'])} | {_mb(s['gzip'])} | |")
    total = sum(s["bytes"] for s in r["sizes"]["runtime"].values())
    total_gz = sum(s["gzip"] for s in r["sizes"]["runtime"].values())
    lines += [f"| runtime, all | {_mb(total)} | {_mb(total_gz)} | |", "<!-- end: live-sizes -->", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="first visits per page (the median is reported)")
    parser.add_argument(
        "--rewrite", action="store_true", help="measure nothing: rewrite live_results.md from live_results.json"
    )
    args = parser.parse_args(argv)
    if args.rewrite:
        r = json.loads((ROOT / "benchmarks" / "live_results.json").read_text())
        for tag, page in r["pages"].items():
            page["breakdown_ms"] = breakdown(page["timelines"], tag)
        (ROOT / "benchmarks" / "live_results.json").write_text(json.dumps(r, indent=1) + "\n")
        (ROOT / "benchmarks" / "live_results.md").write_text(markdown(r))
        print(markdown(r))
        return 0
    r = measure(args.site, args.repeat)
    text = markdown(r)
    print(text)
    for tag, p in r["pages"].items():
        if p["external_requests"] or p["errors"]:
            print(f"warning: {tag}: requests outside 127.0.0.1 {p['external_requests']}, errors {p['errors']}")
    if not args.no_write:
        (ROOT / "benchmarks" / "live_results.json").write_text(json.dumps(r, indent=1) + "\n")
        (ROOT / "benchmarks" / "live_results.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
