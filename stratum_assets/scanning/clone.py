"""Clone one repository safely and cheaply.

Safety: git never prompts (``GIT_TERMINAL_PROMPT=0``), never asks a credential
helper, runs no hooks, never smudges LFS, ignores the machine's and user's git
configuration, and nothing from the clone is executed. Its environment is
minimal (:func:`git_env`): nothing of the pipeline's environment but ``PATH``.
Only ``http(s)://`` and ``file://`` URLs are cloned, always after ``--``.
Symlinks that point outside the checkout are removed before any scanner sees it.

Authentication (:class:`GitAuth`): with a token for the git host, git gets it
through its environment configuration only — ``GIT_CONFIG_COUNT`` with
``http.<git host>/.extraheader`` = ``Authorization: Basic …`` — never in a
URL, argv or a stored config file, and only for URLs on that host. git sends
configured headers to wherever a redirect leads for the rest of a clone, so an
authenticated clone follows no redirect; a repository that redirects (renamed
or moved) is cloned again anonymously, which follows it without the token.

Cost: a shallow (``--depth 1``) partial clone (``--filter=blob:none``) fetches
the commit and trees only; a sparse checkout then fetches just the blobs a
scanner reads (Python, YAML/TOML, requirements and lockfiles, Dockerfiles, CI
configuration, ``.env.example``). The full tree listing still counts every
file for ``files_total``.

Size: a stranger's repository cannot fill the disk (:class:`CheckoutLimits`). Before
the partial clone writes a file, the blobs the sparse checkout wants are fetched
in one batch (as git's own lazy fetch would) and their sizes read from the
object store; a blob over ``max_file_bytes``, and every blob past
``max_files`` files or ``max_bytes`` in all (tree order), is not written — the
rest is checked out by literal pathspec. A full (non-partial) clone is trimmed
to the same caps after its checkout. Either way ``CloneResult.over_limit``
names the caps and what was left out; the pipeline scans what was written and
marks the ping ``partial`` / ``over_limit``. A tiny compressed blob that expands
to gigabytes is thus refused by its size before it is ever written.

Failures are classified by what git said: ``clone_refused`` (a URL git cannot
use, or a tree git refuses to check out — ``.git/hooks/…``, other invalid
paths, objects fsck rejects: never retried, the repository will not change its
mind), ``clone_404`` (missing, deleted or private — GitHub answers 401 for
those), ``clone_blocked`` (GitHub blocked it: 451, or a DMCA takedown; never
retried), ``clone_rate_limited`` (HTTP 429), ``clone_timeout`` (the remote
did not deliver in time, attempt after attempt) and ``clone_unclassified``
(git said something no rule recognises: stored, but the row counts as
unsettled and is scanned again). A failure of the environment (the server
unreachable or answering 5xx, the local disk full, see ``ENVIRONMENT_FAILURE``)
is no reason at all: the pipeline fails the partition instead of storing a
ping. Network errors are retried with exponential backoff (``retry_wait``,
doubled per attempt), and so is a timeout, as the dataset strategy has it: ``attempts`` attempts of
``timeout`` each, then ``clone_timeout``. A rate limit is retried after
minutes, not seconds (``rate_limit_backoff`` doubling per hit, plus up to 50 %
jitter), and pauses every clone of the process through the shared
:class:`CloneLimiter`, which also caps clone starts per minute. The
``timeout`` bounds one attempt — git, the backoff before the next and its own
rate-limit waits — but not the time spent waiting for the shared limiter
(another worker's pause or the cap).
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import logging
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..github.client import origin
from .scanner_commands import ENVIRONMENT_FAILURE, child_env

log = logging.getLogger(__name__)

SCANNED_PATTERNS = (
    "*.py",
    "*.yaml",
    "*.yml",
    "*.toml",
    "*.cfg",
    "requirements*.txt",
    "*.lock",
    "Dockerfile",
    "Dockerfile.*",
    ".gitlab-ci.yml",
    ".env.example",
    ".env.sample",
    ".env.template",
    ".gitignore",
)

# What git says when it will not clone or check out a repository, whatever is tried again.
_REFUSED = re.compile(
    r"invalid path '|url using bad/illegal format|malformed input|is not a git command|unable to find remote helper"
    r"|transport '[^']*' not allowed|fsck error|hasdotgit|bad object|invalid object|is beyond a symbolic link"
    r"|file name too long|protocol '[^']*' is not supported"
)
_RATE_LIMITED = ("returned error: 429", "rate limit", "http 429")
# GitHub blocks a repository for legal reasons (451: blocked in a country) or a DMCA takedown (403 with the notice):
# a fact about the repository that no retry changes.
_BLOCKED = re.compile(
    r"returned error: 451\b|dmca takedown|repository access blocked"
    r"|access to this repository has been disabled"
)
_REDIRECTED = re.compile(r"returned error: 30[1278]\b")
_NOT_FOUND = (
    "not found",
    "could not read username",
    "authentication failed",
    "terminal prompts disabled",
    "returned error: 401",
    "returned error: 403",
    "returned error: 404",
    "does not exist",
)
_SCHEMES = ("http", "https", "file")
_URL = re.compile(r"'?[a-z][a-z0-9+.-]*://[^\s']*'?", re.IGNORECASE)
# What git says when the machine or the connection failed, never the repository (ENVIRONMENT_FAILURE): the server
# gone or unreachable (refused, reset, DNS, TLS, a transfer cut short), a 5xx, the local disk full or failing, the
# process out of files or memory. Retried with backoff; if it persists the partition fails (it stays backfillable).
_ENVIRONMENT = re.compile(
    r"could not resolve (host|proxy)|failed to connect|couldn't connect to server|connection refused"
    r"|connection reset|connection timed out|network is unreachable|no route to host|empty reply from server"
    r"|recv failure|send failure|ssl connect error|ssl_|openssl|gnutls|tls handshake|certificate verif"
    r"|server certificate|returned error: 5\d\d|http 5\d\d|early eof"
    r"|unexpected disconnect|the remote end hung up|transfer closed|no space left on device|out of diskspace"
    r"|disk quota exceeded|input/output error|read-only file system|too many open files|cannot allocate memory"
    r"|out of memory"
)


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
    over_limit: str = ""  # non-empty: the checkout was capped (CheckoutLimits) and this says how


@dataclass(frozen=True)
class CheckoutLimits:
    """What one checkout may write: files, bytes in all, bytes per file (0: no cap)."""

    max_files: int = 20_000
    max_bytes: int = 200 << 20
    max_file_bytes: int = 20 << 20  # the scanner reads no file above 20 MB (MAX_DEPENDENCY_BYTES)

    def describe(self) -> str:
        return f"caps {self.max_files} files, {self.max_bytes >> 20} MB in all, {self.max_file_bytes >> 20} MB per file"

    def admit(self, sizes: list[int]) -> list[bool]:
        """Which of these files (sizes in order) stay within the caps."""
        kept, total, out = 0, 0, []
        for size in sizes:
            ok = (
                (not self.max_file_bytes or size <= self.max_file_bytes)
                and (not self.max_files or kept < self.max_files)
                and (not self.max_bytes or total + size <= self.max_bytes)
            )
            if ok:
                kept, total = kept + 1, total + size
            out.append(ok)
        return out


class CloneError(Exception):
    def __init__(self, failure: str, detail: str, transient: bool):
        super().__init__(detail)
        self.failure, self.detail, self.transient = failure, detail, transient


@dataclass(frozen=True)
class GitAuth:
    """A token for one git host (``https://github.com``, or the emulator's URL); never shown by ``repr``."""

    base_url: str
    token: str = field(repr=False)

    def __post_init__(self):
        base = self.base_url.rstrip("/")
        parts = urlsplit(base)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() for c in base)
            or parts.query
            or parts.fragment
            or parts.username
            or parts.password
        ):
            raise ValueError(f"not a git host base URL: {base!r}")
        object.__setattr__(self, "base_url", base)

    def covers(self, url: str) -> bool:
        """Whether ``url`` is on this git host: same scheme, host and port, under the base path."""
        return origin(url) == origin(self.base_url) and (urlsplit(url).path.rstrip("/") + "/").startswith(
            urlsplit(self.base_url).path + "/"
        )

    def env(self) -> dict[str, str]:
        """git's environment configuration: the header for this host only, and no redirect to follow."""
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": f"http.{self.base_url}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            "GIT_CONFIG_KEY_1": "http.followRedirects",
            "GIT_CONFIG_VALUE_1": "false",
        }


def git_env(home: Path, auth: GitAuth | None = None) -> dict[str, str]:
    """git's whole environment: no prompt, no askpass, no system or global config, English messages."""
    # auth.env() holds GIT_CONFIG_* variables only: none of them can bind child_env's ``tmp``
    return child_env(
        Path(home),
        LANG="C",
        LC_ALL="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_LFS_SKIP_SMUDGE="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        **(auth.env() if auth else {}),  # type: ignore[arg-type]  # GIT_CONFIG_* only: never binds ``tmp``
    )


_SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "credential.helper=",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "advice.detachedHead=false",
    "-c",
    "filter.lfs.smudge=",
    "-c",
    "filter.lfs.process=",
    "-c",
    "filter.lfs.required=false",
)


class CloneLimiter:
    """Clone starts of a whole process: at most ``per_minute`` a minute (0: no cap), and a pause every
    clone takes after one of them was rate limited. Thread-safe; :func:`shared_limiter` is the process's."""

    def __init__(
        self,
        per_minute: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next: float | None = None
        self._hold_until = float("-inf")

    def acquire(self) -> float:
        """Block until a clone may start; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                start = self._hold_until
                if self.per_minute > 0 and self._next is not None:
                    start = max(start, self._next)
                if start <= now:
                    self._next = now + 60.0 / self.per_minute if self.per_minute > 0 else None
                    return waited
            self._sleep(start - now)
            waited += start - now

    def hold(self, seconds: float) -> None:
        """No clone of the process starts for ``seconds`` (a longer pause already set is kept)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)


_SHARED = CloneLimiter()


def shared_limiter(per_minute: float | None = None) -> CloneLimiter:
    """The one limiter of this process, with its cap set to ``per_minute`` when given."""
    if per_minute is not None:
        with _SHARED._lock:
            _SHARED.per_minute = per_minute
    return _SHARED


def clone(
    url: str,
    dest: Path,
    *,
    timeout: float = 300.0,
    attempts: int = 3,
    retry_wait: float = 1.0,
    partial: bool = True,
    sleep=time.sleep,
    auth: GitAuth | None = None,
    limiter: CloneLimiter | None = None,
    rate_limit_backoff: float = 60.0,
    rng: Callable[[], float] = random.random,
    limits: CheckoutLimits | None = None,
) -> CloneResult:
    """Clone ``url`` into ``dest`` (which must not exist); never raises for a remote's failure.

    ``auth`` is used only if ``url`` is on its host. ``limiter`` (the process's :func:`shared_limiter` in
    the pipeline) paces clone starts and spreads a rate limit's pause to every clone of the process.
    ``limits`` bounds what the checkout writes (default :class:`CheckoutLimits`). ``retry_wait`` is the first
    wait before a transient failure's retry (doubled per attempt).
    """
    limits = limits or CheckoutLimits()
    fetched = _Fetched()
    result = CloneResult()
    deadline = time.monotonic() + timeout
    refusal = url_refusal(url)
    if refusal:
        result.failure, result.detail, result.attempts = "clone_refused", refusal, 1
        return result
    if auth is not None and not auth.covers(url):
        auth = None
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        if result.failure == "clone_timeout":  # the strategy's retry: each attempt has its own `timeout`
            deadline = time.monotonic() + timeout
        if limiter is not None:
            deadline += limiter.acquire()  # the process's pace, not this repository's time
        shutil.rmtree(dest, ignore_errors=True)
        try:
            fetched = _clone_once(url, dest, deadline, partial, auth, limits)
            break
        except CloneError as err:
            result.failure, result.detail = err.failure, err.detail
            if err.failure == "clone_rate_limited":
                result.rate_limited += 1
                wait = rate_limit_backoff * 2 ** (result.rate_limited - 1) * (1 + 0.5 * rng())
                too_late = time.monotonic() + wait >= deadline
            else:
                wait = retry_wait * 2 ** (attempt - 1)
                # After a timeout the next attempt gets a deadline of its own; else it must fit in this one.
                too_late = err.failure != "clone_timeout" and time.monotonic() + 2 * wait >= deadline
            if not err.transient or attempt == attempts or too_late:
                shutil.rmtree(dest, ignore_errors=True)
                return result
            if err.failure == "clone_rate_limited":
                log.warning(
                    "clone of %s rate limited (HTTP 429): every clone of this process waits %.0fs",
                    urlsplit(url).path,
                    wait,
                )
                if limiter is not None:
                    limiter.hold(wait)
            sleep(wait)
    result.failure, result.detail = None, ""
    result.path = dest
    if fetched.head is not None:
        result.files = fetched.files
        result.commit_sha, result.commit_date = fetched.head
    result.bytes_fetched = _objects_size(dest / ".git")
    result.symlinks_removed = remove_escaping_symlinks(dest)
    skipped = [*fetched.skipped, *trim_checkout(dest, limits)]
    if skipped:
        result.over_limit = (
            f"checkout capped: {len(skipped)} files ({sum(skipped) >> 20} MB) not written, " + limits.describe()
        )
    return result


def url_refusal(url: str) -> str | None:
    """Why git must not be handed ``url`` (None when it may): only http(s) and file URLs, nothing option-like."""
    if not url or url.startswith("-") or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "not a URL git may clone"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a port
    except ValueError:
        return "not a URL git may clone: bad host or port"
    if parts.scheme.lower() not in _SCHEMES:
        return f"not a URL git may clone: scheme {parts.scheme or 'missing'!r}"
    if parts.scheme.lower() != "file" and not parts.hostname:
        return "not a URL git may clone: no host"
    return None


@dataclass
class _Fetched:
    """What one clone found out on its way, so nothing asks git twice (each question is a process)."""

    skipped: list[int] = field(default_factory=list)  # sizes of the files the checkout limits left out
    files: list[str] = field(default_factory=list)  # every path of HEAD's tree
    head: tuple[str, str] | None = None  # (commit sha, commit date); None: nobody pushed a commit


def _clone_once(
    url: str, dest: Path, deadline: float, partial: bool, auth: GitAuth | None, limits: CheckoutLimits
) -> _Fetched:
    try:
        return _fetch(url, dest, deadline, partial, auth, limits)
    except CloneError as err:
        if err.failure != "clone_redirected":
            raise
        # The repository moved (a renamed repository answers with a redirect): follow it, without the token.
        shutil.rmtree(dest, ignore_errors=True)
        return _fetch(url, dest, deadline, partial, None, limits)


def _fetch(
    url: str, dest: Path, deadline: float, partial: bool, auth: GitAuth | None, limits: CheckoutLimits
) -> _Fetched:
    """Clone and check out; returns the head commit, the tree's paths and the sizes left out by ``limits``."""
    env = git_env(dest.parent, auth)
    base = ["git", *_SAFE_CONFIG]
    try:
        if partial:
            _git(
                [
                    *base,
                    "clone",
                    "--quiet",
                    "--depth",
                    "1",
                    "--filter=blob:none",
                    "--no-checkout",
                    "--no-tags",
                    "--single-branch",
                    "--",
                    url,
                    str(dest),
                ],
                env,
                deadline,
            )
            head = _head(dest, deadline)
            if head is None:
                return _Fetched()  # a repository without a commit: nothing to check out (it is empty, not broken)
            _git([*base, "-C", str(dest), "sparse-checkout", "set", "--no-cone", *SCANNED_PATTERNS], env, deadline)
            skipped, files = _bounded_checkout(dest, env, deadline, limits)
            return _Fetched(skipped, files, head)
        _git(
            [*base, "clone", "--quiet", "--depth", "1", "--no-tags", "--single-branch", "--", url, str(dest)],
            env,
            deadline,
        )
        head = _head(dest, deadline)
        return _Fetched([], _tree(dest, deadline) if head else [], head)
    except CloneError as err:
        if err.failure == "clone_redirected" and auth is None:  # git follows redirects itself when anonymous
            raise CloneError("clone_404", err.detail, transient=False) from None
        raise


def _sparse(path: str) -> bool:
    """Whether the sparse checkout (no-cone ``SCANNED_PATTERNS``) wants ``path``: a pattern without a slash
    matches any component, and a matching folder takes all it holds — a superset is safe here."""
    return any(fnmatch.fnmatchcase(part, pattern) for part in path.split("/") for pattern in SCANNED_PATTERNS)


def _bounded_checkout(
    dest: Path, env: dict[str, str], deadline: float, limits: CheckoutLimits
) -> tuple[list[int], list[str]]:
    """Check out the sparse set, writing no blob the caps refuse; returns the sizes left out, and every path
    of HEAD's tree (the listing it reads anyway)."""
    base = ["git", *_SAFE_CONFIG, "-C", str(dest)]
    wanted: list[tuple[str, str]] = []  # (blob id, path) in tree order
    files: list[str] = []
    for record in _git([*base, "ls-tree", "-r", "-z", "HEAD"], env, deadline).split("\0"):
        meta, _, path = record.partition("\t")
        if path:
            files.append(path)
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and _sparse(path):
            wanted.append((parts[2], path))
    ids = sorted({oid for oid, _ in wanted})
    if ids:
        missing = {
            line[1:]
            for line in _git([*base, "rev-list", "--objects", "--missing=print", "HEAD"], env, deadline).splitlines()
            if line.startswith("?")
        }
        fetch = [oid for oid in ids if oid in missing]
        if fetch:  # one batch, as git's own lazy fetch does it — objects only, no file is written
            _git(
                [
                    *base,
                    "-c",
                    "fetch.negotiationAlgorithm=noop",
                    "fetch",
                    "origin",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--recurse-submodules=no",
                    "--filter=blob:none",
                    "--stdin",
                ],
                env,
                deadline,
                stdin="\n".join(fetch) + "\n",
            )
    sizes: dict[str, int] = {}
    if ids:
        for line in _git(
            [*base, "cat-file", "--batch-check=%(objectname) %(objectsize)"], env, deadline, stdin="\n".join(ids) + "\n"
        ).splitlines():
            oid, _, size = line.partition(" ")
            sizes[oid] = int(size) if size.isdigit() else 0
    admitted = limits.admit([sizes.get(oid, 0) for oid, _ in wanted])
    if all(admitted):
        _git([*base, "checkout", "--quiet"], env, deadline)
        return [], files
    keep = [path for (_, path), ok in zip(wanted, admitted, strict=True) if ok]
    if keep:
        _git(
            [*base, "checkout", "--quiet", "HEAD", "--pathspec-from-file=-", "--pathspec-file-nul"],
            {**env, "GIT_LITERAL_PATHSPECS": "1"},
            deadline,
            stdin="\0".join(keep),
        )
    return [sizes.get(oid, 0) for (oid, _), ok in zip(wanted, admitted, strict=True) if not ok], files


def trim_checkout(root: Path, limits: CheckoutLimits) -> list[int]:
    """Delete the checked-out files (not .git) past ``limits``, in sorted walk order; returns their sizes."""
    files: list[tuple[Path, int]] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                files.append((path, path.lstat().st_size))
    removed = []
    for (path, size), ok in zip(files, limits.admit([size for _, size in files]), strict=True):
        if not ok:
            path.unlink(missing_ok=True)
            removed.append(size)
    return removed


def _git(cmd: list[str], env: dict[str, str], deadline: float, stdin: str | None = None) -> str:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CloneError("clone_timeout", "clone deadline passed", transient=True)
    try:
        out = subprocess.run(
            cmd,
            capture_output=True,
            env=env,
            timeout=remaining,
            stdin=subprocess.DEVNULL if stdin is None else None,  # None: run() pipes the input
            input=None if stdin is None else stdin.encode(),
        )
    except subprocess.TimeoutExpired:
        raise CloneError("clone_timeout", f"git {cmd[len(_SAFE_CONFIG) + 1]} timed out", transient=True) from None
    if out.returncode != 0:
        raise classify(out.stderr.decode("utf-8", "replace"))
    return out.stdout.decode("utf-8", "replace")


def classify(stderr: str) -> CloneError:
    """Map git's error text to a failure reason; the detail keeps no URL (it could carry a credential).

    A refusal is checked first: git quotes the refused path, and a hostile path may spell anything.
    """
    text = stderr.lower()
    # Every URL goes, whole (it could carry a credential); what git said around it stays.
    lines = [_URL.sub("<url>", line) for line in stderr.strip().splitlines()]
    said = [line for line in lines if line.lower().startswith(("error:", "fatal:", "remote:"))]
    detail = " ".join((said or lines)[-2:])[:200] or "git failed"
    if _REFUSED.search(text):
        return CloneError("clone_refused", detail, transient=False)
    if _BLOCKED.search(text):
        why = (
            "DMCA takedown"
            if "dmca" in text
            else "HTTP 451, unavailable for legal reasons"
            if "451" in text
            else "access disabled"
        )
        return CloneError("clone_blocked", f"blocked by GitHub ({why}): {detail}"[:200], transient=False)
    if any(s in text for s in _RATE_LIMITED):
        return CloneError("clone_rate_limited", detail, transient=True)
    if _REDIRECTED.search(text):
        return CloneError("clone_redirected", detail, transient=False)
    if _ENVIRONMENT.search(text):
        return CloneError(ENVIRONMENT_FAILURE, detail, transient=True)
    if any(s in text for s in _NOT_FOUND):
        return CloneError("clone_404", detail, transient=False)
    # Nothing recognised: tried again, then stored as what it is, a failure nobody could judge (domain/reasons.py).
    return CloneError("clone_unclassified", detail, transient=True)


def _tree(dest: Path, deadline: float) -> list[str]:
    out = _git(
        ["git", *_SAFE_CONFIG, "-C", str(dest), "ls-tree", "-r", "-z", "--name-only", "HEAD"],
        git_env(dest.parent),
        deadline,
    )
    return [p for p in out.split("\0") if p]


def _head(dest: Path, deadline: float) -> tuple[str, str] | None:
    """HEAD's commit and its date; None when the clone has no commit (a repository nobody pushed to)."""
    try:
        out = subprocess.run(
            ["git", *_SAFE_CONFIG, "-C", str(dest), "log", "-1", "--format=%H%x00%cI", "HEAD"],
            capture_output=True,
            env=git_env(dest.parent),
            stdin=subprocess.DEVNULL,
            timeout=max(1.0, deadline - time.monotonic()),
        )
    except subprocess.TimeoutExpired:
        raise CloneError("clone_timeout", "git log timed out", transient=True) from None
    sha, _, date = out.stdout.decode("utf-8", "replace").strip().partition("\0")
    return (sha, date) if out.returncode == 0 and sha else None


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
                try:
                    target = (path.parent / os.readlink(path)).resolve()
                except (RuntimeError, OSError):  # a symlink loop: it points nowhere, so it goes too
                    target = None
                if target is None or (target != root and root not in target.parents):
                    path.unlink()
                    removed += 1
    return removed
