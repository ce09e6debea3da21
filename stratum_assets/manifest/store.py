"""Frozen manifest versions on disk: ``manifest/v<N>/{manifest.parquet, meta.json}``.

A version is written once into a staging directory, made read-only and moved
into place with one rename; after that nothing in this module opens it for
writing, and :meth:`ManifestStore.freeze` refuses to touch an existing version.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class ManifestFrozenError(RuntimeError):
    """Someone tried to write a version that already exists."""


class NoManifestError(RuntimeError):
    """A stage that reads the manifest ran on a data directory that has none yet."""


class ManifestStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def versions(self) -> list[int]:
        if not self.root.exists():
            return []
        return sorted(int(p.name[1:]) for p in self.root.iterdir()
                      if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit())

    def active(self) -> int | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def require_active(self) -> int:
        """The active version, or a clear error saying how to make one (instead of a path with "vNone")."""
        version = self.active()
        if version is None:
            raise NoManifestError(f"no manifest yet under {self.root}: build one first with `stratum-assets run` "
                                  "(or materialize the candidates_* assets and repo_manifest)")
        return version

    def path(self, version: int) -> Path:
        return self.root / f"v{version}" / "manifest.parquet"

    def meta(self, version: int) -> dict:
        return json.loads((self.root / f"v{version}" / "meta.json").read_text())

    def read(self, version: int) -> pa.Table:
        return pq.read_table(self.path(version))

    def freeze(self, version: int, table: pa.Table, meta: dict) -> Path:
        target = self.root / f"v{version}"
        if target.exists():
            raise ManifestFrozenError(f"manifest v{version} already exists and is frozen")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=self.root))
        try:
            pq.write_table(table, staging / "manifest.parquet")
            (staging / "meta.json").write_text(json.dumps({**meta, "version": version}, indent=2, sort_keys=True))
            for f in staging.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
                f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target / "manifest.parquet"
