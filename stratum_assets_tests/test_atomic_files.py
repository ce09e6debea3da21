"""storage/files.py is the one place that renames written files and directories into place (the offline GitHub's
git store uses it too, without fsync: it rebuilds its bare repositories byte for byte), and the data directory's
paths are the layout's: the manifest store and the partition storage write where it says."""

import hashlib
import locale
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratum_assets.manifest.store import ManifestStore
from stratum_assets.scanning.storage import pings_table, quarantine_table, replace_partition
from stratum_assets.storage import files
from stratum_assets.storage.files import (
    exchange,
    new_directory,
    recover_directory,
    replacing,
    replacing_directory,
    write_chunks_atomic,
    write_parquet_atomic,
)
from stratum_assets.storage.layout import Layout
from stratum_assets.storage.verify import whole_partitions

from .conftest import small_disk

ROOT = Path(__file__).resolve().parents[1]
RENAMES = re.compile(r"\bos\.(replace|rename)\(|\.rename\(|renameat")


def test_only_the_atomic_files_module_renames_anything_into_place():
    sources = [*(ROOT / "stratum_assets").rglob("*.py"), *(ROOT / "stratum_sandbox").rglob("*.py")]
    renaming = sorted(str(p.relative_to(ROOT)) for p in sources if RENAMES.search(p.read_text()))
    assert renaming == ["stratum_assets/storage/files.py"]


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

    folder = replace_partition(
        layout.scan_partition(3, "v3-c0007"), pings_table([]), quarantine_table([]), {"stored": 0, "quarantined": 0}
    )
    files = layout.partition_files(3, "v3-c0007")
    assert folder == files.folder and all(p.is_file() for p in files.files)
    assert (files.results, files.quarantine) == (layout.scan_results(3, "v3-c0007"), layout.quarantine(3, "v3-c0007"))
    assert layout.partition_folders(3) == whole_partitions(layout, 3) == [folder]

    write_parquet_atomic(table, layout.candidates("crewai"))  # its folder made, nothing left beside it
    assert sorted(p.name for p in layout.candidates("crewai").parent.iterdir()) == ["crewai.parquet"]


def test_every_writer_leaves_a_file_the_datasets_readers_can_read(tmp_path):
    """0644 whatever the temporary file started as (mkstemp makes it 0600)."""
    from stratum_assets.storage.files import write_chunks_atomic, write_parquet_atomic, write_text_atomic

    written = [
        write_text_atomic("report\n", tmp_path / "report.md"),
        write_parquet_atomic(pa.table({"n": [1]}), tmp_path / "rows.parquet"),
        write_chunks_atomic(["a\n", "b\n"], tmp_path / "rows.jsonl"),
    ]
    assert {p.name: p.stat().st_mode & 0o777 for p in written} == {
        "report.md": 0o644,
        "rows.parquet": 0o644,
        "rows.jsonl": 0o644,
    }


def test_streamed_exports_are_utf8_whatever_the_locale(tmp_path):
    """An ASCII locale (LC_CTYPE=C) would make a plain ``open`` refuse the first non-ASCII description."""
    lines = ['{"description": "café agents"}\r\n', "naïve ☃\n"]
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        path = write_chunks_atomic(lines, tmp_path / "rows.jsonl")
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert path.read_bytes() == "".join(lines).encode("utf-8")


def test_recovery_after_a_finished_swap_drops_the_copy_set_aside(tmp_path):
    folder = tmp_path / "v1-c0000"
    (folder / "sub").mkdir(parents=True)
    (folder / "stats.json").write_text("new")
    aside = tmp_path / ".v1-c0000.old"
    (aside / "sub").mkdir(parents=True)
    (aside / "sub" / "stats.json").write_text("previous")
    recover_directory(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1-c0000"]
    assert (folder / "stats.json").read_text() == "new"


def test_exchange_swaps_two_directories_named_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):
        Path(name).mkdir()
        (Path(name) / "owner.txt").write_text(name)
    assert exchange(Path("a"), Path("b")) is True
    assert ((tmp_path / "a" / "owner.txt").read_text(), (tmp_path / "b" / "owner.txt").read_text()) == ("b", "a")


def test_without_renameat2_exchange_declines_and_a_partition_is_replaced_by_two_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "ctypes", SimpleNamespace(CDLL=lambda *args, **kwargs: SimpleNamespace()))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert exchange(tmp_path / "a", tmp_path / "b") is False
    folder = tmp_path / "scans" / "v1-c0000"
    folder.mkdir(parents=True)
    (folder / "stats.json").write_text("previous")
    with replacing_directory(folder) as staging:
        (staging / "stats.json").write_text("new")
    assert [(p.name, p.read_text()) for p in folder.iterdir()] == [("stats.json", "new")]
    assert [p.name for p in folder.parent.iterdir()] == ["v1-c0000"], "nothing left aside or staged"


def test_a_files_sha256_is_the_digest_of_all_its_bytes_read_block_by_block(tmp_path):
    """Over a MiB, so the reading loop takes several blocks; the last one short."""
    data = bytes(range(256)) * (5 * 4096 + 3)  # 5 MiB and 768 bytes
    path = tmp_path / "part-0.parquet"
    path.write_bytes(data)
    assert files.sha256_file(path) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert files.sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_a_removed_directory_is_gone_whole_and_a_missing_one_is_reported(tmp_path):
    repo = tmp_path / "store" / "r.git"
    (repo / "objects").mkdir(parents=True)
    (repo / "HEAD").write_text("ref: refs/heads/main\n")
    trash = tmp_path / "store" / ".evicted"
    assert files.remove_directory(repo, trash) is True
    assert not repo.exists()
    assert list(trash.iterdir()) == [], "nothing left behind in the trash"
    assert files.remove_directory(repo, trash) is False, "already gone: reported, not raised"
    assert list(trash.iterdir()) == []


def test_a_directory_is_removed_through_its_own_filesystem_whatever_the_temp_folder(tmp_path, monkeypatch):
    """The placeholder it is renamed over is made in the trash (made with its parents), never in the process's
    temp folder: a rename cannot cross filesystems, and TMPDIR on a disk of its own must not matter."""
    repo = tmp_path / "store" / "r.git"
    (repo / "objects").mkdir(parents=True)
    trash = tmp_path / "store" / "trash" / "evicted"
    with small_disk(tmp_path / "elsewhere", "size=1m") as temp_folder:
        monkeypatch.setattr(tempfile, "tempdir", str(temp_folder))
        assert files.remove_directory(repo, trash) is True
        assert list(temp_folder.iterdir()) == []
    assert not repo.exists() and list(trash.iterdir()) == []
