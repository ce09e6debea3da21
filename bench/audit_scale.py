"""Benchmark: audit + gates + split at 50,000 and 1,000,000 pings, time and peak memory, in the real layout.

For each size, synthetic scan results are written once as the pipeline writes them: a frozen
manifest, one partition directory per chunk of the full profile's size (250 repositories: 200
partitions at 50,000, 4,000 at a million), and the same data as JSONL for the baseline. Then, each in
a fresh child process so peak memory is its own:

* compaction: the blocks the scan stage writes as partitions complete (``warehouse/blocks.py``),
  all at once here; timed on its own, it is part of the scan stage, not of the audit;
* stratum_assets: what ``audit_report`` and ``train_test_split`` run — blocks current?, views,
  DuckDB SQL sections, gates, rendered report, frozen split (and the train/test exports);
* baseline: the reference pipeline's audit as a JSONL → Python dicts model (its ``audit.py`` reads
  the pings' JSONL in one process): the same sections, gates and split over dicts.

Goals (issue 17): at 50k with the train/test files >= 3x faster; at 1M audit + gates + split >= 10x
faster and <= 1 GiB, with the train/test files >= 3x and <= 1 GiB. Writes its section of
docs/BENCHMARKS.md.

    .venv/bin/python bench/audit_scale.py [--sizes 50000,1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def compaction(data: Path, _exports: bool) -> dict:
    """The blocks of every complete group of partitions, as the scan stage leaves them."""
    from stratum_assets.storage.layout import Layout
    from stratum_assets.warehouse.blocks import compact_ready

    return {"blocks": len(compact_ready(Layout(data), 1))}


def ours(data: Path, exports: bool) -> dict:
    """What ``audit_report`` and ``train_test_split`` run (assets/audit.py), one after the other."""
    import duckdb

    from stratum_assets.audit.gate_measures import GateThresholds
    from stratum_assets.audit.groups import duplicate_groups
    from stratum_assets.audit.report import audit, render
    from stratum_assets.audit.split import export_splits, freeze_assignments, snapshot
    from stratum_assets.dedup.fingerprint import NearDupSettings
    from stratum_assets.discovery.strata import strata
    from stratum_assets.storage.layout import Layout
    from stratum_assets.warehouse import schema
    from stratum_assets.warehouse.blocks import compact_ready

    layout = Layout(data)
    assert compact_ready(layout, 1) == [], "the blocks are current, as the scan stage left them"
    conn = duckdb.connect(str(data / "bench.duckdb"))
    conn.execute("SET memory_limit = ?", [schema.MEMORY_LIMIT])  # the warehouse connection's
    schema.refresh(conn, layout, 1)
    targets = {k: s.target for k, s in strata("full").items()}
    threshold = NearDupSettings.threshold  # the data resource's default
    results = audit(conn, targets, GateThresholds(), near_duplicate_threshold=threshold, manifest_meta={})
    render(results, 1, "full")
    src = snapshot(conn)  # the split asset's own snapshot, pending check and groups
    assert conn.execute(f"SELECT count(*) FROM {src} WHERE outcome = 'pending'").fetchone()[0] == 0
    groups = duplicate_groups(conn, threshold, src=src).register(conn, "split_groups_input")
    split = freeze_assignments(conn, layout, 1, groups=groups, src=src)  # and drops the snapshot
    if exports:
        export_splits(conn, layout, 1)
    return {"usable": results.volume["usable"], "gates": [g.passed for g in results.gates], "test": split["test"]}


def baseline(jsonl: Path, exports: bool) -> dict:
    """The same numbers from Python dicts, the way a notebook would."""
    with open(jsonl) as fh:
        pings = [json.loads(line) for line in fh]
    stored = [p for p in pings if not p["quarantined"]]
    usable = [p for p in stored if p["scan_status"] in ("success", "partial")]
    by_status = Counter(p["scan_status"] for p in stored)
    reasons = Counter(p["failure_reason"] for p in stored if p["failure_reason"])
    frameworks = Counter(f for p in usable for f in p["frameworks"])
    scores = [p["risk_score"] for p in usable]
    hist = Counter(min(s // 10, 9) for s in scores)
    summary = (statistics.mean(scores), statistics.median(scores), statistics.quantiles(scores, n=10))
    t = GATE_DEFAULTS  # the full profile
    rules = Counter(r for p in usable for r in p["finding_rules"])
    maturity = Counter(p["deployment_signals"]["deployment_score"] for p in usable)
    topo = Counter(p["topology_signature_hash"] for p in usable if p["topology_signature_hash"])
    in_groups = sum(n for n in topo.values() if n > t["g5_cluster_size"])
    coverage = statistics.median(p["files_scanned"] / p["files_total"] for p in usable if p["files_total"])
    low_python = 0
    for p in pings:
        langs = json.loads(p["language_bytes"])
        low_python += langs.get("Python", 0) / max(1, sum(langs.values())) < 0.2
    forks = Counter(p["fork_parent"] for p in pings if p["fork_parent"])
    strata = Counter(p["selection_stratum"] for p in usable)
    gates = [
        len(usable) >= t["g1_min_usable"],
        min(frameworks[f] for f in GATE_FRAMEWORKS) >= t["g2_min_per_framework"],
        sum(n for s, n in maturity.items() if s >= 3) >= t["g3_min_mature"],
        sum(n >= t["g4_min_repos_per_rule"] for n in rules.values()) >= t["g4_min_rules"],
        in_groups / len(usable) <= t["g5_max_share_in_clusters"],
        by_status["empty"] / len(pings) <= t["g6_max_empty_share"],
        by_status["failed"] / len(pings) <= t["g7_max_failed_share"],
        coverage >= t["g8_min_median_coverage"],
    ]
    groups = defaultdict(list)
    for p in usable:
        bucket = "low" if p["deployment_signals"]["deployment_score"] <= 1 else "mid"
        groups[(p["frameworks"][0] if p["frameworks"] else "none", bucket)].append(p["repo_hash"])
    split = {}
    for members in groups.values():
        ranked = sorted(members, key=lambda h: hashlib.sha256(f"17:{h}".encode()).hexdigest())
        n_test = round(0.2 * len(ranked))
        split.update({h: "test" if i < n_test else "train" for i, h in enumerate(ranked)})
    for name in ("train", "test") if exports else ():  # the exports, as the split asset writes them
        with open(jsonl.parent / f"baseline_{name}.jsonl", "w") as fh:
            for p in usable:
                if split[p["repo_hash"]] == name:
                    fh.write(json.dumps(p) + "\n")
    del hist, summary, reasons, forks, strata, low_python
    return {"usable": len(usable), "gates": gates, "test": sum(v == "test" for v in split.values())}


from stratum_assets.domain import frameworks as _frameworks  # noqa: E402 (stdlib only: light)
from stratum_assets.domain import gate_table  # noqa: E402
from stratum_assets.domain.chunks import default_size as default_chunk_size  # noqa: E402

GATE_FRAMEWORKS = _frameworks.gated()  # the framework table's, as gate G2 has them
GATE_DEFAULTS = gate_table.defaults()


def _peak_rss_bytes() -> int:
    """This process's own high-water mark (VmHWM is per address space; ru_maxrss survives exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(kind: str, path: Path, exports: bool, rounds: int = 1) -> tuple[float, int, dict]:
    """Run one side in a fresh interpreter ``rounds`` times; returns (median seconds, highest peak RSS bytes,
    the last result)."""
    times, peaks = [], []
    for _ in range(rounds):
        if kind == "ours":
            _first_build(path)
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(path), str(int(exports))],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(time.perf_counter() - started)
        peak, result = out.stdout.strip().splitlines()[-1].split(" ", 1)
        peaks.append(int(peak))
    return statistics.median(times), max(peaks), json.loads(result)


def _first_build(data: Path) -> None:
    """No stored split and no database: every measured run assigns every repository, as the first build does
    (a later build keeps the frozen assignments and is faster)."""
    shutil.rmtree(data / "split", ignore_errors=True)
    for path in data.glob("bench.duckdb*"):
        path.unlink()


# The reference pipeline's audit.py itself, measured on this machine on the same kind of pings (DESIGN.md's
# performance facts; its code is not part of this project): seconds without and with its train/test files, the
# lower end of each range. The goals are judged against the faster of it and the model measured in the run.
REFERENCE_SECONDS = {50_000: (2.5, 3.8), 1_000_000: (52.0, 78.0)}


CHUNK_SIZE = default_chunk_size("full")  # the pipeline's partitions at the full profile


def _generate(n: int, data: Path, jsonl: Path) -> None:
    """Synthetic pings in their own process, so the measured children inherit nothing."""
    code = (
        "import sys; from pathlib import Path; from stratum_assets_tests.support.synthetic_pings import generate; "
        "from stratum_assets.storage.layout import Layout; "
        f"generate(Layout(Path({str(data)!r})), {n}, seed=5, chunk_size={CHUNK_SIZE}, "
        f"jsonl=Path({str(jsonl)!r}))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _row(label: str, n: int, ours_run, base_run) -> str:
    (o_s, o_m, _), (b_s, b_m, _) = ours_run, base_run
    return (
        f"| {n:,} | {label} | **{o_s:.1f}** | **{o_m / 2**20:.0f}** | {b_s:.1f} | {b_m / 2**20:.0f} "
        f"| **{b_s / o_s:.1f}x** |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,1000000")
    parser.add_argument("--child", nargs=3)
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per side (median); the baseline's: 1 above 100,000 pings"
    )
    args = parser.parse_args()
    if args.child:
        kind, path, exports = args.child
        result = {"ours": ours, "baseline": baseline, "compaction": compaction}[kind](Path(path), exports == "1")
        print(_peak_rss_bytes(), json.dumps(result))
        return
    from report import write_section

    from stratum_assets.storage.layout import Layout  # noqa: F401  (fail early if the package is missing)

    rows, runs, compacted = [], {}, {}
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            data, jsonl = Path(tmp) / "data", Path(tmp) / "pings.jsonl"
            _generate(n, data, jsonl)
            os.sync()  # GBs just written: their writeback is not to run during the measured runs
            compacted[n] = _child("compaction", data, False)
            print(f"{n:,}: {compacted[n][2]['blocks']} blocks written in {compacted[n][0]:.1f} s", flush=True)
            for exports, label in ((False, "audit + gates + split"), (True, "… + train/test exports")):
                o = _child("ours", data, exports, args.rounds)
                b = _child("baseline", jsonl, exports, args.rounds if n <= 100_000 else 1)
                # same usable count and gates; test sizes differ only by the baseline's simpler strata rounding
                assert o[2]["usable"] == b[2]["usable"] and o[2]["gates"] == b[2]["gates"], (o[2], b[2])
                assert abs(o[2]["test"] - b[2]["test"]) <= 0.01 * o[2]["test"], (o[2], b[2])
                runs[(n, exports)] = (o, b)
                rows.append(_row(label, n, o, b))
                print(rows[-1], flush=True)
    sizes = sorted({n for n, _ in runs})
    small, large = sizes[0], sizes[-1]
    small_e, big, big_e = runs[(small, True)], runs[(large, False)], runs[(large, True)]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def speedup(run, n: int, exports: bool) -> float:
        """Against the faster of the model measured here and the reference's recorded time."""
        reference = REFERENCE_SECONDS.get(n, (float("inf"), float("inf")))[exports]
        return min(run[1][0], reference) / run[0][0]

    reference_rows = "\n".join(
        f"| {n:,} | {label} | {REFERENCE_SECONDS[n][e]:.1f} | {runs[(n, e)][1][0]:.1f} | {runs[(n, e)][0][0]:.1f} | "
        f"**{speedup(runs[(n, e)], n, e):.1f}x** |"
        for n in sizes
        if n in REFERENCE_SECONDS
        for e, label in ((False, "audit + gates + split"), (True, "… + train/test files"))
    )

    blocks = "\n".join(
        f"| {n:,} | {n // CHUNK_SIZE:,} | {c[2]['blocks']} | {c[0]:.1f} | {c[1] / 2**20:.0f} |"
        for n, c in compacted.items()
    )
    body = f"""Command: `.venv/bin/python bench/audit_scale.py --sizes {args.sizes}` \
(machine: {platform.machine()}, 2 cores, Python {platform.python_version()}).

Synthetic scan results (all statuses, ~1% quarantined, bimodal scores, rare rules, topology clusters) written
as the pipeline writes them — one partition directory per chunk of {CHUNK_SIZE} repositories, the full profile's
size — plus the same rows as JSONL for the baseline. Each side runs in a fresh process; wall time includes
interpreter start and imports (median of {args.rounds} runs; the baseline's, one run above 100,000 pings); every
run of stratum_assets starts without a stored split, so it assigns every repository as a first build does; peak
memory is the process's own high-water mark (VmHWM).

| pings | work | stratum_assets s | peak MiB | baseline (JSONL → dicts) s | peak MiB | speed-up |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

stratum_assets = what `audit_report` and `train_test_split` run: blocks current (checked), views, duplicate
groups four ways (no code signatures in synthetic pings: see the near-duplicate benchmark), ten sections in
DuckDB SQL, gates G1–G8, rendered report and the frozen split assignment stored as Parquet; the
second row of each size adds the train/test exports (Parquet + JSONL, features/labels/metadata apart). Each
asset reads `scan_dataset` once, into a snapshot of the columns it needs; train and test are written side by side
(one DuckDB thread each) up to 200,000 assigned repositories, one after the other above.
Baseline = a model of the reference pipeline's `audit.py` (JSONL → Python dicts in one process): the same
sections, gates and split assignment over dicts (plus json.dumps of the train/test rows). Both sides agree on
the usable count and on every gate. The reference itself, measured on this machine on the same kind of
pings, took 2.5 s / 325 MiB at 50,000 (3.8–4.0 s with its train/test files) and 52 s / 6.1 GiB at
1,000,000 (78–85 s with the files): the model matches it at 50,000 and is slower at a million (its dicts
hold every field), so the goals below use whichever is faster.

The partitions are read through blocks (`warehouse/blocks.py`): 40 partitions copied into three files by the
partition run that completes them, while the scan goes on. Their cost belongs to the scan stage (a few
tenths of a second per block, against hours of scanning); here they are written all at once, timed apart:

| pings | partitions | blocks | seconds | peak MiB |
| --- | ---: | ---: | ---: | ---: |
{blocks}

The goals are judged against the faster baseline: the model above or the reference's recorded time (the
lower end of its range), seconds:

| pings | work | reference (recorded) | model (this run) | stratum_assets | speed-up against the faster |
| --- | --- | ---: | ---: | ---: | ---: |
{reference_rows}

Goals: at {small:,} with the train/test files >= 3x faster \
({verdict(speedup(small_e, small, True) >= 3)}: {speedup(small_e, small, True):.1f}x); at {large:,}: audit + \
gates + split >= 10x faster ({verdict(speedup(big, large, False) >= 10)}: {speedup(big, large, False):.1f}x) and \
<= 1 GiB ({verdict(big[0][1] <= 2**30)}: {big[0][1] / 2**20:.0f} MiB); with the train/test files >= 3x \
({verdict(speedup(big_e, large, True) >= 3)}: {speedup(big_e, large, True):.1f}x) and <= 1 GiB \
({verdict(big_e[0][1] <= 2**30)}: {big_e[0][1] / 2**20:.0f} MiB)."""
    write_section("Audit, gates and split at scale", body)
    print(body)


if __name__ == "__main__":
    main()
