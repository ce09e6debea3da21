"""``repo_manifest.jsonl``: one line per repository, with the dataset strategy's ``repo_source_metadata``.

Each line: ``repo_full_name``, ``repo_hash`` (the join key of the companion files),
``selection_stratum``, ``matched_strata``, ``chunk_id``, ``manifest_version`` (``"v1"``, as in
``pipeline_run_log.json``) and ``repo_source_metadata`` with exactly the strategy's fields and
value formats: counts as integers, flags as booleans, ``last_commit_date`` and
``repo_created_date`` as ``YYYY-MM-DD`` dates (UTC), ``collected_at`` as an ISO 8601 UTC
timestamp, ``language_bytes`` as an object, ``github_topics`` as a list. Keys are sorted, so the
same manifest always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq

from ..storage.files import write_chunks_atomic

SOURCE_METADATA = (
    "github_stars",
    "github_forks",
    "last_commit_date",
    "repo_created_date",
    "is_fork",
    "fork_parent",
    "license",
    "github_topics",
    "primary_language",
    "language_bytes",
    "has_readme",
    "discovery_query",
    "selection_stratum",
    "collected_at",
)
DATE_FIELDS = ("last_commit_date", "repo_created_date")


def as_date(value) -> str | None:
    """``YYYY-MM-DD`` (in UTC) of a GitHub timestamp, a date or a datetime; None stays None.

    GitHub gives ``2025-07-01T23:30:00Z``; the strategy's example has the day only. A timestamp
    with another offset is moved to UTC first, so the day never depends on where it was written.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value.isoformat()


def source_metadata(row: dict) -> dict:
    """The strategy's ``repo_source_metadata`` of one manifest row, every value in its format."""
    source = {k: row[k] for k in SOURCE_METADATA}
    for key in DATE_FIELDS:
        source[key] = as_date(source[key])
    source["language_bytes"] = json.loads(row["language_bytes"] or "{}")
    source["github_topics"] = list(row["github_topics"] or [])
    return source


def manifest_line(row: dict) -> dict:
    return {
        "repo_full_name": row["full_name"],
        "repo_hash": row["repo_hash"],
        "selection_stratum": row["selection_stratum"],
        "matched_strata": row["matched_strata"],
        "chunk_id": row["chunk_id"],
        "manifest_version": f"v{row['manifest_version']}",
        "repo_source_metadata": source_metadata(row),
    }


def export_jsonl_from_parquet(manifest: Path, path: Path, batch_rows: int = 10_000) -> int:
    """The frozen manifest file as ``repo_manifest.jsonl``, batch by batch (any size); returns the lines."""
    written = [0]

    def chunks() -> Iterator[str]:
        for batch in pq.ParquetFile(manifest).iter_batches(batch_size=batch_rows):
            rows = batch.to_pylist()
            written[0] += len(rows)
            yield "".join(json.dumps(manifest_line(r), sort_keys=True) + "\n" for r in rows)

    write_chunks_atomic(chunks(), path)
    return written[0]
