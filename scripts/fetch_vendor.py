#!/usr/bin/env python3
"""Fetch the third-party scripts and fonts the built book needs into book/_static/vendor/.

The site must work with no network at all, so every script a page loads is
served from the site itself. We never commit third-party code: this script
downloads pinned packages from the npm registry with `npm pack` (no
node_modules, no install scripts), checks each tarball against the sha512
integrity pinned below, and unpacks only the files the site uses.

    python3 scripts/fetch_vendor.py            # fetch if the pins changed
    python3 scripts/fetch_vendor.py --force    # fetch again

Who needs what:
- requirejs: myst-nb's widget pages and bertviz both load require.js.
- @jupyter-widgets/html-manager: renders ipywidgets from their saved state
  (version 1.x is the manager for ipywidgets 8).
- d3 and jquery: bertviz's views ask require.js for them.
- mathjax: Sphinx's maths renderer on pages that contain equations.
- @fontsource/noto-sans-kr: the Korean terms of the glossary, for readers without a
  Hangul font (custom.css loads it only for Hangul characters). Only the `korean`
  subset, regular and bold, as woff2.
- onnxruntime-web: runs the book's models (exported to ONNX at build time) in the
  reader's browser for the live explorers (book/_static/bertlive/). Only the
  WebAssembly build: its ES module, the module that loads the .wasm, and the
  SIMD .wasm itself (about 15 MB, fetched only by pages that run a model).
- @huggingface/tokenizers: the tokenizer library of transformers.js, which reads
  the same tokenizer.json files as Python's `tokenizers`.

Test-only packages go to test-artifacts/vendor/ instead, so the site never ships them:
- axe-core: the accessibility checker the browser tests run on every page.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "book" / "_static" / "vendor"
STAMP = VENDOR / "VERSIONS.json"
TEST_VENDOR = ROOT / "test-artifacts" / "vendor"

# name -> (npm spec, sha512 integrity, {pattern in the tarball: destination})
# Patterns are fnmatch globs relative to the tarball's `package/` folder; a
# destination ending in "/" receives the path below the pattern's fixed prefix.
PACKAGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "requirejs": (
        "requirejs@2.3.6",  # the version bertviz asks cdnjs for
        "sha512-ipEzlWQe6RK3jkzikgCupiTbTvm4S0/CAU5GlgptkN5SO6F3u0UD0K18wy6ErDqiCyP4J4YYe1HuAShvsxePLg==",
        {"require.js": "require.js", "package.json": "package.json"},  # MIT
    ),
    "d3": (
        "d3@5.7.0",  # the version bertviz asks for
        "sha512-8KEIfx+dFm8PlbJN9PI0suazrZ41QcaAufsKE9PRcqYPWLngHIyWJZX96n6IQKePGgeSu0l7rtlueSSNq8Zc3g==",
        {"dist/d3.min.js": "d3.min.js", "LICENSE": "LICENSE"},
    ),
    "jquery": (
        # bertviz asks cdnjs for jQuery 2.0.0, which was never published on
        # npm; 2.2.4 is the last release of the same 2.x line.
        "jquery@2.2.4",
        "sha512-lBHj60ezci2u1v2FqnZIraShGgEXq35qCzMv4lITyHGppTnA13rwR0MgwyNJh9TnDs3aXUvd1xjAotfraMHX/Q==",
        {"dist/jquery.min.js": "jquery.min.js", "LICENSE.txt": "LICENSE.txt"},
    ),
    "html-manager": (
        "@jupyter-widgets/html-manager@1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        {
            "dist/embed-amd.js": "embed-amd.js",
            # icon fonts of the bundled controls, next to the script
            "dist/*.woff": "./",
            "dist/*.woff2": "./",
            "dist/*.ttf": "./",
            "dist/*.eot": "./",
            "dist/*.svg": "./",
            # BSD-3-Clause (named in package.json; no LICENSE file shipped)
            "dist/embed.js.LICENSE.txt": "LICENSES.txt",
            "package.json": "package.json",
        },
    ),
    "mathjax": (
        "mathjax@3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        {
            # the combined component Sphinx uses, plus everything it may load
            # lazily (TeX extensions, fonts, menu, accessibility, speech)
            "es5/tex-mml-chtml.js": "tex-mml-chtml.js",
            "es5/input/*": "input/",
            "es5/output/chtml*": "output/",
            "es5/ui/*": "ui/",
            "es5/a11y/*": "a11y/",
            "es5/sre/*": "sre/",
            "es5/adaptors/*": "adaptors/",
            "LICENSE": "LICENSE",
        },
    ),
    "noto-sans-kr": (
        "@fontsource/noto-sans-kr@5.3.0",
        "sha512-/JnpTjaCOXW7xUoqOyCVYSr05VOkDy5Yla9O+WAEiS7u+yYLsmHoqj6v1W0bf91G8G3XA2+NnRS3CX2Tf/FVZg==",
        {
            # Hangul only (about 0.55 MB a weight); custom.css declares the faces
            "files/noto-sans-kr-korean-400-normal.woff2": "noto-sans-kr-korean-400-normal.woff2",
            "files/noto-sans-kr-korean-700-normal.woff2": "noto-sans-kr-korean-700-normal.woff2",
            "LICENSE": "LICENSE",  # SIL Open Font License 1.1
        },
    ),
    "onnxruntime-web": (
        "onnxruntime-web@1.31.1",
        "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw==",
        {
            "dist/ort.wasm.min.mjs": "ort.wasm.min.mjs",
            "dist/ort-wasm-simd-threaded.mjs": "ort-wasm-simd-threaded.mjs",
            "dist/ort-wasm-simd-threaded.wasm": "ort-wasm-simd-threaded.wasm",
            "package.json": "package.json",  # MIT (named in package.json; no LICENSE file shipped)
        },
    ),
    "tokenizers": (
        "@huggingface/tokenizers@0.2.0",
        "sha512-LidMHe1FpcSYH4vcSjXooda34pC0M8m1gmDOv7SQi6Iv+ib1zX7J3sHBCC9/3FPCkn2k1b55FneVqMRxrr99pg==",
        {"dist/tokenizers.min.mjs": "tokenizers.min.mjs", "package.json": "package.json"},  # Apache-2.0
    ),
}

# Used by tests/test_site_reader.py only; fetched into TEST_VENDOR, never into the site.
TEST_PACKAGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "axe-core": (
        "axe-core@4.14.1",
        "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        {"axe.min.js": "axe.min.js", "LICENSE": "LICENSE"},  # MPL-2.0
    ),
}


def _pins(packages: dict) -> dict[str, str]:
    return {name: spec for name, (spec, _, _) in packages.items()}


def _sri(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _dest(member: str, pattern: str, dest: str) -> str | None:
    """Where a tarball member goes, or None if the pattern does not take it."""
    if not fnmatch(member, pattern):
        return None
    if not dest.endswith("/"):
        return dest
    prefix = pattern.split("*", 1)[0].rsplit("/", 1)[0]  # fixed folder part
    rest = member[len(prefix) :].lstrip("/") if prefix else member
    return str(Path(dest) / rest) if dest != "./" else rest


def fetch_into(folder: Path, packages: dict, force: bool = False) -> None:
    """Fetch `packages` into `folder`, unless its VERSIONS.json already lists the same pins."""
    stamp = folder / "VERSIONS.json"
    if not force and stamp.is_file() and json.loads(stamp.read_text()) == _pins(packages):
        print(f"vendor: up to date ({stamp.relative_to(ROOT)})")
        return
    if shutil.which("npm") is None:
        sys.exit("vendor: npm is needed to fetch the site's scripts (install Node.js)")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        specs = [spec for spec, _, _ in packages.values()]
        out = subprocess.run(
            ["npm", "pack", "--json", "--pack-destination", tmp, *specs],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp,
        ).stdout
        packed = {p["id"]: Path(tmp) / p["filename"] for p in json.loads(out)}
        for name, (spec, integrity, files) in packages.items():
            tarball = packed[spec]
            if _sri(tarball) != integrity:
                sys.exit(f"vendor: {spec} does not match its pinned integrity; refusing it")
            taken = set()
            with tarfile.open(tarball) as tar:
                for member in tar.getmembers():
                    if not member.isfile() or not member.name.startswith("package/"):
                        continue
                    rel = member.name[len("package/") :]
                    for pattern, dest in files.items():
                        target = _dest(rel, pattern, dest)
                        if target is None:
                            continue
                        path = folder / name / target
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(tar.extractfile(member).read())
                        taken.add(pattern)
                        break
            missing = [p for p in files if p not in taken]
            if missing:
                sys.exit(f"vendor: {spec} has no file matching {missing}")
            print(f"vendor: {spec} -> {(folder / name).relative_to(ROOT)}/")
    stamp.write_text(json.dumps(_pins(packages), indent=2) + "\n")


def fetch(force: bool = False) -> None:
    fetch_into(VENDOR, PACKAGES, force)
    fetch_into(TEST_VENDOR, TEST_PACKAGES, force)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch even if up to date")
    fetch(parser.parse_args().force)
