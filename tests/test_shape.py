"""bertlib stays legible: no module over 300 lines, no function over 60 (STYLE.md, "One module per concept").

Parsed with ``ast``, without importing anything. A module or function over the limit
fails unless it is listed below with the reason it may be, for now.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bertlib"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60

# path relative to bertlib/ -> why it may be longer, for now
LONG_MODULES: dict[str, str] = {}
# (path, function) -> why it may be longer, for now
LONG_FUNCTIONS = {}

FILES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_module_is_at_most_300_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if _name(path) in LONG_MODULES:
        return
    assert lines <= MAX_MODULE_LINES, (
        f"bertlib/{_name(path)} has {lines} lines (at most {MAX_MODULE_LINES}): split it by concept "
        f"(one concept per module) and add the new module to LAYERS in tests/test_layers.py."
    )


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_functions_are_at_most_60_lines(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    long = [
        f"{name} (line {line}: {length} lines)"
        for name, line, length in _functions(tree)
        if length > MAX_FUNCTION_LINES and (_name(path), name) not in LONG_FUNCTIONS
    ]
    assert not long, f"bertlib/{_name(path)}: functions over {MAX_FUNCTION_LINES} lines: {long}; split them."


def test_every_exception_is_still_needed():
    """An allow-list entry whose module or function has come under the limit must go."""
    for name in LONG_MODULES:
        lines = len((PACKAGE / name).read_text(encoding="utf-8").splitlines())
        assert lines > MAX_MODULE_LINES, f"bertlib/{name} is {lines} lines now: remove it from LONG_MODULES"
    for name, function in LONG_FUNCTIONS:
        lengths = {n: length for n, _, length in _functions(ast.parse((PACKAGE / name).read_text(encoding="utf-8")))}
        assert lengths.get(function, 0) > MAX_FUNCTION_LINES, (
            f"bertlib/{name}:{function} is within {MAX_FUNCTION_LINES} lines now: remove it from LONG_FUNCTIONS"
        )


def test_the_counter_sees_a_long_function():
    """A function counts from its ``def`` line to its last line (so the tests above can fail)."""
    source = "def f():\n" + "    x = 1\n" * 60 + "\n\ndef g():\n    return 2\n"
    assert [(name, length) for name, _, length in _functions(ast.parse(source))] == [("f", 61), ("g", 2)]
