"""Publishing a finished dataset version to object storage (S3, GCS, or any PyArrow filesystem).

The build writes to a POSIX data directory, because partitions commit by renaming a directory
and object stores cannot rename. Consumers want the dataset in a bucket: ``publish`` copies one
manifest version's files — frozen manifest, every partition's Parquet and stats, the split and
its exports, the audit report, run log and label-audit sample, and the companion files
(``repo_manifest.jsonl``, ``scan_results.jsonl``, ``quarantine.jsonl``, re-exported first) — under
``<destination>/v<N>/``, and writes ``_SUCCESS.json`` last, listing every object with its size,
sha256 and (for Parquet) row count. A reader that finds ``_SUCCESS.json`` finds a complete dataset; publishing again
overwrites the same keys.

Only a complete, undamaged build is published: a version with pending repositories, or with a
partition whose files are not those it was written with (``verify.py``: unreadable, row counts or
checksums off), is refused, so a bucket never holds a dataset with silent holes or damaged bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..manifest.store import ManifestStore
from ..storage.files import sha256_file
from ..storage.layout import Layout, PartitionFiles
from ..storage.verify import partition_problems
from .companions import write_all_companions
from .status import read_status

SUCCESS = "_SUCCESS.json"


class PublishError(RuntimeError):
    """The dataset cannot be published as it stands (nothing was written)."""


@dataclass(frozen=True)
class Published:
    destination: str  # redacted: no credentials, no query string
    version: int
    objects: int
    bytes: int
    rows: dict[str, int]


def dataset_files(layout: Layout, version: int) -> list[tuple[Path, str]]:
    """(local file, key under v<N>/) for everything a consumer of version ``version`` needs."""
    root = layout.root
    picked = list(layout.manifest(version).files)
    for partition in layout.partition_folders(version):
        picked += PartitionFiles(partition).files
    picked += sorted(layout.split.glob("*.parquet")) + sorted(layout.split.glob("*.jsonl"))
    picked += [layout.audit_report, layout.pipeline_run_log, layout.label_audit_sample]
    picked += [layout.manifest_jsonl, layout.scan_results_jsonl, layout.quarantine_jsonl]  # the companion files
    return [(path, path.relative_to(root).as_posix()) for path in picked if path.is_file()]


def publish(layout: Layout, destination: str, filesystem: pafs.FileSystem | None = None) -> Published:
    """Copy the active manifest version to ``destination``; ``_SUCCESS.json`` goes last."""
    version = ManifestStore.of(layout).active()
    if version is None:
        raise PublishError("no manifest yet: build the dataset first")
    damaged = partition_problems(layout, version, every=True)
    if damaged:
        chunk, problem = next(iter(damaged.items()))
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        raise PublishError(
            f"partition {chunk} is damaged ({problem}){more}: run `stratum-assets backfill` to rebuild it, then publish"
        )
    with _readable(version):
        status = read_status(layout)
    if status.pending:
        raise PublishError(
            f"{status.pending} of {status.total} repositories are still pending: "
            "run `stratum-assets backfill` until none is, then publish"
        )
    if filesystem is None:
        filesystem, base = pafs.FileSystem.from_uri(destination)
    else:
        base = destination.split("://", 1)[-1]
    with _readable(version):
        write_all_companions(layout, version)  # fresh from the frozen files: the three JSONL agree with each other
    base = f"{base.rstrip('/')}/v{version}"
    listing: list[dict[str, Any]] = []
    rows: dict[str, int] = {}
    for path, key in dataset_files(layout, version):
        target = f"{base}/{key}"
        filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
        pafs.copy_files(str(path), target, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=filesystem)
        entry: dict[str, Any] = {"key": key, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
        if path.suffix == ".parquet":
            entry["rows"] = rows[key] = pq.read_metadata(path).num_rows
        listing.append(entry)
    success = {
        "version": version,
        "published_at": datetime.now(UTC).isoformat(),
        "repositories": status.total,
        "stored": status.stored,
        "quarantined": status.quarantined,
        "objects": listing,
    }
    with filesystem.open_output_stream(f"{base}/{SUCCESS}") as out:
        out.write(json.dumps(success, indent=2, sort_keys=True).encode())
    return Published(
        destination=redact(destination),
        version=version,
        objects=len(listing),
        bytes=sum(e["bytes"] for e in listing),
        rows=rows,
    )


@contextmanager
def _readable(version: int) -> Iterator[None]:
    """DuckDB failing on damaged bytes the checksums cannot see (a partition written before them, a block) is
    one line of refusal too, never a traceback."""
    try:
        yield
    except duckdb.Error as err:
        first = (str(err).splitlines() or [""])[0][:200]
        raise PublishError(
            f"the scans of v{version} cannot be read ({type(err).__name__}: {first}): a partition "
            "written before checksums existed, or a block, is damaged; rebuild its partitions with "
            "`stratum-assets backfill --partitions FIRST...LAST`, then publish"
        ) from None


def redact(uri: str) -> str:
    """``uri`` without user info or query string (where credentials could ride along)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
