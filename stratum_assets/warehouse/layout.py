"""Where every file of the dataset lives under the data directory, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    def candidates(self, stratum: str) -> Path:
        return self.root / "candidates" / f"{stratum}.parquet"

    @property
    def discovery_checkpoints(self) -> Path:
        return self.root / "discovery" / "checkpoints"

    @property
    def manifests(self) -> Path:
        return self.root / "manifest"

    @property
    def manifest_jsonl(self) -> Path:
        return self.root / "repo_manifest.jsonl"

    def scan_results(self, version: int, chunk: str | None = None) -> Path:
        folder = self.root / "scan_results" / f"v{version}"
        return folder / f"{chunk}.parquet" if chunk else folder

    def quarantine(self, version: int, chunk: str | None = None) -> Path:
        folder = self.root / "quarantine" / f"v{version}"
        return folder / f"{chunk}.parquet" if chunk else folder

    @property
    def duckdb(self) -> Path:
        return self.root / "stratum.duckdb"
