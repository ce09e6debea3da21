"""Bare git repositories for the synthetic universe, built on first request.

Each repository becomes one deterministic commit (author date = ``pushed_at``)
written with ``git fast-import``, so the same universe always has the same
commit SHAs. The repositories allow partial-clone filters and fetching any
reachable blob by id, which is what ``--filter=blob:none`` plus sparse
checkout needs; :mod:`stratum_sandbox.server` serves them with
``git http-backend`` (smart HTTP, protocol v2).

A 50k universe does not fit on disk as 50k bare repositories (a real-profile one is ~150 KB), and
needs not: with ``max_repos`` the store keeps only the most recently served ones and removes the
rest once they have been idle for ``idle_seconds``. A removed repository is rebuilt, byte for byte,
if it is asked for again (a retried clone). Several emulator processes may share one root.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from stratum_assets.storage.files import new_directory, remove_directory

from .codegen import render_files
from .universe import Repo

# Git never reads the machine's or the user's configuration here.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}
_SERVE_CONFIG = {
    "uploadpack.allowFilter": "true",
    "uploadpack.allowAnySHA1InWant": "true",
    "http.receivepack": "false",
    "core.hooksPath": os.devnull,
}


def git_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **GIT_ENV, **extra}


# How many builds pass between two sweeps of a bounded store: a sweep lists every repository on disk.
SWEEP_EVERY = 50


class GitStore:
    """Bare repositories under ``root/<owner>/<name>.git``; thread-safe lazy builds, optionally bounded."""

    def __init__(self, root: Path, max_repos: int | None = None, idle_seconds: float = 120.0):
        if max_repos is not None and max_repos < 1:
            raise ValueError(f"max_repos must be at least 1, got {max_repos}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_repos = max_repos
        self.idle_seconds = idle_seconds
        self.built = 0  # repositories this store built (a rebuilt one counts again)
        self.evicted = 0
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, repo: Repo) -> Path:
        """The bare repository of ``repo``, built if it is not on disk yet; marks it as just served."""
        target = self.root / repo.owner / f"{repo.name}.git"
        if (target / "HEAD").exists() and self._touch(target):
            return target
        with self._lock(repo.full_name):
            if not (target / "HEAD").exists():
                self._build(repo, target)
                self._count_build()
        return target

    def on_disk(self) -> list[Path]:
        """Every bare repository in the store now."""
        return [p for p in self.root.glob("*/*.git") if (p / "HEAD").exists()]

    def evict(self) -> int:
        """Remove the least recently served repositories beyond ``max_repos``, idle ones only; returns how many."""
        if self.max_repos is None:
            return 0
        served = []
        for path in self.on_disk():
            try:
                served.append((path.stat().st_mtime, path))
            except FileNotFoundError:  # another process evicted it meanwhile
                continue
        idle_before = time.time() - self.idle_seconds
        victims = [p for when, p in sorted(served) if when < idle_before][: max(0, len(served) - self.max_repos)]
        trash = self.root / ".evicted"
        removed = sum(remove_directory(path, trash) for path in victims)
        with self._guard:
            self.evicted += removed
        return removed

    def _touch(self, target: Path) -> bool:
        """Mark ``target`` as just served (its directory's mtime); False if it vanished meanwhile."""
        try:
            os.utime(target)
            return True
        except FileNotFoundError:
            return False

    def _count_build(self) -> None:
        with self._guard:
            self.built += 1
            sweep = self.max_repos is not None and self.built % SWEEP_EVERY == 0
        if sweep:
            self.evict()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _build(self, repo: Repo, target: Path) -> None:
        try:  # built beside, renamed in: a concurrent reader sees all or nothing (a cache: no fsync)
            with new_directory(target, durable=False) as staging:  # no fsync: the store is a cache
                _run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(staging)])
                _serve_config(staging / "config")
                _run(
                    ["git", "-C", str(staging), "fast-import", "--quiet", "--date-format=raw"],
                    stdin=_fast_import_stream(repo),
                )
        except OSError:
            if not (target / "HEAD").exists():
                raise  # else another process built it first, and ours is gone


def _serve_config(config: Path) -> None:
    """Append the serving settings to a new repository's config file: one write instead of a ``git config``
    process per key (a 50k rehearsal builds every repository, and process starts are what it costs)."""
    sections: dict[str, list[str]] = {}
    for key, value in _SERVE_CONFIG.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, []).append(f"\t{name} = {value}\n")
    with config.open("a") as out:
        out.writelines(f"[{section}]\n" + "".join(lines) for section, lines in sections.items())


def _fast_import_stream(repo: Repo) -> bytes:
    when = f"{int(repo.pushed_at.timestamp())} +0000"
    who = f"{repo.owner} <{repo.owner}@users.noreply.sandbox.invalid>"
    message = f"Snapshot of {repo.full_name}\n".encode()
    out = [
        b"feature done\n",
        f"commit refs/heads/main\nauthor {who} {when}\ncommitter {who} {when}\n".encode(),
        b"data %d\n" % len(message),
        message,
    ]
    for f in render_files(repo):
        out.append(f"M {f.mode} inline {f.path}\n".encode())
        out.append(b"data %d\n" % len(f.data))
        out.append(f.data)
        out.append(b"\n")
    out.append(b"done\n")
    return b"".join(out)


def _run(cmd: list[str], stdin: bytes | None = None) -> None:
    result = subprocess.run(cmd, input=stdin, capture_output=True, env=git_env(), timeout=120)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:4])} failed ({result.returncode}): {result.stderr.decode(errors='replace')}"
        )
