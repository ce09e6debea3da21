"""Shared fixtures and helpers: the sample universe, loopback emulators, project homes and servers."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from stratum_assets.scanning.scanner_commands import BuiltinScanner
from stratum_assets_tests.support.loopback import free_port
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


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file the code under test wrote, read as the csv module asks (``newline=""``)."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def reference_pings() -> dict[str, dict]:
    """Every ping the reference scanner printed, by the repository's full_name."""
    return {
        path.stem.replace("__", "/", 1): json.loads(path.read_text())
        for path in sorted((FIXTURES / "pings").glob("*.json"))
    }


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


def build_project_home(home: Path, *args: str, **extra_env: str) -> dict[str, str]:
    """A project home built by the README's main command (plus ``args``), offline; returns its environment.

    The home is a project root as a fresh clone's is: the project's dagster.yaml (unless the test wrote its
    own first), pyproject.toml and workspace.yaml, so the card's commands run there as typed.
    """
    build = ProjectBuild(home, *args, **extra_env)
    try:
        return build.result()
    finally:
        build.stop()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def require_chromium() -> None:
    """Debian's Chromium and chromedriver drive the UI tests: CI installs them (.ci/run), elsewhere the test skips."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: .ci/run installs Debian's chromium chromium-driver")
        pytest.skip("Debian's chromium and chromium-driver are not installed")


@contextlib.contextmanager
def chromium(window: str = "1600,1000"):
    """A headless Chromium of its own, closed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--window-size={window}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the screenshots go: docs/screenshots/ only with STRATUM_UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("STRATUM_UPDATE_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@contextlib.contextmanager
def small_disk(folder: Path, options: str):
    """A real tmpfs of its own mounted on ``folder`` (``size=64k``, ``size=1m,ro``...): a disk that fills up or
    refuses writes, for real. Needs root: the test is skipped where mounting is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture(scope="session")
def clean_build(clean_build_started) -> tuple[Path, dict[str, str]]:
    """One clean offline build for the whole session (the README's main command, one partition at a time):
    what every recovery test compares with. Read it, never change it: :func:`copy_of_clean_build` for that."""
    return clean_build_started.home, clean_build_started.result()


def copy_of_clean_build(clean: tuple[Path, dict[str, str]], home: Path) -> dict[str, str]:
    """A home of its own with the clean build's data and instance (a copy takes seconds, a build a minute+)."""
    source, env = clean
    shutil.copytree(source, home, symlinks=True)
    return {**env, "DAGSTER_HOME": str(home)}


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


def _scan_workers_of_this_process() -> list[str]:
    """The command lines of this process's children that are scan workers (read from /proc)."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):  # a process that ended while we looked
            parent = int(stat.read_text().rpartition(")")[2].split()[1])  # after "pid (name) state": the parent
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if parent == os.getpid() and "stratum_assets.scanning.worker" in command:
                workers.append(command.strip())
    return workers


@pytest.fixture(scope="session", autouse=True)
def every_scan_worker_is_closed():
    """Whoever starts a built-in scanner closes it (``builtin_scanner`` below does it for tests): the suite fails if
    a worker process is still a child of pytest when it ends."""
    yield
    left = _scan_workers_of_this_process()
    assert not left, f"scan workers nobody closed: {left}"


@pytest.fixture
def builtin_scanner():
    """Makes built-in scanners for one test and closes them after it. ``scan_chunk`` closes its scanner itself,
    ``scan_repo`` leaves that to its caller: without this, each test's worker processes lived as long as the
    pytest process (mutmut's, which runs the suite in-process, kept 14 of them, ~290 MB each)."""
    made: list[BuiltinScanner] = []

    def make(**options) -> BuiltinScanner:
        made.append(BuiltinScanner(**options))
        return made[-1]

    yield make
    for scanner in made:
        scanner.close()


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
    """The session's sample emulator. Its search budget is no test's subject (tests of the budget start their own
    emulator with one): at GitHub's 30 a minute, the module's discovery tests waited out its window in turn."""
    with GitHubEmulator(universe, git_root, slow_clone_seconds=3.0, budgets={"search": (10_000, 60.0)}) as em:
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


# -- scale-out: a throwaway PostgreSQL server and the documented configuration (docs/SCALE_OUT.md) ----------------


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    return str(found) if found else None


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server: (host, port, user, database)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are missing: .ci/run installs them")
        pytest.skip("PostgreSQL server binaries are not installed")
    # Under /tmp itself: pytest's own temporary folders are private to the user running the tests.
    folder = Path(tempfile.mkdtemp(prefix="stratum-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own account
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    port = free_port()
    cluster = folder / "cluster"
    subprocess.run(
        [*as_user, initdb, "-D", str(cluster), "-U", "stratum", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(cluster), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="stratum", dbname="postgres")
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        conn.cursor().execute("CREATE DATABASE dagster")
        conn.close()
        yield "127.0.0.1", port, "stratum", "dagster"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(cluster), "-m", "fast", "-w", "stop"], capture_output=True, timeout=120
        )
        shutil.rmtree(folder, ignore_errors=True)


def documented_yaml(top_key: str, section: str | None = None) -> dict:
    """The YAML block of docs/SCALE_OUT.md whose top-level keys include ``top_key``.

    With ``section``, only the blocks under the ``## section`` heading count: two sections may
    document the same kind of file (the Celery workers' and the Celery/Docker run config).
    """
    text = (ROOT / "docs" / "SCALE_OUT.md").read_text()
    if section is not None:
        parts = [p for p in re.split(r"^## ", text, flags=re.M) if p.startswith(section + "\n")]
        assert len(parts) == 1, f"docs/SCALE_OUT.md has {len(parts)} sections '## {section}'"
        text = parts[0]
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    found = [b for b in blocks if isinstance(b, dict) and top_key in b]
    assert len(found) == 1, f"docs/SCALE_OUT.md has {len(found)} YAML blocks with {top_key!r}"
    return found[0]


def postgres_instance_home(home: Path, postgres) -> tuple[Path, dict[str, str]]:
    """The project's dagster.yaml with the documented Postgres storage block, and the variables it reads."""
    host, port, user, db = postgres
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    del config["storage"]
    documented = documented_yaml("event_log_storage")
    config.update({key: documented[key] for key in ("run_storage", "event_log_storage", "schedule_storage")})
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    variables = {
        "DAGSTER_PG_HOST": host,
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USER": user,
        "DAGSTER_PG_PASSWORD": "unused-under-trust-auth",
        "DAGSTER_PG_DB": db,
    }
    return home, variables


# -- speed-C: the session's clean build can start in the background (test_celery.py builds meanwhile) -----------


class ProjectBuild:
    """``stratum-assets run`` (plus ``args``) in ``home``, offline, started at once in a process of its own:
    :meth:`result` waits for it (at most 900 s from the start) as :func:`build_project_home` does.

    The environment is taken when the build starts, so a caller may change its own afterwards. The
    output goes to unnamed temporary files, not pipes: a pipe nobody reads while the build runs would
    block it once full.
    """

    TIMEOUT_S = 900

    def __init__(self, home: Path, *args: str, **extra_env: str):
        for name in ("dagster.yaml", "pyproject.toml", "workspace.yaml"):
            if not (home / name).exists():
                shutil.copy(ROOT / name, home / name)
        self.home = home
        self.env = {**os.environ, "DAGSTER_HOME": str(home), "STRATUM_SANDBOX": "1", **extra_env}
        self.env.pop("GITHUB_TOKEN", None)
        # Open until stop(): the build writes into them while it runs, and they are read after it ends.
        self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        self._deadline = time.monotonic() + self.TIMEOUT_S
        self._proc = subprocess.Popen(
            [str(BIN / "stratum-assets"), "run", *args],
            cwd=home,
            env=self.env,
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
        )
        self._done = False

    def result(self) -> dict[str, str]:
        """The build's environment once it succeeded (its stdout kept as ``run.out``); fails with its output."""
        if not self._done:
            try:
                self._proc.wait(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
                raise
            out, err = (self._read(f) for f in (self._out, self._err))
            assert self._proc.returncode == 0, out[-3000:] + err[-3000:]
            (self.home / "run.out").write_text(out)  # what the terminal showed: gates, partitions
            self._done = True
        return self.env

    def stop(self) -> None:
        """Kill the build if it still runs (nobody waited for it), and close its output files."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=60)
        for f in (self._out, self._err):
            f.close()

    @staticmethod
    def _read(file) -> str:
        file.seek(0)
        return file.read().decode(errors="replace")


@pytest.fixture(scope="session")
def clean_build_started(tmp_path_factory):
    """The session's clean build (:func:`clean_build`), started now and not waited for: a module with work of
    its own to do meanwhile asks for this first (test_celery.py), :func:`clean_build` waits for it."""
    build = ProjectBuild(tmp_path_factory.mktemp("clean-build"), "--parallel", "1")
    yield build
    build.stop()


# -- speed-2: a smaller world, and shorter 429 waits, where neither is what a test checks -------------------------

from stratum_assets.offline_github import OfflineGitHub  # noqa: E402 - speed-2's block, kept together


@pytest.fixture(scope="session")
def small_universe():
    """The default seed with 150 repositories: a manifest of ~100, three partitions of the sample profile instead
    of five. For builds that check how partitions run (pools, retries, failures), not how many there are."""
    return build_universe(seed=7, size=150)


@pytest.fixture(scope="session")
def small_git_root(tmp_path_factory):
    """The bare repositories of :func:`small_universe`, built once for every emulator of the session that serves it
    (its repositories are not the default universe's: they never share :func:`git_root`)."""
    return tmp_path_factory.mktemp("sandbox-git-small")


class ShortBackoffGitHub(OfflineGitHub):
    """The offline GitHub resource whose first wait after a clone's HTTP 429 is 0.05 s instead of the emulator's
    1 s (still doubled per hit, with jitter, and held by every clone of the process).

    For builds that check what a rate-limited partition does (fails whole, is retried or backfilled), not how long
    it waits: at 1 s, the 40 repositories of a partition refused three times each wait ~50 s in all. A field, not a
    constant, so that it travels with the resource to the partition pool's worker processes (which import this
    class from here).
    """

    clone_rate_limit_backoff_s: float = 0.05
