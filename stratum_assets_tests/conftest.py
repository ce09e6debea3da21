"""Shared fixtures: the sample universe and live loopback emulators serving it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stratum_assets.sandbox.server import GitHubEmulator
from stratum_assets.sandbox.universe import build_universe

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def reference_path(relative: str):
    """A file of ``shared/reference`` (real data, written by no one on the team)."""
    path = REFERENCE / relative
    if not path.exists():
        if os.environ.get("CI"):  # CI always has shared/ beside the clone: a missing file is a failure
            pytest.fail(f"reference data missing at {path}")
        pytest.skip(f"reference data not available at {path}")
    return path


def reference_json(relative: str):
    return json.loads(reference_path(relative).read_text())


@pytest.fixture(scope="session")
def universe():
    return build_universe(seed=7, size=400)


@pytest.fixture(scope="session")
def large_universe():
    """Big enough that broad queries pass GitHub's 1,000-result cap."""
    return build_universe(seed=11, size=3000)


@pytest.fixture(scope="session")
def git_root(tmp_path_factory):
    return tmp_path_factory.mktemp("sandbox-git")


@pytest.fixture(scope="session")
def _emulator(universe, git_root):
    with GitHubEmulator(universe, git_root, slow_clone_seconds=3.0) as em:
        yield em


@pytest.fixture
def emulator(_emulator):
    """The sample emulator with no faults armed before or after the test."""
    _emulator.faults.clear()
    yield _emulator
    _emulator.faults.clear()


@pytest.fixture(scope="session")
def large_emulator(large_universe, tmp_path_factory):
    budgets = {"search": (100_000, 60.0)}
    with GitHubEmulator(large_universe, tmp_path_factory.mktemp("large-git"), budgets=budgets) as em:
        yield em
