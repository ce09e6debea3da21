"""A kill -9 in the scan stage loses nothing and changes nothing: backfill finishes the build exactly."""

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.audit import label_audit_sample, train_test_split
from stratum_assets.instance.dead_runs import UNFINISHED
from stratum_assets.resources import DataResource

from .conftest import BIN, ROOT, copy_of_clean_build


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_split_and_the_label_sample_refuse_to_freeze_while_repositories_are_pending(tmp_path, clean_build):
    """A partition's directory is gone (never scanned): its repositories are pending."""
    home = tmp_path / "home"
    copy_of_clean_build(clean_build, home)
    data = home / "data"
    first_chunk = sorted((data / "scans" / "v1").glob("v1-c*"))[0]
    pending = (
        pq.read_table(first_chunk / "scan_results.parquet").num_rows
        + pq.read_table(first_chunk / "quarantine.parquet").num_rows
    )
    shutil.rmtree(first_chunk)
    before = _digest(data / "split" / "assignments.parquet")
    resources = {"data": DataResource(root=str(data)), "duckdb": DuckDBResource(database=str(data / "stratum.duckdb"))}
    for asset, what in ((train_test_split, "the train/test split"), (label_audit_sample, "the label-audit sample")):
        result = dg.materialize([asset], resources=resources, raise_on_error=False)
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        message = str(failure.event_specific_data.error)
        assert f"{pending} repositories of manifest v1 are still pending: {what} is frozen only once" in message
    assert _digest(data / "split" / "assignments.parquet") == before, "nothing was re-frozen"


def _start(home, env, command: str = "run") -> subprocess.Popen:
    """``stratum-assets COMMAND`` in ``home``, its own process group, with the project's dagster.yaml.

    Its output goes to ``home/COMMAND.stdout`` and ``home/COMMAND.stderr`` (a pipe nobody reads would block it).
    """
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    with open(home / f"{command}.stdout", "w") as out, open(home / f"{command}.stderr", "w") as err:
        return subprocess.Popen(
            [str(BIN / "stratum-assets"), command], cwd=home, env=env, start_new_session=True, stdout=out, stderr=err
        )


def _wait_until_scanning(home, build: subprocess.Popen) -> None:
    """Until ``build`` has written at least one partition, at least one partition is not written yet, and a
    partition's clones are in progress: the scan stage, partitions left. A partition counts as written by
    ``build`` when its stats.json is newer than this call (a backfill rewrites partitions an earlier build left)."""
    scans, work, chunks = home / "data" / "scans" / "v1", home / "data" / "work", None
    since = time.time_ns()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and build.poll() is None:
        manifest = home / "data" / "manifest" / "v1" / "manifest.parquet"
        if chunks is None and manifest.exists():
            chunks = set(pq.read_table(manifest, columns=["chunk_id"]).column(0).to_pylist())
        stats = {p.parent.name: p.stat().st_mtime_ns for p in scans.glob("v1-c*/stats.json")} if scans.exists() else {}
        written = [chunk for chunk, mtime in stats.items() if mtime > since]
        if chunks and written and chunks - set(stats) and work.exists() and any(work.iterdir()):
            return
        time.sleep(0.05)
    raise AssertionError("the build never reached the scan stage with partitions left")


def _failed_as_gone(printed: str) -> set[str]:
    """The runs (first 8 characters of their ids) that a build or backfill found dead and failed."""
    return set(re.findall(r"^Run (\w{8})\b.*is gone: killed or crashed", printed, re.MULTILINE))


@pytest.mark.slow
@pytest.mark.timeout(600)  # one build stopped, its backfill killed, a last backfill (and maybe the clean build)
def test_sigterm_stops_a_build_cleanly_a_kill_9_of_its_backfill_loses_nothing_and_backfill_gives_the_clean_build(
    tmp_path, clean_build, monkeypatch
):
    """Two interruptions of one build, each in the scan stage with partitions left, as a user meets them:

    1. ``kill PID`` (what a user, systemd or a CI runner sends) to ``stratum-assets run``: a stop, not a crash.
    2. ``kill -9`` of the whole process group of the ``stratum-assets backfill`` the stop says to run: its
       workers and git die with it, nothing records the failure.

    The last backfill finds only the killed runs dead and gives the clean build's data exactly (the clean build
    ran one partition at a time, these two at a time).
    """
    clean, env = clean_build
    printed = (clean / "run.out").read_text()
    assert "1 at a time" in printed and "  PASS  zero_silent_drops" in printed
    assert re.search(r"^  WARN  label_agreement  .*status=awaiting review", printed, re.MULTILINE), (
        "awaiting review warns, it is no error"
    )

    home = tmp_path / "home"
    home.mkdir()
    env = {**env, "DAGSTER_HOME": str(home)}
    build = _start(home, env)
    _wait_until_scanning(home, build)
    os.kill(build.pid, signal.SIGTERM)  # the command alone: it passes the stop on to its workers
    build.wait(timeout=180)
    out, err = (home / "run.stdout").read_text(), (home / "run.stderr").read_text()
    assert build.returncode == 143, out[-3000:] + err[-3000:]
    assert err.splitlines()[-1] == (
        "stratum-assets run: stopped by SIGTERM; the interrupted runs are marked "
        "failed. Resume with `stratum-assets backfill`."
    ), err[-3000:]
    assert "Traceback" not in err and "retry" not in out, out[-3000:] + err[-3000:]
    assert "Stage 3/3" not in out, "nothing started after the stop"
    monkeypatch.chdir(home)  # dagster.yaml's storage paths are relative to the project home
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert runs and all(r.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE) for r in runs)
        assert all(r.tags.get("dagster/retry_number", "0") == "0" for r in runs), "no retry after the stop"
        interrupted = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        assert interrupted and all(r.tags.get("dagster/partition") for r in interrupted), [r.tags for r in runs]
    assert not any((home / "data" / "work").iterdir()), "the interrupted partitions' clones are gone"

    crashed = _start(home, env, "backfill")
    _wait_until_scanning(home, crashed)
    os.killpg(crashed.pid, signal.SIGKILL)  # the whole backfill, its scanner workers and git with it
    assert crashed.wait(timeout=60) == -signal.SIGKILL, "the backfill was killed in the scan stage"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        killed = {r.run_id[:8] for r in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED))}
    assert killed, "the killed backfill's runs were running: nobody recorded their end"

    backfill = subprocess.run(
        [str(BIN / "stratum-assets"), "backfill"], cwd=home, env=env, capture_output=True, text=True, timeout=900
    )
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert _failed_as_gone(backfill.stdout) == killed, (
        "the killed runs were found and failed; the stopped build's runs were not: the stop recorded them itself"
    )
    _assert_same_dataset(home, clean)


@pytest.mark.slow
def test_ctrl_c_during_discovery_stops_with_130_and_says_to_run_again(tmp_path, monkeypatch):
    """SIGINT to the whole process group, as a terminal's Ctrl-C, while a stage runs inside the command itself."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "STRATUM_SANDBOX": "1"}
    env.pop("GITHUB_TOKEN", None)
    build = _start(tmp_path, env)
    monkeypatch.chdir(tmp_path)  # dagster.yaml's storage paths are relative to the project home
    runs_db, deadline = tmp_path / "data" / "dagster" / "storage" / "history" / "runs.db", time.monotonic() + 300
    while build.poll() is None and time.monotonic() < deadline and not _started_runs(runs_db):
        time.sleep(0.05)
    os.killpg(build.pid, signal.SIGINT)  # stage 1's run executes: Dagster's own handlers hold the signal
    build.wait(timeout=120)
    err = (tmp_path / "run.stderr").read_text()
    assert build.returncode == 130, err[-3000:]
    assert err.splitlines()[-1] == (
        "stratum-assets run: stopped by SIGINT; the interrupted runs are marked failed. "
        "Resume with `stratum-assets run`."
    ), err[-3000:]
    # Dagster's compute-log helper (watch_orphans.py) takes the terminal's SIGINT too and prints its own traceback.
    tracebacks = err.count("Traceback (most recent call last)")
    assert tracebacks == err.count("in <module>\n    watch(sys.argv[1:])"), err[-3000:]
    assert not (tmp_path / "data" / "manifest").exists() or not any((tmp_path / "data" / "manifest").iterdir())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.FAILURE], "stage 1's run, failed"


def _started_runs(runs_db) -> int:
    """Runs in status STARTED, read from the SQLite run storage itself: a Dagster instance opened while the build
    creates that storage races it (both stamp alembic's version table: two heads, and the build fails)."""
    if not runs_db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{runs_db}?mode=ro", uri=True, timeout=1)) as conn:
            return conn.execute("SELECT count(*) FROM runs WHERE status = 'STARTED'").fetchone()[0]
    except sqlite3.OperationalError:  # the build has not created the table yet, or holds a lock
        return 0


def _assert_same_dataset(crashed, clean) -> None:
    """Every repository accounted for once, and the split byte-identical to the clean build's."""
    with duckdb.connect(str(crashed / "data" / "stratum.duckdb"), read_only=True) as conn:
        manifest_rows = conn.execute("SELECT count(*) FROM repo_manifest").fetchone()[0]
        assert (
            conn.execute("SELECT count(*), count(DISTINCT repo_hash) FROM scan_results").fetchone()[0]
            + conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
            == manifest_rows
        )
        assert conn.execute("SELECT count(*) FROM scan_dataset WHERE outcome = 'pending'").fetchone()[0] == 0
    assert _digest(crashed / "data" / "split" / "assignments.parquet") == _digest(
        clean / "data" / "split" / "assignments.parquet"
    ), "the frozen split is byte-identical"
    first = json.loads((clean / "data" / "split" / "train.jsonl").read_text().splitlines()[0])["metadata"]
    assert all(len(first[k]) == 10 and first[k][4] == "-" for k in ("last_commit_date", "repo_created_date")), first
    for name in ("train.jsonl", "test.jsonl"):  # the same rows, apart from when each build ran
        assert _without_clock(crashed / "data" / "split" / name) == _without_clock(clean / "data" / "split" / name)


# What differs between any two builds of the same data: when discovery and each scan ran, and how long.
CLOCK_FIELDS = {"collected_at", "scan_id", "timestamp", "scan_duration_ms"}


def _without_clock(path) -> list[dict]:
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in CLOCK_FIELDS}
        return value

    rows = [strip(json.loads(line)) for line in path.read_text().splitlines()]
    assert rows, path
    return rows


@pytest.mark.slow
def test_a_truncated_partition_is_named_by_status_and_rebuilt_by_backfill(tmp_path, clean_build):
    home = tmp_path / "home"
    env = copy_of_clean_build(clean_build, home)
    data = home / "data"
    victim = sorted((data / "scans" / "v1").glob("v1-c*"))[2]
    expected_rows = pq.read_table(victim / "scan_results.parquet").num_rows
    with open(victim / "scan_results.parquet", "r+b") as fh:
        fh.truncate(5_000)  # a disk that filled up, a copy cut short

    status = subprocess.run(
        [str(BIN / "stratum-assets"), "status"], cwd=home, env=env, capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr[-2000:]
    assert f"corrupt partition {victim.name}: scan_results.parquet unreadable" in status.stdout
    assert f"no build running: {expected_rows:,}" in status.stdout and f"partition {victim.name} " in status.stdout
    assert "ETA" not in status.stdout

    backfill = subprocess.run(
        [str(BIN / "stratum-assets"), "backfill"], cwd=home, env=env, capture_output=True, text=True, timeout=900
    )
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert f"Partition {victim.name} is corrupt" in backfill.stdout
    assert pq.read_table(victim / "scan_results.parquet").num_rows == expected_rows
    with duckdb.connect(str(data / "stratum.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM scan_dataset WHERE outcome = 'pending'").fetchone()[0] == 0


def test_work_dirs_of_finished_or_dead_runs_are_swept_and_a_running_runs_is_kept(tmp_path):
    from stratum_assets.instance.dead_runs import sweep_work_dirs

    with dg.instance_for_test() as instance:
        running = instance.add_run(
            dg.DagsterRun(job_name="__ASSET_JOB", run_id="a" * 36, status=dg.DagsterRunStatus.STARTED)
        )
        work = tmp_path / "work"
        for name in (f"v1-c0000.{running.run_id}", f"v1-c0000.{'b' * 36}", f"v1-c0001.{'c' * 36}"):
            (work / name / "repo-x").mkdir(parents=True)
        assert sweep_work_dirs(instance, work) == [f"v1-c0000.{'b' * 36}", f"v1-c0001.{'c' * 36}"]
        assert [p.name for p in work.iterdir()] == [f"v1-c0000.{running.run_id}"]


def test_a_reader_never_sees_a_partition_missing_while_it_is_replaced(tmp_path):
    import threading

    from stratum_assets.scanning.storage import pings_table, quarantine_table, replace_partition

    folder = tmp_path / "scans" / "v1" / "v1-c0000"
    replace_partition(folder, pings_table([]), quarantine_table([]), {"n": 0})
    done, missing, seen = threading.Event(), [], [0]

    def read():
        while not done.is_set():
            seen[0] += 1
            if not (folder / "stats.json").exists():
                missing.append(seen[0])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 120):
            replace_partition(folder, pings_table([]), quarantine_table([]), {"n": n})
    finally:
        done.set()
        reader.join()
    assert seen[0] > 1000 and missing == []
    assert json.loads((folder / "stats.json").read_text())["n"] == 119
    assert sorted(p.name for p in folder.parent.iterdir()) == ["v1-c0000"], "no staging or old copy left"


@pytest.mark.slow
def test_a_run_launched_elsewhere_and_killed_is_reaped_by_the_sensor_and_backfilled(tmp_path, monkeypatch, clean_build):
    """``dg launch`` (the README's command for one chunk, as a user would) on one partition, killed -9 mid-scan."""
    from stratum_assets.assets.automation import reap_dead_runs

    home = tmp_path / "home"
    env = copy_of_clean_build(clean_build, home)
    monkeypatch.chdir(home)  # dagster.yaml's storage paths are relative to the project home
    chunk = sorted(p.name for p in (home / "data" / "scans" / "v1").glob("v1-c*"))[1]
    materialize = subprocess.Popen(
        [
            str(BIN / "dg"),
            "launch",
            "-m",
            "stratum_assets.definitions",
            "--assets",
            "scan_results,quarantine",
            "--partition",
            chunk,
        ],
        cwd=home,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        deadline, run = time.monotonic() + 300, None
        while time.monotonic() < deadline and run is None and materialize.poll() is None:
            started = instance.get_runs(
                filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={"dagster/partition": chunk})
            )
            run = next((r for r in started if "stratum/pid" in r.tags), None)  # the scan step claimed it
            time.sleep(0.05)
        assert run is not None, "the scan step tagged its run with its process"
        os.killpg(materialize.pid, signal.SIGKILL)
        materialize.wait(timeout=60)
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, "nobody said it died"

        outcome = reap_dead_runs(dg.build_sensor_context(instance=instance))
        assert outcome.skip_message == "1 dead runs failed"
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        status = instance.get_status_by_partition(
            dg.AssetKey("scan_results"), [chunk], dg.DynamicPartitionsDefinition(name="manifest_chunks")
        )
        assert status == {chunk: dg.AssetPartitionStatus.FAILED}

    backfill = subprocess.run(
        [str(BIN / "stratum-assets"), "backfill"], cwd=home, env=env, capture_output=True, text=True, timeout=900
    )
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert f"  partition {chunk} (1/1): ok" in backfill.stdout


def _partition_rows(folder) -> dict[str, list[dict]]:
    """A partition's stored and quarantined rows, without the clock fields (when the scan ran)."""

    def strip(row):
        return {k: v for k, v in row.items() if k not in CLOCK_FIELDS}

    return {
        name: sorted((strip(r) for r in pq.read_table(folder / name).to_pylist()), key=lambda r: r["repo_hash"])
        for name in ("scan_results.parquet", "quarantine.parquet")
    }


@pytest.mark.slow
def test_a_partition_damaged_inside_is_named_refused_by_publish_and_rebuilt_by_backfill(tmp_path, clean_build):
    """2 KiB overwritten in the middle of a partition's Parquet, footer intact: its row counts still agree."""
    home = tmp_path / "home"
    env = copy_of_clean_build(clean_build, home)
    data = home / "data"
    victim = sorted((data / "scans" / "v1").glob("v1-c*"))[1]
    clean_rows = _partition_rows(victim)
    clean_split = {name: _digest(data / "split" / name) for name in ("assignments.parquet",)}
    clean_exports = {name: _without_clock(data / "split" / name) for name in ("train.jsonl", "test.jsonl")}
    damaged = victim / "scan_results.parquet"
    raw = damaged.read_bytes()
    pages_end = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")  # "PAR1", pages, footer, its length, "PAR1"
    with open(damaged, "r+b") as fh:  # a bad sector, a bit-flipping copy: the footer still reads
        fh.seek(pages_end // 2 - 1024)
        fh.write(bytes(range(256)) * 8)
    assert pq.read_metadata(damaged).num_rows == len(clean_rows["scan_results.parquet"])

    def cli(*args):
        return subprocess.run(
            [str(BIN / "stratum-assets"), *args], cwd=home, env=env, capture_output=True, text=True, timeout=900
        )

    status = cli("status")
    assert status.returncode == 0, status.stderr[-2000:]
    assert (
        f"corrupt partition {victim.name}: scan_results.parquet does not match the checksum in its stats.json"
        in status.stdout
    ), status.stdout
    assert "partitions: 4/5 written" in status.stdout and f"partition {victim.name} " in status.stdout

    published = cli("publish", str(tmp_path / "bucket"))
    assert published.returncode == 1 and "Traceback" not in published.stderr, published.stderr[-3000:]
    assert published.stderr.strip() == (
        f"stratum-assets publish: partition {victim.name} is damaged (scan_results.parquet does not match the "
        "checksum in its stats.json): run `stratum-assets backfill` to rebuild it, then publish"
    ), published.stderr
    assert not (tmp_path / "bucket").exists(), "nothing was copied"

    backfill = cli("backfill")
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert f"Partition {victim.name} is corrupt (scan_results.parquet does not match" in backfill.stdout
    assert f"  partition {victim.name} (1/1): ok" in backfill.stdout, "only the damaged partition is re-scanned"
    assert _partition_rows(victim) == clean_rows, "the rebuilt partition holds the clean build's rows"
    assert {name: _digest(data / "split" / name) for name in clean_split} == clean_split
    assert {name: _without_clock(data / "split" / name) for name in clean_exports} == clean_exports
    assert "corrupt" not in cli("status").stdout
    published = cli("publish", str(tmp_path / "bucket"))
    assert published.returncode == 0, published.stderr[-3000:]


def test_a_partition_records_its_files_checksums_and_damage_inside_is_named(tmp_path):
    from stratum_assets.scanning.storage import pings_table, quarantine_table, replace_partition
    from stratum_assets.storage.verify import partition_problem

    errors = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(50)]  # incompressible: stored as written
    rows = [
        {
            "repo_hash": f"{i:016x}",
            "repo_full_name": f"o/r{i}",
            "chunk_id": "v1-c0000",
            "scan_status": "failed",
            "failure_reason": None,
            "errors": [errors[i]],
            "ping_json": "{}",
        }
        for i in range(50)
    ]
    folder = replace_partition(
        tmp_path / "v1-c0000", pings_table([]), quarantine_table(rows), {"stored": 0, "quarantined": 50}
    )
    recorded = json.loads((folder / "stats.json").read_text())["sha256"]
    assert recorded == {
        name: _digest(folder / name)
        for name in ("scan_results.parquet", "quarantine.parquet", "code_fingerprints.parquet")
    }
    assert partition_problem(folder) is None

    damaged = folder / "quarantine.parquet"
    with open(damaged, "r+b") as fh:  # one row's value overwritten in its data page: headers and footer intact
        fh.seek(damaged.read_bytes().index(errors[25].encode()))
        fh.write(b"0" * 64)
    assert pq.read_metadata(damaged).num_rows == 50, "the footer still reads: only the checksum can tell"
    assert partition_problem(folder) == "quarantine.parquet does not match the checksum in its stats.json"

    stats = json.loads((folder / "stats.json").read_text())
    del stats["sha256"]  # a partition written before checksums: judged by its footers and row counts, as before
    (folder / "stats.json").write_text(json.dumps(stats))
    assert partition_problem(folder) is None
