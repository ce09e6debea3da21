"""SIGINT and SIGTERM stop a build where it stands: no new runs, no retries, an exit code that says which.

A build's stages run in this process (Dagster runs, executed in process) and its partitions in
worker processes (:mod:`partition_workers`). While :func:`stop_signals` is active, SIGINT or SIGTERM
raises :class:`BuildStopped` in the main thread: the partition pool passes the stop on to its
workers (Dagster fails a run it interrupts) and settles what was running without retrying it, and
the command prints one line and exits with 128 + the signal's number (130, 143).

While a Dagster run executes in this process, Dagster installs its own handlers for both signals
(it raises its interruption inside the step, or only notes the signal between steps). So the
signal's arrival is also recorded through :func:`signal.set_wakeup_fd`, which the interpreter
writes for every signal it handles, whoever handles it: :func:`check` after each stage turns a
signal Dagster took into the same :class:`BuildStopped`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class BuildStopped(KeyboardInterrupt):
    """A stop signal arrived. A KeyboardInterrupt, so Dagster fails (never retries) a run it stops."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Signals:
    """The signals received since the build began, read from the wakeup pipe."""

    def __init__(self, read_fd: int):
        self.read_fd = read_fd
        self.first: int | None = None

    def received(self) -> int | None:
        """The first stop signal received so far, or None."""
        try:
            while chunk := os.read(self.read_fd, 512):
                for signum in chunk:
                    if self.first is None and signum in STOP_SIGNALS:
                        self.first = signum
        except BlockingIOError:
            pass
        return self.first


_active: list[_Signals] = []


def _raise_stop(signum, _frame) -> None:
    raise BuildStopped(signum)


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`BuildStopped` inside the block (main thread only)."""
    read_fd, write_fd = os.pipe()
    for fd in (read_fd, write_fd):
        os.set_blocking(fd, False)
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for s in STOP_SIGNALS:
        signal.signal(s, _raise_stop)
    _active.append(_Signals(read_fd))
    try:
        yield
    finally:
        _active.pop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_fd)
        os.close(write_fd)


def received() -> int | None:
    """The stop signal received since :func:`stop_signals` began (None: none, or not inside it)."""
    return _active[-1].received() if _active else None


def check() -> None:
    """Raise :class:`BuildStopped` if a stop signal arrived, even one Dagster's handlers took."""
    signum = received()
    if signum is not None:
        raise BuildStopped(signum)


@contextmanager
def noted_only() -> Iterator[None]:
    """While a stop is being carried out, a second signal is only noted: the clean-up is not cut short."""
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, lambda *_: None)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
