"""The chunk pipeline (clone → scan → classify → stamp → validate) on real local git repositories.

Repositories are real ``git`` repositories created in a temporary folder and cloned through the real
:func:`~stratum_assets.scanning.clone.clone` over ``file://``; rate limits and missing repositories come from the
loopback GitHub. The scanner — the pipeline's collaborator — is a scripted stand-in that implements the
:class:`~stratum_assets.scanning.scanner_commands.ScannerCommand` interface, answers with real reference pings and
records what the pipeline handed it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanning.clone import clone
from stratum_assets.scanning.pipeline import (
    ChunkResult,
    ScanKnobs,
    ScanSettings,
    quarantine_rows,
    scan_chunk,
    scan_repo,
    stored_rows,
)
from stratum_assets.scanning.scanner_commands import ScannerCommand, ScanOutcome
from stratum_assets_tests.support.manifest_rows import manifest_row
from stratum_sandbox.limits import Fault

from .conftest import fixture_json

CHUNK = "v1-c0007"
COMMIT_DATE = "2024-03-01T12:00:00+00:00"
# Five files, three of which the scanner reads (two Python sources and a CrewAI agents config).
CREW_FILES = {
    "crew/agents.py": "from crewai import Agent\n\nresearcher = Agent(role='r', goal='g', backstory='b')\n",
    "crew/tools.py": "def search(query):\n    return query\n",
    "config/agents.yaml": "researcher:\n  role: r\n",
    "README.md": "# crew\n",
    "docs/guide.txt": "how to run\n",
}
DOCS_FILES = {"README.md": "# docs only\n", "config/settings.yaml": "debug: true\n", "notes.txt": "nothing\n"}
SPARSE = ["config/agents.yaml", "crew/agents.py", "crew/tools.py"]  # what a partial clone checks out


def _git(cwd: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": COMMIT_DATE,
        "GIT_COMMITTER_DATE": COMMIT_DATE,
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _make_repo(root: Path, files: dict[str, str]) -> tuple[str, str]:
    """A one-commit git repository; returns its file:// URL and the commit sha."""
    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    with open(root / ".git" / "config", "a") as config:  # serve partial clones (--filter=blob:none)
        config.write("[uploadpack]\n\tallowFilter = true\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    return root.as_uri(), (root / ".git" / "refs" / "heads" / "main").read_text().strip()


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    base = tmp_path_factory.mktemp("sources")
    return {"crew": _make_repo(base / "crew", CREW_FILES), "docs": _make_repo(base / "docs", DOCS_FILES)}


def _reference(name: str, **changes) -> dict:
    """A real ping the reference scanner printed, with the identity a scanner must not be trusted with."""
    ping = fixture_json(f"pings/{name}.json")
    ping.update(repo_hash="f" * 16, repo_full_name="someone/else", selection_stratum="not_from_the_manifest")
    ping.update(changes)
    return ping


CREW_PING = "crewAIInc__crewAI-examples"  # 56 agents, success
NO_AGENTS_PING = "sofianhamiti__modular-smolagents"  # 0 agents, success


class ScriptedScanner(ScannerCommand):
    """Answers each repository with a scripted outcome and records every call the pipeline makes."""

    name = "scripted"

    def __init__(self, answers: dict, default=None):
        self.answers, self.default = answers, default
        self.calls: list[dict] = []
        self.closed = 0
        self._lock = threading.Lock()

    def scan(self, path, full_name, files, timeout):
        checkout = Path(path)
        on_disk = sorted(
            p.relative_to(checkout).as_posix()
            for p in checkout.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(checkout).parts
        )
        with self._lock:
            self.calls.append(
                {
                    "path": checkout,
                    "full_name": full_name,
                    "files": files,
                    "timeout": timeout,
                    "on_disk": on_disk,
                    "thread": threading.current_thread().name,
                    "work_dir": sorted(p.name for p in checkout.parent.parent.iterdir()),
                }
            )
        answer = self.answers.get(full_name, self.default)
        if callable(answer):
            answer = answer(checkout)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, ScanOutcome):
            return copy.deepcopy(answer)
        return ScanOutcome(copy.deepcopy(answer))

    def close(self):
        self.closed += 1


def _provenance(**changes) -> dict:
    base = {
        "chunk_id": CHUNK,
        "commit_sha": None,
        "commit_date": None,
        "clone_attempts": 0,
        "bytes_fetched": 0,
        "scanner": "scripted",
        "failure_detail": None,
    }
    return {**base, **changes}


def _identity(result) -> tuple:
    return (result.ping["repo_hash"], result.ping["repo_full_name"], result.ping["selection_stratum"])


# Full clones are one git command instead of three: the default for every test but the partial-clone ones.
SETTINGS = ScanSettings(
    ScanKnobs(clone_timeout_s=60, clone_attempts=3, partial_clone=False, workers=2), scan_timeout=7.5, retry_wait=100
)


# -- one repository -------------------------------------------------------------------------------
def test_a_scanned_repository_is_stamped_from_the_manifest_with_full_provenance(repos, tmp_path):
    url, sha = repos["crew"]
    row = manifest_row("acme/crew")
    scanner = ScriptedScanner({"acme/crew": _reference(CREW_PING, scan_duration_ms=1234)})
    work = tmp_path / "deep" / "work"  # does not exist yet, nor does its parent
    partial = dataclasses.replace(SETTINGS, knobs=SETTINGS.knobs.model_copy(update={"partial_clone": True}))
    result = scan_repo(row, url, scanner, partial, work)

    assert result.row is row
    assert result.errors == [] and result.stored is True and result.rate_limited == 0
    assert _identity(result) == (repo_hash("acme/crew"), "acme/crew", "crewai_active"), (
        "identity is the manifest's, never the scanner's"
    )
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("success", None)
    assert result.ping["agent_count"] == 56 and result.ping["scan_duration_ms"] == 1234
    assert result.provenance["bytes_fetched"] > 0
    assert result.provenance == _provenance(
        commit_sha=sha, commit_date=COMMIT_DATE, clone_attempts=1, bytes_fetched=result.provenance["bytes_fetched"]
    )

    [call] = scanner.calls
    assert call["full_name"] == "acme/crew" and call["timeout"] == 7.5
    assert call["files"] == sorted(CREW_FILES), "the full tree listing, not just the sparse checkout"
    assert call["on_disk"] == SPARSE, "a partial clone checks out only what the scanner reads"
    assert call["path"].name == "checkout" and call["path"].parent.name.startswith("repo-")
    assert call["path"].parent.parent.resolve() == work.resolve(), "clones live in the work dir"
    assert list(work.iterdir()) == [], "the clone is removed"
    assert scanner.closed == 0, "closing the scanner is the chunk's business"


def test_a_full_clone_checks_out_every_file_and_an_existing_work_dir_is_reused(repos, tmp_path):
    url, sha = repos["crew"]
    scanner = ScriptedScanner({}, default=_reference(CREW_PING))
    settings = ScanSettings(ScanKnobs(clone_timeout_s=60, partial_clone=False), scan_timeout=9.0)
    first = scan_repo(manifest_row("acme/crew"), url, scanner, settings, tmp_path)
    second = scan_repo(manifest_row("acme/crew"), url, scanner, settings, tmp_path)  # tmp_path exists already
    assert [r.ping["scan_status"] for r in (first, second)] == ["success", "success"]
    assert [c["on_disk"] for c in scanner.calls] == [sorted(CREW_FILES)] * 2
    assert [c["timeout"] for c in scanner.calls] == [9.0, 9.0]
    assert second.provenance["commit_sha"] == sha and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("partial", [True, False], ids=["partial", "full"])
def test_a_repository_nobody_pushed_to_clones_with_no_commit_and_no_files(tmp_path, partial):
    source = tmp_path / "empty"
    source.mkdir()
    _git(source, "init", "-q", "-b", "main")
    result = clone(source.as_uri(), tmp_path / "checkout", timeout=60, partial=partial)
    assert result.failure is None, result.detail
    assert (result.commit_sha, result.commit_date, result.files) == (None, None, []), "empty, not broken"
    assert result.over_limit == "" and result.path == tmp_path / "checkout"


@pytest.mark.parametrize(
    "answer, status, reason",
    [
        pytest.param(_reference(CREW_PING, failure_reason="no_agents"), "success", None, id="scanner-never-classifies"),
        pytest.param(
            _reference(CREW_PING, scan_status="partial", failure_reason="parse_timeout"),
            "partial",
            "parse_timeout",
            id="a-scanner-timeout-is-kept",
        ),
        pytest.param(_reference(NO_AGENTS_PING), "empty", "no_agents", id="no-agents"),
    ],
)
def test_the_pipeline_classifies_what_the_scanner_returns(repos, tmp_path, answer, status, reason):
    result = scan_repo(
        manifest_row("acme/crew"), repos["crew"][0], ScriptedScanner({}, default=answer), SETTINGS, tmp_path
    )
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == (status, reason)
    assert result.errors == [] and result.provenance["failure_detail"] is None
    assert set(result.ping) == set(answer), "classification rewrites fields, it adds none"


def test_a_repository_without_python_is_empty_whatever_the_scanner_found(repos, tmp_path):
    url, sha = repos["docs"]
    scanner = ScriptedScanner({}, default=_reference(CREW_PING))  # 56 agents: a scanner's word is not enough
    result = scan_repo(manifest_row("acme/docs", "langchain_active"), url, scanner, SETTINGS, tmp_path)
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("empty", "no_python")
    assert result.stored and result.ping["selection_stratum"] == "langchain_active"
    assert scanner.calls[0]["files"] == sorted(DOCS_FILES) and result.provenance["commit_sha"] == sha


@pytest.mark.parametrize("failure, status", [("parse_timeout", "partial"), ("parse_crash", "failed")])
def test_a_scanner_failure_becomes_a_skeleton_ping_counting_the_readable_files(repos, tmp_path, failure, status):
    url, sha = repos["crew"]
    detail = f"scripted {failure} after 7s"
    scanner = ScriptedScanner({}, default=ScanOutcome(None, failure, detail))
    result = scan_repo(manifest_row("acme/crew"), url, scanner, SETTINGS, tmp_path)
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == (status, failure)
    assert (result.ping["files_total"], result.ping["files_scanned"], result.ping["agent_count"]) == (3, 0, 0)
    assert _identity(result) == (repo_hash("acme/crew"), "acme/crew", "crewai_active")
    assert result.stored and result.errors == []
    assert result.provenance == _provenance(
        commit_sha=sha,
        commit_date=COMMIT_DATE,
        clone_attempts=1,
        bytes_fetched=result.provenance["bytes_fetched"],
        failure_detail=detail,
    )


def test_a_clone_past_its_deadline_is_a_failed_clone_timeout_and_nothing_is_scanned(repos, tmp_path):
    scanner = ScriptedScanner({}, default=_reference(CREW_PING))
    settings = ScanSettings(ScanKnobs(clone_timeout_s=-1), scan_timeout=5, retry_wait=0.01)
    result = scan_repo(manifest_row("acme/crew"), repos["crew"][0], scanner, settings, tmp_path / "work")
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("failed", "clone_timeout")
    assert result.ping["files_total"] == 0 and result.stored and result.rate_limited == 0
    assert _identity(result) == (repo_hash("acme/crew"), "acme/crew", "crewai_active")
    # The strategy's three attempts, each with a deadline of its own, then clone_timeout.
    assert result.provenance == _provenance(clone_attempts=3, failure_detail="clone deadline passed")
    assert scanner.calls == [] and list((tmp_path / "work").iterdir()) == []


def test_a_rate_limited_clone_is_recorded_and_not_retried_beyond_the_settings(emulator, universe, tmp_path):
    repo = next(r for r in universe.repos if not r.deleted and not r.slow)
    scanner = ScriptedScanner({}, default=_reference(CREW_PING))
    # One attempt allowed: the first 429 is final.
    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=None))
    once = scan_repo(
        manifest_row(repo.full_name),
        emulator.clone_url(repo.full_name),
        scanner,
        ScanSettings(ScanKnobs(clone_timeout_s=60, clone_attempts=1), retry_wait=0.01),
        tmp_path,
    )
    # Three attempts allowed, but the next wait (100 s) ends past the deadline: no retry either.
    emulator.faults.add(Fault("secondary_429", "git", times=3, retry_after=None))
    late = scan_repo(
        manifest_row(repo.full_name),
        emulator.clone_url(repo.full_name),
        scanner,
        ScanSettings(ScanKnobs(clone_timeout_s=60, clone_attempts=3), retry_wait=100),
        tmp_path,
    )
    for result in (once, late):
        assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("failed", "clone_rate_limited")
        assert result.rate_limited == 1 and result.stored
        assert result.provenance["clone_attempts"] == 1 and result.provenance["bytes_fetched"] == 0
        # What git said, its URL replaced whole (a URL may carry a credential).
        assert result.provenance["failure_detail"] == (
            "remote: Too many requests fatal: unable to access <url>: The requested URL returned error: 429"
        )
    assert scanner.calls == []


def test_a_crashing_scanner_still_leaves_no_clone_behind(repos, tmp_path):
    scanner = ScriptedScanner({}, default=RuntimeError("adapter bug"))
    with pytest.raises(RuntimeError, match="adapter bug"):
        scan_repo(manifest_row("acme/crew"), repos["crew"][0], scanner, SETTINGS, tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- a chunk --------------------------------------------------------------------------------------
def _mixed_chunk(repos, emulator, universe):
    """Seven rows: one of each outcome the pipeline knows, in manifest order."""
    crew_url, docs_url = repos["crew"][0], repos["docs"][0]
    limited = next(r for r in universe.repos if not r.deleted and not r.slow).full_name
    urls = {
        "acme/ok": crew_url,
        "acme/docs": docs_url,
        "acme/timeout": crew_url,
        "acme/crash": crew_url,
        "acme/invalid": crew_url,
        "acme/missing": emulator.clone_url("acme/missing"),
        limited: emulator.clone_url(limited),
    }
    invalid = _reference(
        CREW_PING,
        scan_status="partial",
        failure_reason="parse_timeout",
        risk_score=150,
        schema_version="0.2.0",
        scan_duration_ms=5000,
    )
    answers = {
        "acme/ok": _reference(CREW_PING, scan_duration_ms=1000),
        "acme/docs": _reference(NO_AGENTS_PING, scan_duration_ms=1),
        "acme/timeout": ScanOutcome(None, "parse_timeout", "scripted exceeded 7s"),
        "acme/crash": KeyError("files"),
        "acme/invalid": lambda checkout: {**invalid, "leaked_path": checkout},  # not JSON: kept as text
    }
    return [manifest_row(name) for name in urls], urls.get, ScriptedScanner(answers), limited


def test_a_chunk_accounts_for_every_outcome(repos, emulator, universe, tmp_path):
    rows, url_for, scanner, limited = _mixed_chunk(repos, emulator, universe)
    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=None))
    work = tmp_path / "runs" / "work"  # neither exists: the chunk creates it
    result = scan_chunk(rows, url_for, scanner, SETTINGS, work)

    assert not work.exists() and scanner.closed == 1
    assert 0 < result.seconds < 60
    hashes = [r.row["repo_hash"] for r in result.results]
    assert hashes == sorted(repo_hash(r["full_name"]) for r in rows), "ordered by repo_hash"
    by_name = {r.row["full_name"]: r for r in result.results}
    outcome = {name: (r.ping["scan_status"], r.ping["failure_reason"], r.stored) for name, r in by_name.items()}
    assert outcome == {
        "acme/ok": ("success", None, True),
        "acme/docs": ("empty", "no_python", True),
        "acme/timeout": ("partial", "parse_timeout", True),
        "acme/crash": ("failed", "parse_crash", True),
        "acme/invalid": ("partial", "parse_timeout", False),
        "acme/missing": ("failed", "clone_404", True),
        limited: ("failed", "clone_rate_limited", True),
    }
    for name, r in by_name.items():
        assert _identity(r) == (repo_hash(name), name, "crewai_active"), name
        assert r.row["full_name"] == name and r.provenance["chunk_id"] == CHUNK
    assert [r.rate_limited for r in result.results if r.row["full_name"] == limited] == [1]
    assert sum(r.rate_limited for r in result.results) == 1

    crash = by_name["acme/crash"]
    assert crash.errors == [] and crash.rate_limited == 0
    assert crash.provenance == _provenance(failure_detail="internal: KeyError")
    assert (crash.ping["files_total"], crash.ping["agent_count"]) == (0, 0)
    assert by_name["acme/timeout"].provenance["failure_detail"] == "scripted exceeded 7s"
    # git's own words, minus any line carrying the URL (it could hold a credential)
    assert by_name["acme/missing"].provenance["failure_detail"] == (
        "fatal: could not read Username for <url>: terminal prompts disabled"
    )
    assert by_name[limited].provenance["failure_detail"] == (
        "remote: Too many requests fatal: unable to access <url>: The requested URL returned error: 429"
    )
    for name in ("acme/missing", limited, "acme/crash"):
        assert by_name[name].provenance["bytes_fetched"] == 0, name
    for name in ("acme/ok", "acme/docs", "acme/timeout", "acme/invalid"):
        assert by_name[name].provenance["bytes_fetched"] > 0, name
        assert by_name[name].provenance["commit_sha"] == repos["docs" if name == "acme/docs" else "crew"][1]
    assert not result.all_transient_failures

    stats = result.stats()
    assert stats.pop("duration_s") == round(result.seconds, 2)
    assert stats.pop("repos_per_min") == round(60 * 7 / result.seconds, 1)
    assert stats == {
        "repos": 7,
        "stored": 6,
        "quarantined": 1,
        "by_status": {"empty": 1, "failed": 3, "partial": 2, "success": 1},
        "failure_reasons": {
            "clone_404": 1,
            "clone_rate_limited": 1,
            "no_python": 1,
            "parse_crash": 1,
            "parse_timeout": 2,
        },
        "rate_limit_hits": 1,
        "bytes_fetched": sum(r.provenance["bytes_fetched"] for r in result.results),
        # stored durations 1000, 1 and four skeletons at 0 (the quarantined 5000 ms does not count)
        "avg_scan_duration_ms": 166.8,
    }
    assert list(stats["by_status"]) == sorted(stats["by_status"])
    assert list(stats["failure_reasons"]) == sorted(stats["failure_reasons"])
    result.seconds = 7.7049  # a fixed clock: 7 repositories in 7.7049 s
    assert (result.stats()["duration_s"], result.stats()["repos_per_min"]) == (7.7, 54.5)

    stored = stored_rows(result)
    assert [s["repo_hash"] for s in stored] == [h for h in hashes if h != repo_hash("acme/invalid")]
    stored_by_name = {s["repo_full_name"]: s for s in stored}
    assert set(stored_by_name) == set(by_name) - {"acme/invalid"}
    assert stored_by_name["acme/crash"]["failure_detail"] == "internal: KeyError"
    assert stored_by_name["acme/crash"]["scanner"] == "scripted"
    assert stored_by_name["acme/ok"]["commit_sha"] == repos["crew"][1]
    assert stored_by_name["acme/ok"]["chunk_id"] == CHUNK and stored_by_name["acme/ok"]["scan_status"] == "success"

    [quarantined] = quarantine_rows(result)
    invalid = by_name["acme/invalid"]
    ping_json = quarantined.pop("ping_json")
    assert quarantined == {
        "repo_hash": repo_hash("acme/invalid"),
        "repo_full_name": "acme/invalid",
        "chunk_id": CHUNK,
        "scan_status": "partial",
        "failure_reason": "parse_timeout",
        "errors": ["schema_version: expected '0.3.2', got '0.2.0'", "risk_score 150 is outside 0-100"],
    }
    assert quarantined["errors"] == invalid.errors
    kept = json.loads(ping_json)
    assert list(kept) == sorted(kept), "keys sorted"
    invalid_scan = next(c for c in scanner.calls if c["full_name"] == "acme/invalid")
    assert kept["leaked_path"] == str(invalid_scan["path"]), "a value JSON cannot encode is kept as its text"
    assert kept["repo_hash"] == repo_hash("acme/invalid") and kept["risk_score"] == 150
    assert kept == {**invalid.ping, "leaked_path": str(invalid_scan["path"])}


def test_chunk_order_progress_and_worker_threads(repos, tmp_path):
    names = sorted((f"acme/r{i}" for i in range(3)), key=repo_hash, reverse=True)  # manifest order ≠ hash order
    rows = [manifest_row(name) for name in names]
    work = tmp_path / "work"
    (work / "stale-repo").mkdir(parents=True)  # leftovers of a killed run
    (work / "stale-repo" / "x.py").write_text("x = 1\n")
    scanner = ScriptedScanner({}, default=_reference(CREW_PING))
    calls = []
    settings = ScanSettings(
        ScanKnobs(clone_timeout_s=60, partial_clone=False, workers=0, progress_every=2), scan_timeout=5
    )
    result = scan_chunk(
        rows,
        lambda name: repos["crew"][0],
        scanner,
        settings,
        work,
        progress=lambda done, total, counts: calls.append((done, total, dict(counts))),
    )

    assert [r.row["full_name"] for r in result.results] == names[::-1]
    assert [c["full_name"] for c in scanner.calls] == names, "one worker scans in manifest order"
    assert {c["thread"] for c in scanner.calls} == {"scan_0"}, "workers=0 still means one worker"
    assert all(len(c["work_dir"]) == 1 and c["work_dir"][0].startswith("repo-") for c in scanner.calls), (
        "the leftovers are gone before the first clone"
    )
    assert calls == [(2, 3, {"success": 2}), (3, 3, {"success": 3})], "every progress_every, and at the end"
    assert result.stats()["by_status"] == {"success": 3} and scanner.closed == 1 and not work.exists()


def test_only_a_chunk_of_rate_limits_is_all_transient(emulator, universe, tmp_path):
    repo = next(r for r in universe.repos if not r.deleted and not r.slow)
    emulator.faults.add(Fault("secondary_429", "git", times=2, retry_after=None))
    rows = [manifest_row(repo.full_name), manifest_row("acme/limited-too")]
    result = scan_chunk(
        rows,
        lambda name: emulator.clone_url(repo.full_name),
        ScriptedScanner({}),
        ScanSettings(ScanKnobs(clone_timeout_s=60, clone_attempts=1, workers=1)),
        tmp_path / "w",
    )
    assert [r.ping["failure_reason"] for r in result.results] == ["clone_rate_limited"] * 2
    assert result.all_transient_failures is True
    stats = result.stats()
    assert (stats["rate_limit_hits"], stats["failure_reasons"], stats["bytes_fetched"]) == (
        2,
        {"clone_rate_limited": 2},
        0,
    )


def test_an_empty_chunk_has_zero_stats_and_is_not_all_transient(tmp_path):
    scanner = ScriptedScanner({})
    result = scan_chunk([], lambda name: "", scanner, SETTINGS, tmp_path / "w")
    assert result.results == [] and result.all_transient_failures is False and scanner.closed == 1
    assert stored_rows(result) == [] and quarantine_rows(result) == []
    idle = ChunkResult()  # no clock at all
    assert idle.stats() == {
        "repos": 0,
        "stored": 0,
        "quarantined": 0,
        "by_status": {},
        "failure_reasons": {},
        "rate_limit_hits": 0,
        "bytes_fetched": 0,
        "duration_s": 0.0,
        "repos_per_min": 0.0,
        "avg_scan_duration_ms": 0.0,
    }
    assert idle.all_transient_failures is False


def test_a_scanner_that_wipes_the_work_dir_does_not_fail_the_chunk(repos, tmp_path):
    work = tmp_path / "work"

    def wipe(checkout):
        shutil.rmtree(work)
        return _reference(CREW_PING)

    scanner = ScriptedScanner({"acme/wiper": wipe})
    result = scan_chunk([manifest_row("acme/wiper")], lambda name: repos["crew"][0], scanner, SETTINGS, work)
    assert [(r.ping["scan_status"], r.stored) for r in result.results] == [("success", True)]
    assert not work.exists() and scanner.closed == 1


def test_progress_every_zero_reports_every_repository_instead_of_crashing_the_chunk(repos, tmp_path):
    rows = [manifest_row(f"acme/p{i}") for i in range(2)]
    calls = []
    settings = ScanSettings(
        ScanKnobs(clone_timeout_s=60, partial_clone=False, workers=1, progress_every=0), scan_timeout=5
    )
    result = scan_chunk(
        rows,
        lambda name: repos["crew"][0],
        ScriptedScanner({}, default=_reference(CREW_PING)),
        settings,
        tmp_path / "work",
        progress=lambda done, total, counts: calls.append((done, total)),
    )
    assert len(result.results) == 2 and calls == [(1, 2), (2, 2)]
