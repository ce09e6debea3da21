"""The dataset's companion files: scan_results.jsonl, quarantine.jsonl, repo_manifest.jsonl, pipeline_run_log.json.

Real Parquet partitions (written as the scan stage writes them, from the reference scanner's real
pings), real DuckDB, real Dagster runs of the finishing stage; the files are read back as plain JSON.
"""

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.scanning import pipeline_run_log
from stratum_assets.manifest.build import repo_hash
from stratum_assets.manifest.export import as_date, export_jsonl_from_parquet, manifest_line
from stratum_assets.manifest.store import ManifestStore
from stratum_assets.resources import DataResource
from stratum_assets.scanner.ping import validate_ping
from stratum_assets.scanner.ping_file import stamp_identity
from stratum_assets.scanning.storage import ping_row, pings_table, quarantine_table, replace_partition
from stratum_assets.storage.files import write_chunks_atomic
from stratum_assets.storage.layout import Layout
from stratum_assets.warehouse import companions, runlog
from stratum_assets.warehouse.blocks import compact_ready, plan
from stratum_assets.warehouse.publish import PublishError, publish

from .conftest import reference_pings

STRATEGY_RUN_KEYS = {
    "run_id": str,
    "started_at": str,
    "completed_at": str,
    "manifest_version": str,
    "manifest_repo_count": int,
    "scans_attempted": int,
    "scans_success": int,
    "scans_partial": int,
    "scans_failed": int,
    "scans_empty": int,
    "total_duration_hours": float,
}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# -- a project home laid down as the pipeline lays it down -------------------------------------------
def _source(name: str, i: int) -> dict:
    """A manifest row's repo_source_metadata as discovery stores it (GitHub's timestamps)."""
    return {
        "github_stars": 10 * i,
        "github_forks": i,
        "last_commit_date": f"2026-0{1 + i % 9}-1{i % 10}T23:30:00Z",
        "repo_created_date": "2023-05-04T01:02:03Z",
        "is_fork": i % 5 == 0,
        "fork_parent": "upstream/repo" if i % 5 == 0 else None,
        "license": "MIT" if i % 2 else None,
        "github_topics": ["agents", "llm"][: i % 3],
        "primary_language": "Python",
        "language_bytes": json.dumps({"Python": 1000 + i}),
        "has_readme": i % 3 != 0,
        "discovery_query": "crewai pushed:>2025-06-01",
        "selection_stratum": "crewai",
        "collected_at": "2026-11-20T08:00:00Z",
    }


def _home(tmp_path, chunks: dict[str, list[str]], *, quarantined=(), pending=(), finished_at=None):
    """Manifest v1 of ``chunks``' repositories; each stored with a real reference ping unless quarantined
    (its real ping with a broken count) or pending (no partition row)."""
    layout = Layout(tmp_path / "data")
    pings = list(reference_pings().values())
    rows, by_name = [], {}
    for chunk, names in chunks.items():
        for name in names:
            i = len(rows)
            rows.append(
                {
                    "full_name": name,
                    "repo_hash": repo_hash(name),
                    "chunk_id": chunk,
                    "matched_strata": ["crewai"],
                    "manifest_version": 1,
                    **_source(name, i),
                }
            )
            ping = json.loads(json.dumps(pings[i % len(pings)]))
            stamp_identity(ping, name, "crewai")
            by_name[name] = ping
    ManifestStore(layout.manifests).freeze(1, pa.Table.from_pylist(sorted(rows, key=lambda r: r["repo_hash"])), {})
    for chunk, names in chunks.items():
        write_partition(layout, chunk, [by_name[n] for n in names if n not in pending], quarantined, finished_at)
    resources = {
        "data": DataResource(root=str(layout.root)),
        "duckdb": DuckDBResource(database=str(layout.root / "stratum.duckdb")),
    }
    return layout, resources, by_name


def write_partition(layout: Layout, chunk: str, pings: list[dict], quarantined=(), finished_at=None) -> None:
    """What scan_partition writes: stored pings, quarantine rows with every error, stats.json."""
    stored, bad = [], []
    for ping in pings:
        if ping["repo_full_name"] in quarantined:
            broken = {**ping, "finding_rule_count": ping["finding_rule_count"] + 1}
            bad.append(
                {
                    "repo_hash": ping["repo_hash"],
                    "repo_full_name": ping["repo_full_name"],
                    "chunk_id": chunk,
                    "scan_status": ping["scan_status"],
                    "failure_reason": None,
                    "errors": validate_ping(broken, ping["repo_hash"]),
                    "ping_json": json.dumps(broken),
                }
            )
        else:
            stored.append(ping_row(ping, {"chunk_id": chunk, "scanner": "stratum"}))
    by_status = {}
    for ping in pings:
        by_status[ping["scan_status"]] = by_status.get(ping["scan_status"], 0) + 1
    finished = finished_at or datetime.now(UTC)
    replace_partition(
        layout.scan_partition(1, chunk),
        pings_table(stored),
        quarantine_table(bad),
        {
            "repos": len(pings),
            "stored": len(stored),
            "quarantined": len(bad),
            "by_status": by_status,
            "duration_s": 90.0,
            "finished_at": finished.isoformat(),
            "chunk": chunk,
        },
    )


def _names(n: int, prefix: str = "owner") -> list[str]:
    return [f"{prefix}/agent-repo-{i}" for i in range(n)]


def _by_hash(names: list[str], parts: int) -> dict[str, list[str]]:
    """The pipeline's chunks: consecutive runs of the manifest in repo_hash order."""
    ordered = sorted(names, key=repo_hash)
    size = -(-len(ordered) // parts)
    return {f"v1-c{i:04d}": ordered[i * size : (i + 1) * size] for i in range(parts)}


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- scan_results.jsonl / quarantine.jsonl -----------------------------------------------------------
def test_every_stored_ping_is_exported_exactly_as_validated_in_repo_hash_order(tmp_path):
    names = _names(13)
    chunks = _by_hash(names, 3)
    layout, _, pings = _home(tmp_path, chunks)
    pings[names[4]]["a_field_from_a_newer_scanner"] = {"kept": [1, None]}  # extras survive, nulls too
    chunk = next(c for c, members in chunks.items() if names[4] in members)
    write_partition(layout, chunk, [pings[n] for n in chunks[chunk]])
    counts = companions.write_scan_companions(layout, 1)
    lines = _lines(layout.scan_results_jsonl)
    assert counts == {"scan_results": 13, "quarantine": 0} and len(lines) == 13
    assert [p["repo_hash"] for p in lines] == sorted(repo_hash(n) for n in names)
    for ping in lines:
        original = pings[ping["repo_full_name"]]
        assert ping == original  # every field and value, the JSON-text fields and maps as objects
        assert ping["schema_id"] == 5 and ping["repo_hash"] == repo_hash(ping["repo_full_name"])
        assert validate_ping(ping, ping["repo_hash"]) == []
    assert lines[[p["repo_full_name"] for p in lines].index(names[4])]["a_field_from_a_newer_scanner"] == {
        "kept": [1, None]
    }
    assert list(lines[0])[:6] == [
        "scan_id",
        "timestamp",
        "scanner_version",
        "repo_hash",
        "schema_id",
        "schema_version",
    ], "the scanner's field order, no provenance columns"
    assert "chunk_id" not in lines[0] and "extra_json" not in lines[0]


def test_partitions_whose_hash_ranges_overlap_still_export_in_repo_hash_order(tmp_path):
    names = _names(12, "mixed")
    interleaved = {"v1-c0000": names[0::3], "v1-c0001": names[1::3], "v1-c0002": names[2::3]}
    layout, _, _ = _home(tmp_path, interleaved)
    companions.write_scan_companions(layout, 1)
    hashes = [p["repo_hash"] for p in _lines(layout.scan_results_jsonl)]
    assert hashes == sorted(repo_hash(n) for n in names)


def test_overlapping_groups_keep_disjoint_partitions_apart():
    a, b, c, d = (Path("/p") / name for name in "abcd")
    assert companions.overlapping_groups([("5", "7", c), ("0", "3", a), ("4", "4", b)]) == [[a], [b], [c]]
    assert companions.overlapping_groups([("0", "5", a), ("3", "4", b), ("5", "6", c), ("7", "9", d)]) == [
        [a, b, c],
        [d],
    ]
    assert companions.overlapping_groups([]) == []


def test_the_same_data_always_gives_the_same_bytes(tmp_path):
    names = _names(13)
    layout, _, pings = _home(tmp_path, _by_hash(names, 3), quarantined={names[2], names[7]})
    companions.write_scan_companions(layout, 1)
    first = layout.scan_results_jsonl.read_bytes(), layout.quarantine_jsonl.read_bytes()
    companions.write_scan_companions(layout, 1)
    assert (layout.scan_results_jsonl.read_bytes(), layout.quarantine_jsonl.read_bytes()) == first
    for chunk, chunk_names in reversed(_by_hash(names, 3).items()):  # rewritten later, in another order
        write_partition(layout, chunk, [pings[n] for n in reversed(chunk_names)], {names[2], names[7]})
    companions.write_scan_companions(layout, 1)
    assert (layout.scan_results_jsonl.read_bytes(), layout.quarantine_jsonl.read_bytes()) == first
    assert first[0].endswith(b"}\n") and first[0].count(b"\n") == 11


def test_read_through_blocks_the_exports_are_the_same_bytes(tmp_path):
    """Blocks (warehouse/blocks.py) are only a faster way to read the partitions: same lines, same order; a
    partition re-run since its block was written is exported as it is now, never as the block's old copy."""
    names = _names(13)
    chunks = _by_hash(names, 3)
    layout, _, pings = _home(tmp_path, chunks, quarantined={names[2]})
    companions.write_scan_companions(layout, 1)
    partitions_only = layout.scan_results_jsonl.read_bytes(), layout.quarantine_jsonl.read_bytes()
    assert compact_ready(layout, 1) == [0] and plan(layout, 1).loose == []
    companions.write_scan_companions(layout, 1)
    assert (layout.scan_results_jsonl.read_bytes(), layout.quarantine_jsonl.read_bytes()) == partitions_only
    chunk = next(iter(chunks))
    rescored = [{**pings[n], "scan_duration_ms": 4242} for n in chunks[chunk]]
    write_partition(layout, chunk, rescored, {names[2]})  # a re-run after the blocks were written
    assert plan(layout, 1).outdated == [chunk]
    companions.write_scan_companions(layout, 1)
    lines = _lines(layout.scan_results_jsonl)
    durations = {p["repo_full_name"]: p["scan_duration_ms"] for p in lines}
    assert {durations[n] for n in chunks[chunk] if n != names[2]} == {4242}
    assert len(lines) == len(durations) == 12, "each repository once"


def test_quarantine_lines_carry_every_error_and_the_ping_as_printed(tmp_path):
    names = _names(13)
    layout, _, pings = _home(tmp_path, _by_hash(names, 2), quarantined={names[3]})
    companions.write_scan_companions(layout, 1)
    (line,) = _lines(layout.quarantine_jsonl)
    assert list(line) == ["repo_hash", "repo_full_name", "chunk_id", "scan_status", "failure_reason", "errors", "ping"]
    assert line["repo_hash"] == repo_hash(names[3]) and line["repo_full_name"] == names[3]
    assert line["errors"] == validate_ping(line["ping"], line["repo_hash"]) != []
    assert line["ping"]["finding_rule_count"] == pings[names[3]]["finding_rule_count"] + 1
    assert repo_hash(names[3]) not in layout.scan_results_jsonl.read_text()


# -- repo_manifest.jsonl -----------------------------------------------------------------------------
def test_manifest_lines_have_the_strategys_source_metadata_fields_and_formats(tmp_path):
    layout, _, _ = _home(tmp_path, _by_hash(_names(6), 1))
    assert export_jsonl_from_parquet(layout.manifests / "v1" / "manifest.parquet", layout.manifest_jsonl) == 6
    lines = _lines(layout.manifest_jsonl)
    assert [line["repo_hash"] for line in lines] == sorted(line["repo_hash"] for line in lines)
    for line in lines:
        assert line["manifest_version"] == "v1"
        assert_source_metadata(line["repo_source_metadata"])
    first = lines[0]["repo_source_metadata"]
    assert first["last_commit_date"][4] == "-" and len(first["last_commit_date"]) == 10
    assert first["repo_created_date"] == "2023-05-04"


def assert_source_metadata(meta: dict) -> None:
    """The strategy's repo_source_metadata: these fields, these types, dates as YYYY-MM-DD."""
    assert list(meta) == sorted(meta)
    assert set(meta) == {
        "github_stars",
        "github_forks",
        "last_commit_date",
        "repo_created_date",
        "is_fork",
        "fork_parent",
        "license",
        "github_topics",
        "primary_language",
        "language_bytes",
        "has_readme",
        "discovery_query",
        "selection_stratum",
        "collected_at",
    }
    assert type(meta["github_stars"]) is int and type(meta["github_forks"]) is int
    assert type(meta["is_fork"]) is bool and type(meta["has_readme"]) is bool
    for key in ("last_commit_date", "repo_created_date"):
        assert meta[key] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", meta[key]), meta[key]
    assert isinstance(meta["collected_at"], str) and datetime.fromisoformat(meta["collected_at"])
    assert isinstance(meta["github_topics"], list) and all(isinstance(t, str) for t in meta["github_topics"])
    assert isinstance(meta["language_bytes"], dict) and all(type(v) is int for v in meta["language_bytes"].values())
    assert meta["fork_parent"] is None or isinstance(meta["fork_parent"], str)
    assert meta["license"] is None or isinstance(meta["license"], str)
    assert isinstance(meta["discovery_query"], str) and isinstance(meta["selection_stratum"], str)
    assert meta["is_fork"] == (meta["fork_parent"] is not None) or not meta["is_fork"]


def test_dates_are_the_utc_day_of_githubs_timestamps():
    assert as_date("2025-07-01T23:30:00Z") == "2025-07-01"
    assert as_date("2025-07-01T23:30:00-05:00") == "2025-07-02"  # 04:30 UTC the next day
    assert as_date("2025-07-01") == "2025-07-01" and as_date(None) is None
    assert as_date(datetime(2025, 1, 2, 3, tzinfo=timezone(timedelta(hours=5)))) == "2025-01-01"
    row = {
        "full_name": "o/r",
        "repo_hash": repo_hash("o/r"),
        "selection_stratum": "crewai",
        "chunk_id": "v2-c0000",
        "matched_strata": ["crewai"],
        "manifest_version": 2,
        **_source("o/r", 3),
    }
    assert manifest_line(row)["manifest_version"] == "v2"
    assert manifest_line(row)["repo_source_metadata"]["last_commit_date"] == "2026-04-13"


# -- pipeline_run_log.json through the finishing stage -----------------------------------------------
def _finish(resources) -> dg.ExecuteInProcessResult:
    result = dg.materialize([pipeline_run_log], resources=resources)
    assert result.success
    return result


def test_each_execution_appends_a_record_in_the_strategys_shape(tmp_path):
    names = _names(13)
    chunks = _by_hash(names, 3)
    started = datetime.now(UTC) - timedelta(minutes=5)
    layout, resources, pings = _home(tmp_path, chunks, quarantined={names[5]}, finished_at=started)
    build = _finish(resources)
    doc = json.loads(layout.pipeline_run_log.read_text())
    (record,) = doc["runs"]
    assert {k: v for k, v in doc.items() if k != "runs"} == record, "the top level is the latest record"
    for key, kind in STRATEGY_RUN_KEYS.items():
        assert type(record[key]) is kind, key
    assert record["run_id"] == build.run_id
    assert record["manifest_version"] == "v1" and record["manifest_version_number"] == 1
    assert record["manifest_repo_count"] == record["total_repos"] == 13
    assert record["scans_attempted"] == 13 and record["scans_quarantined"] == 1
    statuses = [p["scan_status"] for p in pings.values()]
    assert [record[f"scans_{s}"] for s in ("success", "partial", "failed", "empty")] == [
        statuses.count(s) for s in ("success", "partial", "failed", "empty")
    ]
    assert ISO_UTC.match(record["started_at"]) and ISO_UTC.match(record["completed_at"])
    # the execution began when its first partition started scanning (finished_at - duration_s)
    assert record["started_at"] == (started - timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 0.105 < record["total_duration_hours"] < 0.115  # 6.5 minutes and the stage itself
    assert set(record["partitions_scanned"]) == set(chunks)
    assert record["stored"] == 12 and record["quarantined"] == 1 and record["pending"] == 0  # the earlier keys

    again = _finish(resources)  # the automation refreshing the audit: nothing was scanned
    doc = json.loads(layout.pipeline_run_log.read_text())
    assert [r["run_id"] for r in doc["runs"]] == [build.run_id, again.run_id] and doc["run_id"] == again.run_id
    assert doc["scans_attempted"] == 0 and doc["partitions_scanned"] == {}
    assert doc["stored"] == 12, "the version's state is still there"

    chunk = sorted(chunks)[1]  # a backfill rewrites one partition
    write_partition(layout, chunk, [pings[n] for n in chunks[chunk]], {names[5]})
    backfill = _finish(resources)
    doc = json.loads(layout.pipeline_run_log.read_text())
    assert [r["run_id"] for r in doc["runs"]] == [build.run_id, again.run_id, backfill.run_id]
    assert doc["scans_attempted"] == len(chunks[chunk]) and list(doc["partitions_scanned"]) == [chunk]
    assert doc["runs"][0]["scans_attempted"] == 13, "history is kept as it was"


def test_a_version_with_pending_repositories_has_no_ping_exports(tmp_path):
    names = _names(8)
    layout, resources, _ = _home(tmp_path, _by_hash(names, 2), pending={names[1]})
    layout.scan_results_jsonl.write_text("stale\n")  # e.g. the previous version's
    result = dg.materialize([pipeline_run_log], resources=resources, raise_on_error=False)
    assert not result.success, "zero_silent_drops is blocking"
    assert not layout.scan_results_jsonl.exists() and not layout.quarantine_jsonl.exists()
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["companion_files"].value == {"removed": ["scan_results.jsonl"], "reason": "1 pending, 0 duplicated"}
    assert json.loads(layout.pipeline_run_log.read_text())["pending"] == 1

    finished = _home(tmp_path / "whole", _by_hash(names, 2))[1]
    meta = _finish(finished).get_asset_materialization_events()[0].materialization.metadata
    assert meta["companion_files"].value == {"written": {"scan_results": 8, "quarantine": 0}}


def test_an_earlier_single_summary_or_an_unreadable_log_starts_the_history(tmp_path):
    layout, resources, _ = _home(tmp_path, _by_hash(_names(4), 1))
    layout.pipeline_run_log.write_text(json.dumps({"manifest_version": 1, "stored": 3}))  # the earlier shape
    _finish(resources)
    assert len(json.loads(layout.pipeline_run_log.read_text())["runs"]) == 1
    layout.pipeline_run_log.write_text('{"runs": [')  # cut short
    _finish(resources)
    assert len(json.loads(layout.pipeline_run_log.read_text())["runs"]) == 1
    assert (layout.root / "pipeline_run_log.json.unreadable").read_text() == '{"runs": ['


def test_scanned_since_counts_each_partition_write_once():
    history = [{"partitions_scanned": {"v1-c0000": "t1", "v1-c0001": "t1"}}, {"partitions_scanned": {"v1-c0001": "t2"}}]
    stats = {"v1-c0000": {"finished_at": "t1"}, "v1-c0001": {"finished_at": "t3"}, "v1-c0002": {}}
    assert set(runlog.scanned_since(history, stats)) == {"v1-c0001", "v1-c0002"}
    assert runlog.scanned_since([], stats) == stats


SUMMARY = runlog.RunSummary(
    manifest_version=2,
    total_repos=5,
    stored=3,
    quarantined=1,
    pending=1,
    duplicates=0,
    counts_by_status={"failed": 1, "success": 2},
    failure_reasons={"clone_timeout": 1},
    framework_distribution={"CrewAI": 2, "LangChain": 1},
    rate_limit_hits=4,
    partitions=2,
    durations={"partition_seconds_total": 12.5, "partition_seconds_max": 7.25},
    avg_scan_duration_ms=812.3,
    bytes_fetched=40960,
    scanners={"stratum-builtin 0.3.0": 2},
)
SCANNED = {
    "v2-c0001": {
        "repos": 2,
        "stored": 2,
        "by_status": {"success": 2},
        "duration_s": 5.25,
        "finished_at": "2026-01-02T03:04:10+00:00",
    },
    "v2-c0000": {
        "repos": 2,
        "stored": 1,
        "quarantined": 1,
        "by_status": {"failed": 1},
        "duration_s": 7.25,
        "finished_at": "2026-01-02T03:04:05+00:00",
    },
}
# The record the summary dict of before RunSummary made of this input (key order included): pipeline_run_log.json
# keeps its bytes.
RECORD = {
    "manifest_version": "v2",
    "total_repos": 5,
    "stored": 3,
    "quarantined": 1,
    "pending": 1,
    "duplicates": 0,
    "counts_by_status": {"failed": 1, "success": 2},
    "failure_reasons": {"clone_timeout": 1},
    "framework_distribution": {"CrewAI": 2, "LangChain": 1},
    "rate_limit_hits": 4,
    "partitions": 2,
    "durations": {"partition_seconds_total": 12.5, "partition_seconds_max": 7.25},
    "avg_scan_duration_ms": 812.3,
    "bytes_fetched": 40960,
    "scanners": {"stratum-builtin 0.3.0": 2},
    "run_id": "run-1",
    "started_at": "2026-01-02T03:03:57Z",
    "completed_at": "2026-01-02T03:06:00Z",
    "total_duration_hours": 0.034,
    "manifest_version_number": 2,
    "manifest_repo_count": 5,
    "scans_attempted": 4,
    "scans_success": 2,
    "scans_partial": 0,
    "scans_failed": 1,
    "scans_empty": 0,
    "scans_quarantined": 1,
    "partitions_scanned": {"v2-c0000": "2026-01-02T03:04:05+00:00", "v2-c0001": "2026-01-02T03:04:10+00:00"},
}


def test_a_run_summary_makes_the_record_the_summary_dict_made():
    record = runlog.execution_record(
        SUMMARY,
        SCANNED,
        run_id="run-1",
        started_at=datetime(2026, 1, 2, 3, 5, tzinfo=UTC),
        completed_at=datetime(2026, 1, 2, 3, 6, tzinfo=UTC),
    )
    assert list(record.items()) == list(RECORD.items()), "the same keys, values and order"


# -- publish ships the three, agreeing ---------------------------------------------------------------
def test_publish_ships_the_companion_files_of_the_version(tmp_path):
    names = _names(9)
    layout, resources, _ = _home(tmp_path, _by_hash(names, 3), quarantined={names[0]})
    _finish(resources)
    layout.manifest_jsonl.unlink(missing_ok=True)
    layout.scan_results_jsonl.unlink()
    out = tmp_path / "bucket"
    out.mkdir()
    published = publish(layout, str(out), filesystem=pafs.LocalFileSystem())
    shipped = out / f"v{published.version}"
    manifest = _lines(shipped / "repo_manifest.jsonl")
    stored = _lines(shipped / "scan_results.jsonl")
    quarantined = _lines(shipped / "quarantine.jsonl")
    assert len(manifest) == 9 and len(stored) == 8 and [q["repo_full_name"] for q in quarantined] == [names[0]]
    assert json.loads((shipped / "pipeline_run_log.json").read_text())["runs"]
    keys = {e["key"] for e in json.loads((shipped / "_SUCCESS.json").read_text())["objects"]}
    assert {"repo_manifest.jsonl", "scan_results.jsonl", "quarantine.jsonl", "pipeline_run_log.json"} <= keys


def test_publish_refuses_a_partition_damaged_inside_in_one_line_and_copies_nothing(tmp_path):
    names = _names(9)
    layout, resources, _ = _home(tmp_path, _by_hash(names, 3), quarantined={names[0]})
    _finish(resources)
    victim = layout.partition_files(1, "v1-c0001").results
    raw = bytearray(victim.read_bytes())
    pages_end = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")  # "PAR1", pages, footer, its length, "PAR1"
    raw[pages_end // 2 : pages_end // 2 + 16] = bytes(16)  # inside the pages: the footer still reads
    victim.write_bytes(bytes(raw))
    assert pq.read_metadata(victim).num_rows == 2
    out = tmp_path / "bucket"
    out.mkdir()
    with pytest.raises(PublishError) as refused:
        publish(layout, str(out), filesystem=pafs.LocalFileSystem())
    assert str(refused.value) == (
        "partition v1-c0001 is damaged (scan_results.parquet does not match the checksum in "
        "its stats.json): run `stratum-assets backfill` to rebuild it, then publish"
    )
    assert list(out.iterdir()) == [], "nothing copied"

    stats = json.loads(victim.with_name("stats.json").read_text())
    del stats["sha256"]  # written before checksums: nothing tells the damage until DuckDB reads the page
    victim.with_name("stats.json").write_text(json.dumps(stats))
    raw[pages_end // 2 - 1024 : pages_end // 2 + 1024] = bytes(range(256)) * 8
    victim.write_bytes(bytes(raw))
    with pytest.raises(
        PublishError,
        match=r"^the scans of v1 cannot be read \(.*\): a partition written before "
        r"checksums existed, or a block, is damaged; rebuild its partitions with ",
    ):
        publish(layout, str(out), filesystem=pafs.LocalFileSystem())
    assert list(out.iterdir()) == [], "nothing copied"


def test_an_export_cut_short_leaves_the_previous_file_whole(tmp_path):
    target = tmp_path / "scan_results.jsonl"
    write_chunks_atomic(["{}\n"], target)

    def failing():
        yield '{"half": '
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_chunks_atomic(failing(), target)
    assert target.read_text() == "{}\n" and [p.name for p in tmp_path.iterdir()] == ["scan_results.jsonl"]
    assert target.stat().st_mode & 0o777 == 0o644, "readable by the dataset's consumers"


@pytest.mark.parametrize("rows", [0, 1])
def test_an_empty_export_is_an_empty_file(tmp_path, rows):
    names = _names(rows + 1)
    layout, _, _ = _home(tmp_path, {"v1-c0000": names}, quarantined=set(names[rows:]))
    assert companions.write_scan_companions(layout, 1) == {"scan_results": rows, "quarantine": 1}
    assert layout.scan_results_jsonl.read_text().count("\n") == rows


def test_a_row_without_a_repo_hash_is_still_exported_last(tmp_path):
    names = _names(6)
    chunks = _by_hash(names, 2)
    layout, _, pings = _home(tmp_path, chunks)
    first = sorted(chunks)[0]
    orphan = {**pings[chunks[first][0]], "repo_hash": None}  # no pipeline writes this; hand-laid files might
    write_partition(layout, first, [orphan] + [pings[n] for n in chunks[first][1:]])
    assert companions.write_scan_companions(layout, 1)["scan_results"] == 6
    hashes = [p["repo_hash"] for p in _lines(layout.scan_results_jsonl)]
    assert hashes[-1] is None and hashes[:-1] == sorted(h for h in hashes if h)
