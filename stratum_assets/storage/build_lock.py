"""One build per data directory at a time, and a lock that names its holder.

Two ``stratum-assets run`` (or ``backfill``) on one data directory would scan the same partitions,
swap the same directories and freeze the split while the other still writes. The lock is an
``flock`` on ``<data>/.build.lock``: the kernel drops it when the holder dies, even by ``kill -9``,
so a crashed build never leaves a stale lock behind. The file says who holds it (pid, host,
command, start time) for the message the second build prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

_GRACE_S = 2.0


class BuildLocked(RuntimeError):
    """Another build holds the data directory."""


def lock_path(data_root: Path) -> Path:
    return Path(data_root) / ".build.lock"


@contextmanager
def build_lock(
    data_root: Path,
    command: str,
    *,
    wait: bool = False,
    poll_s: float = 1.0,
    max_wait_s: float | None = None,
    grace_s: float = _GRACE_S,
) -> Iterator[dict]:
    """Hold the data directory's build lock for the ``with`` block.

    Refuses with :class:`BuildLocked` naming the holder (after ``grace_s``: `status` may be peeking
    at the lock that instant), or with ``wait`` polls until the holder is done (at most
    ``max_wait_s`` seconds when given).
    """
    path = lock_path(data_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = time.monotonic()
        while not _try_lock(fd):
            holder = _read_holder(fd)
            waited = time.monotonic() - started
            limit = (max_wait_s if max_wait_s is not None else float("inf")) if wait else grace_s
            if waited >= limit:
                raise BuildLocked(
                    f"another build is running in {Path(data_root)}: {describe(holder)}; "
                    "wait for it to finish, or start this one with --wait"
                )
            time.sleep(poll_s if wait else min(poll_s, grace_s / 10))
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        os.fsync(fd)
        yield me
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def describe(holder: dict | None) -> str:
    if not holder:
        return "a build that has not written its name yet"
    return (
        f"pid {holder.get('pid')} on {holder.get('host')} (`{holder.get('command')}`, since {holder.get('started_at')})"
    )


def current_holder(data_root: Path) -> dict | None:
    """Who holds the lock now, or None when no build runs (the file alone proves nothing)."""
    path = lock_path(data_root)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        if _try_lock(fd, fcntl.LOCK_SH):  # shared and released at once: a build starting now waits it out
            return None
        return _read_holder(fd) or {}
    finally:
        os.close(fd)


def _try_lock(fd: int, mode: int = fcntl.LOCK_EX) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _read_holder(fd: int) -> dict | None:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"null")
    except ValueError:
        return None
