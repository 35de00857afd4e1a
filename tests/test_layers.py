"""bertlib's modules depend on each other in one direction only (CONTRIBUTING.md, "Architecture").

Parsed with ``ast``, without importing anything: a module may import from its own
layer or a lower one, never from a higher one. Data preparation is held to the
strictest rule: it never imports the model, the heads, attention or the training
loop, not even inside a function.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bertlib"

# Lowest first. Every module of the package must be listed (a new one needs a place).
LAYERS = {
    "leaf": {"constants", "version", "checkpoint", "config", "albert_config", "electra_config", "utils", "words"},
    "data": {
        "tokenization",
        "wordpiece",
        "world",
        "data",
        "tasks",
        "task_examples",
        "senses",
        "texts",
        "batches",
        "pretraining",
        "word_masking",
    },
    "model": {
        "attention",
        "model_inputs",
        "model",
        "model_io",
        "checkpoint_lock",
        "heads",
        "losses",
        "objectives",
        "electra",
        "rotary",
        "albert",
        "albert_heads",
        "task_heads",
        "sparse_last_layer",
        "word2vec",
    },
    "loop": {
        "optimization",
        "precision",
        "data_parallel",
        "training_config",
        "trainer_state",
        "history",
        "metrics",
        "training",
        "task_kinds",
        "finetuning",
    },
    "top": {
        "pretrained",
        "minilm",
        "code_fingerprint",
        "submissions",
        "viz",
        "onnx_export",
        "checks",
        "cells",
        "student",
        "release",
        "grading",
        "execution",
        "classroom",
        "__main__",
        "__init__",
    },
}
RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}
DATA = LAYERS["data"]

# Imports inside a function that point up, each with its reason. Nothing else may.
LAZY_UPWARD = {
    ("history", "viz"): "History.plot() draws with viz; viz is imported only when a plot is asked for",
}


def _module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem  # bertlib/checks/* is the "checks" module


def _imports(path: Path):
    """(imported bertlib module, line, inside a function?) for each import of ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    depth = len(path.relative_to(PACKAGE).parts) - 1  # 1 for bertlib/checks/x.py
    functions = {
        id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)
    }
    for node in ast.walk(tree):
        lazy = id(node) in functions
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] != "bertlib":
                continue
            if node.level and node.level <= depth:  # within bertlib/checks itself
                continue
            parts = (node.module or "").split(".") if node.level else node.module.split(".")[1:]
            if parts and parts[0]:
                yield parts[0], node.lineno, lazy
            else:  # from . import a, b
                for alias in node.names:
                    yield alias.name, node.lineno, lazy
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "bertlib" and len(parts) > 1:
                    yield parts[1], node.lineno, lazy
                elif parts[0] == "bertlib":
                    yield "__init__", node.lineno, lazy


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_exactly_one_layer():
    assert {_module_of(p) for p in FILES} == set(RANK)
    assert sum(len(modules) for modules in LAYERS.values()) == len(RANK)  # none listed twice


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    here = _module_of(path)
    for target, line, lazy in _imports(path):
        if target == here:
            continue
        assert target in RANK, f"{path.name}:{line} imports bertlib.{target}, which has no layer in LAYERS"
        if here in DATA:
            assert RANK[target] <= RANK[here], f"{path.name}:{line}: data preparation imports {target}"
            continue
        if RANK[target] > RANK[here]:
            assert lazy and (here, target) in LAZY_UPWARD, (
                f"{path.name}:{line}: {here} ({_layer(here)}) imports {target} ({_layer(target)}), a higher layer"
            )


def _layer(module: str) -> str:
    return next(name for name, modules in LAYERS.items() if module in modules)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The parser finds relative, absolute and function-level imports (so the tests above can fail)."""
    (tmp_path / "bertlib").mkdir()
    path = tmp_path / "bertlib" / "x.py"
    path.write_text("from .heads import A\nimport bertlib.training\ndef f():\n    from . import model, viz\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "bertlib"
    try:
        found = list(_imports(path))
    finally:
        PACKAGE = saved
    assert found == [("heads", 1, False), ("training", 2, False), ("model", 4, True), ("viz", 4, True)]


@pytest.mark.parametrize("path", [p for p in FILES if p.name != "__init__.py"], ids=lambda p: p.name)
def test_a_module_exports_only_what_it_defines(path):
    """No re-export shims: only bertlib/__init__.py gathers the public API from the modules."""
    tree = ast.parse(path.read_text())
    defined, exported = set(), []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        defined.add(name.id)
                        if name.id == "__all__":
                            exported = ast.literal_eval(node.value)
    imported_again = sorted(set(exported) - defined)
    assert not imported_again, f"{path.name} exports names it imports from elsewhere: {imported_again}"
