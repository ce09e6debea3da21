"""Where every file of the dataset lives under the data directory: the one authority on data paths.

Stages, the warehouse views, the exports, ``status`` and ``publish`` ask a :class:`Layout` for
their paths. Inside a frozen manifest version and inside a scan partition the file names come
from :class:`ManifestFiles` and :class:`PartitionFiles`, which also name the files of the staging
directory that becomes one (``manifest/store.py``, ``scanning/storage.py``). How those files
are written atomically is :mod:`.files`'s job; what is in them, their writers'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..domain import chunks


@dataclass(frozen=True)
class ManifestFiles:
    """One frozen manifest version's directory ``manifest/v<N>/``: the table and its meta."""

    folder: Path

    @classmethod
    def of(cls, manifests: Path, version: int) -> ManifestFiles:
        return cls(Path(manifests) / f"v{version}")

    @staticmethod
    def versions_in(manifests: Path) -> list[int]:
        """The versions frozen under ``manifests``, oldest first (a staging ``.v<N>.new-*`` is none)."""
        if not Path(manifests).exists():
            return []
        return sorted(
            int(p.name[1:])
            for p in Path(manifests).iterdir()
            if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit()
        )

    @property
    def table(self) -> Path:
        return self.folder / "manifest.parquet"

    @property
    def meta(self) -> Path:
        return self.folder / "meta.json"

    @property
    def files(self) -> tuple[Path, Path]:
        return self.table, self.meta


@dataclass(frozen=True)
class ScanFiles:
    """The three Parquet files a scan partition and a block both hold: stored pings, quarantine rows, code
    fingerprints (``dedup/``; partitions written before them have none)."""

    folder: Path

    @property
    def results(self) -> Path:
        return self.folder / "scan_results.parquet"

    @property
    def quarantine(self) -> Path:
        return self.folder / "quarantine.parquet"

    @property
    def fingerprints(self) -> Path:
        return self.folder / "code_fingerprints.parquet"

    @property
    def scan_files(self) -> tuple[Path, Path, Path]:
        return self.results, self.quarantine, self.fingerprints


@dataclass(frozen=True)
class PartitionFiles(ScanFiles):
    """One scan partition's directory ``scans/v<N>/<chunk>/``: the scan files and the run's stats."""

    @property
    def stats(self) -> Path:
        """Counts and timings of the run that wrote the partition (``verify.py`` checks the counts)."""
        return self.folder / "stats.json"

    @property
    def files(self) -> tuple[Path, Path, Path, Path]:
        return self.results, self.quarantine, self.fingerprints, self.stats


@dataclass(frozen=True)
class BlockFiles(ScanFiles):
    """One block's directory ``scans/v<N>/blocks/b<index>/``: the scan files of its chunks together, and
    ``sources.json`` naming each partition copied in, with its stamp (``warehouse/blocks.py``)."""

    @property
    def sources(self) -> Path:
        return self.folder / "sources.json"


@dataclass(frozen=True)
class Layout:
    """Every path of the data directory ``root`` (``data/``, the ``data`` resource's root)."""

    root: Path

    def candidates(self, stratum: str) -> Path:
        return self.root / "candidates" / f"{stratum}.parquet"

    def discovery_summary(self, stratum: str) -> Path:
        """What discovery of ``stratum`` could not get (search gaps, enrichment failures) and renamed: the report's."""
        return self.root / "candidates" / f"{stratum}.discovery.json"

    @property
    def discovery_checkpoints(self) -> Path:
        return self.root / "discovery" / "checkpoints"

    @property
    def manifests(self) -> Path:
        """One read-only directory per frozen version (``manifest/store.py``)."""
        return self.root / "manifest"

    def manifest(self, version: int) -> ManifestFiles:
        return ManifestFiles.of(self.manifests, version)

    @property
    def manifest_jsonl(self) -> Path:
        return self.root / "repo_manifest.jsonl"

    def scans(self, version: int) -> Path:
        return self.root / "scans" / f"v{version}"

    def scan_partition(self, version: int, chunk: str) -> Path:
        """One directory per partition (:class:`PartitionFiles`), swapped in whole by ``scanning/storage.py``."""
        return self.scans(version) / chunk

    def partition_files(self, version: int, chunk: str) -> PartitionFiles:
        return PartitionFiles(self.scan_partition(version, chunk))

    def scan_results(self, version: int, chunk: str) -> Path:
        return self.partition_files(version, chunk).results

    def quarantine(self, version: int, chunk: str) -> Path:
        return self.partition_files(version, chunk).quarantine

    def partition_folders(self, version: int) -> list[Path]:
        """Every partition directory of ``version`` on disk, in chunk order, whole or not (``verify.py`` tells).

        Directories are named by their chunk id (``domain/chunks.py``); a swap's temporary ".v1-c0000.new-*" never
        matches.
        """
        folder = self.scans(version)
        return sorted(p for p in folder.glob(chunks.GLOB) if p.is_dir()) if folder.exists() else []

    def blocks(self, version: int) -> Path:
        """Compacted copies of whole partitions, a few large files for reading (``warehouse/blocks.py``).

        Its name never matches a chunk id, so :meth:`partition_folders` never lists it.
        """
        return self.scans(version) / "blocks"

    def block_files(self, version: int, index: int) -> BlockFiles:
        return BlockFiles(self.blocks(version) / f"b{index:04d}")

    def block_folders(self, version: int) -> list[BlockFiles]:
        """Every block directory of ``version`` on disk, in block order (a swap's ".b0000.new-*" is none)."""
        folder = self.blocks(version)
        return [BlockFiles(p) for p in sorted(folder.glob("b[0-9]*")) if p.is_dir()] if folder.exists() else []

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
    def split_assignments(self) -> Path:
        return self.split / "assignments.parquet"

    def split_export(self, name: str, suffix: str) -> Path:
        """``train`` or ``test`` as ``.parquet`` or ``.jsonl``."""
        return self.split / f"{name}{suffix}"

    @property
    def label_audit(self) -> Path:
        """sample.csv (the pairs and their key), cards.json (what the reviewer sees), reviews/ (the answers)."""
        return self.root / "label_audit"

    @property
    def label_audit_sample(self) -> Path:
        return self.label_audit / "sample.csv"

    @property
    def label_audit_reviewed(self) -> Path:
        """The old one-repository-per-row review: refused, with a message that explains the pairs."""
        return self.label_audit / "reviewed.csv"

    @property
    def world(self) -> Path:
        """The GitHub and profile the directory is built from, and the worlds before it (``storage/world.py``)."""
        return self.root / "world.json"

    def world_archive(self, index: int) -> Path:
        """Where the outputs of the directory's world number ``index`` (0: the first) went when another began."""
        return self.root / "worlds" / f"w{index}"

    @property
    def world_outputs(self) -> tuple[Path, ...]:
        """A world's outputs that are not kept per manifest version: they move aside when a new world begins."""
        return (
            self.root / "candidates",
            self.root / "discovery",
            self.manifest_jsonl,
            self.pipeline_run_log,
            self.scan_results_jsonl,
            self.quarantine_jsonl,
            self.audit_report,
            self.split,
            self.label_audit,
        )

    @property
    def label_audit_cards(self) -> Path:
        return self.label_audit / "cards.json"

    @property
    def label_audit_reviews(self) -> Path:
        """One ``<reviewer>.csv`` per reviewer, written by ``stratum-assets review``."""
        return self.label_audit / "reviews"

    def label_audit_review(self, reviewer: str) -> Path:
        return self.label_audit_reviews / f"{reviewer}.csv"

    @property
    def duckdb(self) -> Path:
        """The warehouse: views over the files above, no copies (``warehouse/schema.py``)."""
        return self.root / "stratum.duckdb"
