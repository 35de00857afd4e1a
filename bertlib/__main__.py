"""Command line: ``python -m bertlib student|grade|warm ...`` (also installed as ``bertlib``).

python -m bertlib student lessons/ student/          # the student edition
python -m bertlib warm                               # train and cache the small BERT once, before grading
python -m bertlib grade submissions/ --release lessons/ --timeout 600 --json grades.json
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bertlib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    student = sub.add_parser("student", help="write the student edition (solutions replaced by stubs)")
    student.add_argument("src", help="a lesson notebook or a folder of them")
    student.add_argument("dst", help="output folder (or .ipynb file for a single notebook); never the source")
    grade = sub.add_parser("grade", help="run notebooks and grade their exercises")
    grade.add_argument("path", help="a notebook or a folder of notebooks")
    grade.add_argument(
        "--release",
        metavar="PATH",
        help="the lessons (or their student edition) the checks and points are taken from, "
        "matched by file name (default: this checkout's lessons/)",
    )
    grade.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per notebook (default 600)")
    grade.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    sub.add_parser("warm", help="train and cache the small BERT the later lessons load (do it once, before grading)")
    args = parser.parse_args(argv)

    if args.command == "student":
        from .student import make_student_edition

        for path in make_student_edition(args.src, args.dst):
            sys.stdout.write(f"wrote {path}\n")
        return 0
    if args.command == "warm":
        from .pretrained import load_small_bert, small_bert_path

        load_small_bert()
        sys.stdout.write(f"the small BERT is cached in {small_bert_path()}\n")
        return 0

    from . import grading, release

    release_folder = args.release or release.default_release()
    if release_folder is None:
        parser.error("grade: pass --release, the lessons the submissions were handed out from")
    rows = grading.grade_path(args.path, release_folder, args.timeout)
    sys.stdout.write(grading.format_table(rows) + "\n")
    if args.json == "-":
        sys.stdout.write(grading.rows_to_json(rows) + "\n")
    elif args.json:
        with open(args.json, "w") as f:
            f.write(grading.rows_to_json(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
