"""Blocks: the scan stage writes one small directory per chunk; the warehouse reads a few large files.

Why: a partition is the unit of a run, a retry and an atomic swap, so it stays small (250
repositories at the full profile: 200 directories at 50,000 repositories, 4,000 at a million).
But every file costs its reader a footer, a schema of ~110 typed columns and a thread hand-off:
over 4,000 partitions the audit spent most of its time, and more than its memory budget, opening
files (docs/BENCHMARKS.md). A *block* is a copy of :data:`~stratum_assets.domain.chunks.CHUNKS_PER_BLOCK`
consecutive whole partitions in three Parquet files, swapped in as one directory (``BlockFiles``).

The partitions stay the one source of truth; a block is only a faster way to read them:
``sources.json`` records the stamp of every partition copied in (``verify.stamp``: inode, sizes, times),
and :func:`plan` reads a chunk from its block only while that stamp is current. A partition
re-run, edited or removed since is read from its own files (or is pending) until its block is
rebuilt — never both, never stale data.

Who compacts: the partition run whose partition completes a block (the last of its chunks to be
whole, or a re-run of one of them), so blocks are written while the scan goes on, a few files at a
time; and :func:`compact_ready` before a whole version is read (``pipeline_run_log``, ``audit_report``),
which rebuilds whatever is still outdated. Reading is streamed a partition at a time, so a block's
memory is its own rows, whatever the partition count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from ..domain.chunks import block_of
from ..scanning.storage import fingerprints_table
from ..storage.files import read_parquet, replacing_directory
from ..storage.layout import BlockFiles, Layout, PartitionFiles
from ..storage.verify import block_coverage, block_record, partition_problem, stamp


@dataclass(frozen=True)
class ReadPlan:
    """What the views read: whole blocks (minus the chunks they hold outdated copies of) and the partitions
    no block covers."""

    blocks: list[BlockFiles]
    outdated: list[str]  # chunks inside those blocks that are read elsewhere or not at all
    loose: list[PartitionFiles]  # whole partitions no block holds a current copy of


def plan(layout: Layout, version: int) -> ReadPlan:
    coverage = block_coverage(layout, version)
    covered = {chunk for c in coverage for chunk in c.current}
    loose = [
        PartitionFiles(p)
        for p in layout.partition_folders(version)
        if p.name not in covered and partition_problem(p) is None
    ]
    return ReadPlan(
        blocks=[c.block for c in coverage], outdated=sorted(set().union(*(c.outdated for c in coverage))), loose=loose
    )


def manifest_chunks(layout: Layout, version: int) -> list[str]:
    """Every chunk id of manifest ``version``, in order."""
    # Read dictionary-encoded: the distinct ids are the dictionaries, and a million ids never become Python strings.
    column = read_parquet(layout.manifest(version).table, columns=["chunk_id"], dictionary=["chunk_id"]).column(0)
    return sorted({chunk for part in column.chunks for chunk in part.dictionary.to_pylist()})


def blocks_of(chunks: list[str]) -> dict[int, list[str]]:
    """Block index -> its chunks (of ``chunks``, the manifest's), in order."""
    out: dict[int, list[str]] = {}
    for chunk in sorted(chunks):
        out.setdefault(block_of(chunk), []).append(chunk)
    return out


def compact_block(layout: Layout, version: int, index: int, members: list[str]) -> bool:
    """Rebuild block ``index`` from ``members`` (all its chunks in the manifest) if all are whole and it is outdated.

    True when a new block was swapped in. Nothing is written while a chunk of the block is missing or
    not whole, or when a partition changed while it was being copied (its re-run compacts again).
    """
    prints = {c: stamp(layout.scan_partition(version, c)) for c in members}
    if not members or None in prints.values():
        return False
    block = layout.block_files(version, index)
    record = block_record(block) if block.folder.exists() else None
    if record is not None and {c: e["stamp"] for c, e in record.items()} == prints:
        return False  # current
    if any(partition_problem(layout.scan_partition(version, c)) for c in members):
        return False
    results, quarantine, fingerprints, sources = [], [], [], {}
    for chunk in members:
        files = layout.partition_files(version, chunk)
        results.append(read_parquet(files.results))
        quarantine.append(read_parquet(files.quarantine))
        fingerprints.append(read_parquet(files.fingerprints) if files.fingerprints.exists() else fingerprints_table([]))
        sources[chunk] = {
            "stamp": prints[chunk],
            "stored": results[-1].num_rows,
            "quarantined": quarantine[-1].num_rows,
            "fingerprinted": fingerprints[-1].num_rows,
        }
    if any(stamp(layout.scan_partition(version, c)) != prints[c] for c in members):
        return False  # a partition was swapped while it was read: its run compacts the block again
    with replacing_directory(block.folder) as staging:
        staged = BlockFiles(staging)
        pq.write_table(_concat(results), staged.results)
        pq.write_table(_concat(quarantine), staged.quarantine)
        pq.write_table(_concat(fingerprints), staged.fingerprints)
        staged.sources.write_text(json.dumps({"chunks": sources}, sort_keys=True, indent=1))
    return True


def compact_block_of(layout: Layout, version: int, chunk: str) -> bool:
    """What a partition run does after its swap: rebuild its block if the partition completed it."""
    index = block_of(chunk)
    return compact_block(layout, version, index, blocks_of(manifest_chunks(layout, version)).get(index, []))


def compact_ready(layout: Layout, version: int) -> list[int]:
    """Rebuild every outdated block whose chunks are all whole; returns the blocks written."""
    return [
        index
        for index, members in blocks_of(manifest_chunks(layout, version)).items()
        if compact_block(layout, version, index, members)
    ]


def _concat(tables: list[pa.Table]) -> pa.Table:
    """One table of the partitions' rows in chunk order; a column an older partition lacks is null there."""
    return pa.concat_tables(tables, promote_options="default")
