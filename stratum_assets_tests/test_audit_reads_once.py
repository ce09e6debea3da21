"""The audit and the split read ``scan_dataset`` once (a snapshot) and write train/test side by side: the
numbers, the assignments and the files are the ones reading the view and writing one after the other give.

A real data directory (manifest, 8 partitions of 250 pings, a block) and real DuckDB views; why the
snapshot and the side-by-side exports exist is measured in bench/audit_scale.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from stratum_assets.audit import split as split_module
from stratum_assets.audit.gate_measures import GateThresholds
from stratum_assets.audit.groups import duplicate_groups
from stratum_assets.audit.report import audit, compute
from stratum_assets.audit.sections import USABLE
from stratum_assets.audit.split import snapshot, split_and_export
from stratum_assets.dedup.fingerprint import NearDupSettings
from stratum_assets.discovery.strata import strata
from stratum_assets.storage.layout import Layout
from stratum_assets.warehouse import schema
from stratum_assets.warehouse.blocks import compact_ready
from stratum_assets_tests.support.synthetic_pings import generate

TARGETS = {name: s.target for name, s in strata("full").items()}
THRESHOLD = NearDupSettings.threshold
SPLIT_FILES = ("assignments.parquet", "train.parquet", "test.parquet", "train.jsonl", "test.jsonl")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reads_once") / "data"
    layout = Layout(root)
    generate(layout, 2_000, seed=3, chunk_size=250)
    assert compact_ready(layout, 1), "one block written"
    return root


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    schema.refresh(conn, Layout(root), 1)
    return conn


def copy_of(data: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(data, tmp_path / "data"))


def test_the_audit_from_its_snapshot_is_the_audit_of_the_view(data):
    conn = connect(data)
    from_view = compute(conn, TARGETS, GateThresholds(), groups=duplicate_groups(conn, THRESHOLD), src="scan_dataset")
    once = audit(conn, TARGETS, GateThresholds(), near_duplicate_threshold=THRESHOLD)
    assert once == from_view
    assert once.volume["usable"] > 1_500 and once.duplicate_groups["joined"]["groups"] > 0
    assert not conn.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'audit_snapshot'").fetchall(), (
        "the snapshot's memory is given back"
    )


def test_the_split_reads_from_its_snapshot_what_the_view_holds(data, tmp_path):
    root = copy_of(data, tmp_path)
    conn = connect(root)
    src = snapshot(conn)
    assert duplicate_groups(conn, THRESHOLD, src=src) == duplicate_groups(conn, THRESHOLD), "the same groups"
    groups = duplicate_groups(conn, THRESHOLD, src=src).register(conn, "g")
    grouped = {h for (h,) in conn.execute("SELECT repo_hash FROM g").fetchall()}  # take their group's stratum
    summary = split_and_export(conn, Layout(root), 1, groups=groups, src=src)
    assert summary.test > 300 and summary.groups_in_both == [] and summary.in_both == 0
    assert not conn.execute(f"SELECT * FROM duckdb_tables() WHERE table_name = '{src}'").fetchall(), (
        "the snapshot is dropped before the exports"
    )
    view = {
        h: (fw, score)
        for h, fw, score in conn.execute(f"""
        SELECT repo_hash, coalesce(frameworks[1], 'none'), coalesce(deployment_signals.deployment_score, 0)
        FROM scan_dataset WHERE {USABLE}""").fetchall()
    }
    stored = {r["repo_hash"]: r["stratum"] for r in pq.read_table(root / "split" / "assignments.parquet").to_pylist()}
    assert set(stored) == set(view), "every usable repository of the view, no other"
    bucket = lambda score: "low" if score <= 1 else "mid" if score <= 3 else "high"  # noqa: E731
    unmerged = {h: s for h, s in stored.items() if not s.endswith("|any") and h not in grouped}
    assert len(unmerged) > 500
    assert {h: s for h, s in unmerged.items() if s != f"{view[h][0]}|{bucket(view[h][1])}"} == {}


def test_train_and_test_written_side_by_side_are_the_files_written_one_after_the_other(data, tmp_path, monkeypatch):
    side_root, one_root = copy_of(data, tmp_path / "side"), copy_of(data, tmp_path / "one")
    calls = []
    real = split_module._side_by_side
    monkeypatch.setattr(
        split_module, "_side_by_side", lambda conn, jobs: calls.append(sorted(jobs)) or real(conn, jobs)
    )
    conn = connect(side_root)
    conn.execute("SET threads = 2")
    side = split_and_export(conn, Layout(side_root), 1)
    assert calls == [["test", "train"]], "2,000 repositories are under SIDE_BY_SIDE_ROWS"
    assert conn.execute("SELECT current_setting('threads')").fetchone()[0] == 2, "the thread setting is restored"

    monkeypatch.setattr(split_module, "SIDE_BY_SIDE_ROWS", side.train + side.test - 1)
    conn = connect(one_root)
    one = split_and_export(conn, Layout(one_root), 1)
    assert calls == [["test", "train"]], "one more row than SIDE_BY_SIDE_ROWS: one after the other"
    assert (one.train, one.test) == (side.train, side.test)
    for name in SPLIT_FILES:
        if name.endswith(".jsonl"):
            assert (side_root / "split" / name).read_bytes() == (one_root / "split" / name).read_bytes(), name
        else:
            assert pq.read_table(side_root / "split" / name).equals(pq.read_table(one_root / "split" / name)), name
    rows = pq.read_table(side_root / "split" / "train.parquet", columns=["repo_hash"]).column(0).to_pylist()
    assert rows == sorted(rows) and len(rows) == side.train
