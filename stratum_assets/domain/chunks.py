"""Chunk ids: the manifest's partitions, ``v<version>-c<index>`` (``v1-c0000``), written, parsed and matched here.

A chunk id is the Dagster partition key of ``scan_results``/``quarantine``, the ``chunk_id`` of
every manifest row and ping, and the name of the partition's directory under ``scans/v<N>/``.
Consecutive chunks form a *block*: the unit the warehouse compacts the partitions into for reading
(``warehouse/blocks.py``).
"""

from __future__ import annotations

import re

from .choices import Profile

PATTERN = re.compile(r"v([0-9]+)-c([0-9]{4,})")
# The partition directories of a version (Path.glob): a swap's temporary ".v1-c0000.new-*" never matches.
GLOB = "v*-c*"

# Repositories per chunk when the manifest's config names none: a chunk is one partition run, so this is
# the size of one retry and of one Dagster run's overhead (~0.4 s) against its scanning (minutes).
DEFAULT_SIZE = {Profile.sample: 40, Profile.full: 250}
# Chunks per block: at the full profile's 250 repositories a chunk, 10,000 pings a block — 5 files to read at
# 50,000 repositories, 100 at a million, instead of 200 and 4,000 partition files (bench/audit_scale.py).
CHUNKS_PER_BLOCK = 40


def default_size(profile: Profile) -> int:
    """Repositories per chunk for ``profile``."""
    return DEFAULT_SIZE[profile]


def block_of(chunk: str) -> int:
    """The index of the block chunk ``chunk`` belongs to."""
    return parse(chunk)[1] // CHUNKS_PER_BLOCK


def chunk_id(version: int, index: int) -> str:
    """The id of chunk ``index`` (0-based) of manifest version ``version``."""
    if version < 1 or index < 0:
        raise ValueError(f"no chunk id for version {version}, index {index}")
    return f"v{version}-c{index:04d}"


def parse(chunk: str) -> tuple[int, int]:
    """(version, index) of a chunk id; ValueError for anything that is not one."""
    match = PATTERN.fullmatch(chunk) if isinstance(chunk, str) else None
    version, index = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if version < 1 or f"v{version}-c{index:04d}" != chunk:  # also refused: v0-c0000, v01-c0000, v1-c00001
        raise ValueError(f"{chunk!r} is not a chunk id (v<version>-c<index>, e.g. v1-c0000)")
    return version, index


def version_of(chunk: str) -> int:
    """The manifest version a chunk id belongs to."""
    return parse(chunk)[0]
