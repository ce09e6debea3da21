"""The dataset's companion files: ``scan_results.jsonl`` and ``quarantine.jsonl`` beside ``repo_manifest.jsonl``.

Consumers of the dataset strategy read three plain files joined on ``repo_hash``: the manifest
(``manifest/export.py``), one stored ping per line and ``pipeline_run_log.json`` (``runlog.py``).
Pings live as typed per-partition Parquet (``scanning/storage.py``), so the JSONL is an export
of those files, written when a manifest version is finished (no repository pending):

* ``scan_results.jsonl`` — each stored ping as it was validated (schema_id 5, identity stamped):
  the ping's fields in the model's order, the JSON-text fields and maps back as objects, the
  fields a newer scanner added (``extra_json``) after them; no provenance columns.
* ``quarantine.jsonl`` — each quarantined ping: repo_hash, repo_full_name, chunk_id, scan_status,
  failure_reason, every validation error, and the ``ping`` as the scanner printed it.

Both are ordered by ``repo_hash`` and their bytes depend only on the data, so the same version
always exports the same files. A million pings do not fit the audit's 1 GiB budget as Python
objects, so DuckDB renders each line from the Parquet and Python only writes batches of
finished lines. Partitions are chunks of the manifest in repo_hash order, so ordering each
partition alone orders the whole file, and the scan stage writes each partition in repo_hash
order, so it streams in file order without a sort. A partition that is not in order is sorted;
partitions whose hash ranges overlap (a layout laid down some other way) are sorted together,
which stays correct at any size (DuckDB spills to disk past its memory limit).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.compute as pc

from ..manifest.export import export_jsonl_from_parquet
from ..scanner.ping import Ping
from ..scanning.storage import JSON_TEXT_FIELDS
from ..storage.files import read_parquet, write_chunks_atomic
from ..storage.layout import Layout, PartitionFiles
from ..storage.verify import whole_partitions
from .blocks import plan
from .runlog import RunSummary

BATCH_ROWS = 5_000  # finished lines per write: a few MiB of text
MEMORY_LIMIT = "512MB"  # DuckDB's share of the 1 GiB budget; it spills past it
QUARANTINE_FIELDS = ("repo_hash", "repo_full_name", "chunk_id", "scan_status", "failure_reason", "errors")


def ping_line_sql(columns: set[str]) -> str:
    """Columns ``j`` (the stored ping as JSON) and ``x`` (its extra fields as JSON) of one scan_results row.

    Fields in :class:`Ping`'s order (the scanner's); a field the partition predates is null.
    ``extra_json`` holds keys the model does not know (disjoint from its fields): spliced in last.
    """
    pairs = []
    for name in Ping.model_fields:
        value = "NULL" if name not in columns else f"json({_ident(name)})" if name in JSON_TEXT_FIELDS else _ident(name)
        pairs.append(f"{_ident(name)} := {value}")
    extra = "json(extra_json)::VARCHAR" if "extra_json" in columns else "NULL"
    return f"to_json(struct_pack({', '.join(pairs)}))::VARCHAR AS j, {extra} AS x"


def quarantine_line_sql(columns: set[str]) -> str:
    """Columns ``j`` and ``x`` of one quarantine row: its fields, then the ``ping`` object; no extras."""
    pairs = [f"{_ident(n)} := {_ident(n) if n in columns else 'NULL'}" for n in QUARANTINE_FIELDS]
    ping = (
        "CASE WHEN json_valid(ping_json) THEN json(ping_json) ELSE to_json(ping_json) END"
        if "ping_json" in columns
        else "NULL"
    )
    return f"to_json(struct_pack({', '.join(pairs)}, ping := {ping}))::VARCHAR AS j, NULL AS x"


_AFTER_EVERY_HASH = "\U0010ffff"
# One line from ``j`` and ``x``: the object, with x's members (if any) appended before its closing brace.
_LINE = "CASE WHEN x IS NULL OR x = '{}' THEN j ELSE substr(j, 1, length(j) - 1) || ',' || substr(x, 2) END"


def overlapping_groups(ranges: list[tuple[str, str, Path]]) -> list[list[Path]]:
    """Files grouped so that each group's repo_hash range lies wholly before the next one's.

    ``ranges``: (min repo_hash, max repo_hash, file). Sorting each group alone and writing the
    groups in order then orders the whole export; with the pipeline's chunks every group is one file.
    """
    groups: list[list[Path]] = []
    upper = ""  # read only once a group exists, which sets it
    for low, high, path in sorted(ranges):
        if groups and low <= upper:
            groups[-1].append(path)
            upper = max(upper, high)
        else:
            groups.append([path])
            upper = high
    return groups


def export_table(files: list[Path], render, path: Path) -> int:
    """Write the lines ``render`` (``ping_line_sql`` or ``quarantine_line_sql``) makes of ``files`` to
    ``path``, ordered by repo_hash; returns how many."""
    written = [0]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix=".companions-spill-", dir=Path(path).parent))  # beside the export
    try:
        with duckdb.connect(
            config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(spill), "preserve_insertion_order": True}
        ) as conn:
            write_chunks_atomic(_chunks(conn, files, render, written), path)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return written[0]


def _chunks(conn: duckdb.DuckDBPyConnection, files: list[Path], render, written: list[int]) -> Iterator[str]:
    """Text of every line, group after group, in batches; counts lines into ``written``."""
    ranges, presorted = _hash_ranges(files)
    for group in overlapping_groups(ranges):
        source = (
            f"read_parquet([{', '.join(_literal(f) for f in group)}], union_by_name = true, "
            "filename = true, file_row_number = true)"
        )
        columns = {row[0] for row in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        # A partition the scan stage wrote is already in repo_hash order: read in file order, it streams
        # without a sort (insertion order is preserved). Otherwise sort; the file name and row number
        # only break ties between duplicate hashes, the order a single sorted file has anyway.
        order = "" if len(group) == 1 and group[0] in presorted else " ORDER BY repo_hash, filename, file_row_number"
        query = conn.sql(
            f"SELECT {_LINE} FROM (SELECT repo_hash, filename, file_row_number, {render(columns)} FROM {source}){order}"
        )
        with query.to_arrow_reader(batch_size=BATCH_ROWS) as reader:  # a relation's reader streams
            for batch in reader:
                lines = batch.column(0).to_pylist()
                written[0] += len(lines)
                yield "\n".join(lines) + "\n"


def _hash_ranges(files: list[Path]) -> tuple[list[tuple[str, str, Path]], set[Path]]:
    """(min, max repo_hash, file) of every file with rows, and the files already in repo_hash order.

    Only the repo_hash column is read (16 bytes a row). A row without a repo_hash (never written
    by the pipeline) is still exported: its file spans every range, so all are sorted together.
    """
    ranges, presorted = [], set()
    for path in map(Path, files):
        hashes = read_parquet(path, columns=["repo_hash"]).column(0).combine_chunks()
        if hashes.null_count:
            ranges.append(("", _AFTER_EVERY_HASH, path))
        elif len(hashes):
            bounds = pc.min_max(hashes)
            ranges.append((bounds["min"].as_py(), bounds["max"].as_py(), path))
            if pc.all(pc.less_equal(hashes[:-1], hashes[1:])).as_py() is not False:  # None: a single row
                presorted.add(path)
    return ranges, presorted


def write_scan_companions(layout: Layout, version: int) -> dict[str, int]:
    """``scan_results.jsonl`` and ``quarantine.jsonl`` of ``version``'s whole partitions; lines of each.

    Read through the blocks (``blocks.py``: 100 files at a million repositories, not 4,000) when every block
    is current; a block holding an outdated copy of a partition would need a filter, so then the
    partitions are read one by one instead.
    """
    reading = plan(layout, version)
    sources = (
        [*reading.blocks, *reading.loose]
        if not reading.outdated
        else [PartitionFiles(p) for p in whole_partitions(layout, version)]
    )
    return {
        "scan_results": export_table([s.results for s in sources], ping_line_sql, layout.scan_results_jsonl),
        "quarantine": export_table([s.quarantine for s in sources], quarantine_line_sql, layout.quarantine_jsonl),
    }


def clear_scan_companions(layout: Layout) -> list[str]:
    """Remove the ping exports: they describe a finished version, and the active one is not (or not yet)."""
    removed = []
    for path in (layout.scan_results_jsonl, layout.quarantine_jsonl):
        if path.exists():
            path.unlink()
            removed.append(path.name)
    return removed


def write_all_companions(layout: Layout, version: int) -> dict[str, int]:
    """All three line files of ``version`` from its frozen files, so they agree with each other (publish)."""
    return {
        "repo_manifest": export_jsonl_from_parquet(layout.manifest(version).table, layout.manifest_jsonl),
        **write_scan_companions(layout, version),
    }


def refresh_scan_companions(layout: Layout, version: int, summary: RunSummary) -> dict:
    """What the finishing stage does with the ping exports, given the version's ``summary`` (runlog).

    Finished (nothing pending, no duplicate): write both. Not finished: remove them, so the three
    companion files never describe two different states. Returns what was done, for metadata.
    """
    if summary.pending == 0 and summary.duplicates == 0:
        return {"written": write_scan_companions(layout, version)}
    return {
        "removed": clear_scan_companions(layout),
        "reason": f"{summary.pending} pending, {summary.duplicates} duplicated",
    }


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(Path(path).resolve()).replace("'", "''") + "'"
