"""Scan partitions run two at a time in worker processes, each attempt a Dagster run, failures retried.

Real builds on a loopback emulator: one where GitHub refuses each repository's clones as often as a run tries
them (every first run fails, every retry succeeds; each worker process replaced after two runs), one where a worker
process is killed -9 in the middle of its partition run (its slot gets a fresh process, the dead run is
failed and its partition retried while the other slot's run goes on). Each emulator is the test's own (its
faults are armed there only) and serves the session's small world (``small_universe``: three partitions, enough
for two slots, a retry and a replaced worker) from its bare repositories, built once (``small_git_root``).
"""

import os
import signal
import threading
import time
from collections import Counter

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.scanning import ScanConfig
from stratum_assets.definitions import ASSETS
from stratum_assets.offline_github import OfflineGitHub
from stratum_assets.orchestration import partition_workers
from stratum_assets.orchestration.build_driver import build_everything
from stratum_assets.resources import DataResource, GitHubResource, ScannerResource
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator

from .conftest import ShortBackoffGitHub

pytestmark = pytest.mark.slow  # whole builds with worker processes

RETRY_ONCE = {"run_retries": {"enabled": True, "max_retries": 1}}


def _defs(em: GitHubEmulator, data, github: GitHubResource | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        resources={
            "github": github or OfflineGitHub(url=em.url),
            "data": DataResource(root=str(data)),
            "duckdb": DuckDBResource(database=str(data / "stratum.duckdb")),
            "scanner": ScannerResource(),
        },
    )


def _partition_runs(instance) -> list[dg.RunRecord]:
    return [r for r in instance.get_run_records() if r.dagster_run.tags.get("dagster/partition")]


def _assert_everything_stored(instance, report) -> None:
    assert report.ok, report
    chunks = set(instance.get_dynamic_partitions("manifest_chunks"))
    assert instance.get_materialized_partitions(dg.AssetKey("scan_results")) == chunks
    assert ("zero_silent_drops", True) in [(name, ok) for name, ok, _ in report.checks]


def test_partitions_run_two_at_a_time_and_a_failed_one_is_retried_as_a_dagster_retry(
    small_universe, small_git_root, tmp_path, monkeypatch
):
    monkeypatch.setattr(partition_workers, "RECYCLE_AFTER", 2)  # a worker process is replaced after two runs
    lines = []
    with (
        GitHubEmulator(small_universe, small_git_root, budgets={"search": (10_000, 60.0)}) as em,
        dg.instance_for_test(overrides=RETRY_ONCE) as instance,
    ):
        # Every repository is refused as often as a run tries it (three attempts), then served: each partition's
        # first run fails whole, its retry succeeds, whichever order and overlap the two slots run them in.
        for repo in small_universe.repos:
            em.faults.add(
                Fault("secondary_429", "git", times=ScanConfig().clone_attempts, retry_after=0, repo=repo.full_name)
            )
        # Short waits between refusals (conftest): the two first runs, started together, still overlap.
        github = ShortBackoffGitHub(url=em.url)
        report = build_everything(_defs(em, tmp_path / "data", github), instance, log=lines.append)
        _assert_everything_stored(instance, report)
        assert lines[1].endswith("2 at a time, up to 1 retries each"), lines

        runs = _partition_runs(instance)
        retries = [r.dagster_run for r in runs if r.dagster_run.tags.get("dagster/retry_number") == "1"]
        assert len(retries) == len(instance.get_dynamic_partitions("manifest_chunks")), "each partition's retry"
        by_id = {r.dagster_run.run_id: r.dagster_run for r in runs}
        for retry in retries:
            parent = by_id[retry.tags["dagster/parent_run_id"]]
            assert parent.status == dg.DagsterRunStatus.FAILURE and retry.status == dg.DagsterRunStatus.SUCCESS
            assert retry.tags["dagster/root_run_id"] == parent.run_id
            assert parent.tags["dagster/partition"] == retry.tags["dagster/partition"]
            assert parent.tags["dagster/retry_number"] == "0"
        assert {r.dagster_run.run_id for r in runs} <= set(report.runs), "every attempt is in the report"

        first_two = sorted(runs, key=lambda r: r.start_time)[:2]
        assert first_two[1].start_time < first_two[0].end_time, "two partition runs overlapped in time"
        assert first_two[0].dagster_run.tags["stratum/pid"] != first_two[1].dagster_run.tags["stratum/pid"]
        assert all(r.dagster_run.tags["stratum/pid"] != str(os.getpid()) for r in runs), "runs in worker processes"
        runs_per_process = Counter(r.dagster_run.tags["stratum/pid"] for r in runs)
        assert max(runs_per_process.values()) == 2 and len(runs_per_process) >= len(runs) / 2, runs_per_process


def test_a_worker_killed_mid_partition_fails_its_run_and_the_partition_is_retried(
    small_universe, small_git_root, tmp_path
):
    lines, killed = [], {}
    with (
        GitHubEmulator(
            small_universe, small_git_root, budgets={"search": (10_000, 60.0)}, slow_clone_seconds=0.5
        ) as em,
        dg.instance_for_test(overrides=RETRY_ONCE) as instance,
    ):
        stop = threading.Event()

        def kill_the_first_partition_worker() -> None:
            while not stop.is_set():
                started = [
                    r
                    for r in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
                    if r.tags.get("dagster/partition")
                ]
                if started:
                    killed.update(run_id=started[0].run_id, pid=int(started[0].tags["stratum/pid"]))
                    os.kill(killed["pid"], signal.SIGKILL)
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_the_first_partition_worker, daemon=True)
        killer.start()
        try:
            report = build_everything(_defs(em, tmp_path / "data"), instance, log=lines.append)
        finally:
            stop.set()
            killer.join()
        assert killed, "a worker was killed during its partition run"
        _assert_everything_stored(instance, report)
        dead = instance.get_run_by_id(killed["run_id"])
        assert dead.status == dg.DagsterRunStatus.FAILURE
        assert any(f"pid {killed['pid']}" in line and "is gone: killed or crashed" in line for line in lines), lines
        retried = [
            r
            for r in _partition_runs(instance)
            if r.dagster_run.tags.get("dagster/partition") == dead.tags["dagster/partition"]
            and r.dagster_run.tags.get("dagster/retry_number") == "1"
        ]
        assert [r.dagster_run.status for r in retried] == [dg.DagsterRunStatus.SUCCESS]
