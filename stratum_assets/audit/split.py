"""The frozen, leak-proof 80/20 train/test split, stratified by framework × deployment-score bucket.

Groups: repositories joined by fork family, non-empty topology hash or near-duplicate cluster form a group
(made elsewhere; passed as a relation (repo_hash, group_id), group_id = the group's smallest repo_hash; a
repository absent from it is a group of its own). A whole group goes to one side, so a copy cannot sit in
train while its original is in test.

Determinism: a group's position is ``sha256(seed:group_id)`` — never its row order — so the same
repositories always split the same way; a repository on its own is its own group, so its position is
``sha256(seed:repo_hash)`` and, without groups, the split is what it was before groups existed. It runs in
DuckDB (plus a short Python walk for strata that hold big groups), so a million repositories split in seconds.

Strata: a repository's fine stratum is framework × bucket; strata whose test part would be under
``min_test`` repositories are merged: first into their framework's "any" bucket, then into "other"; the
merges are reported. A group's stratum is the (merged) stratum most of its members have; a tie goes to the
stratum of the smallest repo_hash among the tied. Why the majority and not the group_id's member: a group is
counted in one stratum, and the majority counts the fewest repositories outside their own stratum, so each
stratum's test part describes that stratum best; the group_id is only the smallest hash, not the original.

Stratification: within each stratum the groups are ranked by position and go to test whole while the test
count is below round(0.2 × members) and the group fits under max(that, ⌊0.21 × members⌋); a group that does not
fit goes to train and the walk goes on. Singletons always fit, so a stratum is 20% test up to rounding unless
its groups are too big to make it (e.g. one group holding most of the stratum): that stratum is then under
20% and ``share_deviations`` reports it.

Frozen: assignments once written are kept forever; a later run assigns only repositories that have none yet.
A new repository whose group has stored members takes their side (members on both sides — stored before the
groups existed —: the side of the group_id's member if stored, else the majority, a tie the smallest member's;
``groups_in_both_splits`` reports such a group) and their stratum. A new group goes by the hash threshold
(position < 0.2 → test), which keeps the share near 20% without moving anyone.
"""

from __future__ import annotations

import hashlib
import math
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import pyarrow.parquet as pq

from ..manifest.export import DATE_FIELDS, SOURCE_METADATA
from ..storage.files import replacing
from ..storage.layout import Layout
from ..warehouse import schema
from .groups import KEY_COLUMNS
from .sections import USABLE

TEST_SHARE = 0.2


HEX_DIGITS = 13  # of sha256(seed:repo_hash): the repository's position in [0, 1)
# position < 0.2  ⇔  the first 13 hex digits <= this (0.2 × 16**13 = 0x3333333333333.33…)
TEST_PREFIX_MAX = "3333333333333"


def position(repo_hash: str, seed: int) -> float:
    """The position DuckDB's ``sha256(seed || ':' || repo_hash)`` gives, for tests and explanations."""
    return int(hashlib.sha256(f"{seed}:{repo_hash}".encode()).hexdigest()[:HEX_DIGITS], 16) / 16**HEX_DIGITS


def assign_sql(conn, source: str, existing: str | None, *, seed: int, min_test: int, groups: str | None = None) -> None:
    """Create temp table ``split_assignments(repo_hash, split, stratum, fine, origin, group_id, cascade)``.

    ``source`` has repo_hash, framework, deployment_score; ``existing`` (or None) is a relation of
    frozen assignments (repo_hash, split, stratum) that are kept as they are; ``groups`` (or None) is a
    relation (repo_hash, group_id) whose group_id is the smallest repo_hash of the group — a repository
    absent from it is a group of its own. ``fine`` is a new row's own framework × bucket, ``cascade`` the
    stratum the merge cascade gives that fine stratum, ``stratum`` the group's stratum (see the module
    docstring); kept rows have NULL fine and cascade.
    """
    need = math.ceil(min_test / TEST_SHARE)
    seed = int(seed)
    group_rows = (
        f"(SELECT repo_hash, min(group_id) AS group_id FROM {groups} GROUP BY repo_hash)"
        if groups
        else "(SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS group_id WHERE false)"
    )
    stored = (
        (
            f"SELECT e.repo_hash, e.split, e.stratum, coalesce(g.group_id, e.repo_hash) AS gid "
            f"FROM {existing} e LEFT JOIN {group_rows} g USING (repo_hash)"
        )
        if existing
        else "SELECT NULL::VARCHAR AS repo_hash, NULL::VARCHAR AS split, NULL::VARCHAR AS stratum, "
        "NULL::VARCHAR AS gid WHERE false"
    )
    # Every usable repository not yet assigned, with its group, fine stratum and cascade stratum; and the side
    # and stratum of every group that already has stored members (only possible with ``existing``).
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE split_fresh AS
        WITH fine AS (
            SELECT s.repo_hash, coalesce(g.group_id, s.repo_hash) AS gid,
                   coalesce(framework, 'none') || '|' ||
                   CASE WHEN coalesce(deployment_score, 0) <= 1 THEN 'low'
                        WHEN deployment_score <= 3 THEN 'mid' ELSE 'high' END AS s
            FROM {source} s LEFT JOIN {group_rows} g USING (repo_hash)),
        sizes AS (SELECT s, count(*) AS n FROM fine GROUP BY s),
        level1 AS (SELECT s, n, CASE WHEN n >= {need} THEN s ELSE split_part(s, '|', 1) || '|any' END AS t
                   FROM sizes),
        level1_sizes AS (SELECT t, sum(n) AS n FROM level1 GROUP BY t),
        level2 AS (SELECT l.s, CASE WHEN l.t = l.s OR z.n >= {need} THEN l.t ELSE 'other|any' END AS stratum
                   FROM level1 l JOIN level1_sizes z USING (t))
        SELECT f.repo_hash, f.gid, f.s AS fine, l.stratum AS cascade FROM fine f JOIN level2 l USING (s)
        {f"WHERE f.repo_hash NOT IN (SELECT repo_hash FROM {existing})" if existing else ""}""")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE split_joined AS
        WITH stored AS ({stored}),
        sides AS (SELECT gid, coalesce(
                      any_value(split) FILTER (repo_hash = gid),           -- the group_id's own member
                      CASE WHEN count(*) FILTER (split = 'test') > count(*) FILTER (split = 'train') THEN 'test'
                           WHEN count(*) FILTER (split = 'test') < count(*) FILTER (split = 'train') THEN 'train'
                           ELSE arg_min(split, repo_hash) END) AS side    -- the majority; a tie: the smallest
                  FROM stored WHERE gid IN (SELECT gid FROM split_fresh) GROUP BY gid)
        SELECT gid, side, arg_min(stratum, repo_hash) AS stratum
        FROM sides JOIN stored USING (gid) WHERE split = side GROUP BY gid, side""")
    # Groups without a stored member: one stratum each (the most common cascade stratum of its members; a tie
    # goes to the stratum holding the smallest repo_hash), its size and its position sha256(seed:group_id).
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE split_groups AS
        WITH votes AS (SELECT gid, cascade, count(*) AS n, min(repo_hash) AS first FROM split_fresh
                       WHERE gid NOT IN (SELECT gid FROM split_joined) GROUP BY gid, cascade),
        grouped AS (SELECT gid, arg_min(cascade, (-n, first)) AS stratum, sum(n) AS size FROM votes GROUP BY gid)
        SELECT gid, stratum, CAST(size AS BIGINT) AS size, sha256('{seed}:' || gid) AS pos FROM grouped""")
    if existing:  # frozen: a new group goes by its position threshold, as a single repository always did
        conn.execute(f"""CREATE OR REPLACE TEMP TABLE split_decided AS
                         SELECT gid, stratum, substr(pos, 1, {HEX_DIGITS}) <= '{TEST_PREFIX_MAX}' AS test
                         FROM split_groups""")
    else:
        _fill_strata(conn)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE split_assignments AS
        SELECT f.repo_hash, coalesce(j.side, CASE WHEN d.test THEN 'test' ELSE 'train' END) AS split,
               coalesce(j.stratum, d.stratum) AS stratum, f.fine, 'new' AS origin, f.gid AS group_id, f.cascade
        FROM split_fresh f LEFT JOIN split_joined j USING (gid) LEFT JOIN split_decided d USING (gid)
        {f"UNION ALL SELECT repo_hash, split, stratum, NULL, 'kept', gid, NULL FROM ({stored})" if existing else ""}
    """)


def _fill_strata(conn) -> None:
    """Table ``split_decided(gid, stratum, test)``: within each stratum, groups ranked by position go to test whole.

    A group goes to test while the stratum's test count is below its target round(0.2 × members) and the group
    fits under the ceiling max(target, ⌊0.21 × members⌋); a group that does not fit is skipped (train) and the
    walk goes on with the next one. Singletons always fit, so without groups this is exactly "the first
    round(0.2 × members) by position". SQL decides every group up to a stratum's first skip (for singletons:
    all of them); the rest — a sequential walk — is done here in Python, in position order.
    """
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE split_walk AS
        WITH ordered AS (
            SELECT gid, stratum, pos, size,
                   sum(size) OVER (PARTITION BY stratum ORDER BY pos, gid ROWS UNBOUNDED PRECEDING) - size AS before,
                   sum(size) OVER (PARTITION BY stratum) AS members FROM split_groups),
        bounds AS (SELECT *, CAST(round({TEST_SHARE} * members) AS BIGINT) AS target,
                          greatest(CAST(round({TEST_SHARE} * members) AS BIGINT),
                                   CAST(members * 21 // 100 AS BIGINT)) AS ceiling FROM ordered)
        SELECT *, min(before) FILTER (before < target AND before + size > ceiling)
                  OVER (PARTITION BY stratum) AS stuck FROM bounds""")
    walk = conn.execute("""SELECT stratum, gid, size, target, ceiling, stuck FROM split_walk
                           WHERE before >= stuck ORDER BY stratum, pos, gid""").fetchall()
    chosen = []
    count: dict[str, int] = {}
    for stratum, gid, size, target, ceiling, stuck in walk:
        test = count.setdefault(stratum, stuck)
        if test < target and test + size <= ceiling:
            chosen.append(gid)
            count[stratum] = test + size
    # From a Python list (unnest), not a registered Arrow table: DuckDB imports pandas to look at any Python object
    # it is handed (0.3 s of a short process).
    conn.execute("CREATE OR REPLACE TEMP TABLE split_walk_chosen AS SELECT unnest(?::VARCHAR[]) AS gid", [chosen])
    conn.execute("""CREATE OR REPLACE TEMP TABLE split_decided AS
                    SELECT gid, stratum, CASE WHEN stuck IS NULL OR before < stuck THEN before < target
                                     ELSE gid IN (SELECT gid FROM split_walk_chosen) END AS test
                    FROM split_walk""")
    conn.execute("DROP TABLE split_walk_chosen")


def share_deviations(conn, assignments: str) -> dict:
    """Strata whose test share misses 20% by more than 1 percentage point, where rounding alone does not explain
    it (the test count is not round(0.2 × members)): {stratum: {"members", "test", "share"}}. Whole groups can
    make 20% ± 1 pp impossible (a group bigger than the room left); this is where that shows."""
    rows = conn.execute(f"""
        SELECT stratum, count(*) AS members, count(*) FILTER (split = 'test') AS test FROM {assignments}
        GROUP BY stratum
        HAVING abs(100 * test - 20 * members) > members AND test <> round({TEST_SHARE} * members)
        ORDER BY stratum""").fetchall()
    return {s: {"members": n, "test": t, "share": round(t / n, 4)} for s, n, t in rows}


def groups_in_both_splits(conn, assignments: str, groups: str) -> list[dict]:
    """The check ``no_group_in_both_splits`` (it passes when this is empty): every group with members on both
    sides of ``assignments`` (repo_hash, split), as {"group_id", "train", "test"} (member counts), by group_id.
    Membership comes from ``groups`` (repo_hash, group_id); a repository absent from it is a group of its own."""
    rows = conn.execute(f"""
        SELECT coalesce(g.group_id, a.repo_hash) AS gid, count(*) FILTER (a.split = 'train') AS train,
               count(*) FILTER (a.split = 'test') AS test
        FROM {assignments} a LEFT JOIN (SELECT repo_hash, min(group_id) AS group_id FROM {groups}
                                        GROUP BY repo_hash) g USING (repo_hash)
        GROUP BY gid HAVING train > 0 AND test > 0 ORDER BY gid""").fetchall()
    return [{"group_id": g, "train": train, "test": test} for g, train, test in rows]


FEATURE_COLUMNS = (
    "graph_topology_metrics",
    "crew_size_distribution",
    "agent_tool_count_distribution",
    "capability_distribution",
    "graph_node_type_distribution",
    "graph_edge_type_distribution",
    "agent_count",
    "crew_count",
    "total_capabilities",
    "graph_node_count",
    "graph_edge_count",
    "edge_density",
    "guardrail_count",
    "env_var_count",
    "mcp_server_count",
    "deployment_signals",
    "repo_metadata",
)
LABEL_COLUMNS = ("risk_score", "finding_rules", "finding_severities", "finding_instance_counts", "fix_impact_estimates")
# The repository's source metadata as the manifest exports it, then what the scan adds about its stack.
METADATA_COLUMNS = (*SOURCE_METADATA, "framework_versions", "llm_providers")


# What the assignment reads of scan_dataset: of a repository's frameworks and deployment signals its fine stratum
# needs only the first framework and the deployment score.
ASSIGNMENT_COLUMNS = (
    "repo_hash",
    "outcome",
    "scan_status",
    "failure_reason",
    "frameworks[1] AS framework",
    "deployment_signals.deployment_score AS deployment_score",
)


def snapshot(conn, *, for_groups: bool = True) -> str:
    """What the split reads, once (schema.snapshot): the pending and unsettled check, the assignment and,
    ``for_groups``, the duplicate groups (audit/groups.py) read it."""
    return schema.snapshot(conn, ASSIGNMENT_COLUMNS + (KEY_COLUMNS if for_groups else ()), "split_snapshot")


@dataclass(frozen=True)
class SplitOutcome:
    """What :func:`split_and_export` did: :func:`freeze_assignments`' summary, then :func:`export_splits`'.
    The three group fields are None when the split ran without duplicate groups."""

    train: int  # repositories assigned to each side (stored assignments)
    test: int
    kept: int  # assignments kept from the stored split
    new: int  # repositories assigned now
    merged: dict[str, str]  # fine stratum -> the coarser one it was merged into (too small alone)
    undersized: dict[str, int]  # stratum -> its test rows, for those under min_test
    exports: dict[str, str]  # "train"/"test" -> the exported Parquet file
    in_both: int  # repositories in both exported files (0, or the split is broken)
    feature_fields: list[str]  # the fields of the exports' features struct
    joined: int | None = None  # new repositories that took the side of their group's stored members
    groups_in_both: list[dict] | None = None  # groups_in_both_splits over the stored assignments
    share_deviations: dict | None = None  # share_deviations over the stored assignments


def split_and_export(
    conn, layout, version: int, *, seed: int = 17, min_test: int = 40, groups: str | None = None, src: str | None = None
) -> SplitOutcome:
    """Assign the usable repositories, store the frozen assignments, export train/test; returns what it did.
    ``src`` as in :func:`freeze_assignments`: its memory goes back before the exports."""
    summary = freeze_assignments(conn, layout, version, seed=seed, min_test=min_test, groups=groups, src=src)
    return SplitOutcome(**summary, **export_splits(conn, layout, version))


def freeze_assignments(
    conn, layout, version: int, *, seed: int = 17, min_test: int = 40, groups: str | None = None, src: str | None = None
) -> dict:
    """Keep every stored assignment, assign the repositories without one, store them all (atomically).

    ``groups`` (a relation on ``conn``: repo_hash, group_id) makes whole groups go to one side; the summary
    then also has "groups_in_both" (groups_in_both_splits over the stored assignments: empty unless
    assignments frozen before the groups already split one), "share_deviations" (share_deviations over
    the stored assignments) and "joined" (new repositories that took the side of their group's stored members).
    Without ``groups`` the summary keeps its old keys. ``src`` is the split's :func:`snapshot` (made here when
    None); it is dropped once the assignments are stored.
    """
    store = layout.split_assignments
    schema.ensure(conn, layout, version)
    if store.exists():
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE split_frozen AS SELECT repo_hash, split, stratum "
            f"FROM read_parquet('{store}')"
        )
    src = src or snapshot(conn, for_groups=False)
    conn.execute(f"""CREATE OR REPLACE TEMP VIEW split_input AS
                     SELECT repo_hash, framework, deployment_score FROM {src} WHERE {USABLE}""")
    assign_sql(
        conn, "split_input", "split_frozen" if store.exists() else None, seed=seed, min_test=min_test, groups=groups
    )
    with replacing(store) as tmp:
        conn.execute(
            f"COPY (SELECT repo_hash, split, stratum FROM split_assignments ORDER BY repo_hash) "
            f"TO '{tmp}' (FORMAT PARQUET)"
        )
    merged = dict(
        conn.execute("""SELECT DISTINCT fine, cascade FROM split_assignments
                                  WHERE origin = 'new' AND fine <> cascade ORDER BY 1""").fetchall()
    )
    kept, new = conn.execute(
        "SELECT count(*) FILTER (origin = 'kept'), count(*) FILTER (origin = 'new') FROM split_assignments"
    ).fetchone()
    # Counted per stratum, not over test rows only: a stratum with no test row at all is the most undersized.
    undersized = dict(
        conn.execute(f"""SELECT stratum, count(*) FILTER (split = 'test') AS test_rows
                                       FROM read_parquet('{store}') GROUP BY 1
                                       HAVING test_rows < {int(min_test)} ORDER BY 1""").fetchall()
    )
    counts = dict(conn.execute(f"SELECT split, count(*) FROM read_parquet('{store}') GROUP BY 1").fetchall())
    summary = {
        "train": counts.get("train", 0),
        "test": counts.get("test", 0),
        "kept": kept,
        "new": new,
        "merged": merged,
        "undersized": undersized,
    }
    if groups is not None:
        stored = f"read_parquet('{store}')"
        joined = conn.execute(
            "SELECT count(*) FROM split_assignments WHERE origin = 'new' AND group_id IN (SELECT gid FROM split_joined)"
        ).fetchone()[0]
        summary |= {
            "joined": joined,
            "groups_in_both": groups_in_both_splits(conn, stored, groups),
            "share_deviations": share_deviations(conn, stored),
        }
    _drop_work_tables(conn)  # a million rows each: the exports that follow get their memory back
    conn.execute("DROP VIEW split_input")
    conn.execute(f"DROP TABLE {src}")
    return summary


WORK_TABLES = (
    "split_frozen",
    "split_fresh",
    "split_joined",
    "split_groups",
    "split_walk",
    "split_decided",
    "split_assignments",
)


def _drop_work_tables(conn) -> None:
    for table in WORK_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


# Up to this many assigned repositories, train and test are written side by side (:func:`_side_by_side`); above,
# one after the other. Measured (bench/audit_scale.py): at 50,000 side by side halves the exports' time; at a
# million it saves nothing (each sort fills DuckDB's memory limit and spills, so two only take turns) and adds
# ~60 MiB to the peak.
SIDE_BY_SIDE_ROWS = 200_000


def export_splits(conn, layout, version: int) -> dict:
    """Write train/test (Parquet + JSONL) from the stored assignments, then verify no repository is in both."""
    schema.ensure(conn, layout, version)  # the manifest view joins the stored split
    columns = {c[0] for c in conn.execute("DESCRIBE scan_dataset").fetchall()}
    jobs = {name: partial(_export, layout=layout, name=name, columns=columns) for name in ("train", "test")}
    assigned = conn.execute(f"SELECT count(*) FROM read_parquet('{layout.split_assignments}')").fetchone()[0]
    exports = (
        _side_by_side(conn, jobs) if assigned <= SIDE_BY_SIDE_ROWS else {name: job(conn) for name, job in jobs.items()}
    )
    train, test = layout.split_export("train", ".parquet"), layout.split_export("test", ".parquet")
    in_both = conn.execute(f"""SELECT count(*) FROM (
        SELECT repo_hash FROM read_parquet('{train}')
        INTERSECT SELECT repo_hash FROM read_parquet('{test}'))""").fetchone()[0]
    return {
        "exports": exports,
        "in_both": in_both,
        "feature_fields": [f.name for f in pq.read_schema(train).field("features").type],
    }


def _side_by_side(conn, jobs: dict) -> dict:
    """Run each job (a function of a cursor) on its own cursor and thread, DuckDB on one thread per query.

    Why: the JSON writer runs on one thread (:func:`_export`), which leaves a core idle while it runs; one
    query per core keeps both busy (the views are the database's, so every cursor sees them). Returns
    {name: result}; the first failure is raised once every job ended.
    """
    with _one_thread(conn), ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        cursors = {name: conn.cursor() for name in jobs}
        futures = {name: pool.submit(job, cursors[name]) for name, job in jobs.items()}
        wait(futures.values())
        for cursor in cursors.values():
            cursor.close()
        return {name: future.result() for name, future in futures.items()}


@contextmanager
def _one_thread(conn):
    """DuckDB on one thread (a setting of the whole database) for the block, then as it was."""
    threads = conn.execute("SELECT current_setting('threads')").fetchone()[0]
    conn.execute("SET threads = 1")
    try:
        yield
    finally:
        conn.execute(f"SET threads = {int(threads)}")


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
        return (
            f"CASE WHEN length({text}) <= 10 THEN {text} "
            f"ELSE strftime(CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC', '%Y-%m-%d') END"
        )
    return f'"{column}"'


def _export(conn, layout: Layout, name: str, columns: set[str]) -> str:
    """train or test as Parquet, then JSONL from that Parquet (one join, not two), each renamed into place
    (the Parquet first)."""
    parquet, jsonl = layout.split_export(name, ".parquet"), layout.split_export(name, ".jsonl")
    with replacing(jsonl) as tmp_jsonl, replacing(parquet) as tmp_parquet:
        conn.execute(f"COPY ({_export_query(columns, name)}) TO '{tmp_parquet}' (FORMAT PARQUET)")
        # One thread: DuckDB's parallel, order-preserving JSON writer buffers whole row groups of these wide rows
        # per thread (out of memory under a 700 MB limit at a million repositories).
        with _one_thread(conn):
            conn.execute(f"COPY (SELECT * FROM read_parquet('{tmp_parquet}')) TO '{tmp_jsonl}' (FORMAT JSON)")
    return str(parquet)
