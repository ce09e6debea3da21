"""Operating a build: failed partitions backfilled, the status command, audit kept fresh.

One real build on a loopback emulator that breaks mid-run: after the first partition,
every git request is answered 429 until the second partition has failed, so the build
ends with failed partitions — the situation a user backfills.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.audit import audit_report, label_audit_sample, train_test_split
from stratum_assets.assets.discovery import candidate_assets
from stratum_assets.assets.manifest import repo_manifest
from stratum_assets.assets.scanning import pipeline_run_log, scan_partition
from stratum_assets.definitions import defs as project_defs
from stratum_assets.orchestration.build_driver import (
    UnknownPartitions,
    backfill_unfinished,
    build_everything,
    partition_range,
)
from stratum_assets.resources import DataResource, ScannerResource
from stratum_assets.storage.layout import Layout
from stratum_assets.warehouse.publish import SUCCESS, PublishError, publish
from stratum_assets.warehouse.status import read_status, render, throughput
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator

from .conftest import ShortBackoffGitHub

pytestmark = pytest.mark.slow  # builds whole project homes and runs servers

ASSETS = [
    *candidate_assets,
    repo_manifest,
    scan_partition,
    pipeline_run_log,
    audit_report,
    train_test_split,
    label_audit_sample,
]


@pytest.fixture(scope="module")
def broken_build(small_universe, small_git_root, tmp_path_factory):
    """(data, instance, defs, emulator, first report, status seen while the build was broken).

    The emulator is this module's own (its faults are armed here only); it serves the session's small world
    (``small_universe``: three partitions, one before the broken one and one after it) from its bare repositories,
    built once for every emulator of the session (``small_git_root``)."""
    root = tmp_path_factory.mktemp("operating")
    data = root / "data"
    with GitHubEmulator(
        small_universe, small_git_root, budgets={"search": (10_000, 60.0)}, slow_clone_seconds=1.0
    ) as em:
        # The broken partition's 40 repositories are refused three times each: short waits between (conftest).
        resources = {
            "github": ShortBackoffGitHub(url=em.url),
            "data": DataResource(root=str(data)),
            "duckdb": DuckDBResource(database=str(data / "stratum.duckdb")),
            "scanner": ScannerResource(),
        }
        defs = dg.Definitions(assets=ASSETS, resources=resources)
        seen = {}

        def break_after_first_partition(line: str) -> None:
            if "(1/" in line:  # the first partition is in: GitHub starts refusing every clone
                em.faults.add(Fault("secondary_429", "git", times=10**9, retry_after=0))
            elif "(2/" in line:  # the second has failed: GitHub recovers; later partitions go through
                em.faults.clear()
                seen["status"] = read_status(Layout(data))
                with pytest.raises(PublishError) as refused:
                    publish(Layout(data), str(root / "published-too-early"))
                seen["publish_refused"] = str(refused.value)

        with dg.instance_for_test() as instance:
            report = build_everything(defs, instance, log=break_after_first_partition, parallel=1)
            yield data, instance, defs, em, report, seen


def test_a_broken_partition_fails_whole_and_the_build_says_so(broken_build):
    data, instance, _, _, report, seen = broken_build
    partitions = sorted(instance.get_dynamic_partitions("manifest_chunks"))
    assert report.failed_partitions == [partitions[1]]
    assert not (data / "scans" / "v1" / partitions[1]).exists(), "a rate-limited partition writes nothing"
    status = seen["status"]
    assert status.partitions_done == 1 and status.pending > 0 and status.repos_per_min > 0
    assert status.eta is not None and status.eta.total_seconds() > 0


def test_backfill_reruns_only_the_failed_partitions_and_nothing_is_dropped(broken_build):
    data, instance, defs, _, _, _ = broken_build
    partitions = sorted(instance.get_dynamic_partitions("manifest_chunks"))
    untouched = {
        p: os.stat(data / "scans" / "v1" / p / "stats.json").st_mtime_ns for p in partitions if p != partitions[1]
    }
    lines = []
    report = backfill_unfinished(defs, instance, log=lines.append)
    assert report.ok, report
    assert lines[:2] == [
        "Stage 2/3: 1 partitions of quarantine, scan_results, 1 at a time, up to 0 retries each",
        f"  partition {partitions[1]} (1/1): ok",
    ], lines
    assert instance.get_materialized_partitions(dg.AssetKey("scan_results")) == set(partitions)
    assert {p: os.stat(data / "scans" / "v1" / p / "stats.json").st_mtime_ns for p in untouched} == untouched
    assert ("zero_silent_drops", True) in [(name, ok) for name, ok, _ in report.checks]
    with duckdb.connect(str(data / "stratum.duckdb"), read_only=True) as conn:
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM scan_dataset GROUP BY 1").fetchall())
        manifest_rows = conn.execute("SELECT count(*) FROM repo_manifest").fetchone()[0]
    assert "pending" not in outcomes and sum(outcomes.values()) == manifest_rows
    log = json.loads((data / "pipeline_run_log.json").read_text())
    assert log["stored"] + log["quarantined"] == log["total_repos"] == manifest_rows
    audit = instance.get_latest_materialization_event(dg.AssetKey("audit_report"))
    assert audit.run_id in report.runs, "the audit was refreshed after the backfill"
    assert "## 9. Gates" in (data / "dataset_audit_report.md").read_text()
    checks = {name: ok for name, ok, _ in report.checks}  # the split froze once nothing was pending
    assert checks["no_group_in_both_splits"] is True and checks["no_repo_in_both_splits"] is True
    assert "| **all four joined: the split's groups** |" in (data / "dataset_audit_report.md").read_text()

    again = []
    assert backfill_unfinished(defs, instance, log=again.append).ok
    assert again[0] == "Every partition is materialized: nothing to backfill."


def test_a_partition_range_is_rescanned_in_one_command_and_nothing_else(broken_build):
    data, instance, defs, _, _, _ = broken_build
    partitions = sorted(instance.get_dynamic_partitions("manifest_chunks"))
    stamps = {p: os.stat(data / "scans" / "v1" / p / "stats.json").st_mtime_ns for p in partitions}
    lines = []
    report = backfill_unfinished(defs, instance, log=lines.append, partitions=f"{partitions[1]}...{partitions[2]}")
    assert report.ok, report
    assert lines[0].startswith("Stage 2/3: 2 partitions of quarantine, scan_results"), lines
    after = {p: os.stat(data / "scans" / "v1" / p / "stats.json").st_mtime_ns for p in partitions}
    assert [p for p in partitions if after[p] != stamps[p]] == partitions[1:3], "exactly the range, re-scanned"
    with pytest.raises(UnknownPartitions, match="no partition v9-c0000"):
        backfill_unfinished(defs, instance, log=lines.append, partitions=f"{partitions[0]}...v9-c0000")


def test_partition_range_reads_first_to_last_in_partition_order():
    keys = ["v1-c0000", "v1-c0001", "v1-c0002", "v1-c0003"]
    assert partition_range(keys, "v1-c0001...v1-c0002") == ["v1-c0001", "v1-c0002"]
    assert partition_range(keys, "v1-c0003") == ["v1-c0003"]
    with pytest.raises(UnknownPartitions, match="comes after the last"):
        partition_range(keys, "v1-c0002...v1-c0001")
    with pytest.raises(UnknownPartitions, match=re.escape("the partitions are v1-c0000...v1-c0003")):
        partition_range(keys, "v1-c0001...v1-c0009")


def test_rescanning_a_partition_requests_the_audit_once_it_is_done(broken_build):
    _data, instance, defs, _, _, _ = broken_build
    after_scans = {"pipeline_run_log", "audit_report", "train_test_split", "label_audit_sample"}
    fresh = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert fresh.total_requested == 0, "everything is up to date after the backfill"
    chunk = sorted(instance.get_dynamic_partitions("manifest_chunks"))[0]
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(
        instance=instance, partition_key=chunk, asset_selection=[dg.AssetKey("scan_results"), dg.AssetKey("quarantine")]
    ).success
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=fresh.cursor)
    requested = {key for key in after_scans if tick.get_num_requested(dg.AssetKey(key))}
    assert requested == after_scans and tick.total_requested == len(after_scans), requested
    sensor = project_defs.resolve_sensor_def("keep_audit_fresh")  # the one `dagster dev` runs, on by default
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_status_command_reads_the_finished_build(broken_build):
    data = broken_build[0]
    out = subprocess.run(
        [sys.executable, "-m", "stratum_assets.cli", "status", "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    status = read_status(Layout(data))
    assert status.pending == 0 and status.done == status.total > 0
    assert f"{status.total:,} accounted for, 0 pending" in out
    assert "scan status: " in out and "failure reasons: " in out and "; done" in out
    assert out.rstrip("\n") == "no build running\n" + render(status)


def test_status_with_a_manifest_and_no_partition_yet(broken_build, tmp_path):
    shutil.copytree(broken_build[0] / "manifest", tmp_path / "manifest")  # as right after repo_manifest
    status = read_status(Layout(tmp_path))
    assert status.total > 0 and status.pending == status.total and status.partitions_done == 0
    assert "no finished partition yet, no ETA" in render(status)


def test_status_before_any_manifest_and_throughput_over_overlapping_partitions(tmp_path):
    assert "No manifest yet" in render(read_status(Layout(tmp_path)))
    # two partitions of 60 repos that ran side by side for a minute: 120 repos/min, not 60
    stats = [
        {"repos": 60, "duration_s": 60, "finished_at": "2026-11-25T10:01:00+00:00"},
        {"repos": 60, "duration_s": 60, "finished_at": "2026-11-25T10:01:00+00:00"},
    ]
    assert throughput(stats) == 120.0


def test_publish_refuses_a_build_with_pending_repositories(broken_build):
    seen = broken_build[5]
    assert "still pending" in seen["publish_refused"] and "stratum-assets backfill" in seen["publish_refused"]


def test_the_finished_dataset_is_published_to_an_s3_compatible_server(broken_build):
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
    from moto.server import ThreadedMotoServer

    data = broken_build[0]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds = {
            "AWS_ACCESS_KEY_ID": "AKIASTRATUMTEST",
            "AWS_SECRET_ACCESS_KEY": "stratum-secret-value",
            "AWS_REGION": "us-east-1",
        }
        s3 = pafs.S3FileSystem(
            access_key=creds["AWS_ACCESS_KEY_ID"],
            secret_key=creds["AWS_SECRET_ACCESS_KEY"],
            endpoint_override=endpoint,
            region="us-east-1",
            allow_bucket_creation=True,
        )
        s3.create_dir("datasets")
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "stratum_assets.cli",
                "publish",
                "s3://datasets/stratum",
                "--endpoint-url",
                endpoint,
                "--data",
                str(data),
            ],
            env={**os.environ, **creds},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "published v1 to s3://datasets/stratum/v1" in out.stdout
        with s3.open_input_stream(f"datasets/stratum/v1/{SUCCESS}") as fh:
            success = json.loads(fh.read())
        text = json.dumps(success) + out.stdout + out.stderr
        assert creds["AWS_SECRET_ACCESS_KEY"] not in text and creds["AWS_ACCESS_KEY_ID"] not in text
        keys = {e["key"]: e for e in success["objects"]}
        for key, entry in keys.items():  # every object is there, whole
            assert s3.get_file_info(f"datasets/stratum/v1/{key}").size == entry["bytes"], key
        assert {
            "manifest/v1/manifest.parquet",
            "split/train.parquet",
            "split/test.jsonl",
            "dataset_audit_report.md",
            "pipeline_run_log.json",
        } <= set(keys)
        published = sum(
            pq.read_metadata(f"datasets/stratum/v1/{k}", filesystem=s3).num_rows
            for k in keys
            if k.endswith(("/scan_results.parquet", "/quarantine.parquet"))
        )
        assert published == success["repositories"] == success["stored"] + success["quarantined"] > 0
    finally:
        server.stop()
