"""Atomic writes, every one the build makes: a reader, a crash or a concurrent run never sees half of anything.

This module owns the write-then-rename routines of the project; nothing else renames a
half-written file or directory into place.

* **A file** (:func:`replacing`, and the writers built on it: :func:`write_parquet_atomic`,
  :func:`write_text_atomic`, :func:`write_chunks_atomic`) is written under a temporary name
  beside its target, flushed to disk and renamed over the target: readers see the previous file
  or the complete new one.
* **A new directory** (:func:`new_directory`: a frozen manifest version, a sandbox git
  repository) is filled beside its target and renamed into place in one step; it never
  replaces one that exists.
* **A directory replaced** (:func:`replacing_directory`: a scan partition) is filled beside its
  target and swapped with it in one step (Linux ``renameat2(RENAME_EXCHANGE)``), or, where the
  filesystem cannot, with two renames that :func:`recover_directory` undoes after a crash between
  them: the previous directory survives any crash before the swap.
* **A directory removed** (:func:`remove_directory`: an evicted sandbox repository) is renamed
  away first, then deleted: a concurrent reader sees it whole or not at all.
* **Files and directories moved aside** (:func:`move_aside`: a previous world's outputs) are renamed
  one by one to the same place under another directory: each is there or here, whole.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def replacing(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path beside ``path`` for the caller (or DuckDB's ``COPY … TO``) to write the new file to.

    When the block ends without an error, the file is flushed to disk, given ``mode`` (default 0644:
    every file of the dataset is for reading, whatever private mode the temporary file started
    with) and renamed over ``path``. On an error it is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        tmp.chmod(mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_parquet(path: Path, columns: list[str] | None = None, dictionary: list[str] | None = None) -> pa.Table:
    """A Parquet file as a table, read without ``pyarrow.dataset`` (``pq.read_table`` imports it, and it
    imports pandas: 0.2 s of every short-lived process that reads one file); the ``dictionary`` columns
    dictionary-encoded (each chunk's dictionary: its distinct values)."""
    return pq.ParquetFile(path, read_dictionary=dictionary).read(columns=columns)


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write ``table`` to a temporary file beside ``path``, fsync it, then rename it into place."""
    with replacing(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read a MiB at a time (what a partition's stats.json and ``_SUCCESS.json``
    record of each file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(text: str, path: Path) -> Path:
    with replacing(path) as tmp, open(tmp, "w") as fh:
        fh.write(text)
    return Path(path)


def write_chunks_atomic(chunks: Iterable[str], path: Path) -> Path:
    """Stream ``chunks`` (text, already with their newlines) into ``path`` through a temporary file.

    For exports too big to hold as one string (a million JSONL lines): the text never exists
    whole in memory, and readers still see the previous file or the complete new one.
    """
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        for chunk in chunks:
            fh.write(chunk)
    return Path(path)


@contextmanager
def new_directory(target: Path, *, durable: bool = True) -> Iterator[Path]:
    """A staging directory beside ``target`` to fill; renamed to ``target`` in one step when the block ends.

    ``target`` must not exist by then (the rename fails: nothing is replaced). With ``durable``
    the files directly inside are flushed to disk before the rename, and the rename itself after
    it. On an error the staging directory is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield staging
        if durable:
            _fsync_files(staging)
        staging.rename(target)
        if durable:
            _fsync(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def replacing_directory(folder: Path) -> Iterator[Path]:
    """A staging directory beside ``folder`` to fill; swapped in for ``folder`` (or renamed to it) when the block ends.

    Readers see the previous directory or the new one, never a mix and never none (where the
    filesystem can exchange two names in one step); a crash before the swap leaves the previous
    directory, and one between the fallback's two renames is undone by :func:`recover_directory`.
    """
    folder = Path(folder)
    recover_directory(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        yield staging
        _fsync_files(staging)
        if folder.exists() and exchange(staging, folder):
            shutil.rmtree(staging, ignore_errors=True)  # now holds the previous directory
        else:  # first write, or a filesystem without an atomic exchange: two renames
            old = _aside(folder)
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        _fsync(folder.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_directory(folder: Path, trash: Path) -> bool:
    """Rename ``folder`` into ``trash`` (same filesystem) and delete it there: a concurrent reader sees the
    whole directory or none, never one half deleted. False if it could not be moved (gone, or busy)."""
    trash.mkdir(parents=True, exist_ok=True)
    doomed = Path(tempfile.mkdtemp(prefix=f"{folder.name}-", dir=trash))
    try:
        folder.rename(doomed)  # over the empty placeholder: a directory may replace an empty one
    except OSError:
        doomed.rmdir()
        return False
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def move_aside(paths: Iterable[Path], root: Path, aside: Path) -> None:
    """Rename each existing path of ``paths`` (under ``root``) to the same relative place under ``aside``. A crash
    part-way leaves each one moved or not: calling again moves the rest."""
    for path in paths:
        if path.exists():
            target = aside / Path(path).relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            Path(path).rename(target)


def recover_directory(folder: Path) -> None:
    """If a run died between the two renames of a swap, put the previous directory back."""
    folder = Path(folder)
    old = _aside(folder)
    if old.exists():
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(folder)


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``): a reader sees the old
    one or the new one, never none. False when the system or filesystem cannot."""
    try:
        renameat2 = ctypes.CDLL(None).renameat2  # only its return value is read, never errno
    except (AttributeError, OSError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _aside(folder: Path) -> Path:
    """Where the fallback swap keeps the previous directory between its two renames."""
    return folder.parent / f".{folder.name}.old"


def _fsync_files(folder: Path) -> None:
    for f in folder.iterdir():
        if f.is_file():
            _fsync(f)


def _fsync(path: Path) -> None:
    """Flush a file's contents, or a directory's entries (the renames themselves), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
