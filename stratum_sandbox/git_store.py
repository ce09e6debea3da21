"""Bare git repositories for the synthetic universe, built on first request.

Each repository becomes one deterministic commit (author date = ``pushed_at``)
written with ``git fast-import``, so the same universe always has the same
commit SHAs. The repositories allow partial-clone filters and fetching any
reachable blob by id, which is what ``--filter=blob:none`` plus sparse
checkout needs; :mod:`stratum_sandbox.server` serves them with
``git http-backend`` (smart HTTP, protocol v2).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from stratum_assets.warehouse.files import new_directory

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


class GitStore:
    """Bare repositories under ``root/<owner>/<name>.git``; thread-safe lazy builds."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, repo: Repo) -> Path:
        """The bare repository of ``repo``, built if it is not on disk yet."""
        target = self.root / repo.owner / f"{repo.name}.git"
        if (target / "HEAD").exists():
            return target
        with self._lock(repo.full_name):
            if not (target / "HEAD").exists():
                self._build(repo, target)
        return target

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _build(self, repo: Repo, target: Path) -> None:
        try:  # built beside, renamed in: a concurrent reader sees all or nothing (a cache: no fsync)
            with new_directory(target, durable=False) as staging:
                _run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(staging)])
                for key, value in _SERVE_CONFIG.items():
                    _run(["git", "-C", str(staging), "config", key, value])
                _run(["git", "-C", str(staging), "fast-import", "--quiet", "--date-format=raw"],
                     stdin=_fast_import_stream(repo))
        except OSError:
            if not (target / "HEAD").exists():
                raise  # else another process built it first, and ours is gone


def _fast_import_stream(repo: Repo) -> bytes:
    when = f"{int(repo.pushed_at.timestamp())} +0000"
    who = f"{repo.owner} <{repo.owner}@users.noreply.sandbox.invalid>"
    message = f"Snapshot of {repo.full_name}\n".encode()
    out = [b"feature done\n", f"commit refs/heads/main\nauthor {who} {when}\ncommitter {who} {when}\n".encode(),
           b"data %d\n" % len(message), message]
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
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
