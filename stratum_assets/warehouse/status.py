"""``stratum-assets status``: where a build stands, read from the warehouse files alone.

It opens an in-memory DuckDB over the Parquet files instead of ``data/stratum.duckdb``, so it
works while a build holds that file, and it needs no Dagster instance: progress, outcome and
status breakdowns, failure reasons, and an ETA from the throughput of the partitions finished
so far (wall clock from the first partition's start to the last one's end, so partitions that
ran in parallel count once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import duckdb

from ..domain.reasons import UNSETTLED_MEANING, UNSETTLED_REASONS, unsettled
from ..manifest.store import ManifestStore
from ..storage.layout import Layout
from ..storage.verify import partition_problems
from . import runlog, schema


@dataclass
class Status:
    manifest_version: int | None
    total: int = 0
    stored: int = 0
    quarantined: int = 0
    partitions_total: int = 0
    partitions_done: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    repos_per_min: float | None = None
    corrupt: dict[str, str] = field(default_factory=dict)  # chunk -> what is wrong: counts as not written
    pending_partitions: list[str] = field(default_factory=list)
    unsettled: int = 0  # stored, but with a reason nobody could judge (domain/reasons.py): not done
    unsettled_partitions: list[str] = field(default_factory=list)
    build_running: bool | None = None  # None: not asked (no ETA judgement either way)

    @property
    def done(self) -> int:
        return self.stored + self.quarantined - self.unsettled

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def eta(self) -> timedelta | None:
        if not self.pending:
            return timedelta(0)
        if not self.repos_per_min:
            return None
        return timedelta(minutes=self.pending / self.repos_per_min)


def read_status(layout: Layout, build_running: bool | None = None) -> Status:
    version = ManifestStore.of(layout).active()
    if version is None:
        return Status(manifest_version=None)
    conn = duckdb.connect()
    schema.refresh(conn, layout, version)
    summary = runlog.summarize(conn, layout, version)
    partitions_total = cast(tuple, conn.execute("SELECT count(DISTINCT chunk_id) FROM repo_manifest").fetchone())[0]
    pending_partitions = [
        c
        for (c,) in conn.execute(
            "SELECT DISTINCT chunk_id FROM scan_dataset WHERE outcome = 'pending' ORDER BY 1"
        ).fetchall()
    ]
    unsettled_rows = dict(
        conn.execute(
            f"SELECT chunk_id, count(*) FROM scan_dataset WHERE outcome = 'stored' "
            f"AND {unsettled()} GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    return Status(
        corrupt=partition_problems(layout, version),
        pending_partitions=sorted({*pending_partitions, *unsettled_rows}),
        unsettled=sum(unsettled_rows.values()),
        unsettled_partitions=list(unsettled_rows),
        build_running=build_running,
        manifest_version=version,
        total=summary.total_repos,
        stored=summary.stored,
        quarantined=summary.quarantined,
        partitions_total=partitions_total,
        partitions_done=summary.partitions,
        by_status=_largest_first(summary.counts_by_status),
        failure_reasons=_largest_first(summary.failure_reasons),
        repos_per_min=throughput(runlog.partition_stats(layout, version)),
    )


def throughput(stats: list[dict]) -> float | None:
    """Repositories per minute over the wall-clock span of the finished partitions."""
    spans = [
        (
            datetime.fromisoformat(s["finished_at"]) - timedelta(seconds=s.get("duration_s", 0)),
            datetime.fromisoformat(s["finished_at"]),
            s.get("repos", 0),
        )
        for s in stats
        if s.get("finished_at")
    ]
    if not spans:
        return None
    seconds = (max(end for _, end, _ in spans) - min(start for start, _, _ in spans)).total_seconds()
    repos = sum(n for _, _, n in spans)
    return round(60 * repos / seconds, 1) if seconds > 0 else None


def _largest_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def render(status: Status, width: int = 40) -> str:
    """The terminal view: one progress bar, then the breakdowns."""
    if status.manifest_version is None:
        return "No manifest yet: run `stratum-assets run` (or materialize repo_manifest) first."
    share = status.done / status.total if status.total else 0.0
    bar = "#" * round(width * share) + "." * (width - round(width * share))
    lines = [
        f"manifest v{status.manifest_version}: {status.total:,} repositories in {status.partitions_total} partitions",
        f"[{bar}] {share:6.1%}  {status.done:,} accounted for, {status.pending:,} pending",
        f"partitions: {status.partitions_done}/{status.partitions_total} written",
        f"outcomes: stored {status.stored:,}, quarantined {status.quarantined:,}, pending {status.pending:,}",
    ]
    if status.by_status:
        lines.append("scan status: " + ", ".join(f"{k} {v:,}" for k, v in status.by_status.items()))
    if status.failure_reasons:
        lines.append("failure reasons: " + ", ".join(f"{k} {v:,}" for k, v in status.failure_reasons.items()))
    for chunk, problem in status.corrupt.items():
        lines.append(f"corrupt partition {chunk}: {problem}; it counts as not written")
    if status.unsettled:
        lines.append(
            f"unsettled: {status.unsettled:,} repositories in {_listed(status.unsettled_partitions)} were "
            f"{UNSETTLED_MEANING} ({', '.join(UNSETTLED_REASONS)}): not done; `stratum-assets backfill` "
            "scans them again, and the split waits for them"
        )
    if status.pending and status.build_running is False:
        lines.append(
            f"no build running: {status.pending:,} repositories pending in "
            f"{_listed(status.pending_partitions)} (failed, interrupted, corrupt or never run); "
            "re-run them with `stratum-assets backfill`"
        )
    elif status.repos_per_min:
        eta = status.eta
        lines.append(
            f"throughput: {status.repos_per_min:,.1f} repos/min" + (f"; ETA {_duration(eta)}" if eta else "; done")
        )
    elif status.pending:
        lines.append("throughput: no finished partition yet, no ETA")
    return "\n".join(lines)


def partitions_not_settled(layout: Layout, version: int) -> dict[str, str]:
    """Partition → why it must be scanned again, whatever Dagster recorded: ``pending`` (a repository with no
    stored outcome: its partition is missing, not whole, or lost a row) or ``unsettled`` (a stored outcome nobody
    could judge, domain/reasons.py). What `status` lists is what `backfill` re-runs."""
    conn = duckdb.connect()
    schema.refresh(conn, layout, version)
    rows = conn.execute(f"""SELECT chunk_id, CASE WHEN bool_or(outcome = 'pending') THEN 'pending' ELSE 'unsettled'
                            END FROM scan_dataset WHERE outcome = 'pending' OR (outcome = 'stored' AND {unsettled()})
                            GROUP BY 1 ORDER BY 1""").fetchall()
    return dict(rows)


def _listed(chunks: list[str], most: int = 10) -> str:
    shown = ", ".join(chunks[:most]) + (f" and {len(chunks) - most} more" if len(chunks) > most else "")
    return f"partition{'s' if len(chunks) != 1 else ''} {shown}"


def _duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"
