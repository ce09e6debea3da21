"""The graph on a real distributed engine: every step of a whole build executed by two Celery workers.

Nothing is mocked. The test starts a Redis server on loopback (the broker and the result
backend), a PostgreSQL server (the one Dagster instance that the run coordinators, the workers and
this process share: workers read runs and write events there, as they would from other
machines), one offline GitHub emulator shared by every step through ``STRATUM_SANDBOX_URL`` (each
step would otherwise start its own), and two ``dagster-celery`` workers with one pool process
each, configured from the block docs/SCALE_OUT.md documents. It then builds the project the way
``stratum-assets run`` orders it (stages from :mod:`stratum_assets.orchestration.build_driver`'s plan):
discovery and the manifest in one run, every scan partition as its own run (all launched at
once; the ``git_clones`` pool lets two scan at a time), then the four stages after the
partitions, each run launched with the stock ``dagster asset materialize`` command on
:mod:`stratum_assets.celery_location`.

It checks that the steps really ran on the workers (a fallback to in-process or multiprocess
execution fails it), that nothing was dropped, and that the data equals a single-machine
``stratum-assets run`` of the same universe built in another data directory (the session's clean build,
which the recovery tests compare with too: made once, in the background while the Celery build runs
when this module is the first to ask for it).

Why Postgres and not SQLite: on one machine SQLite would do (the multiprocess executor already
writes one SQLite instance from many processes), but a Celery worker opens the instance from the
reference each task carries, and SQLite's is a set of file paths on the coordinator's disk.
Postgres is what workers on other machines need, so the test runs that configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml

from stratum_assets.instance.pools import ensure_pool_limits
from stratum_assets.manifest.store import ManifestStore
from stratum_assets.orchestration.build_driver import _Plan
from stratum_assets.storage.layout import Layout, PartitionFiles
from stratum_assets.warehouse.status import read_status
from stratum_assets_tests.support.loopback import free_port
from stratum_sandbox.server import GitHubEmulator

from .conftest import BIN, documented_yaml, postgres_instance_home

# Starts Redis, Postgres and two workers, and makes a whole build on them (with the session's clean build
# alongside when this module is the first to ask for it): the fixture's time counts towards the first test,
# hence a bound above the suite's 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LOCATION = "stratum_assets.celery_location"
WORKERS = ("stratum-w1", "stratum-w2")  # node names "<name>@<host>": how the runs' events name a worker
SECTION = "Celery workers (tested)"  # of docs/SCALE_OUT.md: the workers' config file
WORKER_START_S = 120  # a worker imports Dagster and answers a ping within this
RUN_S = 180  # one run, coordinator start to exit

# Fields that differ between two builds of the same universe, whatever the engine; everything else must be equal.
RUN_DEPENDENT = {
    # The wall-clock time discovery's search was answered (discovery/candidates.py).
    "manifest": {"collected_at"},
    # A fresh uuid4 per scan (scanner/engine.py), when the repository was scanned, and how long that took.
    "scan": {"scan_id", "timestamp", "scan_duration_ms"},
}


# -- the services ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A Redis server on a free loopback port, no persistence, in a temporary folder: ``redis://127.0.0.1:PORT``."""
    server = shutil.which("redis-server")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: .ci/run installs it")
        pytest.skip("redis-server is not installed")
    import redis

    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    with open(folder / "redis.log", "w") as log:
        proc = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--daemonize",
                "no",
            ],
            cwd=folder,
            env={"PATH": "/usr/bin:/bin"},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "redis-server exited: " + (folder / "redis.log").read_text()[-2000:]
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise TimeoutError("redis-server did not answer within 30 s") from None
                time.sleep(0.1)
        client.close()
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop([proc], group=False)


@pytest.fixture(scope="module")
def sandbox(universe, tmp_path_factory):
    """One offline GitHub for every step of the Celery build (what ``stratum-assets sandbox serve`` runs).

    The default universe (seed 7, 400 repositories: the one each step would start itself, and the clean
    build's steps did) with the emulator's default clone speeds; its search budget is raised because rate
    limits are not what this test is about (each client still keeps to 30 searches a minute).
    """
    with GitHubEmulator(universe, tmp_path_factory.mktemp("sandbox-git"), budgets={"search": (10_000, 60.0)}) as em:
        yield em


def _stop(procs: list[subprocess.Popen], group: bool, grace_s: float = 30) -> None:
    """SIGTERM each of ``procs`` (with ``group``, the process group each leads: a worker and its pool), all at
    once, then SIGKILL whatever is left after ``grace_s``."""

    def signal_all(sig):
        for proc in procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, sig) if group else proc.send_signal(sig)

    def gone(proc):
        return proc.poll() is not None and (not group or not _group_alive(proc.pid))

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while not all(gone(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not all(gone(p) for p in procs):
        signal_all(signal.SIGKILL)
        for proc in procs:
            proc.wait(timeout=30)


def _process_group(pgid: int) -> set[int]:
    """Every live process of the group ``pgid`` (a worker started with start_new_session leads its own)."""
    members = set()
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getpgid(int(entry)) == pgid:
                members.add(int(entry))
        except ProcessLookupError:  # gone since listed
            pass
    return members


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _child_env(home: Path, **variables: str) -> dict[str, str]:
    """What a worker or a run coordinator needs, and nothing else of this process (no GITHUB_TOKEN, no CI vars)."""
    return {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DAGSTER_HOME": str(home),
        "STRATUM_SANDBOX": "1",
        **variables,
    }


@contextmanager
def celery_workers(home: Path, env: dict[str, str], config: Path):
    """Two ``dagster-celery worker start`` processes (the documented command), each in its own process group.

    Yields ``{name: Popen}`` as soon as they are started (:func:`wait_for_workers` waits for them to answer);
    every worker and its pool process is stopped when the block ends. One pool process each
    (``--concurrency=1``): two steps in flight at once must then be on two workers.
    """
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in WORKERS:
            with open(home / f"{name}.log", "w") as log:
                procs[name] = subprocess.Popen(
                    [
                        str(BIN / "dagster-celery"),
                        "worker",
                        "start",
                        "-A",
                        "dagster_celery.app",
                        "-y",
                        str(config),
                        "-n",
                        name,
                        "--loglevel",
                        "INFO",
                        "--",
                        "--concurrency=1",
                    ],
                    cwd=home,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        yield procs
    finally:
        _stop(list(procs.values()), group=True)


def wait_for_workers(procs: dict[str, subprocess.Popen], broker: str, home: Path) -> None:
    """Until both workers answer a ping through the broker (and no other worker does); fails if one exits."""
    from celery import Celery

    probe = Celery("stratum-probe", broker=broker)
    deadline = time.monotonic() + WORKER_START_S
    try:
        while True:
            for name, proc in procs.items():
                assert proc.poll() is None, f"worker {name} exited:\n" + _tail(home / f"{name}.log")
            answered = {host.split("@")[0] for reply in probe.control.ping(timeout=1.0) for host in reply}
            if answered == set(WORKERS):
                return
            assert answered <= set(WORKERS), f"unknown workers on this test's broker: {answered}"
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers answering after {WORKER_START_S} s: {answered}\n{_worker_logs(home)}")
            time.sleep(0.5)
    finally:
        probe.close()


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} missing)"


def _materialize(home: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """One run of the Celery code location, coordinated by the stock CLI in a child process."""
    return subprocess.Popen(
        [str(BIN / "dagster"), "asset", "materialize", "-m", LOCATION, *args],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _finish(proc: subprocess.Popen, home: Path) -> None:
    """Wait for a run's coordinator (at most RUN_S); fail with its output and the workers' logs unless it succeeded."""
    try:
        out, _ = proc.communicate(timeout=RUN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=30)
        pytest.fail(f"a run did not finish within {RUN_S} s:\n{out[-3000:]}\n{_worker_logs(home)}")
    assert proc.returncode == 0, f"{out[-4000:]}\n{_worker_logs(home)}"


def _worker_logs(home: Path) -> str:
    return "\n".join(f"--- {name}:\n{_tail(home / f'{name}.log')}" for name in WORKERS)


# -- the Celery build --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def celery_home(clean_build_started, postgres, tmp_path_factory):
    """The Celery build's DAGSTER_HOME (Postgres storage) and the variables its dagster.yaml reads, set in this
    process too (it opens the same instance, and so do the pool-limit commands).

    The session's clean build (the single-machine build the data is compared with) is started first, if no
    module did yet: it runs in the background while the Celery build mostly waits on its workers and pools."""
    home, variables = postgres_instance_home(tmp_path_factory.mktemp("celery"), postgres)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        patch.setenv("DAGSTER_HOME", str(home))
        patch.chdir(home)  # the instance's relative paths (data/dagster/...) resolve here, as in every child
        yield home, variables


@pytest.fixture(scope="module")
def celery_build(celery_home, redis_url, sandbox):
    """The same build with every step on the Celery workers; yields what the tests look at, instance open."""
    home, variables = celery_home
    env = _child_env(
        home,
        **variables,
        CELERY_BROKER_URL=f"{redis_url}/0",
        CELERY_BACKEND_URL=f"{redis_url}/1",
        STRATUM_SANDBOX_URL=sandbox.url,
    )
    config = home / "celery.yaml"
    config.write_text(yaml.safe_dump(documented_yaml("execution", section=SECTION)))
    from stratum_assets.celery_location import defs

    plan = _Plan.of(defs)  # the stages and partitions, in the order `stratum-assets run` builds them
    with ExitStack() as stack:
        workers = stack.enter_context(celery_workers(home, env, config))
        with dg.DagsterInstance.from_config(str(home)) as instance:  # as `stratum-assets run` does
            assert ensure_pool_limits(instance, home) == {"github_api": 1, "git_clones": 2}
        coordinators = []

        def run(*selections: list[dg.AssetKey], partition: str | None = None) -> subprocess.Popen:
            args = ["--select", ",".join(k.to_user_string() for keys in selections for k in keys)]
            proc = _materialize(home, env, *args, *(["--partition", partition] if partition else []))
            coordinators.append(proc.pid)
            return proc

        # The first coordinator loads Dagster while the workers do: its steps wait on the broker until one answers.
        first = run(plan.before)
        stack.callback(first.kill)  # only if the workers never answer: it would wait on the broker
        wait_for_workers(workers, redis_url, home)
        _finish(first, home)
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(home)))
        partitions = plan.partition_keys(instance)
        for proc in [run(plan.partitioned, partition=p) for p in partitions]:  # all at once, as a backfill would
            _finish(proc, home)
        _finish(run(plan.after), home)
        # Each worker's processes (the CLI, Celery's main process, its pool process): every step's pid must be one.
        pids = {name: _process_group(proc.pid) for name, proc in workers.items()}
        yield {
            "data": home / "data",
            "instance": instance,
            "partitions": partitions,
            "pids": pids,
            "coordinators": set(coordinators),
        }


# -- what the Celery build did -----------------------------------------------------------------------------------


def test_every_step_of_every_run_ran_on_a_celery_worker_and_both_workers_took_steps(celery_build):
    """Two independent witnesses per step: the engine event the Celery task itself writes (naming the worker's
    node) and the STEP_START event's pid, which must be a process of that same worker, never a coordinator's.
    A build that fell back to in-process or multiprocess execution has neither; a worker that never got a
    task (wrong queue, wrong broker) leaves the other with everything."""
    instance = celery_build["instance"]
    runs = [r.dagster_run for r in instance.get_run_records()]
    assert len(runs) == len(celery_build["partitions"]) + 2, "one run per stage and one per partition"
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    by_pid = {pid: name for name, pids in celery_build["pids"].items() for pid in pids}
    steps_by_worker: dict[str, list[str]] = {name: [] for name in WORKERS}
    for run in runs:
        started = {
            e.step_key: e.dagster_event.pid
            for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        }
        handed = {}  # step -> the worker's node name, from the engine event the Celery task itself writes
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            if (e.dagster_event.message or "").endswith("in celery worker"):
                handed[e.step_key] = e.dagster_event.engine_event_data.metadata["Celery worker"].value
        assert started and set(started) == set(handed), f"run {run.run_id}: steps not handed to a worker"
        for step, pid in started.items():
            worker = by_pid.get(pid)
            assert worker is not None, (
                f"{step} ran in pid {pid}: no worker's process (the coordinators were {celery_build['coordinators']})"
            )
            assert handed[step].startswith(worker + "@"), f"{step}: its event names {handed[step]}, its pid {worker}"
            partition = run.tags.get("dagster/partition")
            steps_by_worker[worker].append(f"{step}[{partition}]" if partition else step)
    assert all(steps_by_worker.values()), f"both workers took steps: {steps_by_worker}"
    scans = {name: [s for s in steps if s.startswith("scan_partition")] for name, steps in steps_by_worker.items()}
    assert all(scans.values()), f"both workers scanned partitions: {scans}"


def test_nothing_was_dropped(celery_build):
    """Every manifest row has exactly one stored ping or one quarantine row: the project's blocking
    ``zero_silent_drops`` check passed in the run on the workers, and the files say so too."""
    check = celery_build["instance"].event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("pipeline_run_log"), "zero_silent_drops")]
    )
    evaluation = next(iter(check.values())).event.dagster_event.event_specific_data
    assert evaluation.passed, evaluation.metadata
    assert evaluation.metadata["pending"].value == 0 and evaluation.metadata["duplicates"].value == 0
    _assert_every_repo_accounted_for_once(celery_build["data"])


def _assert_every_repo_accounted_for_once(data: Path) -> None:
    """``stratum-assets status``'s reading (warehouse/status.py), and the same count made here from the Parquet."""
    status = read_status(Layout(data))
    assert status.total > 0 and status.pending == 0 and status.done == status.total, status
    assert status.partitions_done == status.partitions_total and not status.corrupt, status
    tables = dataset(data)
    manifest = [r["repo_hash"] for r in tables["manifest"]]
    outcomes = [
        r["repo_hash"] for rows in (*tables["scan_results"].values(), *tables["quarantine"].values()) for r in rows
    ]
    assert len(outcomes) == len(set(outcomes)) and sorted(outcomes) == sorted(manifest)


def test_the_data_equals_a_single_machine_build_of_the_same_universe(celery_build, clean_build, sandbox):
    """Where a step runs must not change what it writes: manifest (rows and meta), every partition's pings and
    quarantine rows, and the train/test assignment equal those of ``stratum-assets run`` (the session's clean
    build: SQLite instance, its own worker processes, each step its own emulator of the same default universe),
    but for the :data:`RUN_DEPENDENT` fields and the address of the emulator in the manifest's ``html_url``."""
    one_machine = clean_build[0] / "data"
    _assert_every_repo_accounted_for_once(one_machine)
    on_celery, on_one_machine = dataset(celery_build["data"]), dataset(one_machine)
    assert on_celery.pop("github") == {sandbox.url}, "every html_url points at the emulator the workers used"
    (address,) = on_one_machine.pop("github")  # one emulator of its own, on another port
    assert address.startswith("http://127.0.0.1:") and address != sandbox.url, address
    assert sorted(on_celery["scan_results"]) == celery_build["partitions"]
    assert on_celery["split"], "the split was made"
    for table in on_celery:
        assert on_celery[table] == on_one_machine[table], f"{table} differs between the builds"


def dataset(data: Path) -> dict:
    """The active version's manifest, its meta, each partition's pings and quarantine rows, and the split,
    in a stable order and without the :data:`RUN_DEPENDENT` fields; the manifest's ``html_url`` without the
    GitHub's address (scheme, host and port), which is kept apart under ``github``: two offline builds each
    ask an emulator of their own, on a port of its own."""
    layout = Layout(data)
    version = ManifestStore.of(layout).active()
    manifest = layout.manifest(version)
    chunks = {p.name: PartitionFiles(p) for p in layout.partition_folders(version)}
    manifest_rows = _rows(manifest.table, RUN_DEPENDENT["manifest"])
    github = {urlunsplit((*urlsplit(r["html_url"])[:2], "", "", "")) for r in manifest_rows}
    return {
        "github": github,
        "manifest": [{**r, "html_url": urlsplit(r["html_url"]).path} for r in manifest_rows],
        "manifest_meta": json.loads(manifest.meta.read_text()),
        "scan_results": {c: _rows(f.results, RUN_DEPENDENT["scan"]) for c, f in chunks.items()},
        # A quarantined ping is kept whole as JSON: the same scan fields are left out of it.
        "quarantine": {
            c: [
                {**r, "ping_json": _without(json.loads(r["ping_json"]), RUN_DEPENDENT["scan"])}
                for r in _rows(f.quarantine, set())
            ]
            for c, f in chunks.items()
        },
        "split": _rows(layout.split_assignments, set()),
    }


def _rows(path: Path, ignored: set[str]) -> list[dict]:
    table = pq.read_table(path)
    missing = ignored - set(table.column_names)
    assert not missing, f"{path.name} has no {missing}: update RUN_DEPENDENT"
    return sorted((_without(r, ignored) for r in table.to_pylist()), key=lambda r: r["repo_hash"])


def _without(row: dict, ignored: set[str]) -> dict:
    return {k: v for k, v in row.items() if k not in ignored}
