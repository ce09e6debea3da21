"""Frozen manifest versions on disk: ``manifest/v<N>/{manifest.parquet, meta.json}``.

This module owns the freezing rule. A version is written once into a staging directory, made
read-only and moved into place with one rename (:func:`~stratum_assets.storage.files.new_directory`);
after that nothing in this module opens it for writing, and :meth:`ManifestStore.freeze` refuses
to touch an existing version. Where the files are is the layout's (:class:`ManifestFiles`).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..storage.files import new_directory, read_parquet
from ..storage.layout import Layout, ManifestFiles


class ManifestFrozenError(RuntimeError):
    """Someone tried to write a version that already exists."""


class NoManifestError(RuntimeError):
    """A stage that reads the manifest ran on a data directory that has none yet."""


class ManifestStore:
    """The versions under ``root``, the data directory's manifest folder (:attr:`Layout.manifests`)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def of(cls, layout: Layout) -> ManifestStore:
        return cls(layout.manifests)

    def versions(self) -> list[int]:
        return ManifestFiles.versions_in(self.root)

    def active(self) -> int | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def require_active(self) -> int:
        """The active version, or a clear error saying how to make one (instead of a path with "vNone")."""
        version = self.active()
        if version is None:
            raise NoManifestError(
                f"no manifest yet under {self.root}: build one first with `stratum-assets run` "
                "(or materialize the candidates_* assets and repo_manifest)"
            )
        return version

    def files(self, version: int) -> ManifestFiles:
        return ManifestFiles.of(self.root, version)

    def path(self, version: int) -> Path:
        return self.files(version).table

    def meta(self, version: int) -> dict:
        return json.loads(self.files(version).meta.read_text())

    def read(self, version: int) -> pa.Table:
        return read_parquet(self.path(version))

    def freeze(self, version: int, table: pa.Table, meta: dict) -> Path:
        target = self.files(version)
        if target.folder.exists():
            raise ManifestFrozenError(f"manifest v{version} already exists and is frozen")
        with new_directory(target.folder) as staging:
            staged = ManifestFiles(staging)
            pq.write_table(table, staged.table)
            staged.meta.write_text(json.dumps({**meta, "version": version}, indent=2, sort_keys=True))
            for f in staged.files:
                f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return target.table
