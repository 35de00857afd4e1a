#!/usr/bin/env python3
"""Export the book's models to ONNX into the built site, for the live explorers.

Run after `jupyter-book build` (the Makefile's `book` target does, once the lessons
have been executed, so the small BERT of chapter 8 is in the cache):

    python scripts/export_live.py _build/html

writes `_build/html/_static/live/`: for the small BERT and all-MiniLM-L6-v2, one
`model.onnx` (weights inside), its `tokenizer.json` and `config.json`, and a
`manifest.json` naming each model, its size and the recipe hash of its checkpoint
(bertlib.onnx_export); and chapter 2's own WordPiece tokenizer (800 pieces, no model),
listed under the manifest's "tokenizers". Every export is checked against PyTorch with onnxruntime on
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

# Chapter 2's own WordPiece: the tokenizer lesson 2 trains and its explorer offers as "ours".
# The same recipe as the lesson's cells (the town corpus, 2000 documents, seed 0, 10% held out,
# VOCAB_SIZE = 800); tests/test_site_live.py checks that the lesson still says so.
LESSON2_TOKENIZER = {"name": "wordpiece-800", "n_documents": 2000, "seed": 0, "held_out": 0.1, "vocab_size": 800}


def export_lesson2_tokenizer(out: Path) -> dict:
    """Write lesson 2's WordPiece tokenizer (no model) into ``out``; returns its manifest entry."""
    from bertlib.data import load_corpus
    from bertlib.onnx_export import MAX_LENGTH
    from bertlib.tokenization import train_tokenizer

    r = LESSON2_TOKENIZER
    corpus = load_corpus("town", n_documents=r["n_documents"], seed=r["seed"])
    train, _ = corpus.split(r["held_out"], seed=r["seed"])
    tokenizer = train_tokenizer(train.texts(), vocab_size=r["vocab_size"])
    (out / r["name"]).mkdir(parents=True, exist_ok=True)
    tokenizer.save(out / r["name"] / "tokenizer.json")
    return {
        "name": r["name"],
        "tokenizer": f"{r['name']}/tokenizer.json",
        "vocab_size": tokenizer.vocab_size,
        "max_length": MAX_LENGTH,
        "recipe": {k: v for k, v in r.items() if k != "name"},
    }


def export(site: Path, minilm: bool = True) -> dict:
    """Export into ``site/_static/live`` (replacing it); returns the manifest."""
    if not (site / "index.html").is_file():
        raise SystemExit(f"export_live: {site} is not a built book (no index.html); run jupyter-book build first")
    target = site / "_static" / "live"
    tmp = target.with_name("live.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        manifest = export_live_models(tmp, minilm=minilm)
        manifest["tokenizers"] = [export_lesson2_tokenizer(tmp)]  # tokenizers without a model
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
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
