"""The frozen 80/20 split, rule by rule: buckets, merge cascade, hash ranking, frozen assignments, exports.

assign_sql runs on in-memory DuckDB tables; freeze_assignments / split_and_export run on a real data
directory (a manifest Parquet file and a partition's scan_results.parquet typed like the pipeline's).
"""

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratum_assets.audit.split import (
    FEATURE_COLUMNS,
    LABEL_COLUMNS,
    METADATA_COLUMNS,
    assign_sql,
    export_splits,
    freeze_assignments,
    groups_in_both_splits,
    position,
    share_deviations,
    split_and_export,
)
from stratum_assets.scanning.storage import PING_SCHEMA, quarantine_table
from stratum_assets.storage.layout import Layout


# -- helpers -----------------------------------------------------------------------------------------
def repos(prefix: str, n: int, framework: str | None, score: int | None) -> list[tuple]:
    return [(f"{prefix}{i:04d}", framework, score) for i in range(n)]


def assign(
    rows, *, existing: dict | None = None, seed: int = 17, min_test: int = 40, conn=None, groups: dict | None = None
) -> dict:
    """repo_hash -> (split, stratum, fine, origin) as assign_sql leaves them in split_assignments;
    ``groups`` is repo_hash -> group_id (table ``grp``)."""
    conn = conn or duckdb.connect()
    source = pa.table(
        {
            "repo_hash": pa.array([r[0] for r in rows], pa.string()),
            "framework": pa.array([r[1] for r in rows], pa.string()),
            "deployment_score": pa.array([r[2] for r in rows], pa.int64()),
        }
    )
    conn.register("source_arrow", source)
    conn.execute("CREATE OR REPLACE TABLE src AS SELECT * FROM source_arrow")
    if existing is not None:
        frozen = pa.table(
            {
                "repo_hash": list(existing),
                "split": [v[0] for v in existing.values()],
                "stratum": [v[1] for v in existing.values()],
            }
        )
        conn.register("frozen_arrow", frozen)
        conn.execute("CREATE OR REPLACE TABLE frozen AS SELECT * FROM frozen_arrow")
    if groups is not None:
        conn.register(
            "groups_arrow",
            pa.table(
                {
                    "repo_hash": pa.array(list(groups), pa.string()),
                    "group_id": pa.array(list(groups.values()), pa.string()),
                }
            ),
        )
        conn.execute("CREATE OR REPLACE TABLE grp AS SELECT * FROM groups_arrow")
    assign_sql(
        conn,
        "src",
        "frozen" if existing is not None else None,
        seed=seed,
        min_test=min_test,
        groups="grp" if groups is not None else None,
    )
    out = conn.execute("SELECT repo_hash, split, stratum, fine, origin FROM split_assignments").fetchall()
    result = {h: (s, st, f, o) for h, s, st, f, o in out}
    assert len(result) == len(out), "one row per repository"
    return result


def by_stratum(result: dict) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for split, stratum, *_ in result.values():
        counts.setdefault(stratum, {"train": 0, "test": 0})[split] += 1
    return counts


def lowest_positions(hashes, k: int, seed: int = 17) -> set[str]:
    return set(sorted(hashes, key=lambda h: position(h, seed))[:k])


# -- position ----------------------------------------------------------------------------------------
def test_position_is_the_first_13_hex_digits_of_sha256_seed_colon_hash():
    assert position("abc", 17) == 0x9642468D60D4B / 16**13 == pytest.approx(0.5869487853204471, abs=1e-15)
    assert position("abc", 3) == pytest.approx(0.6668392230291817, abs=1e-15)
    assert position("0123456789abcdef", 17) == pytest.approx(0.029982504645303054, abs=1e-15)
    digest = duckdb.connect().execute("SELECT sha256('17:abc')").fetchone()[0]  # what the SQL ranks by
    assert int(digest[:13], 16) / 16**13 == position("abc", 17)


# -- strata ------------------------------------------------------------------------------------------
def test_deployment_score_buckets_are_low_up_to_1_mid_2_to_3_high_from_4():
    rows = (
        repos("n", 5, "A", None)
        + repos("z", 5, "A", 0)
        + repos("o", 5, "A", 1)
        + repos("m", 5, "A", -1)
        + repos("t", 5, "A", 2)
        + repos("h", 5, "A", 3)
        + repos("f", 5, "A", 4)
        + repos("v", 5, "A", 5)
        + repos("s", 5, "A", 7)
        + repos("x", 5, None, 2)
    )
    result = assign(rows, min_test=1)  # strata of 5 are big enough: nothing merges
    fine = {h: f for h, (_, _, f, _) in result.items()}
    expected = {
        "n": "A|low",
        "z": "A|low",
        "o": "A|low",
        "m": "A|low",
        "t": "A|mid",
        "h": "A|mid",
        "f": "A|high",
        "v": "A|high",
        "s": "A|high",
        "x": "none|mid",
    }
    assert {h: expected[h[0]] for h in fine} == fine
    assert all(stratum == f and origin == "new" for _, stratum, f, origin in result.values())
    assert by_stratum(result) == {
        "A|low": {"train": 16, "test": 4},
        "A|mid": {"train": 8, "test": 2},
        "A|high": {"train": 12, "test": 3},
        "none|mid": {"train": 4, "test": 1},
    }


def test_merge_cascade_stratum_then_framework_any_then_other_at_exactly_200_members():
    # min_test 40 needs 200 members (40 test rows); 199 or 195 (39 test rows) are too few.
    rows = (
        repos("al", 200, "A", 0)  # kept: A|low
        + repos("am", 150, "A", 2)
        + repos("ah", 50, "A", 5)  # A|any with exactly 200: kept
        + repos("bl", 199, "B", 1)  # B|any with 199 -> other|any
        + repos("ch", 195, "C", 4)  # C|any with 195 -> other|any
        + repos("dm", 200, "D", 3)  # kept: D|mid
        + repos("el", 250, "E", 0)
        + repos("em", 10, "E", 2)
    )  # E|low kept, E|any (10) -> other|any
    result = assign(rows)
    stratum_of = {
        prefix: {st for h, (_, st, _, _) in result.items() if h.startswith(prefix)}
        for prefix in ("al", "am", "ah", "bl", "ch", "dm", "el", "em")
    }
    assert stratum_of == {
        "al": {"A|low"},
        "am": {"A|any"},
        "ah": {"A|any"},
        "bl": {"other|any"},
        "ch": {"other|any"},
        "dm": {"D|mid"},
        "el": {"E|low"},
        "em": {"other|any"},
    }
    assert by_stratum(result) == {
        "A|low": {"train": 160, "test": 40},
        "A|any": {"train": 160, "test": 40},
        "D|mid": {"train": 160, "test": 40},
        "E|low": {"train": 200, "test": 50},
        "other|any": {"train": 323, "test": 81},
    }  # 404 members: round(80.8)
    merged = {f: st for _, st, f, _ in result.values() if f != st}
    assert merged == {
        "A|mid": "A|any",
        "A|high": "A|any",
        "B|low": "other|any",
        "C|high": "other|any",
        "E|mid": "other|any",
    }


def test_one_member_short_of_the_minimum_merges():
    at = assign(repos("a", 200, "A", 0))
    assert by_stratum(at) == {"A|low": {"train": 160, "test": 40}}
    short = assign(repos("a", 199, "A", 0))
    assert by_stratum(short) == {"other|any": {"train": 159, "test": 40}}
    assert {f for _, _, f, _ in short.values()} == {"A|low"}
    # other|any is the last level: it stays even when it is small
    assert by_stratum(assign(repos("c", 195, "C", 4))) == {"other|any": {"train": 156, "test": 39}}


@pytest.mark.parametrize("min_test, need", [(1, 5), (3, 15), (7, 35), (40, 200)])
def test_min_test_sets_the_members_a_stratum_needs(min_test, need):
    kept = assign(repos("k", need, "K", 2) + repos("s", need - 1, "S", 2), min_test=min_test)
    assert {st for _, st, _, _ in kept.values()} == {"K|mid", "other|any"}
    assert by_stratum(kept)["K|mid"]["test"] == min_test


# -- the 80/20 threshold -----------------------------------------------------------------------------
@pytest.mark.parametrize("n, test", [(5, 1), (7, 1), (8, 2), (202, 40), (203, 41)])
def test_the_lowest_fifth_of_each_stratum_by_hash_position_is_test(n, test):
    rows = repos("r", n, "A", 4)
    result = assign(rows, min_test=1)
    chosen = {h for h, (split, *_) in result.items() if split == "test"}
    assert len(chosen) == test
    assert chosen == lowest_positions([r[0] for r in rows], test)


def test_the_seed_decides_the_positions():
    rows = repos("r", 100, "A", 4)
    for seed in (17, 5):
        result = assign(rows, seed=seed, min_test=1)
        assert {h for h, (s, *_) in result.items() if s == "test"} == lowest_positions([r[0] for r in rows], 20, seed)
    assert assign(rows, seed=5, min_test=1) != assign(rows, seed=17, min_test=1)


def test_the_split_does_not_depend_on_input_order():
    rows = repos("a", 300, "A", 0) + repos("b", 120, "B", 3) + repos("c", 90, None, None) + repos("d", 230, "A", 4)
    first = assign(rows)
    shuffled = rows[:]
    random.Random(4).shuffle(shuffled)
    assert assign(shuffled) == first
    assert assign(rows[::-1]) == first
    assert sum(split == "test" for split, *_ in first.values()) == 60 + 46 + 42  # 300, 230, 120+90 -> other


# -- frozen assignments ------------------------------------------------------------------------------
def _near_threshold(k: int) -> tuple[list[str], list[str]]:
    """k hashes just below position 0.2 and k just above (of 20,000 candidates)."""
    candidates = sorted((position(f"edge{i}", 17), f"edge{i}") for i in range(20_000))
    below = [h for p, h in candidates if p < 0.2][-k:]
    above = [h for p, h in candidates if p >= 0.2][:k]
    return below, above


def test_frozen_assignments_never_move_and_new_repos_follow_the_hash_threshold():
    old = repos("old", 300, "A", 0)
    frozen = {h: ("test" if i % 2 else "train", "legacy|any") for i, (h, _, _) in enumerate(old)}
    frozen["gone"] = ("test", "B|low")  # no longer in the source: still kept
    below, above = _near_threshold(3)
    assert all(position(h, 17) < 0.2 <= position(g, 17) for h in below for g in above)
    assert position(below[-1], 17) > 0.1999 and position(above[0], 17) < 0.2001
    low = [f"low{i}" for i in range(400) if position(f"low{i}", 17) < 0.2][:10]  # all ten go to test
    new = [(h, "A", 0) for h in below + above] + [(h, "N", 5) for h in low] + repos("new", 200, "A", 2)
    result = assign(old + new, existing=frozen)

    assert len(result) == len(frozen) + len(new)
    assert {h: (s, st) for h, (s, st, _, o) in result.items() if o == "kept"} == frozen
    assert all(result[h][2] is None for h in frozen)
    assert {h: result[h][0] for h in below + above} == {**dict.fromkeys(below, "test"), **dict.fromkeys(above, "train")}
    assert {result[h] for h in low} == {("test", "other|any", "N|high", "new")}
    fresh = [h for h, _, _ in repos("new", 200, "A", 2)]
    assert all((result[h][0] == "test") == (position(h, 17) < 0.2) for h in fresh)
    assert {result[h][1] for h in fresh} == {"A|mid"}
    # strata are sized over the whole source, kept repositories included: A|low has 300 + 6 members
    assert {result[h][1] for h in below + above} == {"A|low"}


def test_with_frozen_assignments_the_rank_rule_is_not_used():
    rows = repos("r", 40, "A", 1)
    expected = {h for h, _, _ in rows if position(h, 17) < 0.2}
    assert (len(expected), round(0.2 * 40)) == (7, 8), "the hash threshold gives another count than the rank rule"
    result = assign(rows, existing={}, min_test=1)
    assert {h for h, (s, *_) in result.items() if s == "test"} == expected
    assert {o for *_, o in result.values()} == {"new"}


# -- freeze_assignments and the exports on a real data directory ------------------------------------
def write_dataset(root: Path, version: int, pings: list[dict], pending: list[str] = ()) -> Layout:
    """Manifest v``version`` (pings' repos + pending ones) and one partition of typed pings."""
    layout = Layout(root)
    names = [p["repo_hash"] for p in pings] + list(pending)
    manifest = pa.table(
        {
            "repo_hash": names,
            "full_name": [f"owner/{h}" for h in names],
            "selection_stratum": ["crewai"] * len(names),
            "chunk_id": [f"v{version}-c0000"] * len(names),
            "github_stars": list(range(len(names))),
            "is_fork": [False] * len(names),
            "license": ["MIT"] * len(names),
        }
    )
    path = layout.manifests / f"v{version}" / "manifest.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(manifest, path)
    columns = {
        "repo_hash": [p["repo_hash"] for p in pings],
        "repo_full_name": [f"owner/{p['repo_hash']}" for p in pings],
        "chunk_id": [f"v{version}-c0000"] * len(pings),
        "selection_stratum": ["crewai"] * len(pings),
        "scan_status": [p.get("status", "success") for p in pings],
        "frameworks": [[p["framework"]] if p["framework"] else [] for p in pings],
        "deployment_signals": [
            {
                "has_dockerfile": False,
                "has_ci_config": False,
                "has_tests": False,
                "has_lockfile": False,
                "has_env_example": False,
                "deployment_score": p["score"],
            }
            for p in pings
        ],
        "risk_score": [p.get("risk", 50) for p in pings],
        "agent_count": [p.get("agents", 1) for p in pings],
        "finding_rules": [["STRATUM-001"] for _ in pings],
        "llm_providers": [["openai"] for _ in pings],
    }
    n = len(pings)
    table = pa.Table.from_arrays(
        [pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type) for f in PING_SCHEMA],
        schema=PING_SCHEMA,
    )
    target = layout.scan_results(version, f"v{version}-c0000")
    target.parent.mkdir(parents=True)
    pq.write_table(table, target)
    pq.write_table(quarantine_table([]), target.parent / "quarantine.parquet")  # a whole partition has both files
    return layout


def pings(prefix: str, n: int, framework: str | None, score: int, **extra) -> list[dict]:
    return [{"repo_hash": f"{prefix}{i:04d}", "framework": framework, "score": score, **extra} for i in range(n)]


V1 = (
    pings("cl", 200, "CrewAI", 0, risk=10)
    + pings("cm", 150, "CrewAI", 2, partial=True)
    + pings("ch", 50, "CrewAI", 5)
    + pings("lh", 30, "LangChain", 4)
    + pings("nx", 5, None, 1)
)
for _i, _p in enumerate(V1):
    _p["risk"], _p["agents"] = _i % 101, _i
    if _p.pop("partial", False):
        _p["status"] = "partial"
NOT_USABLE = pings("fa", 4, "CrewAI", 0, status="failed") + pings("em", 3, "CrewAI", 0, status="empty")
PENDING = [f"pe{i:04d}" for i in range(5)]
V1_MERGED = {
    "CrewAI|high": "CrewAI|any",
    "CrewAI|mid": "CrewAI|any",
    "LangChain|high": "other|any",
    "none|low": "other|any",
}


@pytest.fixture
def v1(tmp_path) -> Layout:
    return write_dataset(tmp_path / "data", 1, V1 + NOT_USABLE, PENDING)


def stored(layout: Layout) -> dict:
    return {
        r["repo_hash"]: (r["split"], r["stratum"])
        for r in pq.read_table(layout.split / "assignments.parquet").to_pylist()
    }


def test_freeze_assigns_only_usable_repositories_and_reports_what_it_did(v1):
    conn = duckdb.connect()
    summary = freeze_assignments(conn, v1, 1)  # defaults: seed 17, min_test 40
    assert summary == {
        "train": 348,
        "test": 87,
        "kept": 0,
        "new": 435,
        "merged": V1_MERGED,
        "undersized": {"other|any": 7},
    }
    table = pq.read_table(v1.split / "assignments.parquet")
    assert table.column_names == ["repo_hash", "split", "stratum"]
    hashes = table.column("repo_hash").to_pylist()
    assert hashes == sorted(p["repo_hash"] for p in V1), "usable repositories only, in repo_hash order"
    assignments = stored(v1)
    strata = {}
    for h, (_, stratum) in assignments.items():
        strata.setdefault(stratum, []).append(h)
    assert {s: len(m) for s, m in strata.items()} == {"CrewAI|low": 200, "CrewAI|any": 200, "other|any": 35}
    for stratum, members in strata.items():
        test = {h for h in members if assignments[h][0] == "test"}
        assert test == lowest_positions(members, round(0.2 * len(members))), stratum
    assert sorted(p.name for p in v1.split.iterdir()) == ["assignments.parquet"]


def test_an_empty_split_counts_zero(tmp_path):
    nothing = write_dataset(tmp_path / "none", 1, pings("fa", 3, "CrewAI", 0, status="failed"), ["pe0000"])
    assert freeze_assignments(duckdb.connect(), nothing, 1) == {
        "train": 0,
        "test": 0,
        "kept": 0,
        "new": 0,
        "merged": {},
        "undersized": {},
    }
    assert pq.read_table(nothing.split / "assignments.parquet").num_rows == 0
    # two repositories: round(0.2 * 2) = 0 test rows
    two = write_dataset(tmp_path / "two", 1, pings("cl", 2, "CrewAI", 0))
    summary = freeze_assignments(duckdb.connect(), two, 1)
    assert summary == {
        "train": 2,
        "test": 0,
        "kept": 0,
        "new": 2,
        "merged": {"CrewAI|low": "other|any"},
        "undersized": {"other|any": 0},
    }, "a stratum with no test row at all is reported"


def test_seed_and_min_test_are_passed_through(v1):
    summary = split_and_export(duckdb.connect(), v1, 1, seed=3, min_test=10)  # needs 50 members
    assert summary.merged == {"LangChain|high": "other|any", "none|low": "other|any"}
    assert summary.undersized == {"other|any": 7}
    assignments = stored(v1)
    members = [h for h, (_, st) in assignments.items() if st == "CrewAI|mid"]
    assert len(members) == 150
    assert {h for h in members if assignments[h][0] == "test"} == lowest_positions(members, 30, seed=3)
    assert (summary.train, summary.test) == (348, 87)


def test_a_second_run_keeps_every_assignment_and_assigns_newcomers_by_the_hash_rule(v1, tmp_path):
    conn = duckdb.connect()
    freeze_assignments(conn, v1, 1)
    first = stored(v1)
    again = freeze_assignments(conn, v1, 1)
    assert again == {"train": 348, "test": 87, "kept": 435, "new": 0, "merged": {}, "undersized": {"other|any": 7}}
    assert stored(v1) == first

    # v2: the same repositories, one of them failed now, plus 120 new ones in a new small framework
    newcomers = pings("zz", 120, "AutoGen", 3)
    v2_pings = [dict(p, status="failed") if p["repo_hash"] == "cl0000" else p for p in V1] + newcomers
    write_dataset(tmp_path / "data", 2, v2_pings)
    summary = freeze_assignments(conn, v1, 2)
    after = stored(v1)
    assert {h: after[h] for h in first} == first, "nobody moves, not even a repository that is no longer usable"
    expected_test = {p["repo_hash"] for p in newcomers if position(p["repo_hash"], 17) < 0.2}
    assert {p["repo_hash"]: after[p["repo_hash"]] for p in newcomers} == {
        p["repo_hash"]: ("test" if p["repo_hash"] in expected_test else "train", "other|any") for p in newcomers
    }
    assert summary == {
        "train": 348 + 120 - len(expected_test),
        "test": 87 + len(expected_test),
        "kept": 435,
        "new": 120,
        "merged": {"AutoGen|mid": "other|any"},
        "undersized": {"other|any": 7 + len(expected_test)},
    }
    assert 7 + len(expected_test) < 40


def test_exports_keep_features_labels_and_metadata_apart(v1):
    conn = duckdb.connect()
    conn.execute("SET threads = 2")
    summary = split_and_export(conn, v1, 1)
    assert conn.execute("SELECT current_setting('threads')").fetchone()[0] == 2, "the thread setting is restored"
    assert asdict(summary) == {  # without groups: the group fields are None
        "train": 348,
        "test": 87,
        "kept": 0,
        "new": 435,
        "merged": V1_MERGED,
        "undersized": {"other|any": 7},
        "exports": {"train": str(v1.split / "train.parquet"), "test": str(v1.split / "test.parquet")},
        "in_both": 0,
        "feature_fields": list(FEATURE_COLUMNS),
        "joined": None,
        "groups_in_both": None,
        "share_deviations": None,
    }
    assert sorted(p.name for p in v1.split.iterdir()) == [
        "assignments.parquet",
        "test.jsonl",
        "test.parquet",
        "train.jsonl",
        "train.parquet",
    ]
    assignments = stored(v1)
    crewai_low = [p["repo_hash"] for p in V1 if p["repo_hash"].startswith("cl")]
    assert {h for h in crewai_low if assignments[h] == ("test", "CrewAI|low")} == lowest_positions(crewai_low, 40, 17)
    by_hash = {p["repo_hash"]: p for p in V1}
    stars = {p["repo_hash"]: i for i, p in enumerate(V1)}
    for name, count in (("train", 348), ("test", 87)):
        table = pq.read_table(v1.split / f"{name}.parquet")
        assert table.column_names == ["repo_hash", "repo_full_name", "split", "features", "labels", "metadata"]
        features = [f.name for f in table.schema.field("features").type]
        labels = [f.name for f in table.schema.field("labels").type]
        metadata = [f.name for f in table.schema.field("metadata").type]
        assert features == list(FEATURE_COLUMNS) and labels == list(LABEL_COLUMNS)
        # metadata columns that exist (the manifest here has no forks count, topics, ...), in METADATA_COLUMNS order
        assert metadata == [
            "github_stars",
            "is_fork",
            "license",
            "selection_stratum",
            "framework_versions",
            "llm_providers",
        ]
        assert set(metadata) < set(METADATA_COLUMNS)
        assert not set(features) & set(LABEL_COLUMNS) and not set(metadata) & set(LABEL_COLUMNS)
        rows = table.to_pylist()
        assert len(rows) == count
        assert [r["repo_hash"] for r in rows] == sorted(h for h, (s, _) in assignments.items() if s == name)
        for r in rows:
            source = by_hash[r["repo_hash"]]
            assert r["split"] == name and r["repo_full_name"] == f"owner/{r['repo_hash']}"
            assert r["labels"]["risk_score"] == source["risk"] and r["labels"]["finding_rules"] == ["STRATUM-001"]
            assert r["features"]["agent_count"] == source["agents"]
            assert r["features"]["deployment_signals"]["deployment_score"] == source["score"]
            assert r["metadata"]["github_stars"] == stars[r["repo_hash"]] and r["metadata"]["license"] == "MIT"
        lines = [json.loads(line) for line in (v1.split / f"{name}.jsonl").read_text().splitlines()]
        assert [
            (x["repo_hash"], x["split"], x["labels"]["risk_score"], x["features"]["agent_count"]) for x in lines
        ] == [(r["repo_hash"], name, r["labels"]["risk_score"], r["features"]["agent_count"]) for r in rows]
        assert set(lines[0]) == {"repo_hash", "repo_full_name", "split", "features", "labels", "metadata"}


def test_export_splits_alone_reexports_the_stored_assignments(v1):
    conn = duckdb.connect()
    freeze_assignments(conn, v1, 1)
    out = export_splits(duckdb.connect(), v1, 1)
    assert out["exports"]["test"] == str(v1.split / "test.parquet") and out["in_both"] == 0
    assert pq.read_table(v1.split / "test.parquet").num_rows == 87


@dataclass(frozen=True)
class NestedLayout(Layout):
    """A layout whose split folder is two levels below a folder that does not exist yet."""

    @property
    def split(self) -> Path:
        return self.root / "published" / "2026" / "split"


def test_the_split_folder_is_created_with_its_parents(v1):
    layout = NestedLayout(v1.root)
    summary = split_and_export(duckdb.connect(), layout, 1)
    assert (summary.train, summary.test) == (348, 87)
    assert (v1.root / "published" / "2026" / "split" / "test.jsonl").exists()


def test_the_exports_write_the_two_source_dates_as_utc_days_like_the_manifest_jsonl():
    from stratum_assets.audit.split import _value
    from stratum_assets.manifest.export import as_date

    rows = duckdb.sql(f"""SELECT {_value("last_commit_date")} AS d, {_value("github_stars")} AS s FROM (VALUES
        ('2026-10-05T23:48:04-05:00', 3), ('2026-10-05T19:48:04Z', 4), ('2024-02-29', 5), (NULL, 6))
        AS t(last_commit_date, github_stars)""").fetchall()
    assert rows == [("2026-10-06", 3), ("2026-10-05", 4), ("2024-02-29", 5), (None, 6)]
    assert [d for d, _ in rows[:3]] == [
        as_date(v) for v in ("2026-10-05T23:48:04-05:00", "2026-10-05T19:48:04Z", "2024-02-29")
    ], "the manifest JSONL's rule"


# -- groups: a fork family, topology group or near-duplicate cluster goes to one side whole -----------
def hash_at(prefix: str, lo: float, hi: float, seed: int = 17) -> str:
    """The first ``prefix{i}`` whose position is in [lo, hi)."""
    return next(f"{prefix}{i}" for i in range(100_000) if lo <= position(f"{prefix}{i}", seed) < hi)


def family(gid: str, k: int) -> list[str]:
    """k members; gid is the smallest repo_hash, as the groups relation has it."""
    return [gid] + [f"{gid}-{j:03d}" for j in range(1, k)]


def power_law_set(n: int, seed: int = 7) -> tuple[list[tuple], dict]:
    """~n repositories; a third of the draws are groups of Pareto(1.1) sizes (up to 150), mostly one framework."""
    rnd = random.Random(seed)
    rows, groups = [], {}
    while len(rows) < n:
        size = min(int(rnd.paretovariate(1.1)), 150) if rnd.random() < 0.35 else 1
        framework, gid = rnd.choice(["A", "A", "B", "C"]), f"{rnd.getrandbits(48):012x}"
        members = [gid] + [f"{gid}{j:03d}" for j in range(1, size)]
        rows += [
            (h, framework if rnd.random() < 0.9 else rnd.choice(["A", "B", "C"]), rnd.randint(0, 5)) for h in members
        ]
        if size > 1:
            groups.update(dict.fromkeys(members, gid))
    return rows, groups


def sides(result: dict, members) -> set[str]:
    return {result[h][0] for h in members}


def test_without_groups_the_split_is_the_groupless_split():
    rows = repos("a", 300, "A", 0) + repos("b", 120, "B", 3) + repos("c", 90, None, None) + repos("d", 230, "A", 4)
    plain = assign(rows)
    assert by_stratum(plain) == {
        "A|low": {"train": 240, "test": 60},
        "A|high": {"train": 184, "test": 46},
        "other|any": {"train": 168, "test": 42},
    }
    for stratum in ("A|low", "A|high", "other|any"):  # the stored expectation: the lowest fifth by position
        members = [h for h, (_, st, *_) in plain.items() if st == stratum]
        assert {h for h in members if plain[h][0] == "test"} == lowest_positions(members, round(0.2 * len(members)))
    assert assign(rows, groups={}) == plain
    assert assign(rows, groups={h: h for h, _, _ in rows}) == plain, "every repository listed as its own group"
    frozen = {h: plain[h][:2] for h in sorted(plain)[:400]}
    grown = rows + repos("new", 150, "A", 0)
    assert assign(grown, existing=frozen, groups={}) == assign(grown, existing=frozen)


@pytest.mark.parametrize("k", [7, 25])
def test_a_fork_family_goes_to_one_side_whole_by_its_group_id_position(k):
    early, late = family(hash_at("fam", 0.0, 0.05), k), family(hash_at("fam", 0.5, 1.0), k)
    assert {position(h, 17) < 0.2 for h in early + late} == {True, False}, "alone, the members would split"
    singles = repos("s", 300, "A", 0)
    groups = dict.fromkeys(early, early[0]) | dict.fromkeys(late, late[0])
    result = assign(singles + [(h, "A", 0) for h in early + late], groups=groups)
    assert sides(result, early) == {"test"} and sides(result, late) == {"train"}
    n = 300 + 2 * k
    assert by_stratum(result) == {"A|low": {"train": n - round(0.2 * n), "test": round(0.2 * n)}}
    # the singletons fill the rest of the fifth in position order
    assert {h for h, _, _ in singles if result[h][0] == "test"} == lowest_positions(
        [h for h, _, _ in singles], round(0.2 * n) - k
    )


def test_a_group_takes_the_stratum_most_of_its_members_have():
    majority, tie = family("g0", 3), family("t0", 2)
    rows = (
        repos("a", 20, "A", 0)
        + repos("h", 20, "A", 5)
        + [(majority[0], "A", 5)]
        + [(h, "A", 0) for h in majority[1:]]
        + [(tie[0], "A", 5), (tie[1], "A", 0)]
    )
    result = assign(rows, groups=dict.fromkeys(majority, "g0") | dict.fromkeys(tie, "t0"), min_test=1)
    assert {h: result[h][1:] for h in majority + tie} == {
        "g0": ("A|low", "A|high", "new"),
        "g0-001": ("A|low", "A|low", "new"),
        "g0-002": ("A|low", "A|low", "new"),
        "t0": ("A|high", "A|high", "new"),
        "t0-001": ("A|high", "A|low", "new"),
    }, "a tie: the smallest member's"
    assert len(sides(result, majority)) == len(sides(result, tie)) == 1


def test_stratum_shares_stay_within_one_point_with_power_law_groups():
    rows, groups = power_law_set(6_000)
    conn = duckdb.connect()
    result = assign(rows, groups=groups, conn=conn)
    members: dict[str, list[str]] = {}
    for h, g in groups.items():
        members.setdefault(g, []).append(h)
    sizes = sorted(len(m) for m in members.values())
    assert len(rows) >= 6_000 and sizes[-1] == 150 and sum(s >= 20 for s in sizes) >= 10, "a heavy tail"
    assert all(len(sides(result, m)) == 1 for m in members.values())
    grouped_test = sum(len(m) for m in members.values() if sides(result, m) == {"test"})
    assert 0 < grouped_test < sum(sizes), "groups on both sides"
    shares = {st: c["test"] / (c["test"] + c["train"]) for st, c in by_stratum(result).items()}
    assert len(shares) == 9 and all(abs(s - 0.2) <= 0.01 for s in shares.values()), shares
    assert share_deviations(conn, "split_assignments") == {}
    assert groups_in_both_splits(conn, "split_assignments", "grp") == []
    # the same repositories split one by one, as before groups: families leak
    assign(rows, conn=conn)
    leaks = groups_in_both_splits(conn, "split_assignments", "grp")
    assert len(leaks) > 50 and all(x["train"] > 0 and x["test"] > 0 for x in leaks)


def test_the_grouped_split_does_not_depend_on_row_order():
    rows, groups = power_law_set(2_000, seed=3)
    first = assign(rows, groups=groups)
    shuffled, pairs = rows[:], list(groups.items())
    random.Random(4).shuffle(shuffled)
    random.Random(5).shuffle(pairs)
    assert assign(shuffled, groups=dict(pairs)) == first
    assert assign(rows[::-1], groups=dict(pairs[::-1])) == first


@pytest.mark.parametrize("size, group_side, test_rows", [(2, "test", 21), (3, "train", 20)])
def test_a_group_may_take_the_fifth_to_21_percent_but_no_further(size, group_side, test_rows):
    singles = repos("s", 100 - size, "A", 0)
    ranked = sorted(position(h, 17) for h, _, _ in singles)
    group = family(hash_at("g", ranked[18], ranked[19]), size)  # after 19 singletons, before the 20th
    result = assign(singles + [(h, "A", 0) for h in group], groups=dict.fromkeys(group, group[0]), min_test=1)
    assert sides(result, group) == {group_side}
    assert by_stratum(result) == {"A|low": {"train": 100 - test_rows, "test": test_rows}}


def test_a_group_too_big_for_its_stratum_is_reported_not_hidden():
    giant = family(hash_at("big", 0.0, 0.1), 90)
    conn = duckdb.connect()
    result = assign(
        [(h, "A", 0) for h in giant] + repos("s", 10, "A", 0),
        groups=dict.fromkeys(giant, giant[0]),
        min_test=1,
        conn=conn,
    )
    assert sides(result, giant) == {"train"}, "90 members do not fit in a fifth of 100"
    assert sides(result, [f"s{i:04d}" for i in range(10)]) == {"test"}
    assert share_deviations(conn, "split_assignments") == {"A|low": {"members": 100, "test": 10, "share": 0.1}}


def test_groups_in_both_splits_reports_a_constructed_leak():
    conn = duckdb.connect()
    conn.execute("""CREATE TABLE a AS SELECT * FROM (VALUES ('f0', 'train'), ('f0-1', 'test'), ('f0-2', 'test'),
                    ('c0', 'train'), ('c0-1', 'train'), ('solo', 'test'), ('x', 'train')) t(repo_hash, split)""")
    # f0's own row is absent from the groups: it is still the group f0 (a group of its own with that id)
    conn.execute("""CREATE TABLE g AS SELECT * FROM (VALUES ('f0-1', 'f0'), ('f0-2', 'f0'), ('c0', 'c0'),
                    ('c0-1', 'c0'), ('x', 'x')) t(repo_hash, group_id)""")
    assert groups_in_both_splits(conn, "a", "g") == [{"group_id": "f0", "train": 1, "test": 2}]
    conn.execute("UPDATE a SET split = 'train' WHERE repo_hash = 'f0-2'")
    conn.execute("INSERT INTO g VALUES ('solo', 'c0')")
    assert groups_in_both_splits(conn, "a", "g") == [
        {"group_id": "c0", "train": 2, "test": 1},
        {"group_id": "f0", "train": 2, "test": 1},
    ]


def test_frozen_new_members_join_their_groups_side():
    high = lambda gid: hash_at(f"{gid}-n", 0.5, 1.0)  # noqa: E731  a new member that alone would be train
    low = lambda gid: hash_at(f"{gid}-n", 0.0, 0.2)  # noqa: E731   ... and one that alone would be test
    existing = {
        "f": ("test", "A|low"),
        "f-1": ("test", "old|any"),  # one side: test
        "m": ("train", "A|low"),
        "m-1": ("test", "A|low"),
        "m-2": ("test", "A|low"),  # leak, gid stored
        "j-1": ("test", "A|low"),
        "j-2": ("train", "B|low"),
        "j-3": ("train", "A|low"),  # gid not stored
        "t-1": ("test", "T|low"),
        "t-2": ("train", "A|low"),
    }  # a tie: the smallest member's
    new_group = family(hash_at("n", 0.0, 0.2), 4) + family(hash_at("n", 0.2, 1.0), 4)
    joining = {high("f"): "f", high("m"): "m", low("j"): "j", high("t"): "t"}
    groups = (
        {h: h.split("-")[0] for h in existing}
        | joining
        | dict.fromkeys(new_group[:4], new_group[0])
        | dict.fromkeys(new_group[4:], new_group[4])
    )
    newcomers = list(joining) + new_group + ["solo1", "solo2"]
    rows = [(h, "A", 0) for h in list(existing) + newcomers]
    result = assign(rows, existing=existing, groups=groups, min_test=1)
    assert {h: result[h][:2] for h in existing} == existing, "nobody moves"
    assert {h: result[h][:2] for h in joining} == {
        high("f"): ("test", "A|low"),
        high("m"): ("train", "A|low"),
        low("j"): ("train", "B|low"),
        high("t"): ("test", "T|low"),
    }
    assert sides(result, new_group[:4]) == {"test"} and sides(result, new_group[4:]) == {"train"}
    assert {result[h][0] for h in ("solo1", "solo2")} == {
        ("test" if position(h, 17) < 0.2 else "train") for h in ("solo1", "solo2")
    }
    conn = duckdb.connect()
    assign(rows, existing=existing, groups=groups, min_test=1, conn=conn)
    assert groups_in_both_splits(conn, "split_assignments", "grp") == [
        {"group_id": "j", "train": 3, "test": 1},
        {"group_id": "m", "train": 2, "test": 2},
        {"group_id": "t", "train": 1, "test": 2},
    ]


GROUPS_V1 = (
    [(f"cl{i:04d}", "cl0000") for i in range(10)]
    + [(f"cm{i:04d}", "cm0000") for i in range(5)]
    + [("ch0000", "ch0000"), ("lh0000", "ch0000"), ("nx0000", "ch0000")]
)


def register_groups(conn, pairs) -> str:
    conn.execute("CREATE OR REPLACE TEMP TABLE repo_groups (repo_hash VARCHAR, group_id VARCHAR)")
    conn.executemany("INSERT INTO repo_groups VALUES (?, ?)", [list(p) for p in pairs])
    return "repo_groups"


def test_freeze_with_groups_keeps_groups_whole_and_reports_leaks(v1, tmp_path):
    conn = duckdb.connect()
    summary = asdict(split_and_export(conn, v1, 1, groups=register_groups(conn, GROUPS_V1)))
    assert {
        k: summary[k]
        for k in ("train", "test", "new", "joined", "groups_in_both", "share_deviations", "in_both", "merged")
    } == {
        "train": 348,
        "test": 87,
        "new": 435,
        "joined": 0,
        "groups_in_both": [],
        "share_deviations": {},
        "in_both": 0,
        "merged": V1_MERGED,
    }
    assignments = stored(v1)
    by_group: dict[str, set] = {}
    for h, g in GROUPS_V1:
        by_group.setdefault(g, set()).add(assignments[h])
    assert all(len(v) == 1 for v in by_group.values()), by_group
    assert by_group["ch0000"] == {(assignments["ch0000"][0], "other|any")}, "two of its three are other|any"

    # a leak frozen before the groups existed: one member of the cl family moved to the other side
    other = {"test": "train", "train": "test"}
    flipped = dict(assignments, cl0009=(other[assignments["cl0009"][0]], assignments["cl0009"][1]))
    pq.write_table(
        pa.table(
            {
                "repo_hash": list(flipped),
                "split": [v[0] for v in flipped.values()],
                "stratum": [v[1] for v in flipped.values()],
            }
        ),
        v1.split / "assignments.parquet",
    )
    write_dataset(tmp_path / "data", 2, V1 + pings("zz", 3, "LangChain", 5))
    pairs = [*GROUPS_V1, ("zz0000", "cl0000"), ("zz0001", "cm0000")]
    summary = freeze_assignments(conn, v1, 2, groups=register_groups(conn, pairs))
    after = stored(v1)
    assert {h: after[h] for h in flipped} == flipped, "nobody moves, not even the leaking member"
    assert after["zz0000"] == assignments["cl0000"] and after["zz0001"] == assignments["cm0000"]
    assert after["zz0002"][0] == ("test" if position("zz0002", 17) < 0.2 else "train")
    side = assignments["cl0000"][0]
    assert summary["groups_in_both"] == [
        {"group_id": "cl0000", "train": 10 if side == "train" else 1, "test": 10 if side == "test" else 1}
    ]
    assert (summary["kept"], summary["new"], summary["joined"]) == (435, 3, 2)
