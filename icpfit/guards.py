"""Guards for work that must finish or be undone: a lock file that serializes trains on one
store, SIGTERM turned into an exception the undo code can catch, signals held while undoing, and
a test hook that pauses at a named step.

The test hook: with `ICPFIT_TEST_PAUSE_AFTER=<step>` in the environment, `pause_for_test(step)`
writes `icpfit test hook: paused after <step> (pid N)` to stderr and waits until the file named
by `ICPFIT_TEST_RESUME_FILE` exists (or 120 s), so a test can signal or kill the process at that
point. Steps: `register` (train: the version is registered, its model logged and its digests
tagged, no alias moved yet), `alias` (train: the alias has moved, the run has not ended),
`timing` (train: the timing model is registered and its alias moved, the run has not ended),
`batch` (score: each batch written to the temporary file). Unset, it does nothing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PAUSE_AFTER = "ICPFIT_TEST_PAUSE_AFTER"
RESUME_FILE = "ICPFIT_TEST_RESUME_FILE"
PAUSE_LIMIT = 120.0

try:
    import fcntl
except ImportError:  # Windows: no flock; trains on one store are not serialized there
    fcntl = None


class Interrupted(KeyboardInterrupt):
    """SIGTERM during work that must be undone: raised like Ctrl-C, so the same undo runs and
    the command line ends as for Ctrl-C (exit code 130)."""


def pause_for_test(step: str) -> None:
    """The test hook (module docstring): a no-op unless ICPFIT_TEST_PAUSE_AFTER names `step`."""
    if os.environ.get(PAUSE_AFTER) != step:
        return
    sys.stderr.write(f"icpfit test hook: paused after {step} (pid {os.getpid()})\n")
    sys.stderr.flush()
    resume = os.environ.get(RESUME_FILE)
    deadline = time.monotonic() + PAUSE_LIMIT
    while time.monotonic() < deadline and not (resume and Path(resume).exists()):
        time.sleep(0.05)


@contextmanager
def store_lock(lock_file: Path, on_wait: Callable[[int | None], None]) -> Iterator[None]:
    """Hold an exclusive flock on `lock_file` (created beside the store, never removed) for the
    block; when another process holds it, call `on_wait` with its pid (None if unknown) and
    wait. The kernel releases the lock when the holder exits, even after kill -9."""
    if fcntl is None:
        yield
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(_holder(fd))
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def signals_raise() -> Iterator[None]:
    """In the block, SIGTERM raises `Interrupted` (SIGINT already raises KeyboardInterrupt), so
    an undo in an `except BaseException` runs. Only in the main thread, and only when SIGTERM
    has its default action (an embedding application's own handler is left alone)."""
    if not _main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupted(signum: int, frame: object) -> None:
        raise Interrupted(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (an undo is not itself interrupted)."""
    if not _main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
