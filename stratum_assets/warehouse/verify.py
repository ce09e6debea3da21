"""Is a partition on disk whole? Its Parquet files readable and their row counts those of its stats.

A disk that filled up, a copy cut short or a hand edit can leave a partition directory that
exists but is not the partition that was written. Such a partition counts as not done: the views
leave it out (its repositories are pending), ``status`` names it and ``backfill`` rebuilds it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from .layout import Layout, PartitionFiles


def partition_problem(folder: Path) -> str | None:
    """What is wrong with the partition in ``folder``, or None when it is whole."""
    files = PartitionFiles(Path(folder))
    try:  # written with the Parquet files by every swap; a partition laid down by hand may lack it
        stats = json.loads(files.stats.read_text()) if files.stats.exists() else {}
    except (OSError, ValueError) as err:
        return f"{files.stats.name} unreadable ({type(err).__name__})"
    for path, counted in ((files.results, "stored"), (files.quarantine, "quarantined")):
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as err:  # noqa: BLE001 - any unreadable file is the same verdict
            return f"{path.name} unreadable ({type(err).__name__}: {str(err)[:120]})"
        if counted in stats and rows != stats[counted]:
            return f"{path.name} has {rows} rows, its {files.stats.name} says {stats[counted]}"
    return None


def partition_problems(layout: Layout, version: int) -> dict[str, str]:
    """Chunk id -> problem, for every written partition of ``version`` that is not whole."""
    return {p.name: problem for p in layout.partition_folders(version) if (problem := partition_problem(p))}


def whole_partitions(layout: Layout, version: int) -> list[Path]:
    """Every whole partition directory of ``version``, in chunk order: what the views and exports read."""
    return [p for p in layout.partition_folders(version) if partition_problem(p) is None]
