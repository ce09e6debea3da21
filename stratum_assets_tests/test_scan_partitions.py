"""Scan partitions: real clones from the loopback GitHub, real scanner processes, zero silent drops."""

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.discovery import candidate_assets
from stratum_assets.assets.manifest import repo_manifest
from stratum_assets.assets.scanning import pipeline_run_log, scan_partition
from stratum_assets.dedup.clusters import near_duplicate_clusters
from stratum_assets.dedup.fingerprint import NearDupSettings
from stratum_assets.manifest.build import repo_hash
from stratum_assets.manifest.store import ManifestStore
from stratum_assets.offline_github import OfflineGitHub
from stratum_assets.orchestration.build_driver import build_everything
from stratum_assets.resources import DataResource, ScannerResource
from stratum_assets.scanning.clone import clone, remove_escaping_symlinks
from stratum_assets.scanning.code_fingerprints import checkout_fingerprint
from stratum_assets.scanning.pipeline import (
    ChunkResult,
    ScanKnobs,
    ScanSettings,
    quarantine_rows,
    scan_chunk,
    scan_repo,
    stored_rows,
)
from stratum_assets.scanning.scanner_commands import BuiltinScanner, ExternalScanner, extract_json_object
from stratum_assets.scanning.storage import pings_table, quarantine_table, replace_partition
from stratum_assets.storage.files import recover_directory
from stratum_assets.storage.layout import Layout
from stratum_assets.warehouse.blocks import plan
from stratum_assets_tests.support.checkouts import write_checkout
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator
from stratum_sandbox.universe import code_families

from .conftest import fixture_path
from .test_companions import assert_source_metadata


def _row(repo, chunk="v1-c0000"):
    return {
        "full_name": repo.full_name,
        "repo_hash": repo_hash(repo.full_name),
        "chunk_id": chunk,
        "selection_stratum": "crewai",
    }


def _pick(universe, **want):
    return next(r for r in universe.repos if all(getattr(r, k) == v for k, v in want.items()) and not r.quirks)


def _fake_stratum(tmp_path: Path, body: str) -> str:
    """An executable standing in for the external `stratum` CLI: a real process with the real contract."""
    script = tmp_path / "stratum"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


# Rate-limited clones back off for minutes by default (issue 15): tests use a fraction of a second.
FAST = ScanSettings(ScanKnobs(clone_timeout_s=60, workers=2), scan_timeout=60, retry_wait=0.2, rate_limit_backoff=0.2)


# -- one repository at a time: every failure is classified, every ping stamped ----------------------
def test_a_good_repository_is_stored_with_provenance(emulator, universe, tmp_path, builtin_scanner):
    repo = _pick(universe, archetype="single", frameworks=("CrewAI",))
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path)
    assert result.stored, result.errors
    assert result.ping["repo_hash"] == repo_hash(repo.full_name) and result.ping["selection_stratum"] == "crewai"
    assert result.ping["scan_status"] == "success" and "CrewAI" in result.ping["frameworks"]
    assert len(result.provenance["commit_sha"]) == 40 and result.provenance["commit_date"]
    assert result.ping["files_total"] == result.ping["files_scanned"] > 0, "every listed source was fetched and parsed"
    assert list(tmp_path.iterdir()) == [], "the clone is removed"


def test_a_scanned_checkout_is_fingerprinted_with_the_scan_settings(emulator, universe, tmp_path, builtin_scanner):
    """The code fingerprint stored beside the ping is that of the cloned Python files, made with the knobs' settings."""
    repo = _pick(universe, archetype="single", frameworks=("CrewAI",))
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path / "work")
    copy = write_checkout(repo, tmp_path / "copy")
    expected = checkout_fingerprint(tmp_path / "copy", [f.path for f in copy], FAST.near_dup)
    assert expected.signature is not None and result.code == expected


def test_a_checkout_over_its_file_cap_is_scanned_in_part_and_stored_partial(
    emulator, universe, tmp_path, builtin_scanner
):
    """A clone capped by the knobs is scanned as far as it was written: never a success, the cap in its detail."""
    repo = _pick(universe, archetype="single", frameworks=("CrewAI",))
    capped = ScanSettings(ScanKnobs(clone_timeout_s=60, max_checkout_files=1), scan_timeout=60, retry_wait=0.2)
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), capped, tmp_path)
    assert result.stored, result.errors
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("partial", "over_limit")
    detail = result.provenance["failure_detail"]
    assert detail.startswith("checkout capped: ") and "; " not in detail, detail


def test_deleted_repository_is_a_failed_clone_404(emulator, universe, tmp_path, builtin_scanner):
    repo = next(r for r in universe.repos if r.deleted)
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path)
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("failed", "clone_404")
    assert result.stored and result.provenance["clone_attempts"] == 1, "a 404 is not retried"


def test_slow_repository_is_a_clone_timeout(emulator, universe, tmp_path, builtin_scanner):
    repo = next(r for r in universe.repos if r.slow)
    settings = ScanSettings(ScanKnobs(clone_timeout_s=1.0), retry_wait=0.2)
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), settings, tmp_path)
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("failed", "clone_timeout")


@pytest.mark.slow
def test_rate_limited_clones_are_retried_then_classified(emulator, universe, tmp_path, builtin_scanner):
    repo = _pick(universe, archetype="single")
    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=1))
    ok = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path)
    assert ok.ping["scan_status"] in ("success", "partial") and ok.provenance["clone_attempts"] == 2
    emulator.faults.add(Fault("secondary_429", "git", times=10, retry_after=1))
    limited = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path)
    assert limited.ping["failure_reason"] == "clone_rate_limited" and limited.provenance["clone_attempts"] == 3


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ("sys.stderr.write('Traceback: boom\\n'); sys.exit(1)", "failed", "parse_crash"),
        pytest.param("time.sleep(30)", "partial", "parse_timeout", marks=pytest.mark.slow),
        ("print('loading plugins...'); print('not json at all')", "failed", "parse_crash"),
    ],
)
def test_external_scanner_failures_still_yield_one_ping(emulator, universe, tmp_path, body, status, reason):
    repo = _pick(universe, archetype="single")
    scanner = ExternalScanner(_fake_stratum(tmp_path, body))
    settings = ScanSettings(ScanKnobs(clone_timeout_s=60), scan_timeout=2, retry_wait=0.2)
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), scanner, settings, tmp_path)
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == (status, reason)
    assert result.stored, result.errors


@pytest.mark.parametrize("recorded", sorted(p.name for p in fixture_path("pings").glob("*.json")))
def test_every_real_reference_ping_is_stored_through_the_external_scanner_path(emulator, universe, tmp_path, recorded):
    """The 13 pings the reference scanner printed for real repositories (nulls, ints for floats, "" hashes)."""
    reference = fixture_path(f"pings/{recorded}")
    body = (
        f"os.makedirs(os.path.join(sys.argv[2], '.stratum'), exist_ok=True)\n"
        f"print('stratum 0.3.1 starting', file=sys.stderr); print('[info] scanning')\n"
        f"print(open({str(reference)!r}).read())"
    )
    repo = _pick(universe, archetype="single", frameworks=("CrewAI",))
    result = scan_repo(
        _row(repo),
        emulator.clone_url(repo.full_name),
        ExternalScanner(_fake_stratum(tmp_path, body)),
        FAST,
        tmp_path / "work",
    )
    assert result.stored, result.errors
    expected = json.loads(reference.read_text())
    assert result.ping["repo_hash"] == repo_hash(repo.full_name), "identity comes from the manifest"
    assert result.ping["repo_full_name"] == repo.full_name
    (stored,) = pings_table(stored_rows(ChunkResult([result]))).to_pylist()  # the partition file's row
    for field in ("risk_score", "finding_rules", "agent_count", "crew_count", "frameworks", "learning_type"):
        assert result.ping[field] == stored[field] == expected[field], field
    assert stored["repo_metadata"]["primary_framework"] == expected["repo_metadata"]["primary_framework"]


def test_json_is_found_among_log_noise():
    assert extract_json_object('INFO start\n{"a": 1}\nDEBUG {not json}\n{"b": {"c": 2}}\ndone') == {"b": {"c": 2}}
    assert extract_json_object("nothing here") is None


def test_symlinks_out_of_the_clone_are_removed_before_scanning(emulator, universe, tmp_path):
    repo = next(r for r in universe.repos if "symlink_escape" in r.quirks)
    cloned = clone(emulator.clone_url(repo.full_name), tmp_path / "c", partial=False)
    assert cloned.failure is None and cloned.symlinks_removed == 2
    assert not any(p.is_symlink() for p in (tmp_path / "c").rglob("*"))
    inside = tmp_path / "in"
    inside.mkdir()
    (inside / "a.py").write_text("x = 1\n")
    (inside / "ok_link.py").symlink_to("a.py")
    assert remove_escaping_symlinks(inside) == 0 and (inside / "ok_link.py").is_symlink()


def test_non_utf8_sources_are_scanned(emulator, universe, tmp_path, builtin_scanner):
    # The non_utf8 quirk adds legacy/notes_latin1.py (a Latin-1 comment and `VALUE = 1`) to an otherwise normal
    # project; in the seed-7 universe the first such repository is a single-crew AutoGen project (3 agents; 2 and
    # no crew to the reference, which names AutoGen agents by `name=` only).
    repo = next(
        r
        for r in universe.repos
        if r.quirks == {"non_utf8"} and r.archetype == "single" and not r.deleted and not r.slow
    )
    assert repo.frameworks == ("AutoGen",)
    result = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path / "work")
    ping = result.ping
    assert result.stored, result.errors
    assert (ping["scan_status"], ping["failure_reason"], ping["parser_errors"]) == ("success", None, 0)
    assert ping["files_scanned"] == ping["files_total"] == 4, "the Latin-1 file is parsed, not skipped"
    assert ping["frameworks"] == ["AutoGen"] and ping["detected_agent_count"] == 3 and ping["detected_crew_count"] == 1
    assert (ping["agent_count"], ping["crew_count"]) == (2, 0), "the reference: positional names collapse, no crews"

    # The same checkout with and without the Latin-1 file: it adds exactly one scanned file and its one line.
    checkout = tmp_path / "checkout"
    assert clone(emulator.clone_url(repo.full_name), checkout, partial=False).failure is None
    latin1 = checkout / "legacy" / "notes_latin1.py"
    with pytest.raises(UnicodeDecodeError):
        latin1.read_bytes().decode("utf-8")
    scanner = BuiltinScanner()
    try:
        with_it = scanner.scan(checkout, repo.full_name, None, timeout=60)
        latin1.unlink()
        without = scanner.scan(checkout, repo.full_name, None, timeout=60)
    finally:
        scanner.close()
    assert with_it.failure is None and without.failure is None
    a, b = with_it.ping, without.ping
    assert (a["files_scanned"], a["files_total"], a["parser_errors"]) == (
        b["files_scanned"] + 1,
        b["files_total"] + 1,
        0,
    )
    assert a["repo_metadata"]["python_file_count"] == b["repo_metadata"]["python_file_count"] + 1
    assert a["repo_metadata"]["total_loc"] == b["repo_metadata"]["total_loc"] + 1  # `VALUE = 1`; comments don't count
    for key in ("agent_count", "frameworks", "finding_rules", "detected_topology_signature_hash", "risk_score"):
        assert a[key] == b[key] == ping[key], key


def test_partial_clone_fetches_less_and_scans_the_same(emulator, universe, tmp_path, builtin_scanner):
    repo = _pick(universe, archetype="single")
    partial = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), FAST, tmp_path)
    full_settings = ScanSettings(ScanKnobs(clone_timeout_s=60, partial_clone=False), scan_timeout=60)
    full = scan_repo(_row(repo), emulator.clone_url(repo.full_name), builtin_scanner(), full_settings, tmp_path)
    assert partial.provenance["bytes_fetched"] < full.provenance["bytes_fetched"]
    for key in (
        "finding_rules",
        "agent_count",
        "detected_topology_signature_hash",
        "files_total",
        "files_scanned",
        "risk_score",
    ):
        assert partial.ping[key] == full.ping[key], key


# -- a chunk: replace atomically, survive crashes ----------------------------------------------------
def test_a_chunk_accounts_for_every_row_and_leaves_no_clone_behind(emulator, universe, tmp_path):
    repos = [r for r in universe.repos if not r.slow][:12]
    result = scan_chunk([_row(r) for r in repos], emulator.clone_url, BuiltinScanner(), FAST, tmp_path / "work")
    assert sorted(r.row["repo_hash"] for r in result.results) == sorted(repo_hash(r.full_name) for r in repos)
    assert not (tmp_path / "work").exists()


def test_replacing_a_partition_is_atomic_and_recoverable(tmp_path, monkeypatch):
    folder = tmp_path / "scans" / "v1" / "v1-c0000"
    first = pings_table([]), quarantine_table([])
    replace_partition(folder, *first, {"run": 1})
    assert json.loads((folder / "stats.json").read_text())["run"] == 1

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("stratum_assets.scanning.storage.pq.write_table", crash)
    with pytest.raises(OSError):
        replace_partition(folder, *first, {"run": 2})
    monkeypatch.undo()
    assert json.loads((folder / "stats.json").read_text())["run"] == 1, "a failed run leaves the previous state"
    assert [p.name for p in folder.parent.iterdir()] == ["v1-c0000"], "no half-written directory left behind"
    folder.rename(folder.parent / ".v1-c0000.old")  # as if killed between the two renames of a swap
    recover_directory(folder)
    assert json.loads((folder / "stats.json").read_text())["run"] == 1


# -- through Dagster: every partition, then the invariant -------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    data = root / "data"
    resources = {
        "github": OfflineGitHub(git_root=str(root / "git"), search_per_minute=10_000),
        "data": DataResource(root=str(data)),
        "duckdb": DuckDBResource(database=str(data / "stratum.duckdb")),
        "scanner": ScannerResource(),
    }
    defs = dg.Definitions(
        assets=[*candidate_assets, repo_manifest, scan_partition, pipeline_run_log], resources=resources
    )
    with dg.instance_for_test() as instance:
        report = build_everything(defs, instance, log=lambda _: None)
        yield data, instance, report, defs


@pytest.mark.slow
def test_every_repo_accounted_for_keeps_one_result_per_partition(built):
    """A partitioned check: each chunk's evaluation is its own, not overwritten by the next chunk's."""
    _, instance, report, _ = built
    evaluations = {}
    for run_id in report.runs:
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = event.dagster_event.event_specific_data
            if evaluation.check_name == "every_repo_accounted_for":
                evaluations[evaluation.partition] = evaluation.passed
    assert evaluations == dict.fromkeys(instance.get_dynamic_partitions("manifest_chunks"), True)


@pytest.mark.slow
def test_every_partition_is_materialized_and_nothing_is_dropped(built):
    data, instance, report, _ = built
    assert report.ok and report.failed_partitions == []
    partitions = instance.get_dynamic_partitions("manifest_chunks")
    assert len(partitions) >= 3
    materialized = instance.get_materialized_partitions(dg.AssetKey("scan_results"))
    assert materialized == set(partitions)
    assert ("zero_silent_drops", True) in [(name, ok) for name, ok, _ in report.checks]
    with duckdb.connect(str(data / "stratum.duckdb"), read_only=True) as conn:
        manifest_rows = conn.execute("SELECT count(*) FROM repo_manifest").fetchone()[0]
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM scan_dataset GROUP BY 1").fetchall())
        per_chunk = conn.execute("""
            SELECT m.chunk_id, count(*) AS rows,
                   count(s.repo_hash) + count(q.repo_hash) AS accounted
            FROM repo_manifest m
            LEFT JOIN scan_results s USING (repo_hash)
            LEFT JOIN quarantine q USING (repo_hash)
            GROUP BY 1""").fetchall()
    assert sum(outcomes.values()) == manifest_rows and "pending" not in outcomes
    reading = plan(Layout(data), 1)  # the last partition of the block wrote it: the views read one block
    assert [b.folder.name for b in reading.blocks] == ["b0000"] and reading.loose == [] and reading.outdated == []
    assert all(rows == accounted for _, rows, accounted in per_chunk)
    log = json.loads((data / "pipeline_run_log.json").read_text())
    assert log["stored"] + log["quarantined"] == log["total_repos"] == manifest_rows
    assert set(log["counts_by_status"]) <= {"success", "partial", "failed", "empty"}


@pytest.mark.slow
def test_the_three_companion_files_of_the_build_join_on_repo_hash(built):
    """What a consumer of the dataset does: plain json over the three files, no DuckDB, no Parquet."""
    data, instance, _, _ = built

    def lines(name: str) -> list[dict]:
        return [json.loads(line) for line in (data / name).read_text().splitlines()]

    manifest, stored, quarantined = lines("repo_manifest.jsonl"), lines("scan_results.jsonl"), lines("quarantine.jsonl")
    run_log = json.loads((data / "pipeline_run_log.json").read_text())
    found: dict[str, list[dict]] = {}
    for line in stored + quarantined:
        found.setdefault(line["repo_hash"], []).append(line)
    assert len(manifest) > 100 and stored
    for row in manifest:  # every manifest row has exactly one ping or one quarantine line
        (outcome,) = found.pop(row["repo_hash"])
        assert outcome["repo_full_name"] == row["repo_full_name"]
        assert row["manifest_version"] == "v1"
        assert_source_metadata(row["repo_source_metadata"])
    assert found == {}, "no line for a repository outside the manifest"
    assert [p["repo_hash"] for p in stored] == sorted(p["repo_hash"] for p in stored)
    assert all(p["schema_id"] == 5 and p["repo_hash"] == repo_hash(p["repo_full_name"]) for p in stored)

    record = run_log["runs"][-1]
    assert record["run_id"] == instance.get_latest_materialization_event(dg.AssetKey("pipeline_run_log")).run_id
    assert record["manifest_version"] == "v1" and record["manifest_repo_count"] == len(manifest)
    assert record["scans_attempted"] == len(manifest), "the build scanned every repository"
    for status in ("success", "partial", "failed", "empty"):
        assert record[f"scans_{status}"] == sum(p["scan_status"] == status for p in stored + quarantined)
    assert record["started_at"] <= record["completed_at"] and record["total_duration_hours"] > 0


@pytest.mark.slow
def test_code_fingerprints_are_stored_beside_the_pings_and_find_the_universes_copies(built, universe):
    """Hashes of the code, never code, for every stored ping with enough Python; clusters match the ground truth."""
    data, *_ = built
    with duckdb.connect(str(data / "stratum.duckdb"), read_only=True) as conn:
        rows = conn.execute("""SELECT f.repo_hash, m.full_name, f.content_hash, f.minhash, f.signature_key,
                                      d.outcome, d.scan_status, f.file_digests, f.part_digests
                               FROM code_fingerprints f JOIN repo_manifest m USING (repo_hash)
                               JOIN scan_dataset d USING (repo_hash)""").fetchall()
        columns = {c[0]: c[1] for c in conn.execute("DESCRIBE code_fingerprints").fetchall()}
    assert len(rows) > 100 and len({r[0] for r in rows}) == len(rows), "one row per repository"
    assert columns["minhash"] == "BLOB" and columns["content_hash"] == "VARCHAR"
    assert columns["file_digests"] == "BLOB" and columns["part_digests"] == "BLOB"
    assert all(r[8] and len(r[8]) % 12 == 0 and (r[7] is None or len(r[7]) % 12 == 0) for r in rows)
    assert all(len(r[2]) == 64 and len(r[3]) == 525 for r in rows)
    assert {r[4] for r in rows} == {NearDupSettings().signature_key}
    assert {r[5] for r in rows} == {"stored"}
    name = {r[0]: r[1].lower() for r in rows}
    clusters = near_duplicate_clusters([(r[0], r[3], r[7], r[8]) for r in rows])
    found = [{name[h] for h in cluster} for cluster in clusters]
    fingerprinted = set(name.values())
    truth = [{n.lower() for n in family} & fingerprinted for family in code_families(universe)]
    truth = [family for family in truth if len(family) > 1]
    assert truth, "the manifest holds copies of some repository"
    for family in truth:  # every family that reached the dataset is inside one cluster
        assert any(family <= cluster for cluster in found), family
    edited = {r.full_name.lower() for r in universe.repos if r.archetype == "edited_clone"}
    assert edited & set().union(*truth), "some lightly edited clone reached the dataset with a family member"


@pytest.mark.slow
def test_rerunning_a_partition_replaces_exactly_that_partition(built):
    data, instance, _, defs = built
    chunk = sorted(instance.get_dynamic_partitions("manifest_chunks"))[0]
    folder = next((data / "scans").glob(f"v*/{chunk}"))
    before = pq.read_table(folder / "scan_results.parquet", columns=["repo_hash"]).column(0).to_pylist()
    others = {
        p.name: os.stat(p / "scan_results.parquet").st_mtime_ns for p in folder.parent.glob("v*-c*") if p.name != chunk
    }
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("scan_results"), dg.AssetKey("quarantine")], partition_key=chunk
    )
    assert result.success
    after = pq.read_table(folder / "scan_results.parquet", columns=["repo_hash"]).column(0).to_pylist()
    assert sorted(after) == sorted(before) and len(after) == len(set(after))
    assert {
        p.name: os.stat(p / "scan_results.parquet").st_mtime_ns for p in folder.parent.glob("v*-c*") if p.name != chunk
    } == others, "other partitions untouched"
    written = result.asset_materializations_for_node("scan_partition")[0].metadata["block_written"].value
    reading = plan(Layout(data), 1)
    assert written is True and reading.loose == [] and len(reading.blocks) == 1, (
        "the re-run rebuilt its block: the views read the new partition from it"
    )


@pytest.mark.slow
def test_a_partition_that_only_hit_rate_limits_fails_and_keeps_its_previous_state(built, universe, tmp_path):
    data, instance, _, defs = built
    chunk = sorted(instance.get_dynamic_partitions("manifest_chunks"))[-1]
    folder = next((data / "scans").glob(f"v*/{chunk}"))
    before = (folder / "scan_results.parquet").read_bytes()
    # A separately running offline GitHub (same universe) that throttles every git request.
    with GitHubEmulator(universe, tmp_path / "git") as throttled:
        throttled.faults.add(Fault("secondary_429", "git", times=100_000, retry_after=1))
        github = OfflineGitHub(url=throttled.url)
        job = dg.Definitions(
            assets=defs.assets, resources={**defs.resources, "github": github}
        ).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance,
            partition_key=chunk,
            raise_on_error=False,
            run_config={"ops": {"scan_partition": {"config": {"clone_attempts": 1, "workers": 2}}}},
            asset_selection=[dg.AssetKey("scan_results"), dg.AssetKey("quarantine")],
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "rate limit" in failure.event_specific_data.error.message
    assert (folder / "scan_results.parquet").read_bytes() == before, "nothing written: the previous state is intact"


def test_a_partition_materialized_through_the_external_scanner_resource(emulator, universe, tmp_path):
    """ScannerResource(kind="external") end to end: Dagster → ExternalScanner → a process with the stratum contract."""
    reference = fixture_path("pings/crewAIInc__crewAI-examples.json")
    recorded = json.loads(reference.read_text())
    # The reference ping is accepted by today's ping model (learning_type "context_level", not null).
    assert recorded["learning_type"] == "context_level"
    script = _fake_stratum(
        tmp_path,
        (
            "args = sys.argv[1:]\n"
            "os.makedirs(os.path.join(args[1], '.stratum'), exist_ok=True)  # the real CLI writes into the folder\n"
            f"ping = json.load(open({str(reference)!r}))\n"
            "ping['repo_full_name'] = args[args.index('--repo-name') + 1]\n"
            "ping['stand_in_argv'] = [args[0], *args[2:]]  # the checkout copy's path varies\n"
            "print('stratum 0.3.1 starting', file=sys.stderr); print('[info] scanning')\n"
            "print(json.dumps(ping))"
        ),
    )
    repos = [r for r in universe.repos if r.archetype == "single" and not r.quirks and not r.deleted and not r.slow][:3]
    chunk = "v1-c0000"
    data = tmp_path / "data"
    manifest = [
        {
            "full_name": r.full_name,
            "repo_hash": repo_hash(r.full_name),
            "chunk_id": chunk,
            "selection_stratum": "crewai",
            "manifest_version": 1,
        }
        for r in repos
    ]
    ManifestStore(data / "manifest").freeze(1, pa.Table.from_pylist(manifest), {"rows": len(manifest)})
    resources = {
        "github": OfflineGitHub(url=emulator.url),
        "data": DataResource(root=str(data)),
        "scanner": ScannerResource(kind="external", external_command=script, timeout_s=60),
    }
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("manifest_chunks", [chunk])
        result = dg.materialize(
            [scan_partition],
            resources=resources,
            instance=instance,
            partition_key=chunk,
            run_config={"ops": {"scan_partition": {"config": {"workers": 2}}}},
        )
    assert result.success
    meta = {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert meta["scan_results"]["scanner"].value == "external" and meta["scan_results"]["stored"].value == 3
    assert meta["quarantine"]["quarantined"].value == 0
    (check,) = result.get_asset_check_evaluations()
    assert check.passed

    folder = data / "scans" / "v1" / chunk
    assert pq.read_table(folder / "quarantine.parquet").num_rows == 0
    rows = sorted(pq.read_table(folder / "scan_results.parquet").to_pylist(), key=lambda r: r["repo_full_name"])
    assert [r["repo_full_name"] for r in rows] == sorted(r.full_name for r in repos)
    for row in rows:
        name = row["repo_full_name"]
        # The pipeline's identity and provenance, not the recorded ping's (repo_hash "", stratum "crewai_active").
        assert row["repo_hash"] == hashlib.sha256(name.lower().encode()).hexdigest()[:16]
        assert (row["selection_stratum"], row["chunk_id"], row["scanner"]) == ("crewai", chunk, "stratum")
        assert len(row["commit_sha"]) == 40 and row["clone_attempts"] == 1
        # What the external scanner printed.
        assert (row["agent_count"], row["crew_count"], row["risk_score"]) == (56, 30, 69)
        assert row["finding_rules"] == recorded["finding_rules"] and len(row["finding_rules"]) == 18
        assert row["frameworks"] == ["CrewAI", "LangChain", "LangGraph"] == recorded["frameworks"]
        assert (row["scan_status"], row["failure_reason"], row["learning_type"]) == ("success", None, "context_level")
        assert (row["files_scanned"], row["files_total"]) == (116, 116)
        assert json.loads(row["extra_json"])["stand_in_argv"] == [
            "scan",
            "--json",
            "--no-telemetry",
            "--offline",
            "--repo-name",
            name,
        ]


def test_builtin_worker_is_killed_on_timeout_and_replaced_after_a_crash(tmp_path):
    checkout = tmp_path / "repo"
    checkout.mkdir()
    (checkout / "a.py").write_text("from crewai import Agent\nx = Agent(role='r')\n")
    scanner = BuiltinScanner()
    try:
        timed_out = scanner.scan(checkout, "o/r", ["a.py"], timeout=0.001)
        assert timed_out.failure == "parse_timeout"
        ok = scanner.scan(checkout, "o/r", ["a.py"], timeout=60)
        assert ok.failure is None and ok.ping["agent_count"] == 1
        scanner._local.worker.proc.kill()  # the worker dies between two scans
        scanner._local.worker.proc.wait()
        again = scanner.scan(checkout, "o/r", ["a.py"], timeout=60)
        assert again.failure is None and again.ping["agent_count"] == 1
    finally:
        scanner.close()


def _local_repo(path: Path, files: dict[str, str]) -> str:
    """A real git repository on disk, cloned over file:// like any remote."""
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = {
        "PATH": os.environ["PATH"],
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for cmd in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *cmd], cwd=path, env=env, check=True)
    return f"file://{path}"


def test_a_repository_without_python_is_empty_no_python(tmp_path, builtin_scanner):
    url = _local_repo(tmp_path / "ts", {"package.json": "{}", "src/agent.ts": "export const a = 1;\n"})
    row = {"full_name": "o/ts", "repo_hash": repo_hash("o/ts"), "chunk_id": "v1-c0000", "selection_stratum": "x"}
    result = scan_repo(row, url, builtin_scanner(), FAST, tmp_path / "work")
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("empty", "no_python")
    assert result.stored and result.ping["files_total"] == 0


def test_an_inconsistent_ping_is_quarantined_with_every_error(tmp_path):
    reference = fixture_path("pings/crewAIInc__crewAI-examples.json")
    body = (
        f"ping = json.load(open({str(reference)!r}))\n"
        "ping.update(risk_score=150, crew_count=2, schema_version='0.2.0')\n"
        "print(json.dumps(ping))"
    )
    url = _local_repo(tmp_path / "crew", {"crew.py": "from crewai import Agent\n"})
    row = {"full_name": "o/crew", "repo_hash": repo_hash("o/crew"), "chunk_id": "v1-c0000", "selection_stratum": "x"}
    result = scan_chunk([row], lambda _: url, ExternalScanner(_fake_stratum(tmp_path, body)), FAST, tmp_path / "w")
    assert len(result.quarantined) == 1 and not result.stored
    (quarantined,) = quarantine_rows(result)
    assert quarantined["repo_hash"] == row["repo_hash"]
    assert len(quarantined["errors"]) == 3 and any("risk_score" in e for e in quarantined["errors"])
    assert json.loads(quarantined["ping_json"])["risk_score"] == 150, "the rejected ping is kept for inspection"
