"""The code fingerprints of one checkout: what the pipeline stores beside each ping for the duplicate audit.

The pipeline, not the scanner, owns them (as it owns identity): they come from the same Python
files whichever scanner runs, and never from code the scanner decided to skip or could not
report. Only hashes leave the checkout, never code (``dedup/fingerprint.py``).

The checkout is a stranger's: only regular files are opened (a symlink left inside the
checkout, a FIFO or a device never is), each read up to the settings' per-file cap plus one
byte (so truncation is still recorded), and the dedup module bounds the tokens per repository.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..dedup.fingerprint import Fingerprint, NearDupSettings, fingerprint


def checkout_fingerprint(checkout: Path, files: list[str], settings: NearDupSettings) -> Fingerprint:
    """Both fingerprints of the ``.py`` files among ``files`` (paths relative to ``checkout``)."""
    sources = []
    for relative in sorted(f for f in files if f.endswith(".py")):
        data = _read_regular(Path(checkout) / relative, settings.max_file_bytes + 1)
        if data is not None:
            sources.append((relative, data))
    return fingerprint(sources, settings)


def _read_regular(path: Path, limit: int) -> bytes | None:
    """At most ``limit`` bytes of ``path`` if it is a regular file (never following a symlink); else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit)
    finally:
        os.close(fd)
