"""The code stays clean: ruff's lint rules and its formatter (settings in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff(args):
    result = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"`ruff {' '.join(args)}` failed; run `make lint` (or `ruff format .`) and fix:\n"
        f"{result.stdout[-3000:]}{result.stderr[-2000:]}"
    )
