"""Which code decides the cached small BERT's weights, as one hash (part of its cache folder's name).

A checkout whose training code differs never loads a model that another checkout
trained; a change to docstrings or comments alone does not retrain it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
from pathlib import Path

import torch

__all__ = ["weight_modules", "code_fingerprint"]


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _local_imports(tree: ast.AST) -> set[str]:
    """The bertlib modules a module imports (bertlib imports itself with relative imports only)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
    return found


def weight_modules(root: str | os.PathLike | None = None) -> dict[str, Path]:
    """:mod:`bertlib.pretrained` and every bertlib module it imports, directly or not: the code behind the weights.

    ``root`` is the package folder to read (default: this installed bertlib).
    """
    root = Path(root) if root is not None else Path(__file__).resolve().parent
    found: dict[str, Path] = {}
    todo = ["pretrained"]  # the module that trains the cached small BERT
    while todo:
        name = todo.pop()
        path = root / f"{name}.py"
        if not path.is_file():
            path = root / name / "__init__.py"  # a subpackage
        found[name] = path
        todo += sorted(_local_imports(ast.parse(path.read_text(encoding="utf-8"))) - found.keys() - set(todo))
    return dict(sorted(found.items()))


@functools.lru_cache(maxsize=4)
def code_fingerprint(root: str | os.PathLike | None = None) -> str:
    """sha256 of the code that decides the small BERT's weights (:func:`weight_modules`) and the torch version.

    Modules are compared as syntax trees without docstrings: comments and
    documentation do not retrain the model, any change to what runs does.
    """
    trees = [
        f"{name}\n{ast.dump(_strip_docstrings(ast.parse(path.read_text(encoding='utf-8'))))}"
        for name, path in weight_modules(root).items()
    ]
    text = "\n".join(trees) + f"\ntorch {torch.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()
