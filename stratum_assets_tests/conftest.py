"""Shared fixtures and helpers: the sample universe, loopback emulators, project homes and servers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from stratum_assets.sandbox.server import GitHubEmulator
from stratum_assets.sandbox.universe import build_universe

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
BIN = Path(sys.executable).parent


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_project_home(home: Path, **extra_env: str) -> dict[str, str]:
    """A project home built by the README's main command, offline; returns the environment it used.

    The project's dagster.yaml is copied in unless the test wrote its own first.
    """
    if not (home / "dagster.yaml").exists():
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "STRATUM_SANDBOX": "1", **extra_env}
    env.pop("GITHUB_TOKEN", None)
    build = subprocess.run([str(BIN / "stratum-assets"), "run"], cwd=home, env=env, capture_output=True, text=True,
                           timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return env


def wait_for_dagster_ui(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    """Until the webserver at ``url`` answers /server_info; fails at once if its process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Dagster webserver exited"
        try:
            if requests.get(f"{url}/server_info", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the Dagster webserver at {url} did not start")


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
