"""Benchmark: the main job's own cost, and what 50,000 repositories take on this machine.

Measured in one run:

1. **Dagster's cost per partition.** The offline build's manifest is built once (candidates +
   ``repo_manifest``, as ``bench/partition_runs.py`` does); then for the same chunks, interleaved,
   (a) one ``scan_results`` partition run exactly as the product's partition pool runs it in a worker
   (``execute_in_process`` with the partition key, pool limits set as ``stratum-assets run`` sets them)
   and (b) the same work without Dagster: ``scan_chunk`` + ``replace_partition`` on the same rows
   with the same settings. Overhead per partition = (a) − (b), median over the chunks. Each run (a)
   is also taken apart from the inside: its own ``scan_chunk`` + ``replace_partition`` time (timed
   by wrapping them for the run), and the step's span in the event log, so the overhead is split
   into "outside the step" (run record, plan, resources, run events) and "inside the step, beyond
   the scan" (the asset's bookkeeping, its materializations and check) without the scan's noise.
2. **Scan throughput per core.** ``scan_chunk`` with one worker over the manifest's first rows
   (partial clone over loopback from the emulator + the built-in scanner in its worker process),
   and the built-in scanner alone, in this process, on the same repositories written to disk. With
   a real corpus (``--corpus`` or ``$STRATUM_REAL_CORPUS``: a folder with ``repos/<owner>__<name>/``),
   the built-in scanner alone on those real trees too: real agent repositories have many more files
   than the synthetic ones (the section gives both counts), so the 50,000 extrapolation uses them.
3. **Discovery.** The full-profile discovery (``bench/discovery_requests.py``'s ``ours``) on a
   universe that yields ~50,000 unique candidates: search requests and the time they take at
   GitHub's search quota, GraphQL enrichment batches and their points.

Then one table extrapolates every stage to 50,000 repositories (200 partitions of 250, 2 at a time),
citing the "Audit, gates and split at scale" and "Manifest" sections of docs/BENCHMARKS.md for those
stages (not re-run here). Writes its section of docs/BENCHMARKS.md unless ``--no-write``.

    .venv/bin/python bench/main_job_cost.py [--chunks 5] [--rounds 1] [--throughput-repos 80]
        [--discovery-size 75000] [--corpus DIR] [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dagster as dg  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage  # noqa: E402
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage  # noqa: E402
from discovery_requests import UNLIMITED, ours  # noqa: E402
from report import BENCHMARKS, SECTION, write_section  # noqa: E402

import stratum_assets.assets.scanning as scan_asset  # noqa: E402
from stratum_assets.assets.scanning import ScanConfig  # noqa: E402
from stratum_assets.definitions import ASSETS  # noqa: E402
from stratum_assets.domain.chunks import version_of  # noqa: E402
from stratum_assets.instance.pools import LIMITS  # noqa: E402
from stratum_assets.offline_github import OfflineGitHub  # noqa: E402
from stratum_assets.orchestration import partition_workers  # noqa: E402
from stratum_assets.orchestration.build_driver import _Plan  # noqa: E402
from stratum_assets.resources import DataResource, GitHubResource, ScannerResource  # noqa: E402
from stratum_assets.scanner.engine import scan_repository  # noqa: E402
from stratum_assets.scanning.pipeline import ScanSettings, quarantine_rows, scan_chunk, stored_rows  # noqa: E402
from stratum_assets.scanning.storage import pings_table, quarantine_table, replace_partition  # noqa: E402
from stratum_assets_tests.support.checkouts import write_checkout  # noqa: E402
from stratum_sandbox.limits import DEFAULT_BUDGETS  # noqa: E402
from stratum_sandbox.server import GitHubEmulator  # noqa: E402
from stratum_sandbox.universe import build_universe  # noqa: E402

TARGET = 50_000  # repositories of the full dataset
FULL_CHUNK = 250  # repositories per partition at the full profile (domain.chunks.DEFAULT_SIZE["full"])
PARALLEL = 2  # partition runs at a time, as dagster.yaml's run queue and the git_clones pool allow
REFERENCE_CLI_SECONDS = 0.83  # recorded (DESIGN notes, 2026-11-26): the reference CLI per real repository


# -- 1. Dagster's cost per partition ------------------------------------------------------------------------------
class Timers:
    """Wall time spent inside chosen functions (of a module or a class) while a block runs: the name is rebound."""

    def __init__(self):
        self.seconds: Counter = Counter()

    @contextmanager
    def timing(self, *targets: tuple[object, str]):
        saved = [
            (owner, name, getattr(owner, name), name in vars(owner)) for owner, name in targets if hasattr(owner, name)
        ]
        for owner, name, original, _ in saved:
            setattr(owner, name, self._timed(name, original))
        try:
            yield self
        finally:
            for owner, name, original, own in saved:
                setattr(owner, name, original) if own else delattr(owner, name)  # inherited: the parent's again

    def _timed(self, name: str, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


def settings_of(github: GitHubResource, scanner: ScannerResource, **overrides) -> ScanSettings:
    """The ScanSettings the scan asset builds from its default ScanConfig and these resources."""
    return ScanSettings(
        knobs=ScanConfig(**overrides),
        scan_timeout=scanner.timeout_s,
        git_auth=github.git_auth(),
        rate_limit_backoff=github.clone_rate_limit_backoff(),
        clones_per_minute=github.clone_rate_cap(),
    )


def dagster_run(instance, key: str) -> dict:
    """(a): one partition run as a partition-pool worker runs it, taken apart from the inside."""
    import stratum_assets.warehouse.blocks as blocks

    timers = Timers()
    # The storage the product's dagster.yaml configures (SQLite): every event, the run's own event-log shard
    # (created with the whole schema on the run's first event), and the run records.
    storage = [
        (SqliteEventLogStorage, "store_event"),
        (SqliteEventLogStorage, "_initdb"),
        *((SqliteRunStorage, name) for name in ("add_run", "handle_run_event", "add_run_tags")),
    ]
    # What (b) does too: scan, build the partition's tables, swap them in.
    work = [
        (scan_asset, name)
        for name in (
            "scan_chunk",
            "stored_rows",
            "quarantine_rows",
            "pings_table",
            "quarantine_table",
            "replace_partition",
        )
    ]
    with timers.timing(*work, (scan_asset, "claim_run"), (blocks, "compact_block_of"), *storage):
        started = time.perf_counter()
        outcome = partition_workers._run_in_worker(partition_workers.Attempt(key))
        wall = time.perf_counter() - started
    assert outcome.success, f"partition run of {key} failed"
    events = instance.all_logs(outcome.run_id)
    at = {e.dagster_event.event_type_value: e.timestamp for e in events if e.dagster_event}
    tables = sum(timers.seconds[name] for name in ("stored_rows", "quarantine_rows", "pings_table", "quarantine_table"))
    return {
        "wall": wall,
        "scan": timers.seconds["scan_chunk"],
        "store": tables + timers.seconds["replace_partition"],
        "claim": timers.seconds["claim_run"],
        "block": timers.seconds["compact_block_of"],
        "step": at["STEP_SUCCESS"] - at["STEP_START"],
        "events": len(events),
        "event_writes": timers.seconds["store_event"],
        "shard": timers.seconds["_initdb"],
        "run_writes": sum(timers.seconds[n] for n in ("add_run", "handle_run_event", "add_run_tags")),
    }


def plain_run(rows: list[dict], key: str, resources: dict) -> dict:
    """(b): the same rows, scanned and stored by the same functions with the same settings, no Dagster."""
    github, scanner, layout = resources["github"], resources["scanner"], resources["data"].layout
    started = time.perf_counter()
    result = scan_chunk(
        rows, github.clone_url, scanner.command(), settings_of(github, scanner), layout.work / f"{key}.bench"
    )
    scanned = time.perf_counter()
    replace_partition(
        layout.scan_partition(version_of(key), key),
        pings_table(stored_rows(result)),
        quarantine_table(quarantine_rows(result)),
        {**result.stats(), "chunk": key},
    )
    done = time.perf_counter()
    return {"wall": done - started, "scan": scanned - started, "store": done - scanned}


def chunk_rows(data: DataResource, key: str) -> list[dict]:
    manifest = data.manifest_store.read(version_of(key))
    return manifest.filter(pc.equal(manifest["chunk_id"], key)).to_pylist()


def partitions_and_throughput(args) -> dict:
    universe = build_universe()
    by_name = {r.full_name.lower(): r for r in universe.repos}
    with (
        tempfile.TemporaryDirectory() as tmp,
        dg.instance_for_test(temp_dir=tmp) as instance,
        GitHubEmulator(universe, Path(tmp) / "git", budgets={"search": (10_000, 60.0)}) as em,
    ):
        tmp = Path(tmp)
        data = DataResource(root=str(tmp / "data"))
        resources = {"github": OfflineGitHub(url=em.url), "data": data, "scanner": ScannerResource()}
        plan = _Plan.of(dg.Definitions(assets=ASSETS, resources=resources))
        assert plan.job.execute_in_process(instance=instance, asset_selection=plan.before).success
        for pool, limit in LIMITS.items():  # what `stratum-assets run` sets in the instance (pools.py)
            instance.event_log_storage.set_concurrency_slots(pool, limit)
        keys = plan.partition_keys(instance)[: args.chunks]
        rows = {key: chunk_rows(data, key) for key in keys}
        served = [by_name[r["full_name"].lower()] for key in keys for r in rows[key]]
        for repo in served:  # the emulator builds a served repository on its first clone: not in any measurement
            if not repo.deleted:
                em.git.path_for(repo)
        # The worker's state, built once per worker process in the product (the job from ASSETS, the instance).
        partition_workers._start_worker(instance.get_ref(), partition_workers._portable(resources), plan.partitioned)
        pairs = []
        for round_ in range(args.rounds):
            for i, key in enumerate(keys):
                first_a = (i + round_) % 2 == 0  # interleaved: a then b, then b then a on the next chunk
                b = None if first_a else plain_run(rows[key], key, resources)
                a = dagster_run(instance, key)
                b = b or plain_run(rows[key], key, resources)
                pairs.append({"chunk": key, "repos": len(rows[key]), "a": a, "b": b})

        # Repositories that clone: the universe's deleted ones fail at once and its slow ones wait seconds per
        # fetch on purpose (a network stand-in), neither of which is the per-core cost measured here.
        sample = [
            r
            for key in keys
            for r in rows[key]
            if not (by_name[r["full_name"].lower()].deleted or by_name[r["full_name"].lower()].slow)
        ]
        sample = sample[: args.throughput_repos]
        github, scanner = resources["github"], resources["scanner"]
        cpu, started = _cpu_seconds(), time.perf_counter()
        result = scan_chunk(
            sample, github.clone_url, scanner.command(), settings_of(github, scanner, workers=1), tmp / "work-1"
        )
        one_worker, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        scanner_alone = synthetic_scans([by_name[r["full_name"].lower()] for r in sample], tmp / "trees")
    return {
        "pairs": pairs,
        "one_worker": {
            "repos": len(sample),
            "seconds": one_worker,
            "cpu": cpu,
            "by_status": result.stats()["by_status"],
        },
        "synthetic": scanner_alone,
    }


def _cpu_seconds() -> float:
    """CPU time of this process (the pipeline, the emulator's threads) and its finished children (git on both
    sides of every clone, the scanner's worker process)."""
    import resource

    return sum(
        r.ru_utime + r.ru_stime
        for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def synthetic_scans(repos: list, root: Path) -> dict:
    """The built-in scanner alone, in this process, on the repositories' files written to disk."""
    seconds, files = [], []
    for repo in repos:
        if repo.deleted:
            continue
        tree = root / str(repo.id)
        rendered = write_checkout(repo, tree)
        started = time.perf_counter()
        scan_repository(tree, repo.full_name)
        seconds.append(time.perf_counter() - started)
        files.append(len(rendered))
    return {
        "repos": len(seconds),
        "median": statistics.median(seconds),
        "mean": statistics.fmean(seconds),
        "files": statistics.median(files),
    }


# -- 2. the built-in scanner on real repositories -----------------------------------------------------------------
def real_scans(corpus: Path, runs: int) -> dict | None:
    repos = sorted(p for p in (corpus / "repos").iterdir() if p.is_dir()) if (corpus / "repos").is_dir() else []
    if not repos:
        return None
    seconds, files = [], []
    for repo in repos:
        name = repo.name.replace("__", "/", 1)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            scan_repository(repo, name)
            times.append(time.perf_counter() - started)
        seconds.append(statistics.median(times))
        files.append(sum(1 for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts))
    return {
        "repos": len(repos),
        "median": statistics.median(seconds),
        "mean": statistics.fmean(seconds),
        "max": max(seconds),
        "files": statistics.median(files),
        "files_min": min(files),
        "files_max": max(files),
    }


# -- 3. discovery -------------------------------------------------------------------------------------------------
def discovery(size: int) -> dict:
    universe = build_universe(seed=3, size=size)
    with tempfile.TemporaryDirectory() as tmp, GitHubEmulator(universe, Path(tmp), budgets=UNLIMITED) as em:
        measured = ours(em)
        measured["points"] = em.budgets.snapshot()["graphql"]["used"]
    return measured


# -- cited sections -----------------------------------------------------------------------------------------------
def cited(title_start: str) -> tuple[str, str, list[dict]] | None:
    """(title, measured date, table rows as header→cell) of the first BENCHMARKS.md section whose title starts so."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    for match in SECTION.finditer(text):
        if match["title"].startswith(title_start):
            body = match["body"]
            date = re.search(r"_Measured (\S+?)\._", body)
            return match["title"], date[1] if date else "?", _table_rows(body)
    return None


def _table_rows(body: str) -> list[dict]:
    lines = [line.strip() for line in body.splitlines()]
    for i, line in enumerate(lines[1:], 1):
        if line.startswith("| ---") and lines[i - 1].startswith("|"):
            header = [c.strip() for c in lines[i - 1].strip("|").split("|")]
            rows = []
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                cells = (c.strip().strip("*") for c in row.strip("|").split("|"))
                rows.append(dict(zip(header, cells, strict=False)))  # a short or long row: what it has
            return rows
    return []


def _number(cell: str | None) -> float | None:
    found = re.search(r"[0-9][0-9,]*(?:\.[0-9]+)?", cell or "")
    return float(found[0].replace(",", "")) if found else None


def audit_at_50k() -> tuple[str, str, float | None]:
    """(citation, per-row summary, seconds of the largest 50,000 row) from the audit-at-scale section."""
    found = cited("Audit, gates and split at scale")
    if not found:
        return 'not measured: no "Audit, gates and split at scale" section in docs/BENCHMARKS.md', "—", None
    title, date, rows = found
    parts, worst = [], None
    for row in rows:
        cells = list(row.values())
        if not cells or _number(cells[0]) != TARGET:
            continue
        ours_column = next((k for k in row if k.lower().startswith("stratum_assets")), None)
        seconds = _number(row.get(ours_column))
        if seconds is None:
            continue
        work = row.get("work") or row.get("layout") or ""
        parts.append(f"{work}: {row[ours_column]} s")  # as the section writes it
        worst = seconds if worst is None else max(worst, seconds)
    return f'"{title}" ({date})', "; ".join(parts) or "—", worst


def manifest_build() -> tuple[str, float | None, str]:
    found = cited("Manifest")
    if not found:
        return "", None, ""
    title, date, rows = found
    whole = next((r for r in rows if next(iter(r.values()), "").startswith("whole materialization")), None)
    return f'"{title}" ({date})', _number(list(whole.values())[-1]) if whole else None, title


# -- the report ---------------------------------------------------------------------------------------------------
def _progress_messages(repos: int) -> int:
    """Progress messages a partition of ``repos`` logs (scan_chunk: every ``progress_every``, and the last)."""
    every = ScanConfig().progress_every
    return sum(1 for done in range(1, repos + 1) if done % every == 0 or done == repos)


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def report(args, measured: dict, real: dict | None, found: dict, corpus_given: bool) -> str:
    pairs = measured["pairs"]
    overheads = [p["a"]["wall"] - p["b"]["wall"] for p in pairs]
    inside = [p["a"]["wall"] - p["a"]["scan"] - p["a"]["store"] for p in pairs]
    outside_step = [p["a"]["wall"] - p["a"]["step"] for p in pairs]
    in_step = [p["a"]["step"] - p["a"]["scan"] - p["a"]["store"] for p in pairs]
    bookkeeping = [p["a"]["claim"] + p["a"]["block"] for p in pairs]
    writes = [p["a"]["event_writes"] + p["a"]["run_writes"] for p in pairs]
    shards = [p["a"]["shard"] for p in pairs]
    rest = [i - w - p["a"]["block"] for i, w, p in zip(inside, writes, pairs, strict=True)]
    overhead = statistics.median(overheads)
    overhead_inside = statistics.median(inside)
    med = statistics.median

    one = measured["one_worker"]
    per_repo = one["seconds"] / one["repos"]  # one worker: clone + scan + validation, one after the other
    # The 2 cores' work per repository: its CPU time (with one worker, wall time also holds the waits that more
    # workers overlap, and whatever else the machine runs).
    cpu_repo = one["cpu"] / one["repos"]
    synthetic = measured["synthetic"]
    # Totals add up means: a repository's pipeline cost with its synthetic scan swapped for a real one.
    scan_real = real["median"] if real else None
    per_real_repo = cpu_repo - synthetic["mean"] + real["mean"] if real else None
    cli_real_repo = cpu_repo - synthetic["mean"] + REFERENCE_CLI_SECONDS

    # A partition logs a progress message (an event) every `progress_every` repositories and at its end: a
    # full-profile partition writes more of them than these sample ones, at the measured cost of one event.
    extra_events = _progress_messages(FULL_CHUNK) - _progress_messages(pairs[0]["repos"])
    per_event = med([(p["a"]["event_writes"] - p["a"]["shard"]) / p["a"]["events"] for p in pairs])
    overhead_full = overhead + extra_events * per_event
    partitions = TARGET // FULL_CHUNK
    dagster_50k = partitions * overhead_full / PARALLEL
    cpu_unit = per_real_repo if real else cpu_repo
    scan_50k = TARGET * cpu_unit / PARALLEL
    cli_50k = TARGET * cli_real_repo / PARALLEL
    clones_per_minute = GitHubResource.model_fields["clones_per_minute"].default
    clone_cap_50k = TARGET / (clones_per_minute * PARALLEL) * 60
    scan_stage_50k = max(scan_50k, clone_cap_50k) + dagster_50k

    d = found["discovery"]
    search_per_minute = GitHubResource.model_fields["search_per_minute"].default
    scale = TARGET / d["candidates"]
    search = d["requests"].get("search", 0)
    graphql = d["requests"].get("graphql", 0)
    search_50k = search * scale / search_per_minute * 60
    points_per_hour = DEFAULT_BUDGETS["graphql"][0]
    points_50k = d["points"] * scale
    graphql_50k = graphql * scale
    audit_cite, audit_rows, audit_seconds = found["audit"]
    manifest_cite, manifest_seconds, manifest_title = found["manifest"]

    stages = {
        "discovery (search quota)": search_50k,
        "scan stage": scan_stage_50k,
        "audit + split": audit_seconds or 0.0,
    }
    dominant = max(stages, key=stages.get)
    total = search_50k + (manifest_seconds or 0) + scan_stage_50k + (audit_seconds or 0)
    partition_scan = FULL_CHUNK * cpu_unit  # one 250-repository partition on its core (2 partitions, 2 cores)

    real_line = (
        f"{real['repos']} real repositories from `$STRATUM_REAL_CORPUS` ({real['files_min']}–"
        f"{real['files_max']} files, median {real['files']:.0f}): built-in scanner **{scan_real:.3f} s** "
        f"per repository (median of {args.runs} scans each; mean {real['mean']:.3f} s, slowest "
        f"{real['max']:.3f} s)"
        if real
        else (
            "no real corpus (`--corpus` / `$STRATUM_REAL_CORPUS` unset or empty): the extrapolation below "
            "uses the synthetic repositories, which are far smaller than real ones"
        )
    )
    corpus_flag = " --corpus <the real corpus>" if corpus_given and not os.environ.get("STRATUM_REAL_CORPUS") else ""
    env = "STRATUM_REAL_CORPUS=<the real corpus> " if real and not corpus_flag else ""
    command = (
        f"{env}.venv/bin/python bench/main_job_cost.py --chunks {args.chunks} --rounds {args.rounds} "
        f"--throughput-repos {args.throughput_repos} --discovery-size {args.discovery_size}{corpus_flag}"
    )
    n_pairs = len(pairs)
    scan_unit_text = (
        f"{cpu_repo:.3f} CPU s per synthetic repository, − {synthetic['mean']:.3f} s synthetic scan "
        f"+ {real['mean']:.3f} s real scan (means) = **{per_real_repo:.3f} CPU s** per real "
        "repository"
        if real
        else f"{cpu_repo:.3f} CPU s per (synthetic) repository"
    )
    lines = [
        f"Command: `{command}` (machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {found['load'][2]:.0f} s; one-minute load average {found['load'][0]:.1f} "
        f"at the start and {found['load'][1]:.1f} at the end: anything above ~0.5 is other work sharing the "
        "cores, which inflates the wall times below far more than the CPU times).",
        "",
        "**Dagster's cost per partition.** The offline build's manifest (sample profile, "
        f"{pairs[0]['repos']} repositories a chunk); for {len({p['chunk'] for p in pairs})} chunks, {args.rounds} "
        "round(s), interleaved: (a) one `scan_results` partition run as the partition pool's worker runs it "
        "(`execute_in_process` with the partition key, in a warm worker, pool limits set) and (b) the same rows "
        "through `scan_chunk` + `replace_partition` with the same settings, no Dagster.",
        "",
        "| | median s per partition | range |",
        "| --- | ---: | --- |",
        f"| (a) Dagster partition run | {med([p['a']['wall'] for p in pairs]):.2f} | "
        f"{min(p['a']['wall'] for p in pairs):.2f}–{max(p['a']['wall'] for p in pairs):.2f} |",
        f"| (b) scan_chunk + replace_partition, no Dagster | {med([p['b']['wall'] for p in pairs]):.2f} | "
        f"{min(p['b']['wall'] for p in pairs):.2f}–{max(p['b']['wall'] for p in pairs):.2f} |",
        f"| **overhead (a) − (b)**, {n_pairs} pairs | **{overhead:.2f}** | {min(overheads):.2f}–{max(overheads):.2f} |",
        f"| overhead from inside (a): run − its own scan_chunk + replace_partition | {overhead_inside:.2f} | "
        f"{min(inside):.2f}–{max(inside):.2f} |",
        f"| … of which outside the step (run record, plan, resources, run events) | {med(outside_step):.2f} | "
        f"{min(outside_step):.2f}–{max(outside_step):.2f} |",
        f"| … of which inside the step beyond the scan (manifest read, check read-back, materializations, "
        f"check; claim_run + block check {med(bookkeeping):.3f}) | {med(in_step):.2f} | "
        f"{min(in_step):.2f}–{max(in_step):.2f} |",
        f"| … or by cause: Dagster's storage writes ({med([p['a']['events'] for p in pairs]):.0f} events + the run "
        f"records, SQLite) | {med(writes):.2f} | {min(writes):.2f}–{max(writes):.2f} |",
        f"| … … of which creating the run's own event-log database (whole schema, on its first event) | "
        f"{med(shards):.2f} | {min(shards):.2f}–{max(shards):.2f} |",
        f"| … and the rest (plan, run context, resources, type checks, logging, pool claim) | {med(rest):.2f} | "
        f"{min(rest):.2f}–{max(rest):.2f} |",
        "",
        "Dagster's SQLite storage (what dagster.yaml configures) gives every run a database file of its own and "
        "opens a fresh connection, with its own commit, for each event. (a) − (b) carries the scan's own "
        "run-to-run noise (the range); the rows measured from inside (a) do not, and are the figures to trust "
        "when the two differ.",
        "",
        f"**Scan throughput per core.** `scan_chunk` with one worker over {one['repos']} repositories of that "
        f"manifest (the universe's deleted and deliberately slow-to-clone ones left out; partial clone over "
        f"loopback, built-in scanner in its worker process, validation): "
        f"{one['seconds']:.1f} s, **{one['repos'] / one['seconds']:.2f} repositories/s** "
        f"({per_repo:.3f} s each, {one['cpu'] / one['repos']:.3f} s of CPU each counting git on both sides and "
        "the emulator, which serves the clones from the same cores). The built-in scanner alone "
        f"on the same {synthetic['repos']} synthetic repositories (median {synthetic['files']:.0f} files): "
        f"{synthetic['median']:.4f} s per repository (median; mean {synthetic['mean']:.4f} s). {real_line}. "
        f"The reference CLI costs ~{REFERENCE_CLI_SECONDS} s per real repository: the team's recorded figure "
        "(DESIGN notes, 2026-11-26), not measured here.",
        "",
        f"**Discovery.** The full-profile discovery on a {args.discovery_size:,}-repository universe: "
        f"{d['candidates']:,} unique candidates from {search:,} search requests and {graphql:,} GraphQL "
        f"enrichment requests (batches of 100) costing {d['points']:,} points; {d['seconds']:.0f} s on loopback. "
        f"Scaled to {TARGET:,} candidates (×{scale:.2f}).",
        "",
        f"**{TARGET:,} repositories on this machine** ({partitions} partitions of {FULL_CHUNK}, {PARALLEL} "
        "partition runs at a time as the product runs them):",
        "",
        "| stage | measured here | per unit | extrapolated to 50,000 repositories | what bounds it |",
        "| --- | --- | --- | --- | --- |",
        f"| discovery: search | {search:,} requests for {d['candidates']:,} candidates | "
        f"{1000 * search / d['candidates']:.1f} requests per 1,000 candidates; "
        f"{60 / search_per_minute:.0f} s per request at quota | {search * scale:,.0f} requests: "
        f"**{_hours(search_50k)}** | GitHub's search quota, {search_per_minute} requests/min per token |",
        f"| discovery: GraphQL enrichment | {graphql:,} requests, {d['points']:,} points | 100 repositories per "
        f"request, {d['points'] / max(graphql, 1):.1f} points each | {graphql_50k:,.0f} requests, "
        f"{points_50k:,.0f} points: {100 * points_50k / points_per_hour:.0f}% of one hour's budget, "
        f"runs alongside the search | GraphQL budget, {points_per_hour:,} points/h |",
    ]
    if manifest_seconds is not None:
        size = re.search(r"[0-9,]+ rows", manifest_title)
        lines.append(
            f"| manifest (cited: {manifest_cite}) | not re-run | — | {manifest_seconds:g} s"
            f"{' for ' + size[0] if size else ''} | CPU, one process |"
        )
    lines += [
        f"| scan: Dagster per partition run | (a) − (b) median {overhead:.2f} s, from inside (a) "
        f"{overhead_inside:.2f} s | {overhead_full:.2f} s per {FULL_CHUNK}-repository partition run ({overhead:.2f} s "
        f"+ {extra_events} more progress events × {per_event * 1000:.0f} ms); "
        f"{100 * overhead_full / partition_scan:.1f}% of its ~{partition_scan:.0f} s of scanning | {partitions} × "
        f"{overhead_full:.2f} s / {PARALLEL} = **{_hours(dagster_50k)}** | run and event records in the instance's "
        "storage (SQLite) |",
        f"| scan: clone + scan, one worker | {one['repos'] / one['seconds']:.2f} repositories/s with one worker, "
        f"{cpu_repo:.3f} CPU s each (synthetic, loopback) | {scan_unit_text} | {TARGET:,} × {cpu_unit:.3f} s / "
        f"{PARALLEL} cores = "
        f"**{_hours(scan_50k)}** | CPU: git (client and, here, the emulator), scanner, validation |",
    ]
    if real:
        lines.append(
            f"| scan: built-in scanner alone, real repositories | median {scan_real:.3f} s "
            f"({real['repos']} repositories, median {real['files']:.0f} files) | mean {real['mean']:.3f} s "
            f"per repository | {TARGET:,} × {real['mean']:.3f} s / {PARALLEL} cores = "
            f"{_hours(TARGET * real['mean'] / PARALLEL)} "
            "(inside the row above) | CPU, one core per partition run |"
        )
    lines += [
        f"| scan: with the reference CLI instead | not measured (recorded {REFERENCE_CLI_SECONDS} s per real "
        f"repository) | {cli_real_repo:.3f} s per repository | {_hours(cli_50k)} | CPU, a process per scan |",
        f"| scan: clone starts on GitHub | configuration, not measured | {clones_per_minute:.0f} clone starts/min "
        f"per partition process, {PARALLEL} processes | {TARGET:,} / {clones_per_minute * PARALLEL:.0f} per min = "
        f"**{_hours(clone_cap_50k)}** | `GitHubResource.clones_per_minute` (network latency not measured here) |",
        f"| audit + gates + split (cited: {audit_cite}) | not re-run | {audit_rows} | "
        f"**{audit_seconds:.1f} s** | CPU and disk, DuckDB |"
        if audit_seconds is not None
        else f"| audit + gates + split | {audit_cite} | — | — | — |",
        "",
        f"Scan stage at {TARGET:,}: the larger of CPU ({_hours(scan_50k)}) and the clone-start cap "
        f"({_hours(clone_cap_50k)}), plus Dagster ({_hours(dagster_50k)}): **~{_hours(scan_stage_50k)}**. "
        f"Discovery's search quota: {_hours(search_50k)}. Whole build: ~{_hours(total)} "
        "(discovery, manifest, scan, audit one after the other). The CPU figures divide CPU seconds evenly over "
        "the 2 cores, one partition run each (bench/partition_runs.py measures how close loopback gets); over "
        "GitHub each clone also waits on the network, which the 4 workers per partition overlap.",
        "",
        f"Ratio: a partition run costs **{overhead:.2f} s** more under Dagster than the same scan without it "
        f"({overhead_inside:.2f} s measured inside the run), {100 * overhead_full / partition_scan:.1f}% of a "
        f"{FULL_CHUNK}-repository partition; at {TARGET:,} repositories the dominant stage is the "
        f"**{dominant}** (~{_hours(stages[dominant])} of ~{_hours(total)}).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=5, help="chunks of the offline manifest to time (a) and (b) on")
    parser.add_argument("--rounds", type=int, default=1, help="(a)/(b) pairs per chunk")
    parser.add_argument("--throughput-repos", type=int, default=80, help="repositories scanned with one worker")
    parser.add_argument(
        "--discovery-size",
        type=int,
        default=75_000,
        help="universe size of the discovery measurement (75,000 yields ~50,000 candidates)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=os.environ.get("STRATUM_REAL_CORPUS") or None,
        help="real repositories under DIR/repos/<owner>__<name>/ (default: $STRATUM_REAL_CORPUS)",
    )
    parser.add_argument("--runs", type=int, default=3, help="scans per real repository; the median is used")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    measured = partitions_and_throughput(args)
    print(f"partitions and throughput: {time.monotonic() - started:.0f} s", flush=True)
    real = real_scans(Path(args.corpus), args.runs) if args.corpus else None
    found = {"discovery": discovery(args.discovery_size), "audit": audit_at_50k(), "manifest": manifest_build()}
    print(f"all measured: {time.monotonic() - started:.0f} s", flush=True)
    found["load"] = (load_before, os.getloadavg()[0], time.monotonic() - started)
    body = report(args, measured, real, found, corpus_given=args.corpus is not None)
    if not args.no_write:
        write_section("Main job: its own cost, extrapolated to 50,000 repositories", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
