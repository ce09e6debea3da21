"""Blocks: compacted copies of whole partitions that the views read instead of the partitions, never different data.

Real files throughout: synthetic partitions in the pipeline's layout (stratum_assets_tests/support/synthetic_pings.py),
blocks written by warehouse/blocks.py, views read with DuckDB.
"""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from stratum_assets.domain.chunks import CHUNKS_PER_BLOCK, block_of, chunk_id
from stratum_assets.scanning.storage import replace_partition
from stratum_assets.storage.layout import Layout
from stratum_assets.storage.verify import partition_problems, whole_partitions
from stratum_assets.warehouse import schema
from stratum_assets.warehouse.blocks import compact_block_of, compact_ready, plan
from stratum_assets_tests.support.synthetic_pings import generate

CHUNK_SIZE = 5
BLOCK_ROWS = CHUNK_SIZE * CHUNKS_PER_BLOCK


@pytest.fixture(scope="module")
def _generated(tmp_path_factory):
    """Two full blocks and one partial: 2.5 blocks' worth of 5-repository partitions, written once."""
    layout = Layout(tmp_path_factory.mktemp("generated") / "data")
    generate(layout, BLOCK_ROWS * 5 // 2, seed=11, chunk_size=CHUNK_SIZE)
    return layout


@pytest.fixture
def layout(_generated, tmp_path):
    """A copy of the generated data directory for each test (new inodes: no block vouches for anything yet)."""
    return Layout(shutil.copytree(_generated.root, tmp_path / "data"))


def _rows(layout: Layout, view: str = "scan_results") -> list[tuple]:
    """Every row of a view, as DuckDB reads it now, in a stable order."""
    with duckdb.connect() as conn:
        schema.refresh(conn, layout, 1)
        columns = (
            "repo_hash, chunk_id, scan_status, risk_score, frameworks"
            if view == "scan_results"
            else "repo_hash, chunk_id, errors"
        )
        return conn.execute(f"SELECT {columns} FROM {view} ORDER BY repo_hash").fetchall()


def test_a_block_is_forty_consecutive_chunks():
    assert CHUNKS_PER_BLOCK == 40
    assert [block_of(chunk_id(1, i)) for i in (0, 39, 40, 79, 80)] == [0, 0, 1, 1, 2]
    assert block_of("v3-c0041") == 1


def test_compaction_writes_every_block_once_and_the_views_read_the_same_rows(layout):
    before, quarantined = _rows(layout), _rows(layout, "quarantine")
    assert plan(layout, 1).blocks == []
    assert compact_ready(layout, 1) == [0, 1, 2]
    assert compact_ready(layout, 1) == [], "current blocks are not written again"
    reading = plan(layout, 1)
    assert [b.folder.name for b in reading.blocks] == ["b0000", "b0001", "b0002"]
    assert reading.loose == [] and reading.outdated == []
    assert (
        pq.read_metadata(reading.blocks[0].results).num_rows + pq.read_metadata(reading.blocks[0].quarantine).num_rows
        == BLOCK_ROWS
    )
    assert _rows(layout) == before and len(before) > 0.95 * BLOCK_ROWS * 5 // 2
    assert _rows(layout, "quarantine") == quarantined and quarantined


def test_a_block_waits_until_all_its_chunks_are_whole(layout):
    missing = layout.scan_partition(1, chunk_id(1, 45))
    os.rename(missing, missing.with_name("aside"))
    assert compact_ready(layout, 1) == [0, 2]
    assert [b.folder.name for b in plan(layout, 1).blocks] == ["b0000", "b0002"]
    os.rename(missing.with_name("aside"), missing)
    assert compact_block_of(layout, 1, chunk_id(1, 45)) is True, "the partition completing a block writes it"
    assert [b.folder.name for b in plan(layout, 1).blocks] == ["b0000", "b0001", "b0002"]


def test_a_partition_rerun_after_compaction_is_read_from_its_own_files_until_the_block_is_rebuilt(layout):
    compact_ready(layout, 1)
    chunk = chunk_id(1, 42)
    files = layout.partition_files(1, chunk)
    old = pq.read_table(files.results)
    changed = old.set_column(
        old.schema.get_field_index("risk_score"), "risk_score", pc.add(old["risk_score"], 1000)
    )  # a re-run that scored differently
    replace_partition(files.folder, changed, pq.read_table(files.quarantine), json.loads(files.stats.read_text()))
    reading = plan(layout, 1)
    assert reading.outdated == [chunk] and [p.folder.name for p in reading.loose] == [chunk]
    rows = _rows(layout)
    scores = {h: score for h, c, _, score, _ in rows if c == chunk}
    assert sorted(scores.values()) == sorted(s + 1000 for s in old["risk_score"].to_pylist()), "the new data"
    assert len(rows) == len({r[0] for r in rows}), "no repository twice"
    assert compact_ready(layout, 1) == [1], "only the block holding the re-run partition"
    assert plan(layout, 1).loose == [] and _rows(layout) == rows


def test_a_partition_damaged_after_compaction_is_not_vouched_for(layout):
    compact_ready(layout, 1)
    chunk = chunk_id(1, 3)
    results = layout.partition_files(1, chunk).results
    results.write_bytes(results.read_bytes()[:100])  # truncated by a full disk or a hand edit
    assert set(partition_problems(layout, 1)) == {chunk}
    assert chunk not in {p.name for p in whole_partitions(layout, 1)}
    assert plan(layout, 1).outdated == [chunk]
    assert all(c != chunk for _, c, *_ in _rows(layout)), "its repositories read as pending, not as the old copy"
    assert compact_ready(layout, 1) == [], "a block is not rebuilt over a partition that is not whole"


def test_a_damaged_block_is_ignored_and_rebuilt(layout):
    compact_ready(layout, 1)
    before = _rows(layout)
    block = layout.block_files(1, 1)
    block.results.write_bytes(b"not parquet")
    reading = plan(layout, 1)
    assert [b.folder.name for b in reading.blocks] == ["b0000", "b0002"]
    assert {p.folder.name for p in reading.loose} == {chunk_id(1, i) for i in range(40, 80)}
    assert _rows(layout) == before
    assert compact_ready(layout, 1) == [1] and plan(layout, 1).loose == []


def test_a_block_damaged_in_place_after_its_footers_were_read_is_judged_again(layout):
    """Footers are read once per file version (verify._rows): a rewrite that keeps the size but moves the
    modification time (any write does) is a new version."""
    compact_ready(layout, 1)
    assert [b.folder.name for b in plan(layout, 1).blocks] == ["b0000", "b0001", "b0002"], "footers read: whole"
    block = layout.block_files(1, 1)
    size, mtime = block.results.stat().st_size, block.results.stat().st_mtime_ns
    with open(block.results, "r+b") as f:
        f.seek(size - 8)
        f.write(b"\0" * 8)  # the footer's length and magic, same size
    os.utime(block.results, ns=(mtime + 1_000, mtime + 1_000))  # a write within the clock's tick still moves it
    assert block.results.stat().st_size == size
    assert [b.folder.name for b in plan(layout, 1).blocks] == ["b0000", "b0002"]


def test_a_partition_removed_after_compaction_is_pending(layout):
    compact_ready(layout, 1)
    chunk = chunk_id(1, 81)
    for path in layout.partition_files(1, chunk).files:
        path.unlink()
    layout.scan_partition(1, chunk).rmdir()
    assert plan(layout, 1).outdated == [chunk]
    with duckdb.connect() as conn:
        schema.refresh(conn, layout, 1)
        pending = conn.execute("SELECT count(*) FROM scan_dataset WHERE outcome = 'pending'").fetchone()[0]
    assert pending == CHUNK_SIZE
