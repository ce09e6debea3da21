"""Scan partitions several at a time, each attempt a Dagster run, failed attempts retried.

``stratum-assets run`` and ``backfill`` hand the chunk partitions to a pool of worker
processes (``spawn``: a fresh interpreter each, nothing inherited from the caller's threads).
Every attempt is an ordinary run in the instance, executed in its worker and tagged with that
worker's pid (see :mod:`dead_runs`), so the UI lists every run, a killed worker's run is found
dead, and the instance's pools (``git_clones``) still limit the scan steps across runs.

Retries follow the instance's ``run_retries`` settings (dagster.yaml: enabled, ``max_retries``)
and Dagster's own retry tags: a failed partition run is re-run as a new run tagged
``dagster/parent_run_id``, ``dagster/root_run_id`` and ``dagster/retry_number``, which the UI
shows as a retry of the first. The runs carry ``dagster/max_retries=0`` so that a daemon
running at the same time does not retry them a second time.

Workers build the job from the project's assets (:data:`stratum_assets.definitions.ASSETS`)
with the caller's resources, which travel as their class and field values (a resource object
itself does not survive pickling).

Each worker is a slot of its own (a one-process pool) and is replaced after :data:`RECYCLE_AFTER`
partition runs, so no worker's memory grows with the build: a long-lived process running one
partition run after another keeps a few MiB of each (the 50k rehearsal saw ~6 MiB per partition,
500 MiB → 650 MiB over 20). A worker that dies takes only its own attempt with it; the other
slot's run goes on. (Not ``ProcessPoolExecutor(max_tasks_per_child=...)``: on Python 3.11 it can
stop replacing workers that reached their limit, CPython gh-115634.)

A stop (SIGINT/SIGTERM, :mod:`stopping`) starts no new attempt and retries none: the workers get
SIGTERM, so Dagster fails the runs they were executing (a run that was past its last step finishes),
each running partition is settled as it ends, and a worker still busy after :data:`STOP_GRACE_S` is
killed and its run failed as dead. Idle workers ignore both signals (a Ctrl-C reaches the whole
process group); Dagster installs its own handlers while a run executes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import dagster as dg

from ..instance.dead_runs import fail_dead_runs, process_tags
from . import stopping

PARENT_RUN, ROOT_RUN, RETRY_NUMBER, MAX_RETRIES = (
    "dagster/parent_run_id",
    "dagster/root_run_id",
    "dagster/retry_number",
    "dagster/max_retries",
)

# The terminal shows the steps' own messages (progress, gates, errors), not Dagster's DEBUG engine events;
# the full event log is still recorded in the instance and shown in the UI.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}

# Partition runs per worker process before it is replaced by a fresh one (a spawn and the imports: ~3 s).
RECYCLE_AFTER = 20

# How long a stop waits for the interrupted runs to record their failure before killing their workers.
STOP_GRACE_S = 60.0


@dataclass(frozen=True)
class Attempt:
    """One partition run: which partition, which try, and what came of it."""

    partition: str
    retry_number: int = 0
    root_run_id: str | None = None
    parent_run_id: str | None = None

    def tags(self) -> dict[str, str]:
        tags = {MAX_RETRIES: "0", RETRY_NUMBER: str(self.retry_number)}
        if self.parent_run_id:
            tags |= {PARENT_RUN: self.parent_run_id, ROOT_RUN: self.root_run_id or self.parent_run_id}
        return tags

    def retry(self, run_id: str | None) -> Attempt:
        root = self.root_run_id or run_id
        return Attempt(self.partition, self.retry_number + 1, root, run_id or self.parent_run_id)


@dataclass(frozen=True)
class Outcome:
    run_id: str | None  # None: the attempt's worker died before its run started
    success: bool
    failed_checks: tuple[str, ...] = ()
    environment: str | None = None  # why the run failed, when the machine or the connection failed it


# Partition attempts in a row that fail because of the environment (the scan step's Failure carries
# ``environment_failures``) before a build stops launching partitions: a GitHub that is gone or a full disk
# would fail every remaining partition the same way.
ENVIRONMENT_BREAKER = 3


class EnvironmentStopped(Exception):
    """The build stopped launching partitions: its environment failed them one after another."""


def default_parallelism(instance: dg.DagsterInstance) -> int:
    """As many partition runs as the instance's run queue allows, and no more than the machine's cores."""
    queue = instance.get_concurrency_config().run_queue_config
    allowed = queue.max_concurrent_runs if queue and queue.max_concurrent_runs > 0 else os.cpu_count() or 1
    return max(1, min(allowed, os.cpu_count() or 1))


def max_retries(instance: dg.DagsterInstance) -> int:
    """Retries per partition: dagster.yaml's ``run_retries.max_retries`` when run retries are enabled."""
    return instance.run_retries_max_retries if instance.run_retries_enabled else 0


def run_partitions(
    resources: dict,
    selection: list[dg.AssetKey],
    partitions: list[str],
    instance: dg.DagsterInstance,
    parallel: int,
    retries: int,
    on_done: Callable[[str, bool, list[str]], None],
    log: Callable[[str], None] = print,
) -> list[str]:
    """Run every partition to success or to its last retry; returns the run ids of every attempt.

    ``on_done(partition, ok, failed_check_names)`` is called once per partition, in the caller's
    process and thread, when its last attempt has finished.
    """
    queue = deque(Attempt(p) for p in partitions)
    runs: list[str] = []
    environment_failures: list[str] = []  # the latest attempts in a row that the environment failed

    def settle(attempt: Attempt, outcome: Outcome) -> None:
        runs.extend([outcome.run_id] if outcome.run_id else [])
        stopped = len(environment_failures) >= ENVIRONMENT_BREAKER
        if not stopped:
            environment_failures[:] = [*environment_failures, outcome.environment] if outcome.environment else []
            if len(environment_failures) >= ENVIRONMENT_BREAKER:
                log(
                    f"  partition {attempt.partition}: FAILED ({outcome.environment}); the environment failed "
                    f"{len(environment_failures)} partition runs in a row: no more are launched or retried"
                )
                queue.clear()
                stopped = True
        if outcome.success or attempt.retry_number >= retries or stopped:
            on_done(attempt.partition, outcome.success, list(outcome.failed_checks))
        else:
            log(f"  partition {attempt.partition}: FAILED, retry {attempt.retry_number + 1} of {retries}")
            queue.append(attempt.retry(outcome.run_id))

    def finish(future: Future, attempt: Attempt, slot: _Slot) -> None:
        outcome = _outcome_of(future)
        if outcome is None:  # its worker died (killed, out of memory): its run stays STARTED until failed
            slot.close()
            # fail_dead_runs returns the ids of runs it read from this instance: each is found
            dead = {
                instance.get_run_by_id(run_id).tags.get("dagster/partition"): run_id  # type: ignore[union-attr]
                for run_id in fail_dead_runs(instance, log)
            }
            outcome = Outcome(dead.get(attempt.partition), False)
        settle(attempt, outcome)

    with _slots(instance, resources, selection, parallel) as slots:
        running: dict[Future, tuple[Attempt, _Slot]]
        idle, running = list(slots), {}
        try:
            while queue or running:
                stopping.check()
                while queue and idle:
                    slot, attempt = idle.pop(), queue.popleft()
                    running[slot.submit(attempt)] = (attempt, slot)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    attempt, slot = running.pop(future)
                    finish(future, attempt, slot)
                    idle.append(slot)
        except stopping.BuildStopped:
            with stopping.noted_only():
                retries = 0  # settle() retries nothing now: what was running is settled as it ends
                log(f"  stopping: {len(running)} running partitions are interrupted, {len(queue)} not started")
                _stop(slots, running, finish, log)
            raise
    if len(environment_failures) >= ENVIRONMENT_BREAKER:
        raise EnvironmentStopped(
            f"the environment failed {len(environment_failures)} partition runs in a row "
            f"(latest: {environment_failures[-1]})"
        )
    return runs


def _stop(slots: list[_Slot], running: dict, finish: Callable, log: Callable[[str], None]) -> None:
    """Interrupt the running attempts and settle each; a worker that does not end in time is killed."""
    for slot in slots:  # the idle ones ignore it
        slot.signal(signal.SIGTERM)
    done, late = wait(running, timeout=STOP_GRACE_S)
    for future in late:
        log(f"  partition {running[future][0].partition}: its worker did not stop in {STOP_GRACE_S:.0f} s: killed")
        running[future][1].signal(signal.SIGKILL)
    wait(late)  # a killed worker breaks its pool at once
    for future in [*done, *late]:
        finish(future, *running[future])


def _outcome_of(future: Future) -> Outcome | None:
    """The attempt's outcome, or None when its worker process died under it."""
    try:
        return future.result()
    except BrokenProcessPool:
        return None


class _Slot:
    """One worker process, one partition run at a time; a fresh process after ``RECYCLE_AFTER`` runs or a death."""

    def __init__(self, start: Callable[[], ProcessPoolExecutor]):
        self._pool: ProcessPoolExecutor | None
        self._start, self._pool, self.runs = start, None, 0

    def submit(self, attempt: Attempt) -> Future:
        if self._pool is None or self.runs >= RECYCLE_AFTER:
            self.close()
            self._pool, self.runs = self._start(), 0
        self.runs += 1
        return self._pool.submit(_run_in_worker, attempt)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to this slot's worker process (the executor's own record of its process)."""
        for pid in list(getattr(self._pool, "_processes", None) or ()):
            with suppress(ProcessLookupError):
                os.kill(pid, signum)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # idle by now: its one process exits
            self._pool = None


@contextmanager
def _slots(instance, resources, selection, parallel) -> Iterator[list[_Slot]]:
    context = multiprocessing.get_context("spawn")
    initargs = (instance.get_ref(), _portable(resources), selection)
    slots = [
        _Slot(
            lambda: ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_worker, initargs=initargs)
        )
        for _ in range(parallel)
    ]
    try:
        yield slots
    finally:
        for slot in slots:
            slot.close()


def _portable(resources: dict) -> dict[str, tuple[type, dict]]:
    """Each resource as (class, field values): what a worker needs to build the same resource."""
    return {key: (type(r), {f: getattr(r, f) for f in type(r).model_fields}) for key, r in resources.items()}


# -- inside a worker process ---------------------------------------------------------------------------
_worker: dict = {}


def _start_worker(instance_ref, resources: dict[str, tuple[type, dict]], selection: list[dg.AssetKey]) -> None:
    from ..definitions import ASSETS

    for signum in stopping.STOP_SIGNALS:  # idle, it waits for the build to stop it; a run installs Dagster's
        signal.signal(signum, signal.SIG_IGN)

    defs = dg.Definitions(assets=ASSETS, resources={key: cls(**fields) for key, (cls, fields) in resources.items()})
    _worker.update(
        instance=dg.DagsterInstance.from_ref(instance_ref),
        selection=selection,
        job=defs.resolve_implicit_global_asset_job_def(),
    )


def _run_in_worker(attempt: Attempt) -> Outcome:
    result = _worker["job"].execute_in_process(
        instance=_worker["instance"],
        asset_selection=_worker["selection"],
        partition_key=attempt.partition,
        raise_on_error=False,
        run_config=CONSOLE_INFO,
        tags=process_tags() | attempt.tags(),
    )
    failed = tuple(e.check_name for e in result.get_asset_check_evaluations() if not e.passed)
    return Outcome(result.run_id, result.success, failed, None if result.success else _environment_failure(result))


def _environment_failure(result) -> str | None:
    """The first line of the step failure that the scan step raised because of the environment, if any."""
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        failure = event.event_specific_data
        if failure.user_failure_data is not None and "environment_failures" in failure.user_failure_data.metadata:
            return (failure.user_failure_data.description or "environment failure").splitlines()[0][:300]
    return None
