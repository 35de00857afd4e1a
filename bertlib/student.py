"""The student edition: every solution replaced by a stub, nothing of the answer key left.

``python -m bertlib student lessons/ student/`` (or ``make student``). Solutions
are found the way nbgrader finds them, by their ``### BEGIN SOLUTION`` /
``### END SOLUTION`` markers, in every cell whatever its tags or metadata, so
a cell that lacks its ``solution`` tag still loses its answer.
"""

from __future__ import annotations

import ast
import os
import textwrap
import warnings
from pathlib import Path

import nbformat

from .cells import BEGIN, END, exercise_name, has_markers, is_begin, is_end, is_solution, nbgrader_meta

__all__ = ["make_student_edition", "strip_solution", "code_stub"]


def code_stub(indent: str, region: list[str], name: str) -> list[str]:
    """The stub that replaces one solution region of a code cell.

    Inside a function (an indented region) it raises ``NotImplementedError``, which the
    check reports as *Not implemented yet*. At the top level of a cell, raising would
    stop "Run All" there, so a region that only assigns names becomes
    ``name = NotImplemented`` for each of them (the checks read ``NotImplemented`` as an
    unfinished answer); any other top-level region raises.
    """
    names = [] if indent else _assigned_names(region)
    if names:
        return [f"# YOUR CODE HERE: replace NotImplemented with your answer ({name})"] + [
            f"{n} = NotImplemented" for n in names
        ]
    return [f"{indent}# YOUR CODE HERE", f'{indent}raise NotImplementedError("{name}: your code here")']


def _assigned_names(region: list[str]) -> list[str]:
    try:
        tree = ast.parse(textwrap.dedent("\n".join(region)))
    except SyntaxError:  # IPython magics, or not whole statements: the raising stub
        return []
    names: list[str] = []
    for stmt in tree.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else None
        )
        if targets is None:
            return []
        for target in targets:
            elts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
            if not all(isinstance(e, ast.Name) for e in elts):
                return []
            names += [e.id for e in elts if e.id not in names]
    return names


def strip_solution(source: str, name: str, markdown: bool = False) -> str:
    """Replace every BEGIN/END SOLUTION region with a stub, keeping the code around it.

    Raises ValueError for a cell without a region, a BEGIN without its END, an END
    without its BEGIN, and a BEGIN inside a region (nested regions would leave the
    code between the two ENDs in the stub).
    """
    out: list[str] = []
    region: list[str] | None = None
    indent, found = "", False
    for number, line in enumerate(source.splitlines(), 1):
        if is_begin(line):
            if region is not None:
                raise ValueError(
                    f"{name}: a '{BEGIN}' inside another one (line {number}); solution regions cannot nest."
                )
            region, indent, found = [], line[: len(line) - len(line.lstrip())], True
        elif is_end(line):
            if region is None:
                raise ValueError(f"{name}: '{END}' without a '{BEGIN}' before it (line {number}).")
            out += [f"{indent}YOUR ANSWER HERE"] if markdown else code_stub(indent, region, name)
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{name}: '{BEGIN}' without a matching '{END}'.")
    if not found:
        raise ValueError(f"{name} is marked as a solution but has no '{BEGIN}' ... '{END}' block.")
    return "\n".join(out)


def _check_compiles(source: str, name: str) -> None:
    """A stub must still be valid Python (BEGIN/END inside a dict literal would not be)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        compile(code, name, "exec")
    except SyntaxError as e:
        raise ValueError(
            f"{name}: the student stub is not valid Python ({e.msg}, line {e.lineno}); put "
            f"'{BEGIN}' and '{END}' around whole statements."
        ) from None


def _student_notebook(path: Path):
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # saved widget state can hold the answer key's outputs
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        marked = has_markers(cell.source)
        if not (marked or is_solution(cell)):
            continue
        name = exercise_name(cell, i)
        cell.source = strip_solution(cell.source, name, cell.cell_type != "code")
        if cell.cell_type == "code":
            _check_compiles(cell.source, f"{path.name}: {name}")
        cell.pop("attachments", None)
        tags = cell.metadata.get("tags", [])
        cell.metadata["tags"] = [t for t in tags if t != "hide-cell"]  # the stub is meant to be seen
        if not nbgrader_meta(cell).get("solution"):
            warnings.warn(
                f"{path.name}: cell {i} ({name}) has solution markers but no nbgrader metadata "
                "'solution: true'; its solution was replaced by a stub, but nbgrader would refuse this cell.",
                stacklevel=3,
            )
    return nb


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def make_student_edition(src: str | os.PathLike, dst: str | os.PathLike) -> list[Path]:
    """Write the student edition of one notebook or of every notebook in a folder.

    Solutions become stubs (see :func:`code_stub`), outputs and saved widget state are
    cleared, checks are kept, and solution cells lose the ``hide-cell`` tag (the stub is
    meant to be seen). Every notebook is converted before anything is written, and a
    destination that would overwrite a source notebook is refused. Returns the files written.
    """
    src, dst = Path(src), Path(dst)
    files = sorted(src.glob("*.ipynb")) if src.is_dir() else [src]
    if not files:
        raise FileNotFoundError(f"No notebooks in {src}.")
    if src.is_dir() and dst.is_file():
        raise ValueError(f"{dst} is a file: the student edition of a folder goes into a folder.")
    outs = [dst / f.name if src.is_dir() or dst.suffix != ".ipynb" else dst for f in files]
    for f, out in zip(files, outs, strict=True):
        if _same_file(f, out):
            raise ValueError(
                f"Refusing to write the student edition of {f} over itself: choose another destination than {dst}."
            )
    editions = [_student_notebook(f) for f in files]
    for nb, out in zip(editions, outs, strict=True):
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
    return outs
