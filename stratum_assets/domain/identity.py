"""A repository's identity in the dataset: ``repo_hash``."""

from __future__ import annotations

import hashlib


def repo_hash(full_name: str) -> str:
    """The pipeline's identity of a repository: ``sha256(lowercased full_name)[:16]``."""
    return hashlib.sha256(full_name.lower().encode()).hexdigest()[:16]
