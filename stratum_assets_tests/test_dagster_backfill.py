"""Dagster's own backfill of a failed partition, launched over GraphQL and run by the daemon.

What a user does in the UI, end to end: a project home is built with ``stratum-assets run``
against one loopback GitHub (``STRATUM_SANDBOX_URL``); GitHub then refuses every clone while
one partition is re-run, so that partition's latest attempt fails; ``dagster dev`` (webserver
and daemon) serves the home; the GraphQL API — the one the UI calls — lists the failed
partition and launches a backfill of just it; the daemon runs it; afterwards no partition is
failed, and the ``keep_audit_fresh`` sensor refreshes the audit on its own.
"""

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

from stratum_sandbox.limits import Fault
from stratum_sandbox.loopback import free_port, wait_for_dagster_ui
from stratum_sandbox.server import GitHubEmulator

from .conftest import build_project_home

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
  assetMaterializations(limit: 1) { timestamp } } } }"""


def _graphql(url: str, query: str, **variables) -> dict:
    answer = requests.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _until(predicate, timeout: float, every: float = 2.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def home_with_a_failed_partition(universe, tmp_path_factory):
    root = tmp_path_factory.mktemp("dagster-backfill")
    home = root / "home"
    home.mkdir()
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config["run_retries"] = {"enabled": False}  # the backfill, not an automatic retry, must repair it
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with GitHubEmulator(universe, root / "git", budgets={"search": (10_000, 60.0)}, slow_clone_seconds=1.0) as em:
        env = build_project_home(home, STRATUM_SANDBOX_URL=em.url)
        partition = sorted(p.name for p in (home / "data" / "scans" / "v1").glob("v1-c*"))[1]
        em.faults.add(Fault("secondary_429", "git", times=10**9, retry_after=0))
        # The card's form, no -m: the project root's pyproject.toml names the code location.
        rerun = subprocess.run([str(BIN / "dagster"), "asset", "materialize",
                                "--select", "scan_results,quarantine", "--partition", partition,
                                "--config-json", '{"ops": {"scan_partition": {"config": {"clone_attempts": 1}}}}'],
                               cwd=home, env=env, capture_output=True, text=True, timeout=600)
        assert rerun.returncode != 0, "GitHub refused every clone: the partition run must fail"
        assert "hit GitHub's rate limit" in rerun.stdout + rerun.stderr, "the run itself failed, not the command"
        em.faults.clear()
        yield home, env, partition


@pytest.fixture(scope="module")
def dagster_dev(home_with_a_failed_partition):
    home, env, _ = home_with_a_failed_partition
    port = free_port()
    # `dagster dev` as people type it from the project root: the code location comes from pyproject.toml.
    server = subprocess.Popen([str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=home, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_dagster_ui(url, server)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _statuses(url: str) -> dict:
    return _graphql(url, PARTITION_STATUSES)["assetNodeOrError"]["assetPartitionStatuses"]


def test_the_daemon_backfills_the_failed_partition_and_the_audit_follows(home_with_a_failed_partition,
                                                                         dagster_dev):
    home, _, partition = home_with_a_failed_partition
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
    manifest = pq.read_table(home / "data" / "manifest" / "v1" / "manifest.parquet",
                             columns=["repo_hash", "chunk_id"]).to_pylist()
    expected = sorted(r["repo_hash"] for r in manifest if r["chunk_id"] == partition)
    stored = pq.read_table(results, columns=["repo_hash", "chunk_id"]).to_pylist()
    quarantined = pq.read_table(folder / "quarantine.parquet", columns=["repo_hash"]).column(0).to_pylist()
    assert stored and {r["chunk_id"] for r in stored} == {partition}
    assert sorted([r["repo_hash"] for r in stored] + quarantined) == expected, "exactly the partition's manifest rows"
    assert (stats["repos"], stats["stored"], stats["quarantined"]) == (len(expected), len(stored), len(quarantined))

    def audit_refreshed():
        node = _graphql(dagster_dev, AUDIT)["assetNodeOrError"]
        return float(node["assetMaterializations"][0]["timestamp"]) > audit_before

    _until(audit_refreshed, timeout=240, every=5.0, what="keep_audit_fresh to refresh audit_report")


def _finished(url: str, backfill_id: str) -> str | None:
    status = _graphql(url, BACKFILL, id=backfill_id)["partitionBackfillOrError"]["status"]
    return None if status == "REQUESTED" else status
