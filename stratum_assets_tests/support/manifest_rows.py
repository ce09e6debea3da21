"""Manifest rows as the scan stage receives them, for tests that scan without building a manifest."""

from __future__ import annotations

from stratum_assets.manifest.build import repo_hash


def manifest_row(full_name: str, stratum: str = "crewai_active", chunk_id: str = "v1-c0007") -> dict:
    """The row the manifest would hold for ``full_name``: its hash, its chunk and the stratum that selected it."""
    return {
        "full_name": full_name,
        "repo_hash": repo_hash(full_name),
        "chunk_id": chunk_id,
        "selection_stratum": stratum,
    }
