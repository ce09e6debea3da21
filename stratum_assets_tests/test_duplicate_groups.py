"""The audit's duplicate groups four ways (audit/groups.py) and the report's side-by-side table, on constructed data."""

from __future__ import annotations

import duckdb
import pytest

from stratum_assets.audit.groups import duplicate_groups
from stratum_assets.audit.report import _duplicate_kinds
from stratum_assets.dedup.fingerprint import NearDupSettings, fingerprint


def _code(seed: int, renamed: str | None = None, edits: int = 1) -> bytes:
    """A module of 30 small functions, different per seed; ``renamed`` renames ``edits`` of them (a light edit)."""
    lines = []
    for i in range(30):
        name = f"{renamed}_{i}" if (renamed and 7 <= i < 7 + edits) else f"step_{seed}_{i}"
        lines += [
            f"def {name}(state, limit={i}):",
            f"    value = state.get('k{seed}{i}', {i * seed})",
            f"    return [value + n for n in range(limit) if n % {i % 5 + 2} == 0]",
            "",
        ]
    return "\n".join(lines).encode()


# name, fork parent, status, topology, code (None: too little Python to fingerprint)
REPOS = [
    ("o/parent", None, "success", "", _code(1)),
    ("x/fork-one", "o/parent", "success", "", _code(2)),
    ("y/fork-two", "O/Parent", "partial", "", _code(3)),  # a parent named in another case
    ("d/original", None, "success", "", _code(4)),
    ("e/exact-copy", None, "success", "T1", _code(4)),  # same bytes: exact and near
    ("f/edited-copy", None, "success", "", _code(4, "tidy")),  # one name changed: near only
    ("g/unrelated", None, "success", "", _code(5)),
    ("h/same-shape", None, "success", "T1", _code(6)),  # shares a topology with e/exact-copy
    ("i/unknown-shape", None, "success", "", _code(7)),
    ("j/unknown-too", None, "success", "", None),
    ("l/failed-copy", None, "failed", "T1", _code(4)),  # not usable: in no group
]


@pytest.fixture
def conn():
    conn = duckdb.connect()
    conn.execute("""CREATE TABLE scan_dataset (repo_hash VARCHAR, full_name VARCHAR, fork_parent VARCHAR,
                                               outcome VARCHAR, scan_status VARCHAR, topology_key VARCHAR)""")
    conn.execute("""CREATE TABLE code_fingerprints (repo_hash VARCHAR, content_hash VARCHAR, minhash BLOB,
                                                    signature_key VARCHAR, file_digests BLOB,
                                                    part_digests BLOB)""")
    for name, parent, status, topology, code in REPOS:
        conn.execute(
            "INSERT INTO scan_dataset VALUES (?, ?, ?, 'stored', ?, ?)", [name, name, parent, status, topology]
        )
        if code is not None:
            fp = fingerprint([("main.py", code)])
            conn.execute(
                "INSERT INTO code_fingerprints VALUES (?, ?, ?, ?, ?, ?)",
                [name, fp.content_hash, fp.signature, NearDupSettings().signature_key, fp.files, fp.parts],
            )
    return conn


def test_each_way_of_being_a_copy_and_the_groups_they_join_into(conn):
    groups = duplicate_groups(conn)
    assert groups.by_kind == {
        "fork_family": [("o/parent", "x/fork-one", "y/fork-two")],
        "exact_code": [("d/original", "e/exact-copy")],
        "near_duplicate_code": [("d/original", "e/exact-copy", "f/edited-copy")],
        "topology": [("e/exact-copy", "h/same-shape")],
    }
    assert groups.joined == [
        ("d/original", "e/exact-copy", "f/edited-copy", "h/same-shape"),
        ("o/parent", "x/fork-one", "y/fork-two"),
    ]
    summary = groups.summary()
    assert (summary["usable"], summary["fingerprinted"]) == (10, 9)
    assert summary["kinds"]["near_duplicate_code"] == {
        "groups": 1,
        "repos_in_groups": 3,
        "largest": 3,
        "effective_size": 8,
    }
    assert summary["joined"]["effective_size"] == 10 - 3 - 2
    table = dict(conn.execute(f"SELECT repo_hash, group_id FROM {groups.register(conn, 'g')}").fetchall())
    assert table["h/same-shape"] == "d/original" and table["x/fork-one"] == "o/parent", "the smallest member"
    assert len(table) == 7


def test_the_threshold_decides_how_edited_a_copy_may_be(conn):
    fp = fingerprint([("main.py", _code(4, "tidy", edits=3))])  # three of thirty functions renamed: Jaccard ~0.9
    conn.execute(
        "UPDATE code_fingerprints SET content_hash = ?, minhash = ?, file_digests = ?, part_digests = ? "
        "WHERE repo_hash = 'f/edited-copy'",
        [fp.content_hash, fp.signature, fp.files, fp.parts],
    )
    assert duplicate_groups(conn, threshold=0.85).by_kind["near_duplicate_code"] == [
        ("d/original", "e/exact-copy", "f/edited-copy")
    ]
    assert duplicate_groups(conn, threshold=0.95).by_kind["near_duplicate_code"] == [("d/original", "e/exact-copy")]


def test_partitions_stored_before_digests_still_group_by_signature(conn):
    """Rows without the digest columns: the one-name edit is estimated beyond the noise (>= 0.945) and still
    joins; nothing is contained (no digests), and nothing fails."""
    conn.execute("ALTER TABLE code_fingerprints DROP COLUMN file_digests")
    conn.execute("ALTER TABLE code_fingerprints DROP COLUMN part_digests")
    assert duplicate_groups(conn).by_kind["near_duplicate_code"] == [("d/original", "e/exact-copy", "f/edited-copy")]


def test_signatures_made_with_two_settings_are_never_compared(conn):
    conn.execute(
        "UPDATE code_fingerprints SET signature_key = 'minhash-k5-p128-s1-prose-id0-doc1-min50' "
        "WHERE repo_hash = 'g/unrelated'"
    )
    with pytest.raises(ValueError, match="different settings"):
        duplicate_groups(conn)


def test_the_report_shows_the_four_ways_side_by_side(conn):
    text = "\n".join(_duplicate_kinds(duplicate_groups(conn).summary()))
    assert "| same-project code (near-duplicate or contained copy) | 1 | 3 | 3 | 8 |" in text
    assert "Same project: one repository carries the other's own code" in text
    assert "| fork family (a parent and its forks) | 1 | 3 | 3 | 8 |" in text
    assert "| **all four joined: the split's groups** | 2 | 7 | 4 | **5** |" in text
    assert "9 of 10 usable repositories" in text
