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

    def scans(self, version: int) -> Path:
        return self.root / "scans" / f"v{version}"

    def scan_partition(self, version: int, chunk: str) -> Path:
        """One directory per partition: scan_results.parquet, quarantine.parquet, stats.json."""
        return self.scans(version) / chunk

    def scan_results(self, version: int, chunk: str) -> Path:
        return self.scan_partition(version, chunk) / "scan_results.parquet"

    def quarantine(self, version: int, chunk: str) -> Path:
        return self.scan_partition(version, chunk) / "quarantine.parquet"

    @property
    def work(self) -> Path:
        """Scratch space for clones; emptied at the start of every partition run."""
        return self.root / "work"

    @property
    def pipeline_run_log(self) -> Path:
        """One record per execution, the latest also at the top level (warehouse/runlog.py)."""
        return self.root / "pipeline_run_log.json"

    @property
    def scan_results_jsonl(self) -> Path:
        """Every stored ping of the finished version, one per line, by repo_hash (warehouse/companions.py)."""
        return self.root / "scan_results.jsonl"

    @property
    def quarantine_jsonl(self) -> Path:
        """Every quarantined ping of the finished version with its errors, one per line, by repo_hash."""
        return self.root / "quarantine.jsonl"

    @property
    def audit_report(self) -> Path:
        return self.root / "dataset_audit_report.md"

    @property
    def split(self) -> Path:
        """assignments.parquet (frozen, grows only) and the train/test exports."""
        return self.root / "split"

    @property
    def label_audit(self) -> Path:
        """sample.csv to review; reviewed.csv once a person has filled it in."""
        return self.root / "label_audit"

    @property
    def duckdb(self) -> Path:
        return self.root / "stratum.duckdb"
