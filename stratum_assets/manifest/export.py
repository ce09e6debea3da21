"""``repo_manifest.jsonl``: one line per repository in the seed's format."""

from __future__ import annotations

import json
from pathlib import Path

from ..warehouse.files import write_text_atomic

SOURCE_METADATA = ("github_stars", "github_forks", "last_commit_date", "repo_created_date", "is_fork", "fork_parent",
                   "license", "github_topics", "primary_language", "language_bytes", "has_readme",
                   "discovery_query", "selection_stratum", "collected_at")


def manifest_line(row: dict) -> dict:
    source = {k: row[k] for k in SOURCE_METADATA}
    source["language_bytes"] = json.loads(row["language_bytes"] or "{}")
    return {
        "repo_full_name": row["full_name"],
        "repo_hash": row["repo_hash"],
        "selection_stratum": row["selection_stratum"],
        "matched_strata": row["matched_strata"],
        "chunk_id": row["chunk_id"],
        "manifest_version": row["manifest_version"],
        "repo_source_metadata": source,
    }


def export_jsonl(rows: list[dict], path: Path) -> Path:
    text = "".join(json.dumps(manifest_line(r), sort_keys=True) + "\n" for r in rows)
    return write_text_atomic(text, path)
