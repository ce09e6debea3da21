"""The DuckDB warehouse: the manifest table and the views over per-partition Parquet files.

DuckDB allows one writer per file, and partitions run in parallel, so scan
partitions never open the DuckDB file: each writes its own Parquet files
atomically, and the views below read them all. Only unpartitioned assets
(manifest, audit, split) open the database, one at a time, through the
``data`` resource's ``warehouse()``, which calls :func:`refresh` for the
active manifest version before it hands out the connection (a
:class:`Warehouse`). Every statement here is idempotent (``CREATE OR
REPLACE``), so refreshing again after a stage changed files (the split's
assignments) is safe.

* ``repo_manifest`` — the active frozen manifest version (a view over its
  read-only Parquet file) plus each repository's train/test ``split`` once
  the split exists.
* ``scan_results`` / ``quarantine`` — views over every whole partition of the
  version, read from its block where one holds a current copy (``blocks.py``: a
  few large files) and from ``scans/v<N>/<chunk>/{scan_results,quarantine}.parquet``
  otherwise (empty, typed views until a partition ran).
* ``code_fingerprints`` — the code fingerprints stored beside the pings (content
  hash, MinHash signature; ``dedup/``), from the same blocks and partitions.
* ``scan_dataset`` — one row per manifest repository, joined **on repo_hash** to
  its stored ping, with ``outcome`` = stored | quarantined | pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import duckdb

from ..storage.layout import Layout
from .blocks import ReadPlan, plan

# DuckDB's own cap for a warehouse connection (it spills beyond it to <database>.tmp; its default is 80% of the
# machine's memory): with Python and Arrow around it, the audit and the split of a million repositories stay
# under 1 GiB (bench/audit_scale.py). The data resource's ``memory_limit`` overrides it.
MEMORY_LIMIT = "700MB"

# Columns the views promise even before any partition wrote a file.
_EMPTY_SCAN_RESULTS = (
    "SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS scan_status, NULL::VARCHAR AS chunk_id, "
    "NULL::VARCHAR AS repo_full_name, NULL::VARCHAR AS selection_stratum, NULL::VARCHAR AS failure_reason, "
    "NULL::VARCHAR[] AS frameworks, NULL::BIGINT AS scan_duration_ms, NULL::VARCHAR AS scanner, "
    "NULL::VARCHAR AS scanner_version"
)
_EMPTY_FINGERPRINTS = (
    "SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS chunk_id, NULL::VARCHAR AS content_hash, "
    "NULL::BLOB AS minhash, NULL::VARCHAR AS signature_key, NULL::BIGINT AS code_tokens, "
    "NULL::BOOLEAN AS truncated, NULL::BLOB AS file_digests, NULL::BLOB AS part_digests"
)
_EMPTY_QUARANTINE = (
    "SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS chunk_id, NULL::VARCHAR AS errors, NULL::VARCHAR AS ping_json"
)


@dataclass(frozen=True)
class Warehouse:
    """A connection whose views show manifest ``version`` of the data directory laid out by ``layout``."""

    conn: duckdb.DuckDBPyConnection
    layout: Layout
    version: int


def refresh(conn: duckdb.DuckDBPyConnection, layout: Layout, version: int) -> None:
    """Point every view at ``version``: the manifest (with the stored split) and the scans."""
    refresh_manifest(conn, layout, version)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {_SCANS_OF} AS SELECT {_sql(_scans_key(layout, version))} AS key")
    # A partition that is not whole (verify.py) is left out: its repositories read as pending.
    reading = plan(layout, version)
    _view_over(conn, "scan_results", reading, "results", _EMPTY_SCAN_RESULTS)
    _view_over(conn, "quarantine", reading, "quarantine", _EMPTY_QUARANTINE)
    _view_over(conn, "code_fingerprints", reading, "fingerprints", _EMPTY_FINGERPRINTS)
    topology = _topology_key({c for (c, *_) in conn.execute("DESCRIBE scan_results").fetchall()})
    conn.execute(f"""
        CREATE OR REPLACE VIEW scan_dataset AS
        SELECT m.*,
               CASE WHEN s.repo_hash IS NOT NULL THEN 'stored'
                    WHEN q.repo_hash IS NOT NULL THEN 'quarantined'
                    ELSE 'pending' END AS outcome,
               s.* EXCLUDE (repo_hash, chunk_id, repo_full_name, selection_stratum),
               {topology} AS topology_key
        FROM repo_manifest m
        LEFT JOIN scan_results s ON s.repo_hash = m.repo_hash
        LEFT JOIN (SELECT DISTINCT repo_hash FROM quarantine) q ON q.repo_hash = m.repo_hash
    """)


def _topology_key(columns: set[str]) -> str:
    """The topology the audit groups by (G5, the split's groups): the ping's ``topology_signature_hash``, else the
    built-in scanner's own (``detected_topology_signature_hash``, an extra field): the reference CLI leaves the
    ping's empty, and so does the built-in, which follows it; NULL when neither is known."""
    ping = "nullif(s.topology_signature_hash, '')" if "topology_signature_hash" in columns else "NULL"
    detected = (
        "nullif(json_extract_string(s.extra_json, '$.detected_topology_signature_hash'), '')"
        if "extra_json" in columns
        else "NULL"
    )
    return f"coalesce({ping}, {detected})"


def snapshot(conn: duckdb.DuckDBPyConnection, columns: tuple[str, ...], name: str) -> str:
    """Temporary table ``name`` of ``columns`` (each once, in order) of every ``scan_dataset`` row; returns ``name``.

    Each read of the view joins the manifest, the stored split, the pings and the quarantine again
    (~0.5 s at a million repositories): a stage that reads the same rows several times (sections,
    duplicate groups, the split's input) reads them once, from here.
    """
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {', '.join(dict.fromkeys(columns))} FROM scan_dataset")
    return name


def ensure(conn: duckdb.DuckDBPyConnection, layout: Layout, version: int) -> None:
    """The views for a stage that follows another on the same connection (the split after the audit): the
    manifest view again (the stored split changed), the scan views as this connection already has them for
    ``version`` — one plan of which files to read per connection (each plan opens a footer per block) —
    or all of them on a connection that has none."""
    try:
        key = cast(tuple, conn.execute(f"SELECT key FROM {_SCANS_OF}").fetchone())[0]  # the table has its one row
    except duckdb.CatalogException:
        key = None
    if key == _scans_key(layout, version):
        refresh_manifest(conn, layout, version)
    else:
        refresh(conn, layout, version)


_SCANS_OF = "warehouse_scan_views_of"  # temporary: which data directory and version this connection's views show


def _scans_key(layout: Layout, version: int) -> str:
    return str(layout.scans(version).resolve())


def refresh_manifest(conn: duckdb.DuckDBPyConnection, layout: Layout, version: int) -> None:
    """Point ``repo_manifest`` at ``version`` with the stored split: after the split changed, only this view
    changes (``scan_dataset`` reads it by name), so the scans' plan is not made again."""
    manifest = layout.manifest(version).table
    assignments = layout.split_assignments
    # A view over the frozen file: nothing is copied, and the file can never be changed through DuckDB.
    if cast(  # count(*) answers one row
        tuple,
        conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'repo_manifest' AND schema_name = 'main'"
        ).fetchone(),
    )[0]:
        conn.execute("DROP TABLE repo_manifest")  # databases written before it became a view
    if assignments.exists():
        conn.execute(f"""CREATE OR REPLACE VIEW repo_manifest AS
                         SELECT m.*, s.split FROM read_parquet({_sql(manifest)}) m
                         LEFT JOIN read_parquet({_sql(assignments)}) s USING (repo_hash)""")
    else:
        conn.execute(
            f"CREATE OR REPLACE VIEW repo_manifest AS SELECT *, NULL::VARCHAR AS split "
            f"FROM read_parquet({_sql(manifest)})"
        )


def _view_over(conn: duckdb.DuckDBPyConnection, name: str, reading: ReadPlan, kind: str, empty_select: str) -> None:
    """View ``name`` over the ``kind`` files (results or quarantine) of the plan's blocks and loose partitions."""
    parts = []
    if reading.blocks:
        outdated = f" WHERE chunk_id NOT IN ({', '.join(map(_sql, reading.outdated))})" if reading.outdated else ""
        parts.append(_read([getattr(b, kind) for b in reading.blocks]) + outdated)
    loose = [path for path in (getattr(p, kind) for p in reading.loose) if path.exists()]  # fingerprints: optional
    if loose:
        parts.append(_read(loose))
    source = " UNION ALL BY NAME ".join(parts) or f"{empty_select} WHERE false"
    conn.execute(f"CREATE OR REPLACE VIEW {name} AS {source}")


def _read(files: list) -> str:
    return f"SELECT * FROM read_parquet([{', '.join(map(_sql, files))}], union_by_name = true)"


def _sql(path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path.resolve() if hasattr(path, "resolve") else path).replace("'", "''") + "'"
