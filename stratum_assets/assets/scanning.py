"""``scan_results`` + ``quarantine`` per manifest chunk, and ``pipeline_run_log`` over all of them.

The partitions never open the warehouse (each swaps in its own directory, ``scanning/storage.py``);
``pipeline_run_log`` reads them through the ``data`` resource's warehouse connection.
"""

from datetime import UTC, datetime

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..domain.chunks import version_of
from ..instance.dead_runs import claim_run
from ..instance.pools import GIT_CLONES
from ..resources import DataResource, GitHubConfigError, GitHubResource, GitHubUnreachable, ScannerResource, world_of
from ..scanning.pipeline import (
    EnvironmentBroken,
    ScanKnobs,
    ScanSettings,
    fingerprint_rows,
    quarantine_rows,
    scan_chunk,
    stored_rows,
)
from ..scanning.storage import fingerprints_table, pings_table, quarantine_table, replace_partition
from ..storage.world import WorldMismatch, check_version
from ..warehouse import blocks, companions, runlog
from .automation import AFTER_THE_SCANS
from .manifest import chunk_partitions, repo_manifest


class ScanConfig(dg.Config, ScanKnobs):  # type: ignore[misc]  # dg.Config is frozen too (its model_config)
    """The scan's knobs (scanning/pipeline.py's ``ScanKnobs``, each written there once) as run config."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "scan_results",
            deps=[repo_manifest],
            partitions_def=chunk_partitions,
            group_name="scanning",
            kinds={"parquet"},
            description="One validated ping per repository of the chunk.",
        ),
        dg.AssetSpec(
            "quarantine",
            deps=[repo_manifest],
            partitions_def=chunk_partitions,
            group_name="scanning",
            kinds={"parquet"},
            description="Pings that failed validation, with every error listed.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "every_repo_accounted_for",
            asset="scan_results",
            blocking=True,
            partitions_def=chunk_partitions,  # one result per chunk, none overwritten
            description="stored pings + quarantined rows == manifest rows of the chunk",
        )
    ],
    pool=GIT_CLONES,
    # One run per partition, also in a UI backfill: each chunk keeps its own run, retries and check.
    # A range in one command: `stratum-assets backfill --partitions FIRST...LAST`.
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def scan_partition(
    context: dg.AssetExecutionContext,
    config: ScanConfig,
    github: GitHubResource,
    scanner: ScannerResource,
    data: DataResource,
):
    claim_run(context.instance, context.run)  # so a dead run of this partition is found, whoever launched it
    chunk = context.partition_key
    version = version_of(chunk)
    layout = data.layout
    try:  # a version frozen from another GitHub is never scanned against this one
        check_version(layout, world_of(github, data), version)
    except (WorldMismatch, GitHubConfigError) as err:
        raise dg.Failure(description=str(err)) from None
    except GitHubUnreachable as err:  # the environment: the partition fails, backfillable, and counts for the breaker
        raise dg.Failure(description=f"{chunk}: {err}", metadata={"environment_failures": 1}) from None
    manifest = data.manifest_store.read(version)
    rows = manifest.filter(pc.equal(manifest["chunk_id"], chunk)).to_pylist()
    settings = ScanSettings(  # the knobs, and the clone rates of the GitHub resource where the config names none
        knobs=config,
        scan_timeout=scanner.timeout_s,
        git_auth=github.git_auth(),
        retry_wait=github.clone_retry_wait_s,
        clones_per_minute=github.clone_rate_cap() if config.clones_per_minute is None else config.clones_per_minute,
        rate_limit_backoff=(
            github.clone_rate_limit_backoff() if config.rate_limit_backoff_s is None else config.rate_limit_backoff_s
        ),
    )

    def progress(done: int, total: int, statuses) -> None:
        context.log.info(f"{chunk}: {done}/{total} repositories ({', '.join(f'{k} {v}' for k, v in statuses.items())})")

    try:
        command = scanner.command()
    except FileNotFoundError as missing:  # no scanner on this machine: the environment, like a GitHub that is gone
        raise dg.Failure(description=f"{chunk}: {missing}", metadata={"environment_failures": 1}) from None
    work = layout.work / f"{chunk}.{context.run.run_id}"  # this run's own: another run of the chunk never shares it
    try:
        result = scan_chunk(rows, github.clone_url, command, settings, work, progress)
    except EnvironmentBroken as broken:  # the machine failed, not the repositories: nothing is stored
        raise dg.Failure(
            f"{chunk}: {broken}",
            metadata={
                "environment_failures": len(broken.faults),
                "tried": broken.tried,
                "manifest_rows": len(rows),
                "stopped_early": broken.stopped_early,
                "first_failures": dg.MetadataValue.json([str(f) for f in broken.faults[:5]]),
            },
        ) from None
    stats = result.stats()
    if result.all_transient_failures:
        raise dg.Failure(
            f"{chunk}: all {len(rows)} repositories hit GitHub's rate limit; nothing was written, "
            "the previous state is intact — retry the partition",
            metadata=stats,
        )
    folder = replace_partition(
        layout.scan_partition(version, chunk),
        pings_table(stored_rows(result)),
        quarantine_table(quarantine_rows(result)),
        {**stats, "chunk": chunk, "finished_at": datetime.now(UTC).isoformat()},
        fingerprints_table(fingerprint_rows(result, settings.near_dup)),
    )
    completed_block = blocks.compact_block_of(layout, version, chunk)  # the last of its block's chunks: a block
    stored = pq.read_table(layout.scan_results(version, chunk), columns=["repo_hash"]).column(0).to_pylist()
    quarantined = pq.read_table(layout.quarantine(version, chunk), columns=["repo_hash"]).column(0).to_pylist()
    expected = sorted(r["repo_hash"] for r in rows)
    yield dg.MaterializeResult(
        asset_key="scan_results",
        metadata={
            "stored": len(stored),
            "manifest_rows": len(rows),
            "by_status": dg.MetadataValue.json(stats["by_status"]),
            "failure_reasons": dg.MetadataValue.json(stats["failure_reasons"]),
            "rate_limit_hits": stats["rate_limit_hits"],
            "duration_s": stats["duration_s"],
            "repos_per_min": stats["repos_per_min"],
            "bytes_fetched": stats["bytes_fetched"],
            "scanner": scanner.kind,
            "path": dg.MetadataValue.path(str(folder)),
            "block_written": completed_block,
        },
    )
    yield dg.MaterializeResult(asset_key="quarantine", metadata={"quarantined": len(quarantined)})
    yield dg.AssetCheckResult(
        check_name="every_repo_accounted_for",
        asset_key="scan_results",
        passed=sorted(stored + quarantined) == expected,
        metadata={
            "manifest_rows": len(rows),
            "stored": len(stored),
            "quarantined": len(quarantined),
            "missing": len(set(expected) - set(stored) - set(quarantined)),
            "duplicated": len(stored) + len(quarantined) - len(set(stored) | set(quarantined)),
        },
    )


@dg.asset(
    automation_condition=AFTER_THE_SCANS,
    group_name="scanning",
    deps=["scan_results", "quarantine"],
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            "zero_silent_drops",
            asset="pipeline_run_log",
            blocking=True,
            description="every manifest repository has exactly one stored ping or one quarantine row",
        ),
        dg.AssetCheckSpec(
            "one_scanner_per_version",
            asset="pipeline_run_log",
            blocking=True,
            description="every stored ping of the manifest version was produced by the same "
            "scanner (name and version): mixed scanners conflate labels",
        ),
    ],
    description="Finishes a manifest version: one pipeline_run_log.json record per execution (counts by status, "
    "failure reasons, frameworks, rate-limit hits, durations) and, once nothing is pending, the "
    "scan_results.jsonl and quarantine.jsonl exports.",
)
def pipeline_run_log(context: dg.AssetExecutionContext, data: DataResource):
    started = datetime.now(UTC)
    layout = data.layout
    compacted = data.compact()
    with data.warehouse() as warehouse:
        version = warehouse.version
        log = runlog.summarize(warehouse.conn, layout, version)
    exports = companions.refresh_scan_companions(layout, version, log)  # the JSONL of a finished version
    stats = runlog.stats_by_chunk(layout, version)
    document, warning = runlog.append_execution(
        layout.pipeline_run_log,
        lambda history: runlog.execution_record(
            log,
            runlog.scanned_since(history, stats),
            run_id=context.run.run_id,
            started_at=started,
            completed_at=datetime.now(UTC),
        ),
    )
    if warning:
        context.log.warning(warning)
    yield dg.MaterializeResult(
        metadata={
            "executions_recorded": len(document[runlog.HISTORY]),
            "blocks_written": len(compacted),
            "scans_attempted": document["scans_attempted"],
            "companion_files": dg.MetadataValue.json(exports),
            "total_repos": log.total_repos,
            "stored": log.stored,
            "quarantined": log.quarantined,
            "pending": log.pending,
            "by_status": dg.MetadataValue.json(log.counts_by_status),
            "failure_reasons": dg.MetadataValue.json(log.failure_reasons),
            "framework_distribution": dg.MetadataValue.json(log.framework_distribution),
            "rate_limit_hits": log.rate_limit_hits,
            "avg_scan_duration_ms": log.avg_scan_duration_ms,
            "scanners": dg.MetadataValue.json(log.scanners),
            "path": dg.MetadataValue.path(str(layout.pipeline_run_log)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="zero_silent_drops",
        passed=log.pending == 0 and log.duplicates == 0,
        metadata={
            "manifest_rows": log.total_repos,
            "stored": log.stored,
            "quarantined": log.quarantined,
            "pending": log.pending,
            "duplicates": log.duplicates,
        },
    )
    yield dg.AssetCheckResult(
        check_name="one_scanner_per_version",
        passed=len(log.scanners) <= 1,
        metadata={"scanners": dg.MetadataValue.json(log.scanners)},
    )
