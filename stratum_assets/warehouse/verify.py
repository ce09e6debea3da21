"""Is a partition on disk whole? Its Parquet files readable and their row counts those of its stats.

A disk that filled up, a copy cut short or a hand edit can leave a partition directory that
exists but is not the partition that was written. Such a partition counts as not done: the views
leave it out (its repositories are pending), ``status`` names it and ``backfill`` rebuilds it.

Checking means opening two Parquet footers per partition (~1 ms): 4 s at a million repositories.
A block (``warehouse/blocks.py``) records the *stamp* of every partition it copied, checked
whole at the time; a partition whose stamp is still the same has not been touched since, so
the block vouches for it and only the partitions no block vouches for are opened. A block is
checked the same way: readable, its row counts those of its record.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow.parquet as pq

from .layout import BlockFiles, Layout, PartitionFiles


def partition_problem(folder: Path) -> str | None:
    """What is wrong with the partition in ``folder``, or None when it is whole."""
    files = PartitionFiles(Path(folder))
    try:  # written with the Parquet files by every swap; a partition laid down by hand may lack it
        stats = json.loads(files.stats.read_text()) if files.stats.exists() else {}
    except (OSError, ValueError) as err:
        return f"{files.stats.name} unreadable ({type(err).__name__})"
    for path, counted in ((files.results, "stored"), (files.quarantine, "quarantined")):
        problem, rows = _rows(path)
        if problem:
            return problem
        if counted in stats and rows != stats[counted]:
            return f"{path.name} has {rows} rows, its {files.stats.name} says {stats[counted]}"
    if files.fingerprints.exists():  # partitions written before code fingerprints have none: not a fault
        problem, _ = _rows(files.fingerprints)
        return problem
    return None


def stamp(folder: Path) -> str | None:
    """What identifies a partition directory as written: its inode and each file's size and modification time.

    A re-run swaps in a new directory (a new inode); an edit, a truncation or a removed file changes a
    file's entry. None when the directory is gone. (Plain ``os`` calls: 4,000 partitions are read
    per refresh of the views.)
    """
    folder = os.fspath(folder)
    try:
        entries = [os.stat(folder).st_ino]
    except OSError:
        return None
    for name in _PARTITION_FILE_NAMES:
        try:
            st = os.stat(os.path.join(folder, name))
            entries.append((name, st.st_size, st.st_mtime_ns))
        except OSError:
            entries.append((name, None))
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:32]


_PARTITION_FILE_NAMES = tuple(path.name for path in PartitionFiles(Path(".")).files)


def block_record(block: BlockFiles) -> dict[str, dict] | None:
    """Chunk id -> {stamp, stored, quarantined, fingerprinted} of every partition copied into a whole block; None when
    the block is not whole (unreadable record or file, or row counts that are not the record's)."""
    try:
        record = json.loads(block.sources.read_text())["chunks"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for path, counted in ((block.results, "stored"), (block.quarantine, "quarantined"),
                          (block.fingerprints, "fingerprinted")):
        problem, rows = _rows(path)
        if problem or rows != sum(entry.get(counted, 0) for entry in record.values()):
            return None
    return record


@dataclass(frozen=True)
class BlockCoverage:
    """One whole block: the chunks it holds a current copy of, and those it holds an outdated one of."""

    block: BlockFiles
    current: frozenset[str]
    outdated: frozenset[str]


def block_coverage(layout: Layout, version: int) -> list[BlockCoverage]:
    """Every whole block of ``version`` holding at least one current partition, in block order."""
    out = []
    for block in layout.block_folders(version):
        record = block_record(block)
        if record is None:
            continue
        scans = os.fspath(layout.scans(version))
        current = frozenset(c for c, entry in record.items()
                            if stamp(os.path.join(scans, c)) == entry["stamp"])
        if current:
            out.append(BlockCoverage(block, current, frozenset(record) - current))
    return out


def vouched(layout: Layout, version: int) -> set[str]:
    """The chunks a block holds a current copy of: whole when copied, untouched since."""
    return {chunk for coverage in block_coverage(layout, version) for chunk in coverage.current}


def partition_problems(layout: Layout, version: int) -> dict[str, str]:
    """Chunk id -> problem, for every written partition of ``version`` that is not whole."""
    known = vouched(layout, version)
    return {p.name: problem for p in layout.partition_folders(version)
            if p.name not in known and (problem := partition_problem(p))}


def whole_partitions(layout: Layout, version: int) -> list[Path]:
    """Every whole partition directory of ``version``, in chunk order: what the views and exports read."""
    known = vouched(layout, version)
    return [p for p in layout.partition_folders(version) if p.name in known or partition_problem(p) is None]


def _rows(path: Path) -> tuple[str | None, int]:
    """(problem, row count) of a Parquet file: the problem is None when its footer reads.

    A footer is read once per file version (inode, size, modification time): the audit checks every block
    before it compacts and again when it plans its reads, 300 footers each time at a million repositories.
    """
    try:
        st = os.stat(path)
    except OSError:
        return _read_rows(path)  # gone: the verdict, in the words it always had
    return _footer_rows(os.fspath(path), st.st_ino, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16_384)
def _footer_rows(path: str, _inode: int, _size: int, _mtime_ns: int) -> tuple[str | None, int]:
    return _read_rows(Path(path))


def _read_rows(path: Path) -> tuple[str | None, int]:
    try:
        return None, pq.read_metadata(path).num_rows
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same verdict
        return f"{path.name} unreadable ({type(err).__name__}: {str(err)[:120]})", 0
