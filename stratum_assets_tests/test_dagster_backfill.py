"""Dagster's own backfill of a failed partition, launched over GraphQL and run by the daemon.

What a user does in the UI, end to end: a project home built with ``stratum-assets run`` (a copy
of the session's clean build) is served by ``dagster dev`` (webserver and daemon) and by one
loopback GitHub (``STRATUM_SANDBOX_URL``); GitHub then refuses every clone while one partition is
re-run from the terminal, so that partition's latest attempt fails; the GraphQL API — the one the
UI calls — lists the failed partition and launches a backfill of just it; the daemon runs it;
afterwards no partition is failed, and the ``keep_audit_fresh`` sensor refreshes the audit on its
own, in a run that succeeds to its last step.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
import yaml

from stratum_assets_tests.support.loopback import free_port, wait_for_dagster_ui
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator

from .conftest import copy_of_clean_build

pytestmark = pytest.mark.slow  # builds whole project homes and runs servers

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PARTITION_STATUSES = """
query { assetNodeOrError(assetKey: {path: ["scan_results"]}) { ... on AssetNode {
  assetPartitionStatuses { ... on DefaultPartitionStatuses { materializedPartitions failedPartitions } } } } }"""
LAUNCH = """
mutation($partitions: [String!]) { launchPartitionBackfill(backfillParams: {
    partitionNames: $partitions, assetSelection: [{path: ["scan_results"]}, {path: ["quarantine"]}],
    title: "failed scan partitions"}) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"""
AUDIT = """
query { assetNodeOrError(assetKey: {path: ["audit_report"]}) { ... on AssetNode {
  assetMaterializations(limit: 1) { timestamp runId } } } }"""
RUN = """
query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""


def _graphql(url: str, query: str, **variables) -> dict:
    answer = requests.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _until(predicate, timeout: float, every: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


@contextlib.contextmanager
def _dagster_dev(home: Path, env: dict[str, str]):
    """`dagster dev` as people type it from the project root (the code location comes from pyproject.toml),
    started at once; yields its URL and process (:func:`wait_for_dagster_ui` says when it answers)."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def served_home_with_a_failed_partition(universe, git_root, clean_build, tmp_path_factory):
    """(home, env, partition, url): a copy of the session's clean build (the README's main command on the same
    universe), served by ``dagster dev``, whose second partition was re-run while GitHub refused every clone:
    its latest attempt failed and its files stayed.

    ``dagster dev`` starts before the re-run, as when a user has the UI open: the daemon's backfill iterations
    (every 30 s) and the audit sensor's ticks (every 60 s) count from its start, so the re-run's seconds are
    spent inside those intervals rather than before them.
    """
    home = tmp_path_factory.mktemp("dagster-backfill") / "home"
    env = copy_of_clean_build(clean_build, home)
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config["run_retries"] = {"enabled": False}  # the backfill, not an automatic retry, must repair it
    # The same queue (concurrency > runs still sets its limit), looked at every second instead of every 5 s.
    config["run_coordinator"] = {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {"dequeue_interval_seconds": 1},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    # A GitHub of its own (its faults are armed here only), serving the session's bare repositories.
    with GitHubEmulator(universe, git_root, budgets={"search": (10_000, 60.0)}, slow_clone_seconds=1.0) as em:
        env["STRATUM_SANDBOX_URL"] = em.url  # the clean build's world: the same universe
        with _dagster_dev(home, env) as (url, server):
            partition = sorted(p.name for p in (home / "data" / "scans" / "v1").glob("v1-c*"))[1]
            em.faults.add(Fault("secondary_429", "git", times=10**9, retry_after=0))
            # The card's form, no -m: the project root's pyproject.toml names the code location.
            rerun = subprocess.run(
                [
                    str(BIN / "dagster"),
                    "asset",
                    "materialize",
                    "--select",
                    "scan_results,quarantine",
                    "--partition",
                    partition,
                    "--config-json",
                    '{"ops": {"scan_partition": {"config": {"clone_attempts": 1}}}}',
                ],
                cwd=home,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert rerun.returncode != 0, "GitHub refused every clone: the partition run must fail"
            assert "hit GitHub's rate limit" in rerun.stdout + rerun.stderr, "the run itself failed, not the command"
            em.faults.clear()
            wait_for_dagster_ui(url, server)
            yield home, env, partition, url


def _statuses(url: str) -> dict:
    return _graphql(url, PARTITION_STATUSES)["assetNodeOrError"]["assetPartitionStatuses"]


def test_the_daemon_backfills_the_failed_partition_and_the_audit_follows(served_home_with_a_failed_partition):
    home, _, partition, dagster_dev = served_home_with_a_failed_partition
    before = _statuses(dagster_dev)
    assert before["failedPartitions"] == [partition]
    folder = home / "data" / "scans" / "v1" / partition
    results = folder / "scan_results.parquet"
    # The failed re-run left the first build's files in place: the backfill has to replace them.
    written_before = results.stat().st_mtime_ns, results.stat().st_ino
    finished_before = json.loads((folder / "stats.json").read_text())["finished_at"]
    audit_before = float(_graphql(dagster_dev, AUDIT)["assetNodeOrError"]["assetMaterializations"][0]["timestamp"])

    launched = _graphql(dagster_dev, LAUNCH, partitions=before["failedPartitions"])["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    status = _until(lambda: _finished(dagster_dev, launched["backfillId"]), timeout=300, what="the backfill")
    assert status == "COMPLETED_SUCCESS", status

    after = _statuses(dagster_dev)
    assert after["failedPartitions"] == [] and partition in after["materializedPartitions"]
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["chunk"] == partition and stats["finished_at"] > finished_before, "the backfill wrote the partition"
    assert results.stat().st_mtime_ns > written_before[0] and results.stat().st_ino != written_before[1]
    manifest = pq.read_table(
        home / "data" / "manifest" / "v1" / "manifest.parquet", columns=["repo_hash", "chunk_id"]
    ).to_pylist()
    expected = sorted(r["repo_hash"] for r in manifest if r["chunk_id"] == partition)
    stored = pq.read_table(results, columns=["repo_hash", "chunk_id"]).to_pylist()
    quarantined = pq.read_table(folder / "quarantine.parquet", columns=["repo_hash"]).column(0).to_pylist()
    assert stored and {r["chunk_id"] for r in stored} == {partition}
    assert sorted([r["repo_hash"] for r in stored] + quarantined) == expected, "exactly the partition's manifest rows"
    assert (stats["repos"], stats["stored"], stats["quarantined"]) == (len(expected), len(stored), len(quarantined))

    def audit_refreshed():
        latest = _graphql(dagster_dev, AUDIT)["assetNodeOrError"]["assetMaterializations"][0]
        return latest if float(latest["timestamp"]) > audit_before else None

    refreshed = _until(audit_refreshed, timeout=240, what="keep_audit_fresh to refresh audit_report")
    # The sensor's run goes on to the split and the label sample: it finishes, and nothing of it failed.
    run = _until(lambda: _run_finished(dagster_dev, refreshed["runId"]), timeout=240, what="the audit's run")
    assert run == "SUCCESS", run


def _finished(url: str, backfill_id: str) -> str | None:
    status = _graphql(url, BACKFILL, id=backfill_id)["partitionBackfillOrError"]["status"]
    return None if status == "REQUESTED" else status


def _run_finished(url: str, run_id: str) -> str | None:
    status = _graphql(url, RUN, id=run_id)["runOrError"]["status"]
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None
