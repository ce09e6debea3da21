"""``pipeline_run_log``: the run summary in the seed's shape, computed in DuckDB over all partitions."""

from __future__ import annotations

import json

import duckdb

from .layout import Layout
from .verify import partition_problem


def summarize(conn: duckdb.DuckDBPyConnection, layout: Layout, version: int) -> dict:
    def one(sql: str):
        return conn.execute(sql).fetchone()

    def pairs(sql: str) -> dict:
        return {k: v for k, v in conn.execute(sql).fetchall() if k is not None}

    total, stored, quarantined, pending = one("""
        SELECT count(*), count(*) FILTER (outcome = 'stored'), count(*) FILTER (outcome = 'quarantined'),
               count(*) FILTER (outcome = 'pending') FROM scan_dataset""")
    duplicates = one("""
        SELECT (SELECT count(*) - count(DISTINCT repo_hash) FROM scan_results)
             + (SELECT count(*) FROM scan_results s JOIN quarantine q USING (repo_hash))""")[0]
    stats = partition_stats(layout, version)
    return {
        "manifest_version": version,
        "total_repos": total, "stored": stored, "quarantined": quarantined, "pending": pending,
        "duplicates": duplicates,
        "counts_by_status": pairs("SELECT scan_status, count(*) FROM scan_results GROUP BY 1 ORDER BY 1"),
        "failure_reasons": pairs("SELECT failure_reason, count(*) FROM scan_results GROUP BY 1 ORDER BY 1"),
        "framework_distribution": pairs(
            "SELECT fw, count(*) FROM (SELECT unnest(frameworks) AS fw FROM scan_results) GROUP BY 1 ORDER BY 1"),
        "rate_limit_hits": sum(s.get("rate_limit_hits", 0) for s in stats),
        "partitions": len(stats),
        "durations": {"partition_seconds_total": round(sum(s.get("duration_s", 0) for s in stats), 2),
                      "partition_seconds_max": max((s.get("duration_s", 0) for s in stats), default=0)},
        "avg_scan_duration_ms": round(one("SELECT coalesce(avg(scan_duration_ms), 0) FROM scan_results")[0], 1),
        "bytes_fetched": sum(s.get("bytes_fetched", 0) for s in stats),
        "scanners": scanner_counts(conn),
    }


def scanner_counts(conn: duckdb.DuckDBPyConnection, src: str = "scan_results") -> dict[str, int]:
    """"<scanner> <scanner_version>" -> stored pings it produced; one manifest version should show one.

    The pipeline's skeleton pings (a clone that failed, a scan that timed out) name no version: no
    scanner produced them, so they never count as a second scanner.
    """
    return dict(conn.execute(f"""SELECT scanner || ' ' || scanner_version, count(*) FROM {src}
                                 WHERE scanner_version <> '' GROUP BY 1 ORDER BY 1""").fetchall())


def partition_stats(layout: Layout, version: int) -> list[dict]:
    """Every whole partition's stats.json (counts, timings, finished_at), in chunk order."""
    return [json.loads(p.read_text()) for p in sorted(layout.scans(version).glob("v*-c*/stats.json"))
            if partition_problem(p.parent) is None]
