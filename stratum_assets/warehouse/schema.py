"""The DuckDB warehouse: the manifest table and the views over per-partition Parquet files.

DuckDB allows one writer per file, and partitions run in parallel, so scan
partitions never open the DuckDB file: each writes its own Parquet files
atomically, and the views below read them all. Only unpartitioned assets
(manifest, audit, split) open the database, one at a time. Every statement
here is idempotent (``CREATE OR REPLACE``), so any asset may call
:func:`refresh` before it queries.

* ``repo_manifest`` — table, the active frozen manifest version.
* ``scan_results`` / ``quarantine`` — views over ``scan_results/v<N>/*.parquet``
  and ``quarantine/v<N>/*.parquet`` (an empty, typed view until a partition ran).
* ``scan_dataset`` — one row per manifest repository, joined **on repo_hash** to
  its stored ping, with ``outcome`` = stored | quarantined | pending.
"""

from __future__ import annotations

import duckdb

from .layout import Layout

# Columns the views promise even before any partition wrote a file.
_EMPTY_SCAN_RESULTS = "SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS scan_status, NULL::VARCHAR AS chunk_id"
_EMPTY_QUARANTINE = ("SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS chunk_id, NULL::VARCHAR AS errors, "
                     "NULL::VARCHAR AS ping_json")


def refresh(conn: duckdb.DuckDBPyConnection, layout: Layout, version: int) -> None:
    manifest = layout.manifests / f"v{version}" / "manifest.parquet"
    conn.execute(f"CREATE OR REPLACE TABLE repo_manifest AS SELECT * FROM read_parquet({_sql(manifest)})")
    _view_over(conn, "scan_results", layout.scan_results(version), _EMPTY_SCAN_RESULTS)
    _view_over(conn, "quarantine", layout.quarantine(version), _EMPTY_QUARANTINE)
    conn.execute("""
        CREATE OR REPLACE VIEW scan_dataset AS
        SELECT m.*,
               CASE WHEN s.repo_hash IS NOT NULL THEN 'stored'
                    WHEN q.repo_hash IS NOT NULL THEN 'quarantined'
                    ELSE 'pending' END AS outcome,
               s.* EXCLUDE (repo_hash, chunk_id)
        FROM repo_manifest m
        LEFT JOIN scan_results s ON s.repo_hash = m.repo_hash
        LEFT JOIN (SELECT DISTINCT repo_hash FROM quarantine) q ON q.repo_hash = m.repo_hash
    """)


def _view_over(conn: duckdb.DuckDBPyConnection, name: str, folder, empty_select: str) -> None:
    if folder.exists() and any(folder.glob("*.parquet")):
        source = f"SELECT * FROM read_parquet({_sql(folder / '*.parquet')}, union_by_name = true)"
    else:
        source = f"{empty_select} WHERE false"
    conn.execute(f"CREATE OR REPLACE VIEW {name} AS {source}")


def _sql(path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path.resolve() if hasattr(path, "resolve") else path).replace("'", "''") + "'"
