"""Benchmark: the 50k rehearsal — the whole build through Dagster on the offline GitHub, at full scale.

What a user runs (``stratum-assets run``: the ten discovery steps, the frozen manifest, every
``scan_results`` partition as its own Dagster run, two at a time with retries and pools as
dagster.yaml sets them, then the run log, audit with G1–G8, split and label-audit sample), with
the full profile's targets (~50,000 manifest rows, ~200 partitions of 250), against a loopback
GitHub serving a universe whose repositories have the real corpus's sizes (``--size-profile real``,
median 27 files) and keeps only ``--max-repos`` bare repositories on disk.

Recorded: wall time per stage (from the runs in the instance), partitions per minute, Dagster's
overhead per partition run (run span − step span, and the gaps between runs), instance storage size,
peak memory (resident memory of the build's process tree and of the emulator, sampled every second),
the zero-drop count (manifest rows with neither a stored ping nor a quarantine row), and the time
Chromium takes to show the ``scan_results`` partitions page and the audit checks with every partition
in the instance. The search budget is GitHub's (30 requests/min) unless ``--search-per-minute``
raises it; the section then also gives the time the same requests take at GitHub's quota.

    .venv/bin/python bench/rehearsal.py [--size 205000] [--workdir DIR] [--search-per-minute 30]
        [--max-repos 2000] [--no-ui] [--no-write]
    .venv/bin/python bench/rehearsal.py --workdir DIR --resume   # after the machine killed a sitting

A build longer than a machine's session is resumed: every process killed, then ``--resume`` starts the
emulator as before (same universe, same port: the manifest's clone URLs carry it) and runs
``stratum-assets backfill``, which fails the dead runs and re-runs their partitions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from stratum_assets_tests.support.loopback import free_port, wait_for_dagster_ui  # noqa: E402 (after the path)

BIN = Path(sys.executable).parent
GITHUB_SEARCH_PER_MINUTE = 30
STAGES = (
    "discovery",
    "repo_manifest",
    "scan_results",
    "pipeline_run_log",
    "audit_report",
    "train_test_split",
    "label_audit_sample",
)


# -- memory of a process tree, from /proc ------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree[int(fields[1])].append(int(entry))
    return tree


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mib(root: int) -> tuple[float, float]:
    """Resident memory of ``root`` and all its descendants: (sum, largest single process), MiB."""
    tree, todo, seen = _children(), [root], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(tree.get(pid, []))
    sizes = [_rss_mib(p) for p in seen]
    return sum(sizes), max(sizes, default=0.0)


class PeakMemory(threading.Thread):
    """Samples the resident memory of the build's tree and the emulator every ``every`` seconds."""

    def __init__(self, build: int, emulator: int, every: float = 1.0):
        super().__init__(daemon=True)
        self.build, self.emulator, self.every = build, emulator, every
        self.peak_tree = self.peak_process = self.peak_emulator = 0.0
        self.loads: list[float] = []  # one-minute load average: above 2 here, something else shared the cores
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            total, largest = tree_rss_mib(self.build)
            self.peak_tree, self.peak_process = max(self.peak_tree, total), max(self.peak_process, largest)
            self.peak_emulator = max(self.peak_emulator, _rss_mib(self.emulator))
            self.loads.append(os.getloadavg()[0])

    def stop(self) -> None:
        self._halt.set()
        self.join()


# -- the build ---------------------------------------------------------------------------------
def start_emulator(
    home: Path, size: int, max_repos: int, per_minute: int, port: int, weather: bool = False
) -> tuple[subprocess.Popen, str]:
    """The offline GitHub on ``port``: the same port in every sitting, since the manifest's clone URLs carry it."""
    log = open(home / "emulator.log", "a")  # noqa: SIM115  # the emulator's stdout: it outlives this function
    proc = subprocess.Popen(
        [
            str(BIN / "stratum-assets"),
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--seed",
            "3",
            "--size",
            str(size),
            "--size-profile",
            "real",
            "--max-repos",
            str(max_repos),
            "--search-per-minute",
            str(per_minute),
            "--git-root",
            str(home / "sandbox-git"),
            *(["--weather"] if weather else []),
        ],
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited: {(home / 'emulator.log').read_text()[-2000:]}")
        if (home / "emulator.log").read_text().count("GitHub emulator for") > sittings(home):
            return proc, url
        time.sleep(0.5)
    proc.kill()
    raise TimeoutError("the emulator did not start in 5 minutes")


def build_env(home: Path, url: str, search_per_minute: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "STRATUM_SANDBOX": "1",
        "STRATUM_SANDBOX_URL": url,
        "STRATUM_SANDBOX_SEARCH_PER_MINUTE": str(search_per_minute),
        "STRATUM_PROFILE": "full",
    }


SETTINGS = "rehearsal-settings.json"  # size, port, budget: what a resumed sitting must start the same way
SITTINGS = "build.json"  # one entry per sitting, rewritten every HEARTBEAT_S while it runs
HEARTBEAT_S = 30


def run_build(home: Path, env: dict[str, str], emulator: subprocess.Popen, command: str) -> None:
    """One sitting: ``stratum-assets run`` (the first) or ``backfill`` (resuming after a kill). Its entry in
    build.json (wall time, peaks; exit code None while it runs) is kept current, so a sitting killed with the
    machine's session still counts up to its last heartbeat."""
    done = json.loads((home / SITTINGS).read_text()) if (home / SITTINGS).exists() else []
    started = time.time()
    with open(home / "run.out", "a") as out:
        build = subprocess.Popen(
            [str(BIN / "stratum-assets"), command], cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        memory = PeakMemory(build.pid, emulator.pid)
        memory.start()
        code = None
        while code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = build.wait(timeout=HEARTBEAT_S)
            sitting = {
                "command": command,
                "exit_code": code,
                "wall_s": time.time() - started,
                "peak_tree_mib": memory.peak_tree,
                "peak_process_mib": memory.peak_process,
                "peak_emulator_mib": memory.peak_emulator,
                "mean_load": statistics.mean(memory.loads) if memory.loads else None,
            }
            (home / SITTINGS).write_text(json.dumps([*done, sitting]))
        memory.stop()


def sittings(home: Path) -> int:
    path = home / SITTINGS
    return len(json.loads(path.read_text())) if path.exists() else 0


def whole_build(parts: list[dict]) -> dict:
    """The sittings as one build: wall times added (the time between sittings is nobody's), peaks the highest,
    the exit code the last sitting's."""
    peak = lambda key: max((p[key] for p in parts if p.get(key) is not None), default=0.0)  # noqa: E731
    loads = [p["mean_load"] for p in parts if p.get("mean_load") is not None]
    return {
        "exit_code": parts[-1]["exit_code"] if parts[-1]["exit_code"] is not None else -9,
        "wall_s": sum(p["wall_s"] for p in parts),
        "sittings": len(parts),
        "commands": [p["command"] for p in parts],
        "peak_tree_mib": peak("peak_tree_mib"),
        "peak_process_mib": peak("peak_process_mib"),
        "peak_emulator_mib": peak("peak_emulator_mib"),
        "mean_load": statistics.mean(loads) if loads else None,
    }


def covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one interval: a stage's wall time without the gap between two sittings."""
    total, end = 0.0, float("-inf")
    for lo, hi in sorted(intervals):
        if hi > end:
            total += hi - max(lo, end)
            end = hi
    return total


# -- what the instance recorded -----------------------------------------------------------------
def stage_of(step_key: str) -> str:
    """The stage a step belongs to: the ten candidates_* steps are discovery; scan_partition writes scan_results."""
    if step_key.startswith("candidates_"):
        return "discovery"
    return "scan_results" if step_key == "scan_partition" else step_key


def instance_figures(home: Path) -> dict:
    """Per-stage spans (from the steps' start and end events) and the partition runs' run and step spans."""
    os.chdir(home)  # dagster.yaml's paths are relative to the project home
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        steps_of: dict[str, int] = defaultdict(int)
        partition_runs = []
        for record in instance.get_run_records():
            run = record.dagster_run
            if record.start_time is None or record.end_time is None:
                continue
            by_step: dict[str, list[float]] = defaultdict(list)
            for event in instance.all_logs(run.run_id, of_type=kinds):
                by_step[event.step_key].append(event.timestamp)
            for step_key, times in by_step.items():
                spans[stage_of(step_key)].append((min(times), max(times)))
                steps_of[stage_of(step_key)] += 1
            if "scan_partition" in by_step:
                times = by_step["scan_partition"]
                partition_runs.append(
                    {
                        "start": record.start_time,
                        "run": record.end_time - record.start_time,
                        "step": max(times) - min(times),
                        "status": run.status.value,
                        "partition": run.tags.get("dagster/partition"),
                    }
                )
    stages = {s: {"runs": steps_of[s], "wall_s": covered(v)} for s, v in spans.items()}
    return {"stages": stages, "partition_runs": partition_runs}


def folder_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def drops(home: Path) -> dict:
    """Manifest rows of the active version without exactly one stored ping or quarantine row."""
    from stratum_assets.storage.layout import Layout
    from stratum_assets.warehouse.status import read_status

    status = read_status(Layout(home / "data"))
    return {
        "manifest_rows": status.total,
        "stored": status.stored,
        "quarantined": status.quarantined,
        "unaccounted": status.total - status.stored - status.quarantined,
        "partitions": status.partitions_total,
        "partitions_done": status.partitions_done,
        "by_status": status.by_status,
        "failure_reasons": status.failure_reasons,
    }


def partition_content(home: Path) -> dict[str, dict]:
    """Per partition of the active version: the scanner's own seconds over its stored pings (scan_duration_ms)
    and its most common selection stratum — what a partition's step time depends on besides the build's state."""
    import duckdb

    from stratum_assets.manifest.store import ManifestStore
    from stratum_assets.storage.layout import Layout
    from stratum_assets.warehouse import schema

    layout = Layout(home / "data")
    with duckdb.connect() as conn:
        schema.refresh(conn, layout, ManifestStore(layout.manifests).require_active())
        rows = conn.execute("""SELECT chunk_id, sum(scan_duration_ms) / 1000.0, mode(selection_stratum)
                               FROM scan_dataset GROUP BY 1""").fetchall()
    return {chunk: {"scan_s": scan_s or 0.0, "stratum": stratum} for chunk, scan_s, stratum in rows}


def search_requests(home: Path) -> int | None:
    text = (home / "emulator.log").read_text()
    found = re.findall(r"^served requests: (\{.*?\});", text, re.M)
    return json.loads(found[-1]).get("search") if found else None


# -- the UI -------------------------------------------------------------------------------------
def ui_timings(home: Path, env: dict[str, str], repeats: int = 3) -> dict:
    """Seconds from navigation until Chromium shows the partitions page and the audit checks."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-m", "stratum_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    pages = {
        "scan_results partitions": (f"{url}/assets/scan_results?view=partitions", ("v1-c0000", "Materialized (")),
        "audit_report checks": (f"{url}/assets/audit_report?view=checks", ("Checks (8)", "G1", "G8")),
    }
    try:
        wait_for_dagster_ui(url, server, timeout=300)
        driver = webdriver.Chrome(
            service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
        )
        driver.set_page_load_timeout(120)
        out: dict[str, list[float]] = defaultdict(list)
        try:
            for _ in range(repeats):
                for name, (page, texts) in pages.items():
                    driver.get("about:blank")
                    began = time.perf_counter()
                    driver.get(page)
                    WebDriverWait(driver, 180, poll_frequency=0.05).until(
                        lambda d, texts=texts: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts)
                    )
                    out[name].append(time.perf_counter() - began)
            body = driver.find_element(By.TAG_NAME, "body").text
        finally:
            driver.quit()
        driver_text = body
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"seconds": dict(out), "checks_page_text": driver_text[:2000]}


# -- report -------------------------------------------------------------------------------------
def section(args, figures: dict) -> str:
    build, inst, acc = figures["build"], figures["instance"], figures["drops"]
    stages = inst["stages"]
    runs = inst["partition_runs"]
    ok_runs = sorted((r for r in runs if r["status"] == "SUCCESS"), key=lambda r: r["start"])
    tenth = max(1, len(ok_runs) // 10)
    first, last = (
        statistics.median(r["step"] for r in part) if part else 0.0 for part in (ok_runs[:tenth], ok_runs[-tenth:])
    )
    growth = _growth_per_scan_second(ok_runs[:tenth], ok_runs[-tenth:], figures.get("partitions", {}))
    overhead = [r["run"] - r["step"] for r in ok_runs]
    scan_wall = stages.get("scan_results", {}).get("wall_s", 0.0)
    partitions = acc["partitions"]
    dominant = max(stages, key=lambda s: stages[s]["wall_s"]) if stages else "—"
    searches = figures.get("search_requests")
    rows = "\n".join(
        f"| {s} | {stages[s]['runs']} | {stages[s]['wall_s']:,.1f} | {stages[s]['wall_s'] / build['wall_s']:.1%} |"
        for s in STAGES
        if s in stages
    )
    rest = build["wall_s"] - sum(v["wall_s"] for v in stages.values())
    rows += (
        f"\n| outside the steps (processes starting, runs' set-up, the driver between stages) | | {rest:,.1f} | "
        f"{rest / build['wall_s']:.1%} |"
    )
    ui = figures.get("ui", {}).get("seconds", {})
    ui_rows = "\n".join(f"| {name} | {v[0]:.1f} | {statistics.median(v[1:] or v):.1f} |" for name, v in ui.items())
    quota = ""
    sittings_note = ""
    if build.get("sittings", 1) > 1:
        sittings_note = (
            f" in {build['sittings']} sittings ({' then '.join(f'`stratum-assets {c}`' for c in build['commands'])}:"
            " the machine's session ended during the scan and killed every process; the next one resumed"
            " with `--resume`, and the wall times here add the sittings, without the time between them)"
        )
    if args.search_per_minute != GITHUB_SEARCH_PER_MINUTE and searches:
        quota = (
            f" The search budget here was {args.search_per_minute} requests/min; at GitHub's "
            f"{GITHUB_SEARCH_PER_MINUTE}/min the same {searches:,} search requests need "
            f"{searches / GITHUB_SEARCH_PER_MINUTE:.0f} min, which replaces the discovery row's wall time."
        )
    return f"""Command: `.venv/bin/python bench/rehearsal.py --size {args.size} --search-per-minute \
{args.search_per_minute} \
--max-repos {args.max_repos}` (machine: {platform.machine()}, {os.cpu_count()} cores, Python \
{platform.python_version()}).

`stratum-assets run` on the offline GitHub, full profile: a universe of {args.size:,} repositories (seed 3) with the
real corpus's sizes (`--size-profile real`: median 27 files, half Python), at most {args.max_repos:,} bare repositories
on disk at once; production settings from dagster.yaml (2 partition runs at a time, 2 retries, pools).{quota}

**{acc["manifest_rows"]:,} manifest rows in {partitions} partitions: {acc["stored"]:,} stored pings +
{acc["quarantined"]:,} quarantined = {acc["stored"] + acc["quarantined"]:,}; {acc["unaccounted"]} unaccounted
(zero drops {"met" if acc["unaccounted"] == 0 else "NOT met"}).** Build exit code {build["exit_code"]}; whole build
{build["wall_s"] / 60:,.1f} min{sittings_note}; mean one-minute load average {build.get("mean_load") or 0:.1f} on \
{os.cpu_count()} cores
(the build's own processes: two partition runs, their eight clone+scan workers, git on both sides and the
emulator keep it near 9 on their own).{(" " + args.remark) if args.remark else ""}

| stage | steps | wall s | share of the build |
| --- | ---: | ---: | ---: |
{rows}

Partitions: {len(ok_runs)} successful partition runs (of {len(runs)} launched, retries included):
**{partitions / (scan_wall / 60) if scan_wall else 0:.2f} partitions/min**,
{acc["stored"] + acc["quarantined"]:,} repositories in {scan_wall / 60:,.1f} min
({(acc["stored"] + acc["quarantined"]) / scan_wall if scan_wall else 0:.1f} repositories/s).
Dagster's overhead per partition run (run span − step span): median \
{statistics.median(overhead) if overhead else 0:.2f} s
(max {max(overhead, default=0):.2f} s); the partition runs' steps were \
{statistics.median([r["step"] for r in ok_runs]) if ok_runs else 0:.1f} s (median).
Growth: the first tenth of the partition runs ({tenth}) took {first:.1f} s each (median step), the last tenth
{last:.1f} s ({last / first - 1 if first else 0:+.0%}){growth}

Instance storage (`data/dagster/`): {figures["instance_mib"]:,.0f} MiB. Peak resident memory: build process tree
{build["peak_tree_mib"]:,.0f} MiB (largest single process {build["peak_process_mib"]:,.0f} MiB), emulator
{build["peak_emulator_mib"]:,.0f} MiB. Data directory: {figures["data_mib"]:,.0f} MiB; bare repositories on disk at \
the end:
{figures["git_repos_on_disk"]:,}.

UI with {partitions} partitions in the instance (Chromium, headless; seconds from navigation until the page shows its \
content):

| page | first load s | median of the next loads s |
| --- | ---: | ---: |
{ui_rows or "| not measured (--no-ui) | | |"}

Ratio: {acc["manifest_rows"]:,} repositories end to end in {build["wall_s"] / 60:,.0f} min with {acc["unaccounted"]} \
drops; the stage that dominates is **{dominant}** ({stages.get(dominant, {}).get("wall_s", 0) / build["wall_s"]:.0%} \
of the wall time).
"""


def _growth_per_scan_second(first: list[dict], last: list[dict], content: dict[str, dict]) -> str:
    """The verdict on growth: the step time per second of the scanner's own work, first tenth against last. A
    build that slows as it goes on slows per second of scanning too; bigger repositories late in the manifest
    make the steps longer but not that ratio."""

    def per_scan_second(runs) -> float:
        ratios = [
            r["step"] / content[r["partition"]]["scan_s"] for r in runs if content.get(r["partition"], {}).get("scan_s")
        ]
        return statistics.median(ratios) if ratios else 0.0

    def strata(runs) -> str:
        counts = Counter(content[r["partition"]]["stratum"] for r in runs if r["partition"] in content)
        return ", ".join(f"{name} {n}" for name, n in counts.most_common())

    a, b = per_scan_second(first), per_scan_second(last)
    if not (a and b):
        return ": no partition content to judge it by."
    verdict = (
        "the build does not slow down as it goes on; its later partitions hold heavier repositories"
        if b <= 1.15 * a
        else "the build itself slows down as it goes on"
    )
    return (
        f". Per second of the scanner's own work in those partitions (their pings' scan_duration_ms) the step"
        f" took {a:.2f} s and {b:.2f} s ({b / a - 1:+.0%}): {verdict} (partitions by most common stratum,"
        f" first tenth: {strata(first)}; last tenth: {strata(last)})."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size",
        type=int,
        default=205_000,
        help="universe size: the strata of the rarest repositories (langchain_mature, high_maturity, "
        "discovery_pool) reach their targets at ~200,000 (96,000 gave 40,250 manifest rows)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/stratum-rehearsal"))
    parser.add_argument("--search-per-minute", type=int, default=GITHUB_SEARCH_PER_MINUTE)
    parser.add_argument("--max-repos", type=int, default=2000)
    parser.add_argument("--no-ui", action="store_true")
    parser.add_argument(
        "--weather", action="store_true", help="serve GitHub weather (stratum_sandbox.weather) instead of a clear sky"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--title", default="Rehearsal: 50,000 repositories through Dagster")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure and report a build already made in --workdir (its build.json)",
    )
    parser.add_argument("--remark", default="", help="a sentence for the report: what else shared the machine")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a build in --workdir that was killed (a machine's session ended): the same "
        "emulator settings, then `stratum-assets backfill`; the sittings' times are added",
    )
    args = parser.parse_args()

    home = args.workdir.resolve()
    if args.resume or args.report_only:  # the build's own settings, whatever the command line says
        vars(args).update(json.loads((home / SETTINGS).read_text()))
    elif not args.report_only:
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        settings = {
            "size": args.size,
            "max_repos": args.max_repos,
            "search_per_minute": args.search_per_minute,
            "port": free_port(),
        }
        (home / SETTINGS).write_text(json.dumps(settings))
        vars(args).update(settings)
    if args.report_only:
        env = build_env(home, "http://127.0.0.1:9", args.search_per_minute)  # the UI never calls GitHub
    else:
        emulator, url = start_emulator(
            home, args.size, args.max_repos, args.search_per_minute, args.port, weather=args.weather
        )
        env = build_env(home, url, args.search_per_minute)
        try:
            run_build(home, env, emulator, "backfill" if args.resume else "run")
        finally:
            emulator.terminate()
            emulator.wait(timeout=60)
    build = whole_build(json.loads((home / SITTINGS).read_text()))
    figures = {
        "build": build,
        "drops": drops(home),
        "instance_mib": folder_mib(home / "data" / "dagster"),
        "data_mib": folder_mib(home / "data"),
        "git_repos_on_disk": len(list((home / "sandbox-git").glob("*/*.git"))),
        "search_requests": search_requests(home),
    }
    figures["instance"] = instance_figures(home)
    figures["partitions"] = partition_content(home)
    if not args.no_ui:
        figures["ui"] = ui_timings(home, env)
    elif args.report_only and (home / "rehearsal.json").exists():  # the UI measured when the build ended
        figures["ui"] = json.loads((home / "rehearsal.json").read_text()).get("ui", {})
    (home / "rehearsal.json").write_text(json.dumps(figures, indent=2, default=str))
    body = section(args, figures)
    print(body)
    if not args.no_write:
        from report import write_section

        write_section(args.title, body)
    return 0 if build["exit_code"] == 0 and figures["drops"]["unaccounted"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
