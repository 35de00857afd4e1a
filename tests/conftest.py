"""Shared fixtures. The site fixtures serve the built book (`make book`) locally."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"


def require_site() -> Path:
    """The built book, or a failure that says how to build it (never a skip)."""
    if not (SITE / "index.html").is_file():
        pytest.fail(
            f"the book is not built ({SITE} is missing): run `make book` first "
            "(`make test` builds it before running pytest)",
            pytrace=False,
        )
    return SITE


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """Path of the built HTML book."""
    return require_site()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass


@pytest.fixture(scope="session")
def site_url(site_dir: Path):
    """Base URL (ending in '/') of the built book served on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
