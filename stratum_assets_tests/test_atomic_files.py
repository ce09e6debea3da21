"""warehouse/files.py is the one place that renames written files and directories into place, and the
data directory's paths are the layout's: the manifest store and the partition storage write where it says."""

import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratum_assets.manifest.store import ManifestStore
from stratum_assets.scanning.storage import pings_table, quarantine_table, replace_partition
from stratum_assets.warehouse.files import new_directory, replacing, write_parquet_atomic
from stratum_assets.warehouse.layout import Layout
from stratum_assets.warehouse.verify import whole_partitions

ROOT = Path(__file__).resolve().parents[1]
RENAMES = re.compile(r"\bos\.(replace|rename)\(|\.rename\(|renameat")


def test_only_the_atomic_files_module_renames_anything_into_place():
    sources = [*(ROOT / "stratum_assets").rglob("*.py"), *(ROOT / "stratum_sandbox").rglob("*.py")]
    renaming = sorted(str(p.relative_to(ROOT)) for p in sources if RENAMES.search(p.read_text()))
    assert renaming == ["stratum_assets/warehouse/files.py"]


def test_a_file_written_by_duckdb_is_renamed_into_place_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out" / "table.parquet"
    conn = duckdb.connect()
    with replacing(target, mode=0o640) as tmp:
        conn.execute(f"COPY (SELECT range AS n FROM range(5)) TO '{tmp}' (FORMAT PARQUET)")
        assert not target.exists(), "nothing is visible before the block ends"
    assert pq.read_table(target).column("n").to_pylist() == [0, 1, 2, 3, 4]
    assert target.stat().st_mode & 0o777 == 0o640, "the mode asked for, whoever created the file"

    with pytest.raises(duckdb.Error), replacing(target) as tmp:
        conn.execute(f"COPY (SELECT * FROM no_such_table) TO '{tmp}' (FORMAT PARQUET)")
    assert pq.read_table(target).num_rows == 5, "the previous file is whole"
    assert [p.name for p in target.parent.iterdir()] == ["table.parquet"], "no temporary file left"


def test_a_new_directory_appears_whole_and_never_replaces_one(tmp_path):
    target = tmp_path / "versions" / "v1"
    with new_directory(target) as staging:
        (staging / "a.txt").write_text("first")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "first"

    with pytest.raises(OSError), new_directory(target) as staging:
        (staging / "a.txt").write_text("second")
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), new_directory(tmp_path / "versions" / "v2") as staging:
        raise RuntimeError("crash while filling")
    assert [p.name for p in target.parent.iterdir()] == ["v1"], "no staging directory left"


def test_the_stores_write_where_the_layout_says(tmp_path):
    layout = Layout(tmp_path / "data")
    table = pa.table({"repo_hash": ["00aa", "00bb"], "chunk_id": ["v3-c0007"] * 2})
    assert ManifestStore.of(layout).freeze(3, table, {"rows": 2}) == layout.manifest(3).table
    assert all(p.is_file() for p in layout.manifest(3).files) and ManifestStore.of(layout).versions() == [3]

    folder = replace_partition(layout.scan_partition(3, "v3-c0007"), pings_table([]), quarantine_table([]),
                               {"stored": 0, "quarantined": 0})
    files = layout.partition_files(3, "v3-c0007")
    assert folder == files.folder and all(p.is_file() for p in files.files)
    assert (files.results, files.quarantine) == (layout.scan_results(3, "v3-c0007"), layout.quarantine(3, "v3-c0007"))
    assert layout.partition_folders(3) == whole_partitions(layout, 3) == [folder]

    write_parquet_atomic(table, layout.candidates("crewai"))  # its folder made, nothing left beside it
    assert sorted(p.name for p in layout.candidates("crewai").parent.iterdir()) == ["crewai.parquet"]


def test_every_writer_leaves_a_file_the_datasets_readers_can_read(tmp_path):
    """0644 whatever the temporary file started as (mkstemp makes it 0600)."""
    from stratum_assets.warehouse.files import write_chunks_atomic, write_parquet_atomic, write_text_atomic

    written = [write_text_atomic("report\n", tmp_path / "report.md"),
               write_parquet_atomic(pa.table({"n": [1]}), tmp_path / "rows.parquet"),
               write_chunks_atomic(["a\n", "b\n"], tmp_path / "rows.jsonl")]
    assert {p.name: p.stat().st_mode & 0o777 for p in written} == {
        "report.md": 0o644, "rows.parquet": 0o644, "rows.jsonl": 0o644}
