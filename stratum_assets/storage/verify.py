"""Is a partition on disk whole? Its Parquet files readable, their row counts those of its stats, their bytes
those it was written with.

A disk that filled up, a copy cut short, a bad sector or a hand edit can leave a partition directory that
exists but is not the partition that was written. Such a partition counts as not done: the views
leave it out (its repositories are pending), ``status`` names it, ``backfill`` rebuilds it and
``publish`` refuses it.

Damage inside a file leaves its footer and row counts as they were, and DuckDB fails only when it
reads the damaged page; so every partition's ``stats.json`` records the sha256 of each of its Parquet
files as written (:func:`checksums`), and a file whose bytes no longer hash to it is damaged. A
partition written before checksums existed has none: it is judged by its footers and row counts
alone (``stratum-assets backfill --partitions FIRST...LAST`` rewrites it with them).

Checking means opening two Parquet footers and hashing a partition's files (a few hundred KB at
the full profile, about a millisecond each), each once per file version in a process.
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

from .files import sha256_file
from .layout import BlockFiles, Layout, PartitionFiles

# stats.json's key for the checksums: Parquet file name -> hex sha256 of its bytes as written.
CHECKSUMS = "sha256"


def checksums(files: PartitionFiles) -> dict[str, str]:
    """The sha256 of each Parquet file of a partition (what :func:`partition_problem` checks them against)."""
    return {path.name: sha256_file(path) for path in files.scan_files if path.exists()}


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
        if problem:
            return problem
    return _checksum_problem(files, stats.get(CHECKSUMS))


def _checksum_problem(files: PartitionFiles, recorded) -> str | None:
    """The first Parquet file whose bytes do not hash to what ``stats.json`` recorded (None: none recorded)."""
    if not isinstance(recorded, dict):
        return None  # written before checksums: its footers and row counts are all there is to judge
    for path in files.scan_files:  # only the partition's own files, whatever names the record holds
        if path.name in recorded and _sha256(path) != recorded[path.name]:
            return f"{path.name} does not match the checksum in its {files.stats.name}"
    return None


def stamp(folder: str | Path) -> str | None:
    """What identifies a partition directory as written: its inode and each file's size and modification time.

    A re-run swaps in a new directory (a new inode); an edit, a truncation or a removed file changes a
    file's entry. None when the directory is gone. (Plain ``os`` calls: 4,000 partitions are read
    per refresh of the views.)
    """
    folder = os.fspath(folder)
    try:
        entries: list[object] = [os.stat(folder).st_ino]
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
    for path, counted in (
        (block.results, "stored"),
        (block.quarantine, "quarantined"),
        (block.fingerprints, "fingerprinted"),
    ):
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
        current = frozenset(c for c, entry in record.items() if stamp(os.path.join(scans, c)) == entry["stamp"])
        if current:
            out.append(BlockCoverage(block, current, frozenset(record) - current))
    return out


def vouched(layout: Layout, version: int) -> set[str]:
    """The chunks a block holds a current copy of: whole when copied, untouched since."""
    return {chunk for coverage in block_coverage(layout, version) for chunk in coverage.current}


def partition_problems(layout: Layout, version: int, every: bool = False) -> dict[str, str]:
    """Chunk id -> problem, for every written partition of ``version`` that is not whole.

    A partition a block vouches for is untouched since it was checked (its stamp), unless its bytes changed
    under an unchanged size and modification time (a bad sector); ``every`` checks those too (``backfill``
    and ``publish``, which hash each partition's files once).
    """
    known = set() if every else vouched(layout, version)
    return {
        p.name: problem
        for p in layout.partition_folders(version)
        if p.name not in known and (problem := partition_problem(p))
    }


def whole_partitions(layout: Layout, version: int) -> list[Path]:
    """Every whole partition directory of ``version``, in chunk order: what the views and exports read."""
    known = vouched(layout, version)
    return [p for p in layout.partition_folders(version) if p.name in known or partition_problem(p) is None]


def _sha256(path: Path) -> str | None:
    """A file's sha256, hashed once per file version (inode, size, modification time); None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _cached_sha256(os.fspath(path), st.st_ino, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16_384)
def _cached_sha256(path: str, _inode: int, _size: int, _mtime_ns: int) -> str | None:
    try:
        return sha256_file(Path(path))
    except OSError:
        return None


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
    except Exception as err:
        return f"{path.name} unreadable ({type(err).__name__}: {str(err)[:120]})", 0
