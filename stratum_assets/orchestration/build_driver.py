"""The build driver behind ``stratum-assets run`` and ``backfill``: every stage and every partition, in order.

It owns the order of a whole build (:func:`build_everything`: a fresh instance through every
stage and every partition of the graph) and of a backfill (:func:`backfill_unfinished`: only
the partitions that failed or never ran, then the stages after them).

``dagster asset materialize`` runs one selection and at most one partition;
the one-shot dataset build needs all of them in order: the unpartitioned
stages up to the manifest, then every chunk partition the manifest registered,
then the audit and split stages with their checks. Each step is a normal
Dagster run recorded in the instance, so the UI shows exactly what the CLI did
and a failed partition can be backfilled from either. The partitions run several
at a time in worker processes, with retries (:mod:`partition_workers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ..domain.reasons import UNSETTLED_REASONS
from ..instance.dead_runs import fail_dead_runs, process_tags, sweep_work_dirs
from ..resources import world_of
from ..storage.verify import partition_problems
from ..storage.world import World, claim, start_new_world
from ..warehouse.status import partitions_not_settled
from . import stopping
from .partition_workers import CONSOLE_INFO, EnvironmentStopped, default_parallelism, max_retries, run_partitions


@dataclass
class BuildReport:
    """What a full build did: runs launched, partitions that failed, check outcomes."""

    runs: list[str] = field(default_factory=list)
    failed_partitions: list[str] = field(default_factory=list)
    failed_stages: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    warnings: set[str] = field(default_factory=set)  # checks that failed with WARN severity: not errors
    stopped: str | None = None  # why the build stopped before every partition ran (its environment failed)

    @property
    def ok(self) -> bool:
        return not self.failed_partitions and not self.failed_stages and self.stopped is None


@dataclass
class _Plan:
    """The graph cut in three: unpartitioned stages before the partitions, the partitioned ones, the rest."""

    job: dg.JobDefinition
    before: list[dg.AssetKey]
    partitioned: list[dg.AssetKey]
    after: list[dg.AssetKey]
    partitions_def: dg.PartitionsDefinition | None

    @classmethod
    def of(cls, defs: dg.Definitions) -> _Plan:
        graph = defs.resolve_asset_graph()
        keys = [k for k in graph.toposorted_asset_keys if graph.get(k).is_materializable]
        partitioned = [k for k in keys if graph.get(k).is_partitioned]
        first = keys.index(partitioned[0]) if partitioned else len(keys)
        return cls(
            job=defs.resolve_implicit_global_asset_job_def(),
            before=[k for k in keys[:first] if not graph.get(k).is_partitioned],
            partitioned=partitioned,
            after=[k for k in keys[first:] if not graph.get(k).is_partitioned],
            partitions_def=graph.get(partitioned[0]).partitions_def if partitioned else None,
        )

    def partition_keys(self, instance: dg.DagsterInstance) -> list[str]:
        if self.partitions_def is None:
            return []
        return list(self.partitions_def.get_partition_keys(dynamic_partitions_store=instance))

    def unfinished_partitions(self, instance: dg.DagsterInstance) -> list[str]:
        """Partitions whose latest attempt failed, or that never materialized (not those in progress)."""
        if self.partitions_def is None:  # no partitioned asset (of()): no partition keys either
            return []
        keys = self.partition_keys(instance)
        unfinished = set()
        for asset in self.partitioned:  # e.g. scan_results and quarantine: both must be there
            status = instance.get_status_by_partition(asset, keys, self.partitions_def) or {}
            unfinished |= {k for k in keys if status.get(k) in (None, dg.AssetPartitionStatus.FAILED)}
        return [k for k in keys if k in unfinished]


def _resources(defs: dg.Definitions) -> Mapping[str, Any]:
    """The project's resources: Optional in Dagster's signature, always bound by the project's Definitions."""
    return defs.resources  # type: ignore[return-value]


def build_everything(
    defs: dg.Definitions, instance: dg.DagsterInstance, log: Callable[[str], None] = print, parallel: int | None = None
) -> BuildReport:
    """Every stage in order; the partitions ``parallel`` at a time (default: what the instance and machine allow)."""
    plan = _Plan.of(defs)
    report = BuildReport()
    fail_dead_runs(instance, log)
    sweep_work_dirs(instance, _resources(defs)["data"].layout.work)
    if not (plan.before or plan.partitioned or plan.after):
        log("The asset graph is empty: nothing to build yet.")
        return report
    if plan.before:
        log(f"Stage 1/3: {len(plan.before)} assets up to the manifest")
        _run(plan.job, instance, plan.before, report)
    _partitions_then_after(defs, plan, instance, plan.partition_keys(instance), report, log, parallel)
    return report


def claim_world(defs: dg.Definitions, new_world: bool = False) -> World:
    """Check, before anything runs, that the build is against the data directory's world (recording it if none is).

    Raises :class:`~stratum_assets.storage.world.WorldMismatch` for another world, unless ``new_world``:
    then it becomes the directory's world from the next manifest version on (``storage/world.py``).
    """
    github, data = _resources(defs)["github"], _resources(defs)["data"]
    world = world_of(github, data)
    active = data.manifest_store.active()
    if new_world:
        return start_new_world(data.layout, world, active).world
    return claim(data.layout, world, active).world


class UnknownPartitions(ValueError):
    """A partition range whose ends are not partitions of the active manifest."""


def partition_range(keys: list[str], spec: str) -> list[str]:
    """The partitions from ``FIRST...LAST`` (both included, in partition order), or one partition ``KEY``."""
    first, dots, last = spec.partition("...")
    last = last if dots else first
    missing = [k for k in (first, last) if k not in keys]
    if missing:
        raise UnknownPartitions(
            f"no partition {', '.join(missing)}: the partitions are {keys[0]}...{keys[-1]}"
            if keys
            else "no partitions yet: run `stratum-assets run` first"
        )
    start, end = keys.index(first), keys.index(last)
    if start > end:
        raise UnknownPartitions(f"{spec}: the first partition comes after the last")
    return keys[start : end + 1]


def backfill_unfinished(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    log: Callable[[str], None] = print,
    parallel: int | None = None,
    partitions: str | None = None,
) -> BuildReport:
    """Re-run only the partitions that failed or never ran, then the stages after the partitions.

    The terminal twin of the UI's "Materialize > Failed and missing" backfill: partitions that
    succeeded are not touched, so their pings and timings stay as they were. With ``partitions``
    (``FIRST...LAST``), exactly that range is re-scanned, finished or not: a partition range in one
    command, each partition still its own run (with its retries and its check).
    """
    plan = _Plan.of(defs)
    report = BuildReport()
    data = _resources(defs)["data"]
    layout = data.layout
    version = data.manifest_store.require_active()  # nothing to backfill without one
    fail_dead_runs(instance, log)  # a killed build's runs: their partitions become failed, so they are re-run
    sweep_work_dirs(instance, layout.work)  # and their clones go
    corrupt = partition_problems(layout, version, every=True)  # on disk but not whole: Dagster thinks they are done
    for chunk, problem in corrupt.items():
        log(f"Partition {chunk} is corrupt ({problem}): rebuilding it.")
    unfinished = set(plan.unfinished_partitions(instance))
    # Dagster may count a partition as materialized whose files are gone or hold an unsettled outcome.
    not_settled = {
        k: why for k, why in partitions_not_settled(layout, version).items() if k not in corrupt and k not in unfinished
    }
    for why in ("pending", "unsettled"):
        chunks = [k for k, w in not_settled.items() if w == why]
        if chunks:
            log(
                f"Partitions {', '.join(chunks)} hold {why} repositories"
                + (f" ({', '.join(UNSETTLED_REASONS)})" if why == "unsettled" else "")
                + ": scanning them again."
            )
    keys = plan.partition_keys(instance)
    if partitions is not None:
        todo = partition_range(keys, partitions)
    else:
        todo = [k for k in keys if k in unfinished | set(corrupt) | set(not_settled)]
    if not todo:
        log("Every partition is materialized: nothing to backfill.")
    _partitions_then_after(defs, plan, instance, todo, report, log, parallel)
    return report


def _partitions_then_after(
    defs, plan: _Plan, instance, partition_keys: list[str], report: BuildReport, log, parallel: int | None
) -> None:
    if partition_keys:
        parallel = min(parallel or default_parallelism(instance), len(partition_keys))
        retries = max_retries(instance)
        log(
            f"Stage 2/3: {len(partition_keys)} partitions of "
            f"{', '.join(k.to_user_string() for k in plan.partitioned)}, {parallel} at a time, "
            f"up to {retries} retries each"
        )
        finished = []

        def done(partition: str, ok: bool, failed_checks: list[str]) -> None:
            finished.append(partition)
            log(f"  partition {partition} ({len(finished)}/{len(partition_keys)}): {'ok' if ok else 'FAILED'}")
            report.checks.extend((f"{name}[{partition}]", False, "") for name in failed_checks)
            if not ok:
                report.failed_partitions.append(partition)

        try:
            report.runs += run_partitions(
                defs.resources, plan.partitioned, partition_keys, instance, parallel, retries, on_done=done, log=log
            )
        except EnvironmentStopped as stopped:
            report.stopped = str(stopped)
            return  # the stages after the partitions would only read what is missing
        finally:  # every partition run has ended: the clones of one whose worker was killed (a stop) go too
            sweep_work_dirs(instance, defs.resources["data"].layout.work)
    if plan.after:
        log(f"Stage 3/3: {len(plan.after)} assets after the partitions")
        if not _run(plan.job, instance, plan.after, report, raise_on_error=False):
            report.failed_stages.append("after the partitions: " + ", ".join(k.to_user_string() for k in plan.after))


def _run(job, instance, selection, report: BuildReport, raise_on_error: bool = True) -> bool:
    """One unpartitioned stage as one run in this process; its checks' outcomes go into the report.

    A stop signal during the run is taken by Dagster's own handlers (the run fails); the build stops after it.
    """
    try:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=selection,
            raise_on_error=raise_on_error,
            run_config=CONSOLE_INFO,
            tags=process_tags(),
        )
    finally:
        stopping.check()
    report.runs.append(result.run_id)
    for evaluation in result.get_asset_check_evaluations():
        report.checks.append((evaluation.check_name, evaluation.passed, check_detail(evaluation)))
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN:
            report.warnings.add(evaluation.check_name)
    return result.success


def check_detail(evaluation) -> str:
    """The numbers of a check's evaluation that say why it passed or failed, on one line."""
    return ", ".join(
        f"{k}={v.value}"
        for k, v in evaluation.metadata.items()
        if k in ("measured", "threshold", "manifest_rows", "stored", "quarantined", "pending", "status")
    )


def latest_check_evaluations(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[tuple[str, str, str]]:
    """(check, PASS/WARN/FAIL or "not evaluated", detail) for every check of the unpartitioned assets, from
    the latest evaluation stored in the instance: the gate status without running anything."""
    graph = defs.resolve_asset_graph()
    keys = sorted(
        (key for key in graph.asset_check_keys if graph.get(key.asset_key).partitions_def is None),
        key=lambda key: (key.asset_key.to_user_string(), key.name),
    )
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    rows = []
    for key in keys:
        record = records.get(key)
        dagster_event = record.event.dagster_event if record is not None and record.event is not None else None
        evaluation = dagster_event.event_specific_data if dagster_event is not None else None
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            rows.append((name, "not evaluated", ""))
            continue
        verdict = (
            "PASS" if evaluation.passed else "WARN" if evaluation.severity == dg.AssetCheckSeverity.WARN else "FAIL"
        )
        rows.append((name, verdict, check_detail(evaluation)))
    return rows
