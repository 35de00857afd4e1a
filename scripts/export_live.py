#!/usr/bin/env python3
"""Export the book's models to ONNX into the built site, for the live explorers.

Run after `jupyter-book build` (the Makefile's `book` target does, once the lessons
have been executed, so the small BERT of chapter 8 is in the cache):

    python scripts/export_live.py _build/html

writes `_build/html/_static/live/`: for the small BERT and all-MiniLM-L6-v2, one
`model.onnx` (weights inside), its `tokenizer.json` and `config.json`, and a
`manifest.json` naming each model, its size and the recipe hash of its checkpoint
(bertlib.onnx_export). Every export is checked against PyTorch with onnxruntime on
probe sentences; a difference above 1e-4 fails this script, and so the build.
Nothing here is committed: the files are generated at build time.

Written to a temporary folder next to the target and renamed into place, so a
failed export never leaves half a model on the site.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bertlib.onnx_export import ExportMismatch, export_live_models  # noqa: E402


def export(site: Path, minilm: bool = True) -> dict:
    """Export into ``site/_static/live`` (replacing it); returns the manifest."""
    if not (site / "index.html").is_file():
        raise SystemExit(f"export_live: {site} is not a built book (no index.html); run jupyter-book build first")
    target = site / "_static" / "live"
    tmp = target.with_name("live.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        manifest = export_live_models(tmp, minilm=minilm)
    except ExportMismatch as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f"export_live: {err}") from None
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, nargs="?", default=ROOT / "_build" / "html")
    parser.add_argument("--no-minilm", action="store_true", help="export the small BERT only")
    args = parser.parse_args()
    start = time.perf_counter()
    manifest = export(args.site, minilm=not args.no_minilm)
    for m in manifest["models"]:
        diffs = ", ".join(f"{k} {v:.2g}" for k, v in m["max_abs_diff"].items())
        print(f"export_live: {m['name']}: {m['bytes'] / 1e6:.1f} MB, largest difference from PyTorch: {diffs}")
    print(f"export_live: {args.site / '_static' / 'live' / 'manifest.json'} ({time.perf_counter() - start:.0f} s)")
    json.dumps(manifest)  # the manifest is plain JSON


if __name__ == "__main__":
    main()
