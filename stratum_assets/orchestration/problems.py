"""What the user can fix, said in one line: a wrong configuration file, a full disk, a path they may not write
or that does not exist.

The commands print :func:`user_problem`'s line instead of a traceback. Anything else is a bug and
keeps its traceback. The error is looked for along the exception's chain (``raise … from``, the
exception being handled, SQLAlchemy's ``orig``), because a full disk under Dagster's instance
storage arrives as SQLAlchemy's error around sqlite3's.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import yaml

from ..storage.config_files import ConfigError

_FULL = {errno.ENOSPC: "no space left", errno.EDQUOT: "disk quota exceeded"}
_REFUSED = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
}
_MISSING = {errno.ENOENT: "no such file or directory", errno.ENOTDIR: "not a directory", errno.EISDIR: "is a directory"}
# sqlite3's words for a write that the disk refused (a full or read-only disk shows as any of them).
_SQLITE_DISK = ("disk i/o error", "database or disk is full", "readonly database", "unable to open database file")


def user_problem(error: BaseException) -> str | None:
    """One line for an error the user can fix, or None for a bug."""
    for err in _chain(error):
        if isinstance(err, ConfigError):
            return str(err)
        if isinstance(err, OSError) and err.errno in _FULL | _REFUSED:
            return _os_problem(err)
        if isinstance(err, OSError) and err.errno in _MISSING and err.filename:  # a path the user gave
            return f"{os.path.abspath(err.filename)}: {_MISSING[err.errno]}"
        if isinstance(err, sqlite3.OperationalError) and any(w in str(err).lower() for w in _SQLITE_DISK):
            return _storage_problem(err)
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo and len(seen) < 50:
        err = todo.pop(0)
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        todo += [err.__cause__, err.__context__, getattr(err, "orig", None)]


def _os_problem(err: OSError) -> str:
    path = err.filename or err.filename2
    path = os.path.abspath(path) if isinstance(path, str) else path
    where = f" writing {path}" if path else ""
    if err.errno in _FULL:
        return f"the disk is full ({_FULL[err.errno]}){where}{_free_space(path)}: free some space and run again"
    # the only caller passes an error whose errno is a key of _FULL | _REFUSED (never None)
    refused = _REFUSED[err.errno]  # type: ignore[index]
    return f"{refused}{where}: check the owner and permissions of {_folder(path) or 'the data directory'}"


def _storage_problem(err: sqlite3.OperationalError) -> str:
    storage = _instance_storage()
    return (
        f"the Dagster instance could not write its SQLite storage in {storage} ({err}): its disk is full or "
        f"read-only{_free_space(str(storage))}; free some space and run again"
    )


def _instance_storage() -> Path:
    """Where the instance keeps its SQLite files: dagster.yaml's ``storage.sqlite.base_dir``, else DAGSTER_HOME."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".")
    try:
        base = yaml.safe_load((home / "dagster.yaml").read_text())["storage"]["sqlite"]["base_dir"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return home.resolve()
    return (Path.cwd() / base).resolve()  # relative paths in dagster.yaml resolve against the working directory


def _folder(path: str | None) -> str | None:
    """The nearest existing folder of ``path`` (the file itself may not exist)."""
    if not path:
        return None
    folder = Path(path)
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return str(folder)


def _free_space(path: str | None) -> str:
    folder = _folder(str(path)) if path else None
    if folder is None:
        return ""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return ""
    return f"; {_size(stat.f_bavail * stat.f_frsize)} free of {_size(stat.f_blocks * stat.f_frsize)} on its file system"


def _size(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} bytes"
    for unit in ("KiB", "MiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} GiB"
