"""Command line: ``python -m bertlib student|grade ...`` (also installed as ``bertlib``).

python -m bertlib student lessons/ student/          # the student edition
python -m bertlib grade student/ --timeout 300 --json grades.json
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bertlib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    student = sub.add_parser("student", help="write the student edition (solutions replaced by stubs)")
    student.add_argument("src", help="a lesson notebook or a folder of them")
    student.add_argument("dst", help="output folder (or .ipynb file for a single notebook)")
    grade = sub.add_parser("grade", help="run notebooks and grade their exercises")
    grade.add_argument("path", help="a notebook or a folder of notebooks")
    grade.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per notebook (default 600)")
    grade.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' for stdout)")
    args = parser.parse_args(argv)

    from . import classroom

    if args.command == "student":
        for path in classroom.make_student_edition(args.src, args.dst):
            sys.stdout.write(f"wrote {path}\n")
        return 0
    rows = classroom.grade_path(args.path, args.timeout)
    sys.stdout.write(classroom.format_table(rows) + "\n")
    if args.json == "-":
        sys.stdout.write(classroom.rows_to_json(rows) + "\n")
    elif args.json:
        with open(args.json, "w") as f:
            f.write(classroom.rows_to_json(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
