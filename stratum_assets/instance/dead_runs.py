"""Runs whose process died are failed runs, so every "what is left to do" question counts them.

A build's runs execute inside the ``stratum-assets`` process. Killed (``kill -9``, a lost machine),
it cannot report anything: its runs stay STARTED and their partitions "in progress" forever, and
neither ``backfill`` nor the UI's "Failed and missing" would pick them up. Dagster's run monitoring
only sees the health of workers its run launcher can inspect, which the default launcher cannot.

So each run a build launches carries tags naming its process (host, pid and the pid's start time,
which tells a reused pid apart) — a run launched elsewhere gets them from its scan step — and
:func:`fail_dead_runs` marks every unfinished run whose process is gone as FAILED, with a message
that says so, and frees the pool slots it held. Dagster then shows its partitions as failed, and a
backfill re-runs them. The builds call it when they start; under the daemon, the ``reap_dead_runs``
sensor calls it every minute.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import dagster as dg

HOST, PID, PID_START = "stratum/host", "stratum/pid", "stratum/pid_start"
UNFINISHED = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]


def process_tags() -> dict[str, str]:
    """The tags that let a later build tell whether this process is still running the run."""
    pid = os.getpid()
    return {HOST: socket.gethostname(), PID: str(pid), PID_START: _start_time(pid) or ""}


def claim_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Tag a run with the process executing it, unless whoever launched it already did.

    Runs the UI, the daemon or a backfill launches do not carry the tags; the scan step adds
    them from inside the run's process, so :func:`fail_dead_runs` can judge those runs too.
    """
    if HOST not in run.tags:
        instance.add_run_tags(run.run_id, process_tags())


def fail_dead_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Mark unfinished runs of this host whose process is gone as failed; returns their run ids."""
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        if run.tags.get(HOST) != socket.gethostname() or not run.tags.get(PID, "").isdigit():
            continue  # launched elsewhere (UI, daemon, another machine): not ours to judge
        if _alive(int(run.tags[PID]), run.tags.get(PID_START, "")):
            continue
        message = (
            f"the process that ran it (pid {run.tags[PID]} on {run.tags[HOST]}) is gone: killed or "
            "crashed; its partitions count as failed and a backfill re-runs them"
        )
        instance.report_run_failed(run, message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)  # its pool slots (git_clones) too
        partition = run.tags.get("dagster/partition")
        log(f"Run {run.run_id[:8]}{f' (partition {partition})' if partition else ''}: {message}")
        failed.append(run.run_id)
    return failed


def sweep_work_dirs(instance: dg.DagsterInstance, work: Path) -> list[str]:
    """Remove the work directories (``<chunk>.<run_id>``) of runs that are no longer running."""
    if not work.exists():
        return []
    running = {r.run_id for r in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED))}
    swept = []
    for folder in sorted(work.iterdir()):
        run_id = folder.name.rpartition(".")[2]
        if folder.is_dir() and run_id not in running:
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(folder.name)
    return swept


def _alive(pid: int, started: str) -> bool:
    if pid == os.getpid():
        return True
    now = _start_time(pid)
    if now is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not started  # no /proc to compare start times: trust the pid only when nothing was recorded
    return not started or now == started


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which a reused pid does not share.

    None for a zombie (dead, waiting to be reaped: an orphan whose reaper never comes, as in some
    containers) or when there is no such process.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return None if fields[0] in (b"Z", b"X") else fields[19].decode()  # state; field 22 of stat
    except (OSError, IndexError):
        return None
