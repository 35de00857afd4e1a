"""One training run per checkpoint directory: an exclusive, non-blocking lock on ``<directory>/.lock``.

Two Trainers saving into one directory would rotate away each other's checkpoints and
resume from each other's steps. The lock makes the second one fail at once, with the
first one's pid. It is an operating-system lock (``flock`` on POSIX, ``msvcrt.locking``
on Windows): it dies with its process, so a crash never leaves a directory locked.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path

from .checkpoint import CheckpointError

__all__ = ["CheckpointLock"]

LOCK_NAME = ".lock"


class CheckpointLock:
    """An exclusive lock on a checkpoint directory while a Trainer trains in it: ``<directory>/.lock``.

    The lock is taken without waiting: a second Trainer on the same directory (in another
    process or in this one) gets a :class:`CheckpointError` naming the holder's pid. The file
    holds that pid while the lock is held and is removed on release. The operating system
    drops the lock of a process that dies, so a crash never leaves the directory locked.
    Acquiring again while held only counts; each ``acquire`` needs its ``release``.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _lock(fd)
            except OSError as e:
                holder = _holder(fd)
                os.close(fd)
                raise CheckpointError(
                    f"The checkpoint directory {self.directory} is in use by another training run ({holder}; it "
                    f"holds {self.path}). Two runs in one directory would overwrite each other's checkpoints: wait "
                    f"for that run to finish, or give this Trainer another checkpoint_dir."
                ) from e
            try:  # the holder before us removes the file on release: make sure we locked the one there now
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            except FileNotFoundError:
                pass
            _unlock(fd)
            os.close(fd)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._fd, self._depth = fd, 1

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth or self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.unlink(self.path)  # before unlocking, so the next run locks a fresh file
        except OSError:
            pass  # Windows keeps an open file; the next run reuses it
        _unlock(fd)
        os.close(fd)

    def __enter__(self) -> CheckpointLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


try:  # POSIX: flock locks one open file, so two Trainers in one process also exclude each other
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:
    try:  # Windows: lock one byte far past the pid, which stays readable
        import msvcrt

        def _lock(fd: int) -> None:
            os.lseek(fd, 1 << 30, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

        def _unlock(fd: int) -> None:
            os.lseek(fd, 1 << 30, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    except ImportError:  # a platform without file locks (WebAssembly): say so, and train unlocked

        def _lock(fd: int) -> None:
            warnings.warn(
                "This platform has no file locks: nothing stops two Trainers from sharing a checkpoint_dir; "
                "give each run its own.",
                stacklevel=4,
            )

        def _unlock(fd: int) -> None:
            pass


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        pid, _, host = os.read(fd, 200).decode().strip().partition(" ")
    except (OSError, UnicodeDecodeError):
        pid, host = "", ""
    if not pid:
        return "a process that has not written its pid yet"
    if pid == str(os.getpid()) and host == socket.gethostname():
        return f"another Trainer in this process, pid {pid}"
    return f"process {pid} on {host}" if host else f"process {pid}"
