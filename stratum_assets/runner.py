"""Take a fresh instance through every stage and every partition of the graph.

``dagster asset materialize`` runs one selection and at most one partition;
the one-shot dataset build needs all of them in order: the unpartitioned
stages up to the manifest, then every chunk partition the manifest registered,
then the audit and split stages with their checks. Each step is a normal
Dagster run recorded in the instance, so the UI shows exactly what the CLI did
and a failed partition can be backfilled from either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg


@dataclass
class BuildReport:
    """What a full build did: runs launched, partitions that failed, check outcomes."""

    runs: list[str] = field(default_factory=list)
    failed_partitions: list[str] = field(default_factory=list)
    failed_stages: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_partitions and not self.failed_stages


def build_everything(defs: dg.Definitions, instance: dg.DagsterInstance,
                     log: Callable[[str], None] = print) -> BuildReport:
    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.toposorted_asset_keys if graph.get(k).is_materializable]
    partitioned = [k for k in keys if graph.get(k).is_partitioned]
    first_partitioned = keys.index(partitioned[0]) if partitioned else len(keys)
    before = [k for k in keys[:first_partitioned] if not graph.get(k).is_partitioned]
    after = [k for k in keys[first_partitioned:] if not graph.get(k).is_partitioned]
    report = BuildReport()
    if not keys:
        log("The asset graph is empty: nothing to build yet.")
        return report
    job = defs.resolve_implicit_global_asset_job_def()
    if before:
        log(f"Stage 1/3: {len(before)} assets up to the manifest")
        _run(job, instance, before, None, report)
    if partitioned:
        partitions_def = graph.get(partitioned[0]).partitions_def
        partition_keys = list(partitions_def.get_partition_keys(dynamic_partitions_store=instance))
        log(f"Stage 2/3: {len(partition_keys)} partitions of {', '.join(k.to_user_string() for k in partitioned)}")
        for i, partition in enumerate(partition_keys, 1):
            ok = _run(job, instance, partitioned, partition, report, raise_on_error=False)
            log(f"  partition {partition} ({i}/{len(partition_keys)}): {'ok' if ok else 'FAILED'}")
            if not ok:
                report.failed_partitions.append(partition)
    if after:
        log(f"Stage 3/3: {len(after)} assets after the partitions")
        if not _run(job, instance, after, None, report, raise_on_error=False):
            report.failed_stages.append("after the partitions: " + ", ".join(k.to_user_string() for k in after))
    return report


def _run(job, instance, selection, partition, report: BuildReport, raise_on_error: bool = True) -> bool:
    result = job.execute_in_process(instance=instance, asset_selection=selection, partition_key=partition,
                                    raise_on_error=raise_on_error)
    report.runs.append(result.run_id)
    for evaluation in result.get_asset_check_evaluations():
        if partition is not None:
            if not evaluation.passed:  # per-partition checks: only failures are worth a line
                report.checks.append((f"{evaluation.check_name}[{partition}]", False, ""))
            continue
        detail = ", ".join(f"{k}={v.value}" for k, v in evaluation.metadata.items()
                           if k in ("measured", "threshold", "manifest_rows", "stored", "quarantined", "pending", "status"))
        report.checks.append((evaluation.check_name, evaluation.passed, detail))
    return result.success
