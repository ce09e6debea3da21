"""Benchmark: audit + gates + split at 50,000 and 1,000,000 pings, time and peak memory.

For each size, synthetic scan results are written once (manifest, partitions, and the same data
as JSONL). Then, each in a fresh child process so peak memory is its own:

* stratum_assets: DuckDB SQL sections + gates + rendered report + frozen split with train/test
  exports — the code the assets run;
* baseline: load the JSONL into Python dicts and compute the same numbers (sections, gates, split).

Goal: faster at 50k; at 1M at least 10x faster and at most 1 GiB peak. Writes its section of
docs/BENCHMARKS.md.

    .venv/bin/python bench/audit_scale.py [--sizes 50000,1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import resource
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


def ours(data: Path) -> dict:
    import duckdb

    from stratum_assets.audit.gates import GateThresholds
    from stratum_assets.audit.report import compute, render
    from stratum_assets.audit.split import split_and_export
    from stratum_assets.discovery.strata import strata
    from stratum_assets.warehouse import schema
    from stratum_assets.warehouse.layout import Layout

    layout = Layout(data)
    conn = duckdb.connect(str(data / "bench.duckdb"))
    conn.execute("SET memory_limit = '700MB'")
    schema.refresh(conn, layout, 1)
    targets = {k: s.target for k, s in strata("full").items()}
    results = compute(conn, targets, GateThresholds(), {})
    render(results, 1, "full")
    split = split_and_export(conn, layout, 1)
    return {"usable": results["volume"]["usable"], "gates": [g.passed for g in results["gates"]],
            "test": split["test"]}


def baseline(jsonl: Path) -> dict:
    """The same numbers from Python dicts, the way a notebook would."""
    pings = [json.loads(line) for line in open(jsonl)]
    stored = [p for p in pings if not p["quarantined"]]
    usable = [p for p in stored if p["scan_status"] in ("success", "partial")]
    by_status = Counter(p["scan_status"] for p in stored)
    reasons = Counter(p["failure_reason"] for p in stored if p["failure_reason"])
    frameworks = Counter(f for p in usable for f in p["frameworks"])
    scores = [p["risk_score"] for p in usable]
    hist = Counter(min(s // 10, 9) for s in scores)
    summary = (statistics.mean(scores), statistics.median(scores), statistics.quantiles(scores, n=10))
    rules = Counter(r for p in usable for r in p["finding_rules"])
    maturity = Counter(p["deployment_signals"]["deployment_score"] for p in usable)
    topo = Counter(p["topology_signature_hash"] for p in usable if p["topology_signature_hash"])
    in_groups = sum(n for n in topo.values() if n > 10)
    coverage = statistics.median(p["files_scanned"] / p["files_total"] for p in usable if p["files_total"])
    low_python = 0
    for p in pings:
        langs = json.loads(p["language_bytes"])
        low_python += langs.get("Python", 0) / max(1, sum(langs.values())) < 0.2
    forks = Counter(p["fork_parent"] for p in pings if p["fork_parent"])
    strata = Counter(p["selection_stratum"] for p in usable)
    gates = [len(usable) >= 40_000, min(frameworks.values()) >= 1000,
             sum(n for s, n in maturity.items() if s >= 3) >= 2000, sum(n >= 100 for n in rules.values()) >= 15,
             in_groups / len(usable) <= 0.05, by_status["empty"] / len(pings) <= 0.2,
             by_status["failed"] / len(pings) <= 0.1, coverage >= 0.8]
    groups = defaultdict(list)
    for p in usable:
        bucket = "low" if p["deployment_signals"]["deployment_score"] <= 1 else "mid"
        groups[(p["frameworks"][0] if p["frameworks"] else "none", bucket)].append(p["repo_hash"])
    split = {}
    for members in groups.values():
        ranked = sorted(members, key=lambda h: hashlib.sha256(f"17:{h}".encode()).hexdigest())
        n_test = round(0.2 * len(ranked))
        split.update({h: "test" if i < n_test else "train" for i, h in enumerate(ranked)})
    for name in ("train", "test"):  # the exports, as the split asset writes them
        with open(jsonl.parent / f"baseline_{name}.jsonl", "w") as fh:
            for p in usable:
                if split[p["repo_hash"]] == name:
                    fh.write(json.dumps(p) + "\n")
    del hist, summary, reasons, forks, strata, low_python
    return {"usable": len(usable), "gates": gates, "test": sum(v == "test" for v in split.values())}


def _child(kind: str, path: Path) -> tuple[float, int, dict]:
    """Run one side in a fresh interpreter; returns (seconds, peak RSS bytes, its result)."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True,
                         check=True)
    seconds = time.perf_counter() - started
    peak_kb, result = out.stdout.strip().splitlines()[-1].split(" ", 1)
    return seconds, int(peak_kb) * 1024, json.loads(result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,1000000")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        result = ours(Path(path)) if kind == "ours" else baseline(Path(path))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, json.dumps(result))
        return
    from report import write_section

    from stratum_assets.audit.synthetic import generate
    from stratum_assets.warehouse.layout import Layout

    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            generate(Layout(data), n, seed=5, chunk_size=max(10_000, n // 20), jsonl=Path(tmp) / "pings.jsonl")
            o_s, o_mem, o = _child("ours", data)
            b_s, b_mem, b = _child("baseline", Path(tmp) / "pings.jsonl")
            assert o["usable"] == b["usable"], (o, b)
            rows.append((n, o_s, o_mem, b_s, b_mem, o, b))
            print(n, f"ours {o_s:.1f}s {o_mem / 2**20:.0f} MiB", f"baseline {b_s:.1f}s {b_mem / 2**20:.0f} MiB")
    table = "\n".join(
        f"| {n:,} | **{o_s:.1f}** | **{o_m / 2**20:.0f}** | {b_s:.1f} | {b_m / 2**20:.0f} | **{b_s / o_s:.1f}x** |"
        for n, o_s, o_m, b_s, b_m, _, _ in rows)
    big = rows[-1]
    body = f"""Command: `.venv/bin/python bench/audit_scale.py --sizes {args.sizes}` \
(machine: {platform.machine()}, 2 cores, Python {platform.python_version()}).

Synthetic scan results (all statuses, ~1% quarantined, bimodal scores, rare rules, topology clusters) written
as the pipeline writes them, plus the same rows as JSONL for the baseline. Each side runs in a fresh process;
wall time includes interpreter start and imports; peak memory is the process's maximum RSS.

| pings | stratum_assets s | peak MiB | baseline (JSONL → dicts) s | peak MiB | speed-up |
| --- | ---: | ---: | ---: | ---: | ---: |
{table}

stratum_assets = DuckDB SQL over the partition Parquet files: ten sections, gates G1–G8, rendered report,
frozen split with train/test Parquet + JSONL exports. Baseline = the same sections, gates, split
assignment and train/test JSONL computed over Python dicts. Both agree on the usable count.

Goals: faster at 50k ({'met' if rows[0][3] > rows[0][1] else 'NOT met'}); at {big[0]:,}: >= 10x faster \
({'met' if big[3] >= 10 * big[1] else 'NOT met'}: {big[3] / big[1]:.1f}x) and <= 1 GiB \
({'met' if big[2] <= 2**30 else 'NOT met'}: {big[2] / 2**20:.0f} MiB)."""
    write_section("Audit, gates and split at scale", body)
    print(body)


if __name__ == "__main__":
    main()
