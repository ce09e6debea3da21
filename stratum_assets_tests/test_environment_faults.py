"""A fault of the machine is not a fact about a repository (issue 27): the server gone, a 5xx, a full disk.

Each case runs for real: a loopback GitHub that is stopped or answers 5xx, a tmpfs too small for a clone.
None may become a stored ping: the chunk raises :class:`EnvironmentBroken` (the partition fails, nothing is
written, the partition stays backfillable), and a circuit breaker stops a chunk whose environment keeps failing.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanning.pipeline import EnvironmentBroken, ScanKnobs, ScanSettings, scan_chunk
from stratum_assets.scanning.scanner_commands import BuiltinScanner
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator

from .conftest import small_disk

QUICK = ScanSettings(
    ScanKnobs(clone_timeout_s=60, clone_attempts=2, workers=2),
    scan_timeout=60,
    retry_wait=0.05,
    rate_limit_backoff=0.05,
)


def _rows(universe, n: int) -> list[dict]:
    repos = [r for r in universe.repos if not r.quirks and not r.deleted and not r.slow][:n]
    return [
        {
            "full_name": r.full_name,
            "repo_hash": repo_hash(r.full_name),
            "chunk_id": "v1-c0000",
            "selection_stratum": "crewai",
        }
        for r in repos
    ]


BACKFILLABLE = (
    "Nothing was stored: the partition stays backfillable (`stratum-assets backfill` once the server or disk is back)"
)


@pytest.mark.parametrize("breaker, size", [(5, 20), (1, 3)])
def test_a_github_that_is_gone_stores_nothing_and_the_breaker_stops_the_chunk(universe, tmp_path, breaker, size):
    """The issue's case: the server died mid-scan and 101 repositories were stored as clone_timeout."""
    gone = GitHubEmulator(universe, tmp_path / "git").start()
    url_for = gone.clone_url
    gone.stop()  # connection refused from here on
    rows = _rows(universe, size)
    settings = dataclasses.replace(QUICK, environment_breaker=breaker)
    with pytest.raises(EnvironmentBroken) as broken:
        scan_chunk(rows, url_for, BuiltinScanner(), settings, tmp_path / "work")
    assert broken.value.stopped_early and len(broken.value.faults) == broken.value.tried == breaker
    assert broken.value.total == size, "the breaker stopped before trying every repository"
    assert all("connect" in fault.detail.lower() for fault in broken.value.faults), broken.value.faults[0].detail
    first = broken.value.faults[0]
    assert str(broken.value) == (
        f"stopped after {breaker} environment failures in a row ({breaker} of {size} tried); first: {first}. "
        + BACKFILLABLE
    )


def test_a_server_answering_5xx_fails_the_chunk_after_retries_and_stores_nothing(emulator, universe, tmp_path):
    """502 on every git request; with the breaker out of reach every repository is tried, none stored."""
    emulator.faults.add(Fault("server_error", "git", times=10**6, status=502))
    rows = _rows(universe, 6)
    patient = dataclasses.replace(QUICK, environment_breaker=100)
    with pytest.raises(EnvironmentBroken) as broken:
        scan_chunk(rows, emulator.clone_url, BuiltinScanner(), patient, tmp_path / "work")
    assert not broken.value.stopped_early and (broken.value.tried, broken.value.total) == (6, 6)
    assert len(broken.value.faults) == 6 and all("502" in f.detail for f in broken.value.faults)
    assert "6 of 6 repositories failed because of the environment" in str(broken.value)


def test_a_5xx_that_passes_within_the_attempts_is_just_retried(emulator, universe, tmp_path):
    emulator.faults.add(Fault("server_error", "git", times=1, status=503))
    result = scan_chunk(_rows(universe, 3), emulator.clone_url, BuiltinScanner(), QUICK, tmp_path / "work")
    assert len(result.results) == 3 and not {r.ping["failure_reason"] for r in result.results} & {
        "clone_timeout",
        "environment",
    }
    assert sorted(r.provenance["clone_attempts"] for r in result.results) == [1, 1, 2]


def test_a_slow_repository_times_out_after_three_attempts_while_github_serves_the_others(emulator, universe, tmp_path):
    """The strategy's clone_timeout: a fact about the repository, since the server answered the rest."""
    slow = next(r for r in universe.repos if r.slow)  # the emulator serves it 3 s late, every time
    rows = [
        *_rows(universe, 3),
        {
            "full_name": slow.full_name,
            "repo_hash": repo_hash(slow.full_name),
            "chunk_id": "v1-c0000",
            "selection_stratum": "crewai",
        },
    ]
    settings = dataclasses.replace(
        QUICK, knobs=QUICK.knobs.model_copy(update={"clone_timeout_s": 1.0, "clone_attempts": 3})
    )
    result = scan_chunk(rows, emulator.clone_url, BuiltinScanner(), settings, tmp_path / "work")
    by_name = {r.row["full_name"]: r for r in result.results}
    assert (by_name[slow.full_name].ping["failure_reason"], by_name[slow.full_name].provenance["clone_attempts"]) == (
        "clone_timeout",
        3,
    )
    assert sum(r.ping["failure_reason"] != "clone_timeout" for r in result.results) == 3


@pytest.mark.parametrize("breaker, size, tried", [(5, 8, 5), (1, 3, 1), (100, 3, 3)])
def test_a_github_that_answers_no_clone_in_time_is_the_environment_not_timeouts(
    emulator, universe, tmp_path, breaker, size, tried
):
    """A hung server (every git request answered after the deadline): no clone of the chunk got an answer. The
    breaker stops the chunk after ``breaker`` unanswered clones; out of its reach, the chunk fails once every clone
    went unanswered."""
    emulator.faults.add(Fault("slow", "git", times=10**6, delay=2.0))
    settings = dataclasses.replace(
        QUICK, environment_breaker=breaker, knobs=QUICK.knobs.model_copy(update={"clone_timeout_s": 0.5})
    )
    rows = _rows(universe, size)
    with pytest.raises(EnvironmentBroken) as broken:
        scan_chunk(rows, emulator.clone_url, BuiltinScanner(), settings, tmp_path / "work")
    faults = broken.value.faults
    assert (broken.value.tried, broken.value.total, broken.value.stopped_early) == (tried, size, tried < size)
    assert len({fault.full_name for fault in faults}) == len(faults) == tried
    assert {fault.full_name for fault in faults} <= {row["full_name"] for row in rows}
    assert {fault.detail for fault in faults} == {
        "clone timed out and no clone of this partition got an answer (the server is hung or unreachable): "
        "git clone timed out"
    }
    how = (
        f"stopped after {tried} environment failures in a row"
        if tried < size
        else f"{tried} of {size} repositories failed because of the environment"
    )
    assert str(broken.value) == f"{how} ({tried} of {size} tried); first: {faults[0]}. " + BACKFILLABLE


@pytest.fixture
def tiny_disk(tmp_path):
    """A real filesystem too small for a clone (tmpfs of 64 KiB): git fails with ENOSPC."""
    with small_disk(tmp_path / "tiny", "size=64k") as mount:
        yield mount


def test_a_full_disk_during_clones_stores_nothing(emulator, universe, tiny_disk):
    """The issue's case: 11 repositories stored as clone_timeout ("index.lock write error. Out of diskspace")."""
    rows = _rows(universe, 8)
    with pytest.raises(EnvironmentBroken) as broken:
        scan_chunk(rows, emulator.clone_url, BuiltinScanner(), QUICK, tiny_disk / "work")
    details = " ".join(f.detail.lower() for f in broken.value.faults)
    assert "space" in details or "disk" in details, details


def _exports(home) -> dict[str, list[dict]]:
    """What a build leaves for its users, apart from when each step ran."""
    from .test_crash_safety import _without_clock

    data = home / "data"
    return {
        name: _without_clock(data / name)
        for name in ("scan_results.jsonl", "split/train.jsonl", "split/test.jsonl", "repo_manifest.jsonl")
    }


def _stopped_by_the_environment(returncode: int, printed: str, stderr: str = "") -> None:
    """`run` or `backfill` stopped launching partitions with one message and exit 1 (partition_workers' breaker)."""
    assert returncode == 1, printed[-3000:] + stderr[-3000:]
    assert "The build stopped: the environment failed 3 partition runs in a row" in printed, printed[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(600)  # a build and two backfills (and the session's clean one when it is the first to ask)
def test_github_killed_mid_scan_then_a_full_disk_each_stop_the_build_and_backfill_gives_the_clean_build(
    universe, tmp_path, clean_build
):
    """Two faults of the machine in one project home, one after the other (issue 27's cases, for real):

    1. The GitHub a build talks to dies after the first partition. `run` stops with one message and exit 1 (no
       repository stored as clone_timeout, the split not frozen over the gap); `status` names what is left.
    2. GitHub comes back on the same address, but the disk the clones go to is full (clones on a full disk were
       stored as clone_timeout, "Out of diskspace", for good). `backfill` stops the same way, says so, and
       stores nothing; what it had to do includes a partition Dagster counts as materialized whose files are
       gone, as well as the partitions whose runs failed.
    3. Space is freed: `backfill` finishes the build, and every export is the clean build's.

    One home for both faults: the expensive part, scanning the partitions, is paid once (a test each did it twice).
    """
    import os
    import shutil
    import signal
    import time

    import pyarrow.parquet as pq

    from stratum_assets_tests.support.loopback import free_port

    from .conftest import BIN

    port = free_port()
    budgets = {"search": (10_000, 60.0)}

    def github(folder: str) -> GitHubEmulator:
        return GitHubEmulator(universe, tmp_path / folder, port=port, budgets=budgets)

    clean, env = clean_build  # the README's main command on the same universe (no address in the data)
    broken = tmp_path / "broken"
    broken.mkdir()
    env = {**env, "DAGSTER_HOME": str(broken)}
    for name in ("dagster.yaml", "pyproject.toml", "workspace.yaml"):
        (broken / name).write_bytes((clean / name).read_bytes())

    def cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "stratum-assets"), *args], cwd=broken, env=env, capture_output=True, text=True, timeout=timeout
        )

    # 1. GitHub killed mid-scan.
    em = github("git-broken").start()
    env["STRATUM_SANDBOX_URL"] = em.url  # a GitHub running on its own, as `stratum-assets sandbox serve` runs it
    build = subprocess.Popen(
        [str(BIN / "stratum-assets"), "run"],
        cwd=broken,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    scans = broken / "data" / "scans" / "v1"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and build.poll() is None:
        if scans.exists() and any(scans.glob("v1-c*/stats.json")):
            em.stop()  # GitHub is gone: connection refused from here on
            break
        time.sleep(0.05)
    try:
        printed, _ = build.communicate(timeout=600)
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
    _stopped_by_the_environment(build.returncode, printed)
    for stats in scans.glob("v1-c*/scan_results.parquet"):
        reasons = set(pq.read_table(stats, columns=["failure_reason"]).column(0).to_pylist())
        assert "environment" not in reasons and "clone_timeout" not in reasons, (stats, reasons)
    assert not (broken / "data" / "split" / "assignments.parquet").exists(), "nothing frozen over the gap"
    status = cli("status", timeout=120)
    assert "pending" in status.stdout and "v1-c" in status.stdout, status.stdout

    # 2. GitHub back, the disk full.
    scanned = sorted(scans.glob("v1-c*"))
    assert 0 < len(scanned) < len(list((clean / "data" / "scans" / "v1").glob("v1-c*"))), scanned
    shutil.rmtree(scanned[0])  # materialized for Dagster, its files gone: backfill finds it as pending
    left = sorted(p.name for p in scans.glob("v1-c*"))
    data = broken / "data"
    shutil.rmtree(data / "work", ignore_errors=True)
    with github("git-back"):
        full = _backfill_on_a_full_disk(data / "work", cli)  # None: this machine cannot mount a small tmpfs
        if full is not None:
            _stopped_by_the_environment(full.returncode, full.stdout, full.stderr)
            assert "space" in full.stdout.lower(), "the message says what failed"
            assert f"Partitions {scanned[0].name} hold pending repositories" in full.stdout, full.stdout[-3000:]
            assert sorted(p.name for p in scans.glob("v1-c*")) == left, "nothing was stored for them"
            assert not (data / "split" / "assignments.parquet").exists(), "nothing frozen over the gap"

        # 3. Space freed.
        backfill = cli("backfill")
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert _exports(broken) == _exports(clean)
    assert (data / "split" / "assignments.parquet").read_bytes() == (
        clean / "data" / "split" / "assignments.parquet"
    ).read_bytes()
    if full is None:
        pytest.skip("the GitHub fault and its backfill passed; the full disk needs a tmpfs this machine cannot mount")


def _backfill_on_a_full_disk(work, cli) -> subprocess.CompletedProcess | None:
    """`stratum-assets backfill` with a real tmpfs of 64 KiB where the clones go: full at the first checkout.
    None where mounting is refused (not root): the caller's other checks still run."""
    try:
        with small_disk(work, "size=64k"):
            return cli("backfill")
    except pytest.skip.Exception:
        return None


# -- a scanner killed from outside (the OOM killer, an operator) is the machine's, not the repository's ----
def _checkout(root):
    root.mkdir()
    (root / "agents.py").write_text(
        "from crewai import Agent\n\nresearcher = Agent(role='r', goal='g', backstory='b')\n"
    )
    return root


def test_a_builtin_worker_killed_from_outside_is_the_environment(tmp_path):
    import os
    import signal
    import threading

    from stratum_assets.scanning.clone import ENVIRONMENT_FAILURE

    checkout = _checkout(tmp_path / "checkout")
    scanner = BuiltinScanner()
    try:
        assert scanner.scan(checkout, "o/r", ["agents.py"], 60).ping is not None, "a worker is up for this thread"
        (worker,) = scanner._workers
        os.kill(worker.proc.pid, signal.SIGSTOP)  # it cannot answer: the kill lands mid-scan
        threading.Timer(0.5, os.kill, (worker.proc.pid, signal.SIGKILL)).start()
        killed = scanner.scan(checkout, "o/r", ["agents.py"], 60)
        assert (killed.ping, killed.failure) == (None, ENVIRONMENT_FAILURE), killed.detail
        again = scanner.scan(checkout, "o/r", ["agents.py"], 60)
        assert again.ping is not None, "the next scan gets a fresh worker"
    finally:
        scanner.close()


def _external(tmp_path, body: str) -> str:
    import stat
    import sys

    script = tmp_path / "stratum"
    script.write_text(f"#!{sys.executable}\nimport json, os, signal, sys\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_an_external_scanner_killed_once_is_scanned_again_and_killed_twice_fails_the_chunk(
    emulator, universe, tmp_path
):
    from stratum_assets.scanning.scanner_commands import ExternalScanner

    from .conftest import fixture_path

    ping = fixture_path("pings/crewAIInc__crewAI-examples.json")
    counter = tmp_path / "calls"
    # Killed (SIGKILL, as the OOM killer does) on its first call, a ping from then on.
    once = _external(
        tmp_path,
        (
            f"calls = int(open({str(counter)!r}).read()) if os.path.exists({str(counter)!r}) else 0\n"
            f"open({str(counter)!r}, 'w').write(str(calls + 1))\n"
            "if calls == 0: os.kill(os.getpid(), signal.SIGKILL)\n"
            f"p = json.load(open({str(ping)!r})); p['repo_full_name'] = sys.argv[sys.argv.index('--repo-name') + 1]\n"
            "print(json.dumps(p))"
        ),
    )
    rows = _rows(universe, 1)
    result = scan_chunk(rows, emulator.clone_url, ExternalScanner(once, memory_limit_mb=0), QUICK, tmp_path / "w1")
    (only,) = result.results
    assert (only.ping["scan_status"], only.stored, counter.read_text()) == ("success", True, "2")

    (tmp_path / "always").mkdir()
    always = _external(tmp_path / "always", "os.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(EnvironmentBroken) as broken:
        scan_chunk(rows, emulator.clone_url, ExternalScanner(always, memory_limit_mb=0), QUICK, tmp_path / "w2")
    assert "killed (SIGKILL) from outside" in broken.value.faults[0].detail


# -- where nobody can tell: stored as clone_unclassified, counted as unsettled, scanned again ---------------------
@pytest.fixture
def a_server_that_is_not_git():
    """A loopback HTTP server that answers every request 200 with text that is no git protocol at all."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html>maintenance page</html>\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_clone_failure_no_rule_recognises_is_stored_as_unclassified_after_its_retries(
    a_server_that_is_not_git, universe, tmp_path
):
    rows = _rows(universe, 2)
    result = scan_chunk(
        rows, lambda name: f"{a_server_that_is_not_git}/{name}.git", BuiltinScanner(), QUICK, tmp_path / "work"
    )
    assert {(r.ping["scan_status"], r.ping["failure_reason"]) for r in result.results} == {
        ("failed", "clone_unclassified")
    }
    assert all(r.stored and r.provenance["clone_attempts"] == QUICK.knobs.clone_attempts for r in result.results)
    assert all("://" not in r.provenance["failure_detail"] for r in result.results)


@pytest.mark.slow
def test_an_unsettled_row_is_not_done_blocks_freezing_and_backfill_scans_it_again(tmp_path, clean_build):
    """Stored clone_unclassified and clone_rate_limited rows (no fact about the repository): `status` counts them
    as not done and names their partition, the split and the label-audit sample refuse to freeze over them, and
    `stratum-assets backfill` scans their partition again."""
    import dagster as dg
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dagster_duckdb import DuckDBResource

    from stratum_assets.assets.audit import label_audit_sample, train_test_split
    from stratum_assets.resources import DataResource
    from stratum_assets.scanning.storage import replace_partition

    from .conftest import BIN, copy_of_clean_build

    home = tmp_path / "home"
    env = copy_of_clean_build(clean_build, home)
    data = home / "data"
    folder = sorted((data / "scans" / "v1").glob("v1-c*"))[1]
    frozen = (data / "split" / "assignments.parquet").read_bytes()
    results = pq.read_table(folder / "scan_results.parquet").to_pylist()
    victims = [r for r in results if r["scan_status"] == "success"][:2]
    victims[0].update(scan_status="failed", failure_reason="clone_unclassified", failure_detail="fatal: something new")
    victims[1].update(
        scan_status="failed",
        failure_reason="clone_rate_limited",
        failure_detail="The requested URL returned error: 429",
    )
    stats = json.loads((folder / "stats.json").read_text())
    replace_partition(
        folder,
        pa.Table.from_pylist(results, schema=pq.read_schema(folder / "scan_results.parquet")),
        pq.read_table(folder / "quarantine.parquet"),
        stats,
        pq.read_table(folder / "code_fingerprints.parquet"),
    )

    status = subprocess.run(
        [str(BIN / "stratum-assets"), "status"], cwd=home, env=env, capture_output=True, text=True, timeout=120
    )
    assert f"unsettled: 2 repositories in partition {folder.name}" in status.stdout, status.stdout
    assert "2 pending" in status.stdout, "an unsettled row is not done"

    resources = {"data": DataResource(root=str(data)), "duckdb": DuckDBResource(database=str(data / "stratum.duckdb"))}
    for asset, what in ((train_test_split, "the train/test split"), (label_audit_sample, "the label-audit sample")):
        result = dg.materialize([asset], resources=resources, raise_on_error=False)
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert "2 repositories of manifest v1 are unsettled" in str(failure.event_specific_data.error), what
    assert (data / "split" / "assignments.parquet").read_bytes() == frozen, "nothing frozen again over it"

    backfill = subprocess.run(
        [str(BIN / "stratum-assets"), "backfill"], cwd=home, env=env, capture_output=True, text=True, timeout=900
    )
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert (
        f"Partitions {folder.name} hold unsettled repositories (clone_unclassified, clone_rate_limited)"
        in backfill.stdout
    )
    assert _exports(home) == _exports(clean_build[0])
