"""Checkouts of the offline universe's repositories without cloning, and what the reference CLI finds in them.

For scanning a synthetic repository directly (the scanner's tests, the size-profile test, the scanner
benchmarks): the files are the ones the offline GitHub would serve for it (``stratum_sandbox.codegen``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stratum_assets.scanner.engine import project_facts, read_repository
from stratum_assets.scanner.rules import Context
from stratum_sandbox.codegen import REFERENCE_UNSEEN, SYMLINK_MODE, RepoFile, has_counted_companion, render_files
from stratum_sandbox.universe import Repo


def write_checkout(repo: Repo, root: Path) -> list[RepoFile]:
    """``repo``'s files written under ``root`` as a checkout would have them (symlinks as symlinks, not followed:
    the escaping ones point outside on purpose); returns them. For scanning without cloning."""
    rendered = render_files(repo)
    for f in rendered:
        path = Path(root) / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if f.mode == SYMLINK_MODE:
            path.symlink_to(f.data.decode())
        else:
            path.write_bytes(f.data)
    return rendered


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """A checkout written by hand: each path (relative to ``root``) with its text; returns ``root``."""
    for name, text in files.items():
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Path(root)


def rules_context(root: Path) -> Context:
    """What the rules see of a checkout: the scanner's model and project facts, read as for any repository."""
    model, files, *_ = read_repository(Path(root))
    return Context(model, project_facts(Path(root), files))


def reference_counts_agents(repo: Repo) -> bool:
    """Whether the reference CLI finds at least one agent in this repository's rendered code."""
    if repo.archetype in ("no_agents", "non_python"):
        return False
    return not set(repo.frameworks) <= REFERENCE_UNSEEN or has_counted_companion(repo)
