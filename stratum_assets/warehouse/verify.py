"""Is a partition on disk whole? Its Parquet files readable and their row counts those of its stats.

A disk that filled up, a copy cut short or a hand edit can leave a partition directory that
exists but is not the partition that was written. Such a partition counts as not done: the views
leave it out (its repositories are pending), ``status`` names it and ``backfill`` rebuilds it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from .layout import Layout

_FILES = (("scan_results.parquet", "stored"), ("quarantine.parquet", "quarantined"))


def partition_problem(folder: Path) -> str | None:
    """What is wrong with the partition in ``folder``, or None when it is whole."""
    stats_file = Path(folder) / "stats.json"
    try:  # written with the Parquet files by every swap; a partition laid down by hand may lack it
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    except (OSError, ValueError) as err:
        return f"stats.json unreadable ({type(err).__name__})"
    for name, counted in _FILES:
        try:
            rows = pq.read_metadata(Path(folder) / name).num_rows
        except Exception as err:  # noqa: BLE001 - any unreadable file is the same verdict
            return f"{name} unreadable ({type(err).__name__}: {str(err)[:120]})"
        if counted in stats and rows != stats[counted]:
            return f"{name} has {rows} rows, its stats.json says {stats[counted]}"
    return None


def partition_problems(layout: Layout, version: int) -> dict[str, str]:
    """Chunk id -> problem, for every written partition of ``version`` that is not whole."""
    folder = layout.scans(version)
    chunks = sorted(p for p in folder.glob("v*-c*") if p.is_dir()) if folder.exists() else []
    return {p.name: problem for p in chunks if (problem := partition_problem(p))}


def whole_partitions(layout: Layout, version: int) -> list[Path]:
    """Every whole partition directory of ``version``, in chunk order: what the views and exports read.

    Directories are named v<N>-c<NNNN>; a swap's temporary ".v1-c0000.new-*" never matches.
    """
    folder = layout.scans(version)
    if not folder.exists():
        return []
    return [p for p in sorted(folder.glob("v*-c*")) if p.is_dir() and partition_problem(p) is None]
