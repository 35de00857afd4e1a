"""Compare the outputs of two sets of executed lessons, cell by cell: only timings may differ.

    python scripts/diff_lesson_outputs.py BEFORE AFTER [--lessons lessons] [--only REGEX] [--images]

BEFORE and AFTER are each either a folder of executed notebooks (``NN_name.ipynb`` with
their outputs, e.g. a copy of the lessons executed before a change) or a jupyter-cache
folder (``_build/.jupyter_cache``, what ``scripts/execute_lessons.py`` and ``make book``
write); a cache is read through the notebooks in ``--lessons``. Notebooks are matched by
file name and cells by position among the code cells (their ids are checked too).

What is compared: every text an output shows (stdout, stderr, text/plain, text/html,
text/markdown, text/latex, JSON), numbers included, after masking what legitimately
changes from run to run:

- durations (a number followed by ms, s, sec, seconds, min, µs, it/s, s/it, ...), and the
  numbers of lines that name a time ("time", "ms", "seconds", "speed-up", "throughput"),
  and of whole tables whose header names one;
- memory addresses (``0x7f...``) and random ids (bertviz's element ids, uuids);
- widgets (progress bars, explorers): their output is the widget, whose text is a progress
  line, and a progress bar appears only when a cached model had to be trained;
- the temporary folders a run writes into (``/tmp/...``).

Images (PNG, SVG) are compared only with ``--images``: a plot of timings differs on every
run, and the numbers a plot shows are printed next to it in the lessons anyway.

Exit status: 0 when every lesson's outputs match, 1 otherwise, with a readable diff of each
cell that changed (the first lines that differ and, for numbers, the largest difference).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import re
import sys
from pathlib import Path

import nbformat

TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
IGNORED_TYPES = ("application/vnd.jupyter.widget-view+json", "application/javascript")

_NUMBER = r"[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DURATION = re.compile(
    rf"(?<![\w.]){_NUMBER}\s*(?:ns|µs|us|ms|s|sec|secs|seconds?|min|minutes?|h|hours?|it/s|s/it)(?![\w])"
)
_TIMING_LINE = re.compile(r"\b(?:time|timing|ms|seconds?|speed-?up|throughput|wall|elapsed|took)\b", re.I)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_RANDOM_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_RULE = re.compile(r"^[\s-]+$")  # the dashes under a text table's header
_TMP_PATH = re.compile(r"/tmp/[^\s'\"<>)]*")
_NUMBERS = re.compile(_NUMBER)


def normalize(text: str) -> str:
    """The text with its run-dependent parts (durations, addresses, random ids, temporary paths) masked.

    A line that names a time has its numbers masked; so has a whole table whose header
    does (a text table's header above its rule of dashes, or an HTML table's header row),
    up to the table's end (a blank line or ``</table>``).
    """
    text = _RANDOM_ID.sub("<id>", _ADDRESS.sub("0x…", _TMP_PATH.sub("/tmp/…", text)))
    lines, in_timing_table = [], False
    raw = text.splitlines()
    for i, line in enumerate(raw):
        header = "<th" in line or (i + 1 < len(raw) and _RULE.match(raw[i + 1]) and "-" in raw[i + 1])
        if _TIMING_LINE.search(line) and header:
            in_timing_table = True
        elif not line.strip() or "</table>" in line:
            in_timing_table = False
        line = _DURATION.sub("<time>", line)
        if in_timing_table or _TIMING_LINE.search(line):  # a row or line about time: its numbers are timings
            line = " ".join(_NUMBERS.sub("<n>", line).split())  # column widths follow the numbers
        lines.append(line.rstrip())
    return "\n".join(lines)


def _html_rows(html: str) -> str:
    """One line per table row, so a timing row of an HTML table is masked as a whole."""
    return re.sub(r"</tr>", "</tr>\n", html)


def cell_outputs(cell: nbformat.NotebookNode, images: bool) -> list[str]:
    """The normalized texts a code cell shows, one entry per output and media type."""
    shown, outputs = [], []
    for out in cell.get("outputs", []):  # consecutive writes to one stream are one text (flushes split them)
        same_stream = outputs and out.get("output_type") == "stream" == outputs[-1].get("output_type")
        if same_stream and out.get("name") == outputs[-1].get("name"):
            outputs[-1] = {**outputs[-1], "text": outputs[-1].get("text", "") + out.get("text", "")}
        else:
            outputs.append(out)
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            shown.append(f"[{out.get('name')}]\n" + normalize(out.get("text", "")))
        elif kind == "error":
            shown.append(f"[error] {out.get('ename')}: {normalize(out.get('evalue', ''))}")
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            if any(mime in data for mime in IGNORED_TYPES):  # a progress bar or a live explorer, not a result
                continue
            for mime in TEXT_TYPES:
                if mime in data:
                    value = data[mime] if isinstance(data[mime], str) else repr(data[mime])
                    value = _html_rows(value) if mime == "text/html" else value
                    shown.append(f"[{mime}]\n" + normalize(value))
            for mime in IMAGE_TYPES if images else ():
                if mime in data:
                    digest = hashlib.sha256(str(data[mime]).encode()).hexdigest()[:12]
                    shown.append(f"[{mime}] sha256 {digest}")
    return shown


def read_folder(folder: Path) -> dict[str, nbformat.NotebookNode]:
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def read_cache(cache: Path, lessons: Path) -> dict[str, nbformat.NotebookNode]:
    """The executed version of every lesson in ``lessons`` that the jupyter-cache holds."""
    from jupyter_cache import get_cache

    store, found = get_cache(cache), {}
    for path in sorted(lessons.glob("*.ipynb")):
        try:
            found[path.name] = store.merge_match_into_notebook(nbformat.read(path, as_version=4))[1]
        except KeyError:  # never executed with this code
            continue
    return found


def read_executed(where: Path, lessons: Path) -> dict[str, nbformat.NotebookNode]:
    if not where.is_dir():
        raise SystemExit(f"{where} is not a folder of executed notebooks or a jupyter-cache folder.")
    return read_cache(where, lessons) if (where / "global.db").is_file() else read_folder(where)


def _largest_number_change(before: str, after: str) -> str:
    a, b = _NUMBERS.findall(before), _NUMBERS.findall(after)
    if len(a) != len(b):
        return f"{len(a)} numbers before, {len(b)} after"
    changes = []
    for x, y in zip(a, b, strict=True):
        try:
            fx, fy = float(x.replace(",", "").replace("_", "")), float(y.replace(",", "").replace("_", ""))
        except ValueError:
            continue
        if fx != fy:
            changes.append((abs(fx - fy), x, y))
    if not changes:
        return "same numbers, other text"
    size, x, y = max(changes)
    return f"{len(changes)} numbers changed, the largest by {size:.4g} ({x} -> {y})"


def diff_notebook(name: str, before, after, images: bool, context: int = 12) -> list[str]:
    """Readable differences between two executed versions of one notebook (empty when none)."""
    old = [c for c in before.cells if c.cell_type == "code"]
    new = [c for c in after.cells if c.cell_type == "code"]
    if len(old) != len(new):
        return [f"{name}: {len(old)} code cells before, {len(new)} after"]
    report = []
    for index, (a, b) in enumerate(zip(old, new, strict=True)):
        shown_a, shown_b = "\n".join(cell_outputs(a, images)), "\n".join(cell_outputs(b, images))
        if shown_a == shown_b:
            continue
        first = b.source.strip().splitlines()[0] if b.source.strip() else ""
        lines = list(difflib.unified_diff(shown_a.splitlines(), shown_b.splitlines(), "before", "after", lineterm=""))
        report.append(f"{name}, code cell {index} ({first[:60]!r}): {_largest_number_change(shown_a, shown_b)}")
        report.extend("    " + line[:200] for line in lines[2 : 2 + context])
        if len(lines) > 2 + context:
            report.append(f"    ... {len(lines) - 2 - context} more diff lines")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--lessons", type=Path, default=Path(__file__).resolve().parent.parent / "lessons")
    parser.add_argument("--images", action="store_true", help="also compare images (plots of timings differ)")
    parser.add_argument("--only", default="", help="compare only notebooks whose name matches this regex")
    args = parser.parse_args(argv)
    before, after = read_executed(args.before, args.lessons), read_executed(args.after, args.lessons)
    names = sorted(n for n in set(before) | set(after) if re.search(args.only, n))
    problems: list[str] = []
    for name in names:
        if name not in before or name not in after:
            problems.append(f"{name}: executed only {'after' if name in after else 'before'}")
            continue
        found = diff_notebook(name, before[name], after[name], args.images)
        problems.extend(found)
        print(f"{name}: {'differs' if found else 'same outputs'}")
    if problems:
        print("\n" + "\n".join(problems))
        print(f"\n{sum(1 for p in problems if not p.startswith('    '))} difference(s).")
        return 1
    print(f"\nAll {len(names)} notebooks: the same outputs (timings masked).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
