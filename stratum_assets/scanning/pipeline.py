"""Clone → scan → classify → stamp → validate, for one repository and for one chunk.

Zero silent drops: every manifest row yields exactly one ping — a scanner's,
or a skeleton ping that records why there is nothing more (clone failure,
timeout, crash) — and every ping is either stored or quarantined with all its
validation errors. The pipeline, never the scanner, decides the status and
stamps the identity (``repo_hash``, ``repo_full_name``, ``selection_stratum``)
from the manifest.
"""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from pydantic import BaseModel, Field

from ..dedup.fingerprint import Fingerprint, NearDupSettings
from ..scanner.engine import empty_ping, is_scannable
from ..scanner.ping import validate_ping
from .clone import ENVIRONMENT_FAILURE, CheckoutLimits, GitAuth, clone, shared_limiter
from .code_fingerprints import checkout_fingerprint
from .scanner_commands import ScannerCommand
from .storage import ping_row

TRANSIENT = {"clone_rate_limited"}
# errno values that say the machine failed (disk full or failing, out of files or memory), not the repository.
ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE, errno.ENFILE, errno.ENOMEM}
)


class EnvironmentFault(Exception):
    """A clone or scan that failed because of the machine or the connection: never a repository's ping."""

    def __init__(self, full_name: str, detail: str):
        super().__init__(f"{full_name}: {detail}")
        self.full_name, self.detail = full_name, detail


class EnvironmentBroken(Exception):
    """A chunk stopped because its environment failed: nothing of it may be stored (the partition fails and
    stays backfillable). ``stopped_early``: the circuit breaker ended it before every repository was tried."""

    def __init__(self, faults: list[EnvironmentFault], tried: int, total: int, stopped_early: bool):
        self.faults, self.tried, self.total, self.stopped_early = faults, tried, total, stopped_early
        how = (
            f"stopped after {len(faults)} environment failures in a row"
            if stopped_early
            else f"{len(faults)} of {total} repositories failed because of the environment"
        )
        super().__init__(
            f"{how} ({tried} of {total} tried); first: {faults[0]}. Nothing was stored: the "
            "partition stays backfillable (`stratum-assets backfill` once the server or disk is back)"
        )


class ScanKnobs(BaseModel, frozen=True):
    """The scan's settings a user sets, each written once (its name, default and description): the run config
    of ``scan_partition`` is this model (``ScanConfig`` in assets/scanning.py inherits it), so the launchpad
    shows what is written here, and the plain code reads the same fields."""

    workers: int = Field(default=4, description="repositories of a partition cloned and scanned at a time")
    clone_timeout_s: float = Field(default=300.0, description="seconds one clone attempt may take")
    clone_attempts: int = Field(default=3, description="attempts of a clone that times out or fails transiently")
    partial_clone: bool = Field(
        default=True, description="shallow partial clones (--filter=blob:none): only the blobs the checkout needs"
    )
    progress_every: int = Field(default=25, description="log progress every this many repositories")
    clones_per_minute: float | None = Field(
        default=None, description="cap on clone starts per process; default: the GitHub resource's (none offline)"
    )
    rate_limit_backoff_s: float | None = Field(
        default=None,
        description="first wait after a clone's HTTP 429, doubled per hit, plus jitter; default: the GitHub "
        "resource's (60 s on GitHub, 1 s on the loopback emulator)",
    )
    # Caps of one checkout (clone.CheckoutLimits); a repository over a cap is scanned as far as it was written and
    # stored as partial / over_limit, with the caps in failure_detail.
    max_checkout_files: int = Field(default=20_000, description="files one checkout may write")
    max_checkout_mb: int = Field(default=200, description="MB one checkout may write")
    max_file_mb: int = Field(default=20, description="MB one file of a checkout may have")
    # Code fingerprints beside each ping (dedup/): one value per manifest version, since signatures made with other
    # settings are never compared (their signature_key differs).
    near_dup_shingle_size: int = Field(default=10, description="tokens per shingle of the code fingerprints")
    near_dup_num_perm: int = Field(default=128, description="MinHash permutations of the code fingerprints")

    def near_dup(self) -> NearDupSettings:
        """The code fingerprints' settings: the dedup's defaults with the two knobs."""
        return NearDupSettings(shingle_size=self.near_dup_shingle_size, num_perm=self.near_dup_num_perm)

    def checkout_limits(self) -> CheckoutLimits:
        return CheckoutLimits(
            max_files=self.max_checkout_files,
            max_bytes=self.max_checkout_mb << 20,
            max_file_bytes=self.max_file_mb << 20,
        )


@dataclass
class ScanSettings:
    """What a chunk's scan runs with: the user's knobs and what the wiring adds to them (the scanner's deadline,
    the git host's token, the clone rates resolved against the GitHub resource's, the retries' pacing)."""

    knobs: ScanKnobs = field(default_factory=ScanKnobs)
    scan_timeout: float = 300.0
    retry_wait: float = 1.0  # first wait before a clone's retry (network, timeout, environment), doubled per attempt
    # Consecutive environment failures (in completion order) after which a chunk stops trying: a server that is
    # gone or a full disk would fail every remaining repository the same way.
    environment_breaker: int = 5
    git_auth: GitAuth | None = field(default=None, repr=False)  # a token for the git host; never printed
    clones_per_minute: float = 0.0  # cap on clone starts of the whole process (0: none)
    rate_limit_backoff: float = 60.0  # first wait after a clone's HTTP 429, doubled per hit, plus jitter
    # The code fingerprints' settings, from the knobs: made (and so checked) once, before a repository is cloned.
    near_dup: NearDupSettings = field(init=False)

    def __post_init__(self):
        self.near_dup = self.knobs.near_dup()


@dataclass
class RepoResult:
    row: dict  # the manifest row
    ping: dict
    errors: list[str]  # validation errors: non-empty means quarantine
    provenance: dict
    rate_limited: int = 0
    code: Fingerprint | None = None  # of the checkout's Python files; None when nothing was cloned

    @property
    def stored(self) -> bool:
        return not self.errors


@dataclass
class ChunkResult:
    results: list[RepoResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def stored(self) -> list[RepoResult]:
        return [r for r in self.results if r.stored]

    @property
    def quarantined(self) -> list[RepoResult]:
        return [r for r in self.results if not r.stored]

    def stats(self) -> dict:
        statuses = Counter(r.ping.get("scan_status") for r in self.results)
        reasons = Counter(r.ping.get("failure_reason") for r in self.results if r.ping.get("failure_reason"))
        durations = [r.ping.get("scan_duration_ms") or 0 for r in self.stored]
        return {
            "repos": len(self.results),
            "stored": len(self.stored),
            "quarantined": len(self.quarantined),
            "by_status": dict(sorted(statuses.items())),
            "failure_reasons": dict(sorted(reasons.items())),
            "rate_limit_hits": sum(r.rate_limited for r in self.results),
            "bytes_fetched": sum(r.provenance.get("bytes_fetched") or 0 for r in self.results),
            "duration_s": round(self.seconds, 2),
            "repos_per_min": round(60 * len(self.results) / self.seconds, 1) if self.seconds else 0.0,
            "avg_scan_duration_ms": round(sum(durations) / len(durations), 1) if durations else 0.0,
        }

    @property
    def all_transient_failures(self) -> bool:
        return bool(self.results) and all(r.ping.get("failure_reason") in TRANSIENT for r in self.results)


def _provenance_before_clone(row: dict, scanner: ScannerCommand, failure_detail: str | None = None) -> dict:
    """How a repository's ping was made, as far as it is known before its clone: the fields the clone fills later
    (commit, attempts, bytes) start empty; a crash before the clone keeps them so."""
    return {
        "chunk_id": row["chunk_id"],
        "commit_sha": None,
        "commit_date": None,
        "clone_attempts": 0,
        "bytes_fetched": 0,
        "scanner": scanner.name,
        "failure_detail": failure_detail,
    }


def scan_repo(row: dict, clone_url: str, scanner: ScannerCommand, settings: ScanSettings, work_dir: Path) -> RepoResult:
    full_name = row["full_name"]
    provenance = _provenance_before_clone(row, scanner)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    code = None
    with tempfile.TemporaryDirectory(prefix="repo-", dir=work_dir) as tmp:  # removed even on a crash
        checkout = Path(tmp) / "checkout"
        knobs = settings.knobs
        cloned = clone(
            clone_url,
            checkout,
            timeout=knobs.clone_timeout_s,
            attempts=knobs.clone_attempts,
            retry_wait=settings.retry_wait,
            partial=knobs.partial_clone,
            auth=settings.git_auth,
            limiter=shared_limiter(settings.clones_per_minute),
            rate_limit_backoff=settings.rate_limit_backoff,
            limits=knobs.checkout_limits(),
        )
        provenance.update(
            commit_sha=cloned.commit_sha,
            commit_date=cloned.commit_date,
            clone_attempts=cloned.attempts,
            bytes_fetched=cloned.bytes_fetched,
        )
        if cloned.failure == ENVIRONMENT_FAILURE:
            raise EnvironmentFault(full_name, cloned.detail)
        if cloned.failure:
            provenance["failure_detail"] = cloned.detail
            ping = empty_ping(full_name, status="failed", failure_reason=cloned.failure)
        else:
            ping = _scan(checkout, full_name, cloned.files, scanner, settings, provenance)
            code = checkout_fingerprint(checkout, cloned.files, settings.near_dup)
            if cloned.over_limit and ping.get("scan_status") != "failed":
                # Not scanned whole: whatever the scan of the written part found, the repository is partial.
                ping.update(scan_status="partial", failure_reason="over_limit")
                provenance["failure_detail"] = "; ".join(
                    filter(None, [cloned.over_limit, provenance["failure_detail"]])
                )
    ping.update(repo_hash=row["repo_hash"], repo_full_name=full_name, selection_stratum=row["selection_stratum"])
    return RepoResult(row, ping, validate_ping(ping, row["repo_hash"]), provenance, cloned.rate_limited, code)


def _scan(
    checkout: Path, full_name: str, files: list[str], scanner: ScannerCommand, settings: ScanSettings, provenance: dict
) -> dict:
    has_python = any(f.endswith(".py") for f in files)
    outcome = scanner.scan(checkout, full_name, files, settings.scan_timeout)
    if outcome.failure == ENVIRONMENT_FAILURE:  # a scanner killed from outside: once more, on a fresh process
        outcome = scanner.scan(checkout, full_name, files, settings.scan_timeout)
        if outcome.failure == ENVIRONMENT_FAILURE:
            raise EnvironmentFault(full_name, outcome.detail)
    if outcome.failure:
        provenance["failure_detail"] = outcome.detail
        status = "partial" if outcome.failure == "parse_timeout" else "failed"
        return empty_ping(
            full_name, status=status, failure_reason=outcome.failure, files_total=sum(map(is_scannable, files))
        )
    ping = cast(dict, outcome.ping)  # no failure: the scanner answered its ping
    if not has_python:
        ping.update(scan_status="empty", failure_reason="no_python")
    elif not ping.get("agent_count"):
        ping.update(scan_status="empty", failure_reason="no_agents")
    elif ping.get("failure_reason") not in (None, "parse_timeout"):
        ping["failure_reason"] = None  # the scanner never classifies; the pipeline does
    return ping


def scan_chunk(
    rows: list[dict],
    clone_url_for: Callable[[str], str],
    scanner: ScannerCommand,
    settings: ScanSettings,
    work_dir: Path,
    progress: Callable[[int, int, dict], None] | None = None,
) -> ChunkResult:
    work_dir = Path(work_dir).resolve()  # scanners run in other working directories
    shutil.rmtree(work_dir, ignore_errors=True)  # a fresh folder: nothing of an earlier attempt
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = ChunkResult()
    faults: list[EnvironmentFault] = []
    in_a_row = 0
    # A clone that keeps timing out is the repository's clone_timeout only while the server answers other clones
    # of the chunk; when none got an answer, the server is hung or unreachable: the environment.
    answered = False
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.knobs.workers), thread_name_prefix="scan") as pool:
            futures = {
                pool.submit(scan_repo, row, clone_url_for(row["full_name"]), scanner, settings, work_dir): row
                for row in rows
            }
            try:
                for future in as_completed(futures):
                    try:
                        repo = _result_or_crash(future, futures[future], scanner)
                        result.results.append(repo)
                        in_a_row = 0
                        answered = answered or repo.ping.get("failure_reason") != "clone_timeout"
                        if not answered and len(result.results) >= max(1, settings.environment_breaker):
                            raise EnvironmentBroken(
                                _unanswered(result), len(result.results) + len(faults), len(rows), True
                            )
                    except EnvironmentFault as fault:
                        faults.append(fault)
                        in_a_row += 1
                        if in_a_row >= max(1, settings.environment_breaker):
                            raise EnvironmentBroken(
                                faults, len(result.results) + len(faults), len(rows), True
                            ) from None
                    done = len(result.results) + len(faults)
                    if progress and (done % max(1, settings.knobs.progress_every) == 0 or done == len(rows)):
                        progress(done, len(rows), Counter(r.ping["scan_status"] for r in result.results))
            except BaseException:  # the breaker, or interrupted (the build is stopping): nothing more starts
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        if faults:
            raise EnvironmentBroken(faults, len(rows), len(rows), False)
        if result.results and not answered:
            raise EnvironmentBroken(_unanswered(result), len(rows), len(rows), False)
    finally:
        scanner.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    result.results.sort(key=lambda r: r.row["repo_hash"])
    result.seconds = time.monotonic() - started
    return result


def _unanswered(result: ChunkResult) -> list[EnvironmentFault]:
    return [
        EnvironmentFault(
            r.row["full_name"],
            "clone timed out and no clone of this partition got an answer "
            f"(the server is hung or unreachable): {r.provenance.get('failure_detail')}",
        )
        for r in result.results
    ]


def _result_or_crash(future, row: dict, scanner: ScannerCommand) -> RepoResult:
    """An unexpected error on one repository becomes that repository's failed ping, not a lost chunk; a failure
    of the machine (an :class:`EnvironmentFault`, an OSError such as a full disk) is raised, never stored."""
    try:
        return future.result()
    except EnvironmentFault:
        raise
    except OSError as exc:
        if exc.errno in ENVIRONMENT_ERRNOS:
            raise EnvironmentFault(row["full_name"], f"{type(exc).__name__}: {exc.strerror or exc}") from exc
        return _crash_result(exc, row, scanner)
    except Exception as exc:
        return _crash_result(exc, row, scanner)


def _crash_result(exc: Exception, row: dict, scanner: ScannerCommand) -> RepoResult:
    ping = empty_ping(row["full_name"], status="failed", failure_reason="parse_crash")
    ping.update(repo_hash=row["repo_hash"], repo_full_name=row["full_name"], selection_stratum=row["selection_stratum"])
    provenance = _provenance_before_clone(row, scanner, failure_detail=f"internal: {type(exc).__name__}")
    return RepoResult(row, ping, validate_ping(ping, row["repo_hash"]), provenance)


def stored_rows(result: ChunkResult) -> list[dict]:
    return [ping_row(r.ping, r.provenance) for r in result.stored]


def fingerprint_rows(result: ChunkResult, settings: NearDupSettings) -> list[dict]:
    """One row per stored ping whose checkout had enough Python code to fingerprint."""
    key = settings.signature_key
    return [
        {
            "repo_hash": r.row["repo_hash"],
            "chunk_id": r.row["chunk_id"],
            "content_hash": r.code.content_hash,
            "minhash": r.code.signature,
            "signature_key": key,
            "code_tokens": r.code.tokens,
            "truncated": r.code.truncated,
            "file_digests": r.code.files,
            "part_digests": r.code.parts,
        }
        for r in result.stored
        if r.code is not None and r.code.signature is not None
    ]


def quarantine_rows(result: ChunkResult) -> list[dict]:
    return [
        {
            "repo_hash": r.row["repo_hash"],
            "repo_full_name": r.row["full_name"],
            "chunk_id": r.row["chunk_id"],
            "scan_status": r.ping.get("scan_status"),
            "failure_reason": r.ping.get("failure_reason"),
            "errors": r.errors,
            "ping_json": json.dumps(r.ping, sort_keys=True, default=str),
        }
        for r in result.quarantined
    ]
