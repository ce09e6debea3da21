"""Clone one repository safely and cheaply.

Safety: git never prompts (``GIT_TERMINAL_PROMPT=0``), never asks a credential
helper, runs no hooks, never smudges LFS, ignores the machine's and user's git
configuration, and nothing from the clone is executed. Symlinks that point
outside the checkout are removed before any scanner sees it.

Cost: a shallow (``--depth 1``) partial clone (``--filter=blob:none``) fetches
the commit and trees only; a sparse checkout then fetches just the blobs a
scanner reads (Python, YAML/TOML, requirements and lockfiles, Dockerfiles, CI
configuration, ``.env.example``). The full tree listing still counts every
file for ``files_total``.

Failures are classified: ``clone_404`` (missing, deleted or private — GitHub
answers 401 for those), ``clone_rate_limited`` (HTTP 429) and ``clone_timeout``
(the remote did not deliver in time, or kept failing). Rate limits and
network errors are retried with exponential backoff; a timeout is not, since a
slow repository stays slow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SCANNED_PATTERNS = (
    "*.py", "*.yaml", "*.yml", "*.toml", "*.cfg", "requirements*.txt", "*.lock", "Dockerfile", "Dockerfile.*",
    ".gitlab-ci.yml", ".env.example", ".env.sample", ".env.template", ".gitignore",
)

_NOT_FOUND = ("not found", "could not read username", "authentication failed", "terminal prompts disabled",
              "returned error: 401", "returned error: 403", "returned error: 404")
_RATE_LIMITED = ("returned error: 429", "rate limit", "http 429")


@dataclass
class CloneResult:
    path: Path | None = None
    files: list[str] = field(default_factory=list)
    commit_sha: str | None = None
    commit_date: str | None = None
    failure: str | None = None
    detail: str = ""
    attempts: int = 0
    rate_limited: int = 0
    bytes_fetched: int = 0
    symlinks_removed: int = 0


class CloneError(Exception):
    def __init__(self, failure: str, detail: str, transient: bool):
        super().__init__(detail)
        self.failure, self.detail, self.transient = failure, detail, transient


def git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
    }


_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "credential.helper=", "-c", "protocol.ext.allow=never",
                "-c", "core.fsmonitor=false", "-c", "advice.detachedHead=false", "-c", "filter.lfs.smudge=",
                "-c", "filter.lfs.process=", "-c", "filter.lfs.required=false")


def clone(url: str, dest: Path, *, timeout: float = 300.0, attempts: int = 3, backoff: float = 2.0,
          partial: bool = True, sleep=time.sleep) -> CloneResult:
    """Clone ``url`` into ``dest`` (which must not exist); never raises for a remote's failure."""
    result = CloneResult()
    deadline = time.monotonic() + timeout
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        shutil.rmtree(dest, ignore_errors=True)
        try:
            _clone_once(url, dest, deadline, partial)
            break
        except CloneError as err:
            result.failure, result.detail = err.failure, err.detail
            result.rate_limited += err.failure == "clone_rate_limited"
            if not err.transient or attempt == attempts or time.monotonic() + backoff ** attempt >= deadline:
                shutil.rmtree(dest, ignore_errors=True)
                return result
            sleep(backoff ** (attempt - 1))
    result.failure, result.detail = None, ""
    result.path = dest
    result.files = _tree(dest, deadline)
    result.commit_sha, result.commit_date = _head(dest, deadline)
    result.bytes_fetched = _objects_size(dest / ".git")
    result.symlinks_removed = remove_escaping_symlinks(dest)
    return result


def _clone_once(url: str, dest: Path, deadline: float, partial: bool) -> None:
    home = dest.parent
    base = ["git", *_SAFE_CONFIG]
    if partial:
        _git([*base, "clone", "--quiet", "--depth", "1", "--filter=blob:none", "--no-checkout", "--no-tags",
              "--single-branch", url, str(dest)], home, deadline)
        _git([*base, "-C", str(dest), "sparse-checkout", "set", "--no-cone", *SCANNED_PATTERNS], home, deadline)
        _git([*base, "-C", str(dest), "checkout", "--quiet"], home, deadline)
    else:
        _git([*base, "clone", "--quiet", "--depth", "1", "--no-tags", "--single-branch", url, str(dest)], home,
             deadline)


def _git(cmd: list[str], home: Path, deadline: float) -> str:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CloneError("clone_timeout", "clone deadline passed", transient=False)
    try:
        out = subprocess.run(cmd, capture_output=True, env=git_env(home), timeout=remaining, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CloneError("clone_timeout", f"git {cmd[len(_SAFE_CONFIG) + 1]} timed out", transient=False) from None
    if out.returncode != 0:
        raise classify(out.stderr.decode("utf-8", "replace"))
    return out.stdout.decode("utf-8", "replace")


def classify(stderr: str) -> CloneError:
    """Map git's error text to a failure reason; the detail keeps no URL (it could carry a credential)."""
    text = stderr.lower()
    detail = " ".join(line for line in stderr.strip().splitlines()[-2:] if "://" not in line)[:200] or "git failed"
    if any(s in text for s in _RATE_LIMITED):
        return CloneError("clone_rate_limited", detail, transient=True)
    if any(s in text for s in _NOT_FOUND):
        return CloneError("clone_404", detail, transient=False)
    return CloneError("clone_timeout", detail, transient=True)  # network errors and 5xx: try again


def _tree(dest: Path, deadline: float) -> list[str]:
    out = _git(["git", *_SAFE_CONFIG, "-C", str(dest), "ls-tree", "-r", "-z", "--name-only", "HEAD"], dest.parent,
               deadline)
    return [p for p in out.split("\0") if p]


def _head(dest: Path, deadline: float) -> tuple[str, str]:
    out = _git(["git", *_SAFE_CONFIG, "-C", str(dest), "log", "-1", "--format=%H%x00%cI"], dest.parent, deadline)
    sha, _, date = out.strip().partition("\0")
    return sha, date


def _objects_size(git_dir: Path) -> int:
    return sum(p.stat().st_size for p in (git_dir / "objects").rglob("*") if p.is_file())


def remove_escaping_symlinks(root: Path) -> int:
    """Delete every symlink whose target resolves outside ``root``; returns how many."""
    root = root.resolve()
    removed = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                target = (path.parent / os.readlink(path)).resolve()
                if target != root and root not in target.parents:
                    path.unlink()
                    removed += 1
    return removed
