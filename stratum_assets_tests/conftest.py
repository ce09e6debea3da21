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

from stratum_sandbox.server import GitHubEmulator
from stratum_sandbox.universe import build_universe

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIN = Path(sys.executable).parent


def fixture_path(relative: str) -> Path:
    """A file of ``fixtures/``: real data recorded elsewhere (provenance in fixtures/README.md)."""
    path = FIXTURES / relative
    assert path.exists(), f"fixture missing: {path}"
    return path


def fixture_json(relative: str):
    return json.loads(fixture_path(relative).read_text())


def reference_pings() -> dict[str, dict]:
    """Every ping the reference scanner printed, by the repository's full_name."""
    return {path.stem.replace("__", "/", 1): json.loads(path.read_text())
            for path in sorted((FIXTURES / "pings").glob("*.json"))}


class FakeTime:
    """A clock that moves only when the code under test sleeps: waits are asserted exactly, never taken."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_project_home(home: Path, *args: str, **extra_env: str) -> dict[str, str]:
    """A project home built by the README's main command (plus ``args``), offline; returns its environment.

    The project's dagster.yaml is copied in unless the test wrote its own first.
    """
    if not (home / "dagster.yaml").exists():
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "STRATUM_SANDBOX": "1", **extra_env}
    env.pop("GITHUB_TOKEN", None)
    build = subprocess.run([str(BIN / "stratum-assets"), "run", *args], cwd=home, env=env, capture_output=True, text=True,
                           timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (home / "run.out").write_text(build.stdout)  # what the terminal showed: gates, partitions
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


# Written by tooling, never by a test: the virtualenv, caches, packaging metadata, mutmut's copy.
_NOT_THE_PROJECT = {".git", ".venv", ".pytest_cache", "__pycache__", "mutants", "stratum_assets.egg-info"}


def _project_files() -> dict[str, tuple[int, int]]:
    """Every file of the checkout (size, mtime), ignored ones included: ``git status`` would miss ``data/``."""
    files = {}
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in _NOT_THE_PROJECT]
        for name in names:
            stat = os.stat(os.path.join(folder, name))
            files[os.path.relpath(os.path.join(folder, name), ROOT)] = (stat.st_size, stat.st_mtime_ns)
    return files


@pytest.fixture(scope="session", autouse=True)
def the_checkout_stays_untouched():
    """Tests write only into temporary folders: the suite fails if it created or changed a project file."""
    if ROOT.name == "mutants":  # mutmut's working copy, where mutmut itself writes results as tests run
        yield
        return
    before = _project_files()
    yield
    after = _project_files()
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    assert not changed, f"the tests wrote into the checkout: {changed[:20]}"


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
