"""The frozen manifest, its chunk partitions and the DuckDB warehouse, through real Dagster runs."""

import hashlib
import json
import random
import shutil

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.discovery import STRATUM_NAMES, candidate_assets
from stratum_assets.assets.manifest import chunk_partitions, repo_manifest
from stratum_assets.manifest.build import build_manifest, fingerprint, repo_hash
from stratum_assets.manifest.store import ManifestFrozenError, ManifestStore
from stratum_assets.offline_github import OfflineGitHub
from stratum_assets.resources import DataResource
from stratum_assets.scanner.engine import empty_ping
from stratum_assets.scanning.storage import ping_row, pings_table, quarantine_table, replace_partition
from stratum_assets.storage.layout import Layout
from stratum_assets.warehouse import schema


# -- pure rules -------------------------------------------------------------------------------
def _cand(name, stratum, **extra):
    row = {
        "full_name": name,
        "is_fork": False,
        "fork_parent": None,
        "github_stars": 1,
        "last_commit_date": "2025-09-01T00:00:00Z",
        "discovery_query": f"q-{stratum}",
        "selection_stratum": stratum,
    }
    return {**row, **extra}


def test_repo_hash_is_the_lowercased_sha256_prefix():
    assert repo_hash("CrewAIInc/crewAI-examples") == hashlib.sha256(b"crewaiinc/crewai-examples").hexdigest()[:16]


def test_overlaps_are_shared_by_need_not_swallowed_by_the_first_stratum():
    names = [f"o/r{i}" for i in range(40)]
    candidates = {"first": [_cand(n, "first") for n in names], "second": [_cand(n, "second") for n in names]}
    build = build_manifest(candidates, {"first": 10, "second": 10}, version=1, chunk_size=7)
    assert build.per_stratum == {"first": 10, "second": 10}
    assert build.dropped["over_target"] == 20
    assert all(r["matched_strata"] == ["first", "second"] for r in build.rows)
    assert all(r["discovery_query"] == f"q-{r['selection_stratum']}" for r in build.rows)
    assert [r["chunk_id"] for r in build.rows].count("v1-c0000") == 7
    assert len({r["repo_hash"] for r in build.rows}) == 20


def test_dedup_is_case_insensitive_and_forks_never_double_a_parent():
    candidates = {
        "a": [_cand("Owner/Repo", "a"), _cand("x/fork1", "a", is_fork=True, fork_parent="owner/repo")],
        "b": [
            _cand("owner/repo", "b"),
            _cand("y/fork2", "b", is_fork=True, fork_parent="z/elsewhere", github_stars=5),
            _cand("w/fork3", "b", is_fork=True, fork_parent="z/elsewhere"),
        ],
    }
    build = build_manifest(candidates, {"a": 10, "b": 10}, version=1, chunk_size=10)
    assert sorted(r["full_name"] for r in build.rows) == ["Owner/Repo", "y/fork2"]
    assert build.dropped["fork_of_manifest_repo"] == 1 and build.dropped["fork_of_kept_fork"] == 1


def test_unequal_targets_are_filled_by_need_not_first_with_room():
    names = [f"o/need{i}" for i in range(6)]
    candidates = {"first": [_cand(n, "first") for n in names], "second": [_cand(n, "second") for n in names]}
    build = build_manifest(candidates, {"first": 2, "second": 4}, version=1, chunk_size=10)
    # Visited in repo_hash order; each goes to the lowest assigned/target, ties to the earlier stratum:
    # 0/2 = 0/4 → first; 1/2 > 0/4 → second; 1/2 > 1/4 → second; 1/2 = 2/4 → first (tie);
    # first is full → second, second. "First matched stratum with room" would give first, first, second ×4.
    assert [r["full_name"] for r in build.rows] == sorted(names, key=repo_hash)
    assert [r["selection_stratum"] for r in build.rows] == ["first", "second", "second", "first", "second", "second"]
    assert build.per_stratum == {"first": 2, "second": 4}
    assert dict(build.dropped) == {"fork_of_kept_fork": 0, "fork_of_manifest_repo": 0}


def test_ties_go_to_the_earlier_stratum_of_strata_order_not_the_name():
    # "zeta" comes first in strata.yaml order although "alpha" sorts first by name.
    names = [f"o/tie{i}" for i in range(4)]
    candidates = {"zeta": [_cand(n, "zeta") for n in names], "alpha": [_cand(n, "alpha") for n in names]}
    build = build_manifest(candidates, {"zeta": 3, "alpha": 3}, version=1, chunk_size=10)
    # 0/3 = 0/3 → zeta; 1/3 > 0/3 → alpha; 1/3 = 1/3 → zeta; 2/3 > 1/3 → alpha.
    assert [r["selection_stratum"] for r in build.rows] == ["zeta", "alpha", "zeta", "alpha"]
    assert all(r["matched_strata"] == ["alpha", "zeta"] for r in build.rows), "matched_strata is sorted"
    assert all(r["discovery_query"] == f"q-{r['selection_stratum']}" for r in build.rows)
    reversed_order = build_manifest(
        {"alpha": candidates["alpha"], "zeta": candidates["zeta"]}, {"zeta": 3, "alpha": 3}, version=1, chunk_size=10
    )
    assert [r["selection_stratum"] for r in reversed_order.rows] == ["alpha", "zeta", "alpha", "zeta"]


def test_over_target_selection_follows_repo_hash_order_not_input_order():
    names = [f"o/many{i}" for i in range(30)]
    build = build_manifest({"only": [_cand(n, "only") for n in names]}, {"only": 10}, version=1, chunk_size=4)
    assert [r["full_name"] for r in build.rows] == sorted(names, key=repo_hash)[:10]
    assert [r["repo_hash"] for r in build.rows] == sorted(repo_hash(n) for n in names)[:10]
    assert build.dropped["over_target"] == 20 and build.per_stratum == {"only": 10}
    for seed in range(3):
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        again = build_manifest({"only": [_cand(n, "only") for n in shuffled]}, {"only": 10}, version=1, chunk_size=4)
        assert again.rows == build.rows, f"shuffle {seed}: the manifest must not depend on input order"
        assert again.dropped == build.dropped


def test_chunk_ids_cut_exactly_every_chunk_size_rows():
    names = [f"o/chunk{i}" for i in range(23)]
    build = build_manifest({"only": [_cand(n, "only") for n in names]}, {"only": 100}, version=12, chunk_size=2)
    assert [r["chunk_id"] for r in build.rows] == [f"v12-c{i // 2:04d}" for i in range(23)]
    assert build.rows[0]["chunk_id"] == "v12-c0000" and build.rows[-1]["chunk_id"] == "v12-c0011"
    assert all(r["manifest_version"] == 12 for r in build.rows)
    five = build_manifest({"only": [_cand(n, "only") for n in names]}, {"only": 100}, version=3, chunk_size=5)
    chunks = [r["chunk_id"] for r in five.rows]
    assert {c: chunks.count(c) for c in chunks} == {
        "v3-c0000": 5,
        "v3-c0001": 5,
        "v3-c0002": 5,
        "v3-c0003": 5,
        "v3-c0004": 3,
    }


def test_fork_and_over_target_drops_are_counted_exactly():
    candidates = {
        "a": [_cand(f"o/a{i}", "a") for i in range(8)]
        + [
            _cand("f/of-a0", "a", is_fork=True, fork_parent="O/A0"),  # parent is in the manifest
            _cand("f/of-a1", "a", is_fork=True, fork_parent="o/a1"),
            _cand("f/best", "a", is_fork=True, fork_parent="p/elsewhere", github_stars=9),
            _cand("f/second", "a", is_fork=True, fork_parent="p/elsewhere", github_stars=3),
            _cand("f/third", "a", is_fork=True, fork_parent="P/Elsewhere", github_stars=1),
        ],
        "b": [_cand(f"o/b{i}", "b") for i in range(3)],
    }
    build = build_manifest(candidates, {"a": 5, "b": 10}, version=1, chunk_size=100)
    # "a": 8 repositories + the one surviving fork of p/elsewhere compete for 5 places → 4 over target.
    a_pool = {f"o/a{i}" for i in range(8)} | {"f/best"}
    assert {r["full_name"] for r in build.rows if r["selection_stratum"] == "a"} == set(
        sorted(a_pool, key=repo_hash)[:5]
    )
    assert {r["full_name"] for r in build.rows if r["selection_stratum"] == "b"} == {"o/b0", "o/b1", "o/b2"}
    assert build.per_stratum == {"a": 5, "b": 3} and len(build.rows) == 8
    assert dict(build.dropped) == {"fork_of_kept_fork": 2, "fork_of_manifest_repo": 2, "over_target": 4}


def test_a_stratum_without_a_target_takes_nobody():
    candidates = {
        "kept": [_cand("o/a", "kept")],
        "untargeted": [_cand("o/a", "untargeted"), _cand("o/b", "untargeted")],
    }
    build = build_manifest(candidates, {"kept": 5}, version=1, chunk_size=10)
    assert [(r["full_name"], r["selection_stratum"]) for r in build.rows] == [("o/a", "kept")]
    assert build.dropped["over_target"] == 1 and build.per_stratum == {"kept": 1}


def test_a_manifest_row_carries_its_primary_query_and_no_working_fields():
    candidates = {"a": [_cand("o/r", "a", extra_field=1)], "b": [_cand("o/r", "b")]}
    (row,) = build_manifest(candidates, {"a": 0, "b": 1}, version=3, chunk_size=10).rows
    assert set(row) == {
        "full_name",
        "is_fork",
        "fork_parent",
        "github_stars",
        "last_commit_date",
        "extra_field",
        "matched_strata",
        "repo_hash",
        "selection_stratum",
        "discovery_query",
        "manifest_version",
        "chunk_id",
    }
    assert (row["selection_stratum"], row["discovery_query"], row["manifest_version"]) == ("b", "q-b", 3)


def test_fingerprint_changes_with_what_a_version_is_built_from_and_nothing_else():
    from datetime import date

    candidates = {"a": [_cand("o/One", "a"), _cand("o/two", "a")], "b": [_cand("o/three", "b")]}
    settings = {"chunk_size": 250, "floor": date(2025, 6, 1), "forks": "one_per_parent"}
    base = fingerprint(candidates, settings)
    assert (
        len(base) == 64
        and base
        == hashlib.sha256(
            json.dumps(settings, sort_keys=True, default=str).encode() + b"\na:o/one,o/two" + b"\nb:o/three"
        ).hexdigest()
    )
    reordered = {"b": candidates["b"], "a": [_cand("O/TWO", "a"), _cand("o/one", "a")]}
    assert fingerprint(reordered, dict(reversed(list(settings.items())))) == base
    assert fingerprint(candidates, {**settings, "chunk_size": 251}) != base
    assert fingerprint({**candidates, "b": [_cand("o/four", "b")]}, settings) != base


# -- Dagster: frozen versions, partitions, warehouse -------------------------------------------------
@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    root = tmp_path_factory.mktemp("candidates")
    resources = {
        "github": OfflineGitHub(git_root=str(root / "git"), search_per_minute=10_000),
        "data": DataResource(root=str(root / "data")),
    }
    assert dg.materialize(candidate_assets, resources=resources, instance=dg.DagsterInstance.ephemeral()).success
    return root / "data" / "candidates"


@pytest.fixture
def workspace(discovered, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(discovered, data / "candidates")
    resources = {
        "github": OfflineGitHub(git_root=str(tmp_path / "git")),
        "data": DataResource(root=str(data)),
        "duckdb": DuckDBResource(database=str(data / "stratum.duckdb")),
    }
    with dg.instance_for_test() as instance:
        yield data, resources, instance


def _materialize(resources, instance, **config):
    run_config = {"ops": {"repo_manifest": {"config": config}}} if config else None
    result = dg.materialize(
        [repo_manifest], resources=resources, instance=instance, run_config=run_config, selection=[repo_manifest]
    )
    assert result.success
    return result.get_asset_materialization_events()[0].materialization.metadata


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_stored_manifest_version_never_changes(workspace):
    data, resources, instance = workspace
    first = _materialize(resources, instance)
    assert first["version"].value == 1 and "new version v1" in first["status"].value
    v1 = data / "manifest" / "v1" / "manifest.parquet"
    before = _digest(v1)

    again = _materialize(resources, instance)
    assert again["version"].value == 1 and again["status"].value.startswith("unchanged")
    assert _digest(v1) == before

    crewai = data / "candidates" / "crewai.parquet"
    table = pq.read_table(crewai)
    pq.write_table(table.slice(1), crewai)  # discovery ran again and found one repository fewer
    changed = _materialize(resources, instance)
    assert changed["version"].value == 1 and "stays frozen" in changed["status"].value
    assert "changed since v1 (candidates)" in changed["status"].value, "the settings did not change"
    assert _digest(v1) == before

    bumped = _materialize(resources, instance, new_version=True)
    assert bumped["version"].value == 2
    assert _digest(v1) == before and (data / "manifest" / "v2" / "manifest.parquet").exists()
    with pytest.raises(ManifestFrozenError):
        ManifestStore(data / "manifest").freeze(1, pa.table({"x": [1]}), {})


def test_chunk_partitions_are_registered_for_the_active_version(workspace):
    data, resources, instance = workspace
    meta = _materialize(resources, instance, chunk_size=40)
    chunks = pq.read_table(data / "manifest" / "v1" / "manifest.parquet").column("chunk_id").to_pylist()
    assert instance.get_dynamic_partitions(chunk_partitions.name) == sorted(set(chunks))
    assert meta["chunks"].value == len(set(chunks)) >= 3
    assert max(chunks.count(c) for c in set(chunks)) == 40
    crewai = data / "candidates" / "crewai.parquet"
    pq.write_table(pq.read_table(crewai).slice(2), crewai)
    _materialize(resources, instance, chunk_size=40, new_version=True)
    assert all(k.startswith("v2-") for k in instance.get_dynamic_partitions(chunk_partitions.name))


def test_jsonl_export_has_one_line_per_repository_with_source_metadata(workspace):
    data, resources, instance = workspace
    meta = _materialize(resources, instance)
    lines = [json.loads(line) for line in (data / "repo_manifest.jsonl").read_text().splitlines()]
    assert len(lines) == meta["rows"].value > 100
    for line in lines:
        assert line["repo_hash"] == repo_hash(line["repo_full_name"])
        assert line["repo_source_metadata"]["selection_stratum"] == line["selection_stratum"]
        assert isinstance(line["repo_source_metadata"]["language_bytes"], dict)
    assert {row["selection_stratum"] for row in lines} == set(STRATUM_NAMES) - {
        s for s, n in meta["per_stratum"].value.items() if n == 0
    }


def test_join_on_repo_hash_gives_one_row_per_manifest_repository(workspace):
    data, resources, instance = workspace
    _materialize(resources, instance, chunk_size=50)
    layout = Layout(data)
    manifest = pq.read_table(layout.manifests / "v1" / "manifest.parquet").to_pylist()
    with duckdb.connect(str(layout.duckdb)) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT outcome) FROM scan_dataset").fetchone() == (
            len(manifest),
            1,
        )
    # Each partition writes its own files (as the scan stage does): one ping or one quarantine row per repo.
    by_chunk = {}
    for i, row in enumerate(manifest):
        by_chunk.setdefault(row["chunk_id"], []).append((i, row))
    for chunk, rows in by_chunk.items():
        pings, bad = [], []
        for i, row in rows:
            ping = empty_ping(row["full_name"], status="empty", failure_reason="no_agents")
            ping.update(repo_hash=row["repo_hash"], selection_stratum=row["selection_stratum"])
            if i % 9:
                pings.append(ping_row(ping, {"chunk_id": chunk}))
            else:
                bad.append(
                    {
                        "repo_hash": row["repo_hash"],
                        "repo_full_name": row["full_name"],
                        "chunk_id": chunk,
                        "errors": ["constructed"],
                        "ping_json": "{}",
                    }
                )
        replace_partition(layout.scan_partition(1, chunk), pings_table(pings), quarantine_table(bad), {})
    with duckdb.connect(str(layout.duckdb)) as conn:
        schema.refresh(conn, layout, 1)
        rows = dict(conn.execute("SELECT outcome, count(*) FROM scan_dataset GROUP BY 1").fetchall())
        assert conn.execute("SELECT count(*), count(DISTINCT repo_hash) FROM scan_dataset").fetchone() == (
            len(manifest),
            len(manifest),
        )
    assert rows == {
        "stored": sum(1 for i in range(len(manifest)) if i % 9),
        "quarantined": sum(1 for i in range(len(manifest)) if not i % 9),
    }
