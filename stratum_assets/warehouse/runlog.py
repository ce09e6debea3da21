"""``pipeline_run_log.json``: one record per execution, in the dataset strategy's shape, kept as history.

An *execution* is a build or a backfill: the partitions it scanned, then the stage that finishes
the version (the ``pipeline_run_log`` asset), whose Dagster run id names the record. Under
Dagster an execution is many runs (one per partition), and only the finishing stage sees them
all, so each of its runs writes one record about the partitions (re)written since the previous
record; a run that finds none (the automation refreshing the audit) records zero scans.

The file is one JSON object: the latest record's keys at the top level, so readers of the
earlier single-summary file keep working, and ``runs``, every record oldest first (the last one
is the top level). A record holds:

* the strategy's keys: ``run_id``, ``started_at`` and ``completed_at`` (ISO 8601 UTC; the
  execution starts when the first partition it scanned started, or with the finishing stage
  when it scanned none), ``manifest_version`` (``"v1"``), ``manifest_repo_count``,
  ``scans_attempted`` and ``scans_success|partial|failed|empty`` (repositories scanned by this
  execution, by status) and ``total_duration_hours``;
* ``scans_quarantined``, ``partitions_scanned`` (chunk → its ``finished_at``, which is how the
  next record knows what is new) and ``manifest_version_number``;
* the version as it stands after the execution (:func:`summarize`): ``total_repos``, ``stored``,
  ``quarantined``, ``pending``, ``duplicates``, ``counts_by_status``, ``failure_reasons``,
  ``framework_distribution``, ``rate_limit_hits``, ``partitions``, ``durations``,
  ``avg_scan_duration_ms``, ``bytes_fetched``, ``scanners``.
"""

from __future__ import annotations

import fcntl
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ..storage.files import write_text_atomic
from ..storage.layout import Layout, PartitionFiles
from ..storage.verify import partition_problem, whole_partitions

HISTORY = "runs"
STATUSES = ("success", "partial", "failed", "empty")


@dataclass(frozen=True)
class RunSummary:
    """A manifest version as it stands: the second half of each record (:func:`execution_record`), in the
    record's key order — the fields' order is the file's, so ``asdict`` writes the same bytes as before."""

    manifest_version: int
    total_repos: int  # manifest rows
    stored: int
    quarantined: int
    pending: int  # manifest rows with neither a stored ping nor a quarantine row
    duplicates: int  # repositories stored twice, or stored and quarantined (0, or a drop is hidden)
    counts_by_status: dict[str, int]
    failure_reasons: dict[str, int]
    framework_distribution: dict[str, int]
    rate_limit_hits: int
    partitions: int  # whole partitions with stats
    durations: dict[str, float]  # partition_seconds_total, partition_seconds_max
    avg_scan_duration_ms: float
    bytes_fetched: int
    scanners: dict[str, int]  # scanner_counts


def summarize(conn: duckdb.DuckDBPyConnection, layout: Layout, version: int) -> RunSummary:
    def one(sql: str):
        return conn.execute(sql).fetchone()

    def pairs(sql: str) -> dict:
        return {k: v for k, v in conn.execute(sql).fetchall() if k is not None}

    total, stored, quarantined, pending = one("""
        SELECT count(*), count(*) FILTER (outcome = 'stored'), count(*) FILTER (outcome = 'quarantined'),
               count(*) FILTER (outcome = 'pending') FROM scan_dataset""")
    duplicates = one("""
        SELECT (SELECT count(*) - count(DISTINCT repo_hash) FROM scan_results)
             + (SELECT count(*) FROM scan_results s JOIN quarantine q USING (repo_hash))""")[0]
    stats = partition_stats(layout, version)
    return RunSummary(
        manifest_version=version,
        total_repos=total,
        stored=stored,
        quarantined=quarantined,
        pending=pending,
        duplicates=duplicates,
        counts_by_status=pairs("SELECT scan_status, count(*) FROM scan_results GROUP BY 1 ORDER BY 1"),
        failure_reasons=pairs("SELECT failure_reason, count(*) FROM scan_results GROUP BY 1 ORDER BY 1"),
        framework_distribution=pairs(
            "SELECT fw, count(*) FROM (SELECT unnest(frameworks) AS fw FROM scan_results) GROUP BY 1 ORDER BY 1"
        ),
        rate_limit_hits=sum(s.get("rate_limit_hits", 0) for s in stats),
        partitions=len(stats),
        durations={
            "partition_seconds_total": round(sum(s.get("duration_s", 0) for s in stats), 2),
            "partition_seconds_max": max((s.get("duration_s", 0) for s in stats), default=0),
        },
        avg_scan_duration_ms=round(one("SELECT coalesce(avg(scan_duration_ms), 0) FROM scan_results")[0], 1),
        bytes_fetched=sum(s.get("bytes_fetched", 0) for s in stats),
        scanners=scanner_counts(conn),
    )


def scanner_counts(conn: duckdb.DuckDBPyConnection, src: str = "scan_results") -> dict[str, int]:
    """ "<scanner> <scanner_version>" -> stored pings it produced; one manifest version should show one.

    The pipeline's skeleton pings (a clone that failed, a scan that timed out) name no version: no
    scanner produced them, so they never count as a second scanner.
    """
    return dict(
        conn.execute(f"""SELECT scanner || ' ' || scanner_version, count(*) FROM {src}
                                 WHERE scanner_version <> '' GROUP BY 1 ORDER BY 1""").fetchall()
    )


def partition_stats(layout: Layout, version: int) -> list[dict]:
    """Every whole partition's stats.json (counts, timings, finished_at), in chunk order."""
    return [
        json.loads(files.stats.read_text())
        for files in map(PartitionFiles, layout.partition_folders(version))
        if files.stats.exists() and partition_problem(files.folder) is None
    ]


def stats_by_chunk(layout: Layout, version: int) -> dict[str, dict]:
    """Chunk id -> stats.json of every whole partition ({} for one laid down without stats)."""
    return {
        files.folder.name: json.loads(files.stats.read_text()) if files.stats.exists() else {}
        for files in map(PartitionFiles, whole_partitions(layout, version))
    }


def scanned_since(history: list[dict], stats: dict[str, dict]) -> dict[str, dict]:
    """The partitions written since the recorded executions: those whose ``finished_at`` no record names.

    A partition's ``finished_at`` changes with every write, so this is exact even when partitions
    of several runs finish in any order, and a partition nobody rewrote is never counted twice.
    """
    known: dict[str, str | None] = {}
    for record in history:
        known.update(record.get("partitions_scanned") or {})
    return {chunk: s for chunk, s in stats.items() if chunk not in known or known[chunk] != s.get("finished_at")}


def execution_record(
    summary: RunSummary, scanned: dict[str, dict], *, run_id: str, started_at: datetime, completed_at: datetime
) -> dict:
    """One execution's record: the strategy's keys over ``scanned`` partitions, then the version's state."""
    starts = [t for t in map(_partition_start, scanned.values()) if t is not None]
    started = min([*starts, started_at])
    by_status: Counter[str] = Counter()
    for stats in scanned.values():
        by_status.update(stats.get("by_status") or {})
    version = summary.manifest_version
    return {
        **asdict(summary),
        "run_id": run_id,
        "started_at": _iso(started),
        "completed_at": _iso(completed_at),
        "total_duration_hours": round((completed_at - started).total_seconds() / 3600, 4),
        "manifest_version": f"v{version}",
        "manifest_version_number": version,
        "manifest_repo_count": summary.total_repos,
        "scans_attempted": sum(s.get("repos", s.get("stored", 0) + s.get("quarantined", 0)) for s in scanned.values()),
        **{f"scans_{status}": by_status.get(status, 0) for status in STATUSES},
        "scans_quarantined": sum(s.get("quarantined", 0) for s in scanned.values()),
        "partitions_scanned": {chunk: s.get("finished_at") for chunk, s in sorted(scanned.items())},
    }


def read_history(path: Path) -> list[dict]:
    """The recorded executions, oldest first; none for a missing file or the earlier single summary."""
    if not Path(path).exists():
        return []
    document = json.loads(Path(path).read_text())  # ValueError when unreadable: the caller decides
    return list(document.get(HISTORY) or []) if isinstance(document, dict) else []


def append_execution(path: Path, make_record: Callable[[list[dict]], dict]) -> tuple[dict, str | None]:
    """Add the record ``make_record(history)`` returns and rewrite the file; (the document, a warning).

    Under a lock, so two finishing runs at once (the automation and a CLI build) never lose a
    record. A retried step (same run id) replaces its record. A file that cannot be read is kept
    beside as ``.unreadable`` and the history starts again, rather than the stage failing forever.
    """
    path = Path(path)
    warning = None
    with _locked(path):
        try:
            history = read_history(path)
        except ValueError as err:
            aside = path.with_name(path.name + ".unreadable")
            path.replace(aside)
            history, warning = [], f"{path.name} was unreadable ({err}); kept as {aside.name}, history restarted"
        record = make_record(history)
        runs = [r for r in history if r.get("run_id") != record["run_id"]] + [record]
        document = {**record, HISTORY: runs}
        write_text_atomic(json.dumps(document, indent=2, sort_keys=True) + "\n", path)
    return document, warning


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes, even by a killed process
        yield


def _partition_start(stats: dict) -> datetime | None:
    """When a partition's scan started: its ``finished_at`` less its ``duration_s``; None if unknown."""
    try:
        finished = datetime.fromisoformat(stats["finished_at"])
    except (KeyError, TypeError, ValueError):
        return None
    finished = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
    return finished - timedelta(seconds=float(stats.get("duration_s") or 0))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
