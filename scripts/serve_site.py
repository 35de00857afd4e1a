#!/usr/bin/env python3
"""Serve the built book over HTTP on 127.0.0.1 (`make serve`), for the live explorers.

A page opened from disk (file://) cannot load the explorers' ES modules, WebAssembly
and models; over HTTP it can. Python's http.server, with the two types the explorers
need declared (older mimetypes tables lack them, and browsers refuse a module or a
.wasm served as application/octet-stream).

    python scripts/serve_site.py [--port 8000] [_build/html]
"""

from __future__ import annotations

import argparse
import functools
import http.server
from pathlib import Path


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, nargs="?", default=Path("_build/html"))
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"{args.site} is not built: run `make book` first")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), functools.partial(Handler, directory=args.site))
    print(f"Serving {args.site} on http://127.0.0.1:{args.port}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
