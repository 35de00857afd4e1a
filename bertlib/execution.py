"""Execute a notebook so that it never waits silently: stall detection, clear timeouts, one retry.

A notebook executed by ``nbclient`` can stall: the kernel sits idle and the
client waits for a message that never comes (issue 12 of the book: about ten
minutes, with both processes idle in ``epoll_wait``). :class:`GuardedClient`
watches every cell. When no message has come from the kernel for
``stall_seconds`` *and* the kernel process (with its children) used no CPU
in that time, the cell is stalled: it stops waiting, says which messages of
the cell it did and did not see (the request reached the kernel or not, the
kernel went idle or not, the reply came or not), and :func:`execute_notebook`
runs the whole notebook once more in a fresh kernel.

A cell that runs past the notebook's time budget fails with its index and
its first source line, never after a silent wait.

The book's build (``scripts/execute_lessons.py``) and the autograder
(:mod:`bertlib.grading`) run notebooks through this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.client import timestamp
from nbclient.exceptions import CellTimeoutError
from nbclient.util import ensure_async, run_sync

__all__ = ["StallError", "CellTimeout", "GuardedClient", "ExecutionReport", "execute_notebook", "first_line"]

log = logging.getLogger("bertlib.execution")


def first_line(source: str) -> str:
    """The first line of a cell that is not blank or a comment, for messages."""
    lines = [line.strip() for line in source.splitlines()]
    return next((line for line in lines if line and not line.startswith("#")), lines[0] if lines else "")


class StallError(RuntimeError):
    """No message from the kernel and no kernel CPU time for ``stall_seconds`` while a cell was running."""


class CellTimeout(RuntimeError):
    """A cell ran past the notebook's time budget (its index and first line are in the message)."""


def _cpu_seconds(pid: int | None) -> float | None:
    """CPU time used so far by a process and its children (None when it cannot be read)."""
    if pid is None:
        return None
    try:
        import psutil  # installed with ipykernel

        proc = psutil.Process(pid)
        times = [p.cpu_times() for p in (proc, *proc.children(recursive=True))]
        return sum(t.user + t.system for t in times)
    except Exception:  # the process is gone, or psutil is missing: no CPU evidence
        return None


@dataclass
class _CellWatch:
    """What the client has seen of the cell now running."""

    seen: list[str] = field(default_factory=list)  # message types from the kernel, in order (deduplicated)
    last_message: float = field(default_factory=time.monotonic)

    def saw(self, kind: str) -> None:
        self.last_message = time.monotonic()
        if not self.seen or self.seen[-1] != kind:
            self.seen.append(kind)


class GuardedClient(NotebookClient):
    """``nbclient.NotebookClient`` that detects a stalled cell within ``stall_seconds``.

    Args (besides NotebookClient's):
        stall_seconds: silence (no kernel message, no kernel CPU) that counts as a stall.
        reply_poll_seconds: the longest single wait on the shell socket for a reply.
    """

    def __init__(self, nb, stall_seconds: float = 60.0, reply_poll_seconds: float = 1.0, **kw):
        super().__init__(nb, **kw)
        self.stall_seconds = stall_seconds
        self.reply_poll_seconds = reply_poll_seconds
        self.late_replies: list[float] = []  # seconds by which replies came late (missed wakeups)
        self._watch: _CellWatch | None = None
        self._helpers: tuple = ()

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def process_message(self, msg, cell, cell_index):
        if self._watch is not None:
            kind = msg.get("msg_type", "?")
            if kind == "status":
                kind = f"status:{msg.get('content', {}).get('execution_state')}"
            self._watch.saw(kind)
        return super().process_message(msg, cell, cell_index)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        """Wait for the cell's ``execute_reply`` in short polls (the fix for the stall; see the module docs).

        nbclient waits with one poll as long as the cell's whole timeout. That poll
        sleeps on the shell socket's edge-triggered file descriptor, and a send on the
        same socket (nbclient's Output widget sends a ``comm_msg`` there for every
        output of an ``interact`` cell) can swallow the edge of a reply that has just
        arrived: the poll then sleeps until its timer, up to the whole timeout, with
        the reply waiting in the socket. A poll that ends after ``reply_poll_seconds``
        reads the socket directly, so a missed edge costs at most that long.
        """
        self._helpers = (task_poll_output_msg, task_poll_kernel_alive)  # cancelled with the cell on a stall
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=self.reply_poll_seconds))
            except Empty:
                if deadline is not None and time.monotonic() > deadline:
                    task_poll_kernel_alive.cancel()
                    await self._async_check_alive()
                    await self._async_handle_timeout(timeout, cell)  # raises CellTimeoutError
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            self._note_late_reply(msg, cell)
            if self._watch is not None:
                self._watch.saw("execute_reply")
            if self.record_timing:
                cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(msg)
            try:
                await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
            except (asyncio.TimeoutError, Empty):
                self.log.warning("Timeout waiting for IOPub output")
            task_poll_kernel_alive.cancel()
            return msg

    def _note_late_reply(self, msg, cell) -> None:
        """Log a reply that reached us well after the kernel sent it (a missed wakeup, now recovered)."""
        sent = msg.get("header", {}).get("date")
        if isinstance(sent, datetime):
            lag = (datetime.now(timezone.utc) - sent).total_seconds()
            if lag > 0.5:
                self.late_replies.append(lag)
                log.warning("execute_reply of `%s` came %.1f s after the kernel sent it", first_line(cell.source), lag)

    async def _watchdog(self) -> None:
        """Return when the cell now running has stalled."""
        watch, pid = self._watch, self._kernel_pid()
        assert watch is not None
        cpu, cpu_at = _cpu_seconds(pid), time.monotonic()
        while True:
            await asyncio.sleep(min(5.0, self.stall_seconds / 4))
            now, used = time.monotonic(), _cpu_seconds(pid)
            if used is None or cpu is None or used - cpu > 0.5:  # the kernel works (or we cannot tell)
                cpu, cpu_at = used, now
                continue
            if now - watch.last_message >= self.stall_seconds and now - cpu_at >= self.stall_seconds:
                return

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        self._watch = _CellWatch()
        run = asyncio.ensure_future(super().async_execute_cell(cell, cell_index, execution_count, store_history))
        dog = asyncio.ensure_future(self._watchdog())
        try:
            await asyncio.wait({run, dog}, return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                try:
                    return run.result()
                except CellTimeoutError as e:
                    raise CellTimeout(
                        f"cell {cell_index} (`{first_line(cell.source)}`) ran past its {self.timeout} s budget"
                    ) from e
            run.cancel()  # stops nbclient's wait for the reply (it reports that as a dead kernel: ignored)
            for task in self._helpers:  # nbclient's output and kernel-alive polls would outlive the kernel
                task.cancel()
            for task in (run, *self._helpers):
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task
            watch = self._watch
            raise StallError(
                f"cell {cell_index} (`{first_line(cell.source)}`) stalled: no message from the kernel and no kernel "
                f"CPU time for {self.stall_seconds:g} s. Seen from the kernel for this cell: "
                f"{', '.join(watch.seen) or 'nothing'}; never seen: "
                f"{', '.join(k for k in _EXPECTED if k not in watch.seen)}."
            )
        finally:
            dog.cancel()
            self._watch = None

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own coroutine here: bind ours


# The messages a cell produces, in order: the kernel says busy, echoes the code, ..., says idle, replies.
_EXPECTED = ("status:busy", "execute_input", "status:idle", "execute_reply")


@dataclass
class ExecutionReport:
    """How a notebook's execution went."""

    seconds: float  # wall time of the successful (or last) attempt
    attempts: int  # 1, or 2 when a stall made it run again
    stalls: list[str]  # the stall messages, one per stalled attempt


def execute_notebook(
    nb: nbformat.NotebookNode,
    cwd: str,
    timeout: float,
    stall_seconds: float = 60.0,
    retries: int = 1,
    allow_errors: bool = False,
    **client_kw,
) -> ExecutionReport:
    """Execute ``nb`` in place in a fresh kernel; on a stall, log it and run it again (``retries`` times).

    ``timeout`` is each cell's budget in seconds. Cell errors raise as in nbclient
    (``CellExecutionError``); a cell over budget raises :class:`CellTimeout`; a stall
    on the last attempt raises :class:`StallError`.
    """
    stalls: list[str] = []
    pristine = nbformat.from_dict(nb)  # each attempt starts from the unexecuted notebook
    for attempt in range(1, retries + 2):
        work = nbformat.from_dict(pristine)
        client = GuardedClient(
            work,
            stall_seconds=stall_seconds,
            timeout=int(timeout),
            allow_errors=allow_errors,
            resources={"metadata": {"path": cwd}},
            **{"record_timing": False, **client_kw},  # timings in cell metadata would change jupyter-cache's key
        )
        start = time.monotonic()
        try:
            client.execute()
        except StallError as e:
            stalls.append(str(e))
            log.warning("STALL (attempt %d of %d): %s", attempt, retries + 1, e)
            if attempt > retries:
                raise
            log.warning("re-executing the notebook once, in a fresh kernel")
            continue
        nb.clear()
        nb.update(work)
        return ExecutionReport(time.monotonic() - start, attempt, stalls)
    raise AssertionError("unreachable")
