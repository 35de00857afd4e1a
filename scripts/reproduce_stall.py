"""Reproduce the notebook-execution stall of issue 12, and show that bertlib.execution prevents it.

    python scripts/reproduce_stall.py --runs 40 --client plain     # nbclient as it is
    python scripts/reproduce_stall.py --runs 40 --client guarded   # bertlib.execution.GuardedClient

The notebook has six ordinary cells, then six ipywidgets `interact` cells. For
every output of an `interact` cell, nbclient's Output widget sends a comm_msg
on the shell socket while the client is polling that socket for the cell's
execute_reply; that send can swallow the poll's edge-triggered wakeup, and the
plain client then waits for its whole timeout (here 10 s) with the reply in the
socket. The script prints each cell that took more than 5 s, by kind, and a
summary line. Re-run it after upgrading nbclient, jupyter_client or pyzmq to
see whether the guard is still needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bertlib.execution import GuardedClient  # noqa: E402

INTERACT = (
    "@widgets.interact(x=(0, 10))\n"
    "def show(x=3):\n"
    "    print('x is', x)\n"
    "    display({'text/plain': str(x * x)}, raw=True)"
)


def notebook() -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell("import ipywidgets as widgets\nfrom IPython.display import display")]
    cells += [nbformat.v4.new_code_cell(f"print('plain cell {i}')\nx = sum(range(10_000))") for i in range(6)]
    cells += [nbformat.v4.new_code_cell(INTERACT) for _ in range(6)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--client", choices=["plain", "guarded"], default="plain")
    parser.add_argument("--timeout", type=int, default=10, help="per-cell timeout: what a missed wakeup costs")
    args = parser.parse_args(argv)

    client_class = NotebookClient if args.client == "plain" else GuardedClient
    slow = {"interact": 0, "plain": 0}
    starts: dict[int, float] = {}
    current = {"run": 0}

    def on_execute(cell, cell_index):
        starts[cell_index] = time.monotonic()

    def on_executed(cell, cell_index, execute_reply):
        seconds = time.monotonic() - starts[cell_index]
        if seconds > 5:
            kind = "interact" if "interact" in cell.source else "plain"
            slow[kind] += 1
            print(f"  run {current['run']}: cell {cell_index} ({kind}) took {seconds:.1f} s", flush=True)

    total = time.monotonic()
    for current["run"] in range(args.runs):
        client = client_class(
            notebook(), timeout=args.timeout, on_cell_execute=on_execute, on_cell_executed=on_executed
        )
        client.execute()
    cells = args.runs * 6
    print(
        f"{args.client}: {slow['interact']} of {cells} interact cells and {slow['plain']} of {cells} plain cells "
        f"waited more than 5 s, in {args.runs} runs ({time.monotonic() - total:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
