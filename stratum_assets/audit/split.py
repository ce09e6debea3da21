"""The frozen 80/20 train/test split, stratified by framework × deployment-score bucket.

Determinism: a repository's position is ``sha256(seed:repo_hash)`` — never its
row order — so the same repositories always split the same way. It all runs as
one DuckDB query, so a million repositories split in seconds.

Stratification: within each stratum the repositories are ranked by that hash
and the first 20% go to test, so every stratum is 20% test up to rounding.
Strata whose test part would be under ``min_test`` repositories are merged:
first into their framework's "any" bucket, then into "other"; the merges are
reported.

Frozen: assignments once written are kept forever; a later run assigns only
repositories that have none yet, by the hash threshold (hash fraction < 0.2 →
test), which keeps their share at 20% without moving anyone.
"""

from __future__ import annotations

import hashlib
import math

import pyarrow.parquet as pq

from ..manifest.export import DATE_FIELDS
from ..warehouse import schema
from ..warehouse.files import replacing
from ..warehouse.layout import Layout
from .sections import USABLE

TEST_SHARE = 0.2


HEX_DIGITS = 13  # of sha256(seed:repo_hash): the repository's position in [0, 1)
# position < 0.2  ⇔  the first 13 hex digits <= this (0.2 × 16**13 = 0x3333333333333.33…)
TEST_PREFIX_MAX = "3333333333333"


def position(repo_hash: str, seed: int) -> float:
    """The position DuckDB's ``sha256(seed || ':' || repo_hash)`` gives, for tests and explanations."""
    return int(hashlib.sha256(f"{seed}:{repo_hash}".encode()).hexdigest()[:HEX_DIGITS], 16) / 16**HEX_DIGITS


def assign_sql(conn, source: str, existing: str | None, *, seed: int, min_test: int) -> None:
    """Create temp table ``split_assignments(repo_hash, split, stratum)`` from ``source``.

    ``source`` has repo_hash, framework, deployment_score; ``existing`` (or None) is a relation of
    frozen assignments that are kept as they are.
    """
    need = math.ceil(min_test / TEST_SHARE)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE split_assignments AS
        WITH fine AS (
            SELECT repo_hash, coalesce(framework, 'none') || '|' ||
                   CASE WHEN coalesce(deployment_score, 0) <= 1 THEN 'low'
                        WHEN deployment_score <= 3 THEN 'mid' ELSE 'high' END AS s,
                   sha256('{int(seed)}:' || repo_hash) AS pos
            FROM {source}),
        sizes AS (SELECT s, count(*) AS n FROM fine GROUP BY s),
        level1 AS (SELECT s, n, CASE WHEN n >= {need} THEN s ELSE split_part(s, '|', 1) || '|any' END AS t
                   FROM sizes),
        level1_sizes AS (SELECT t, sum(n) AS n FROM level1 GROUP BY t),
        level2 AS (SELECT l.s, CASE WHEN l.t = l.s OR z.n >= {need} THEN l.t ELSE 'other|any' END AS stratum
                   FROM level1 l JOIN level1_sizes z USING (t)),
        placed AS (SELECT f.repo_hash, f.s AS fine, l.stratum, f.pos FROM fine f JOIN level2 l USING (s)),
        fresh AS (SELECT * FROM placed {f"WHERE repo_hash NOT IN (SELECT repo_hash FROM {existing})" if existing
                                          else ""}),
        ranked AS (SELECT *, row_number() OVER (PARTITION BY stratum ORDER BY pos) AS rank,
                          count(*) OVER (PARTITION BY stratum) AS members FROM fresh)
        SELECT repo_hash,
               CASE WHEN {"substr(pos, 1, " + str(HEX_DIGITS) + f") <= '{TEST_PREFIX_MAX}'" if existing
                          else f"rank <= round({TEST_SHARE} * members)"} THEN 'test' ELSE 'train' END AS split,
               stratum, fine, 'new' AS origin
        FROM ranked
        {f"UNION ALL SELECT repo_hash, split, stratum, NULL, 'kept' FROM {existing}" if existing else ""}
    """)


FEATURE_COLUMNS = (
    "graph_topology_metrics", "crew_size_distribution", "agent_tool_count_distribution",
    "capability_distribution", "graph_node_type_distribution", "graph_edge_type_distribution",
    "agent_count", "crew_count", "total_capabilities", "graph_node_count", "graph_edge_count", "edge_density",
    "guardrail_count", "env_var_count", "mcp_server_count", "deployment_signals", "repo_metadata",
)
LABEL_COLUMNS = ("risk_score", "finding_rules", "finding_severities", "finding_instance_counts",
                 "fix_impact_estimates")
METADATA_COLUMNS = ("github_stars", "github_forks", "last_commit_date", "repo_created_date", "is_fork",
                    "fork_parent", "license", "github_topics", "primary_language", "language_bytes", "has_readme",
                    "discovery_query", "selection_stratum", "collected_at", "framework_versions", "llm_providers")


def split_and_export(conn, layout, version: int, *, seed: int = 17, min_test: int = 40) -> dict:
    """Assign the usable repositories, store the frozen assignments, export train/test; returns a summary."""
    summary = freeze_assignments(conn, layout, version, seed=seed, min_test=min_test)
    return summary | export_splits(conn, layout, version)


def freeze_assignments(conn, layout, version: int, *, seed: int = 17, min_test: int = 40) -> dict:
    """Keep every stored assignment, assign the repositories without one, store them all (atomically)."""
    store = layout.split_assignments
    schema.ensure(conn, layout, version)
    if store.exists():
        conn.execute(f"CREATE OR REPLACE TEMP TABLE split_frozen AS SELECT repo_hash, split, stratum "
                     f"FROM read_parquet('{store}')")
    conn.execute(f"""CREATE OR REPLACE TEMP VIEW split_input AS
                     SELECT repo_hash, frameworks[1] AS framework,
                            deployment_signals.deployment_score AS deployment_score
                     FROM scan_dataset WHERE {USABLE}""")
    assign_sql(conn, "split_input", "split_frozen" if store.exists() else None, seed=seed, min_test=min_test)
    with replacing(store) as tmp:
        conn.execute(f"COPY (SELECT repo_hash, split, stratum FROM split_assignments ORDER BY repo_hash) "
                     f"TO '{tmp}' (FORMAT PARQUET)")
    merged = dict(conn.execute("""SELECT DISTINCT fine, stratum FROM split_assignments
                                  WHERE origin = 'new' AND fine <> stratum ORDER BY 1""").fetchall())
    kept, new = conn.execute("SELECT count(*) FILTER (origin = 'kept'), count(*) FILTER (origin = 'new') "
                             "FROM split_assignments").fetchone()
    # Counted per stratum, not over test rows only: a stratum with no test row at all is the most undersized.
    undersized = dict(conn.execute(f"""SELECT stratum, count(*) FILTER (split = 'test') AS test_rows
                                       FROM read_parquet('{store}') GROUP BY 1
                                       HAVING test_rows < {int(min_test)} ORDER BY 1""").fetchall())
    counts = dict(conn.execute(f"SELECT split, count(*) FROM read_parquet('{store}') GROUP BY 1").fetchall())
    return {"train": counts.get("train", 0), "test": counts.get("test", 0), "kept": kept, "new": new,
            "merged": merged, "undersized": undersized}


def export_splits(conn, layout, version: int) -> dict:
    """Write train/test (Parquet + JSONL) from the stored assignments, then verify no repository is in both."""
    schema.ensure(conn, layout, version)  # the manifest view joins the stored split
    columns = {c[0] for c in conn.execute("DESCRIBE scan_dataset").fetchall()}
    exports = {name: _export(conn, layout, name, columns) for name in ("train", "test")}
    train, test = layout.split_export("train", ".parquet"), layout.split_export("test", ".parquet")
    in_both = conn.execute(f"""SELECT count(*) FROM (
        SELECT repo_hash FROM read_parquet('{train}')
        INTERSECT SELECT repo_hash FROM read_parquet('{test}'))""").fetchone()[0]
    return {"exports": exports, "in_both": in_both,
            "feature_fields": [f.name for f in pq.read_schema(train).field("features").type]}


def _export_query(columns: set[str], name: str) -> str:
    """One split's rows: features, labels and metadata in three separate structs, in repo_hash order."""
    def pack(wanted) -> str:
        return "struct_pack(" + ", ".join(f'"{c}" := {_value(c)}' for c in wanted if c in columns) + ")"

    return f"""SELECT repo_hash, full_name AS repo_full_name, split,
                      {pack(FEATURE_COLUMNS)} AS features, {pack(LABEL_COLUMNS)} AS labels,
                      {pack(METADATA_COLUMNS)} AS metadata
               FROM scan_dataset WHERE {USABLE} AND split = '{name}' ORDER BY repo_hash"""


def _value(column: str) -> str:
    """A column as the export writes it: the two source dates as ``YYYY-MM-DD`` (UTC day), as in
    repo_manifest.jsonl (manifest/export.py), so the companion files and the split agree."""
    if column in DATE_FIELDS:  # GitHub's timestamps end in Z; a value that is already a date stays as it is
        text = f'CAST("{column}" AS VARCHAR)'
        return (f"CASE WHEN length({text}) <= 10 THEN {text} "
                f"ELSE strftime(CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC', '%Y-%m-%d') END")
    return f'"{column}"'


def _export(conn, layout: Layout, name: str, columns: set[str]) -> str:
    """train or test as Parquet, then JSONL from that Parquet (one join, not two), each renamed into place
    (the Parquet first)."""
    parquet, jsonl = layout.split_export(name, ".parquet"), layout.split_export(name, ".jsonl")
    with replacing(jsonl) as tmp_jsonl, replacing(parquet) as tmp_parquet:
        conn.execute(f"COPY ({_export_query(columns, name)}) TO '{tmp_parquet}' (FORMAT PARQUET)")
        # One thread: DuckDB's parallel, order-preserving JSON writer buffers whole row groups of these wide rows
        # per thread (out of memory under a 700 MB limit at a million repositories); one thread is as fast here.
        threads = conn.execute("SELECT current_setting('threads')").fetchone()[0]
        conn.execute("SET threads = 1")
        try:
            conn.execute(f"COPY (SELECT * FROM read_parquet('{tmp_parquet}')) TO '{tmp_jsonl}' (FORMAT JSON)")
        finally:
            conn.execute(f"SET threads = {int(threads)}")
    return str(parquet)
