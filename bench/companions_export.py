"""Benchmark: the companion export (scan_results.jsonl + quarantine.jsonl) at 50,000 and 1,000,000 pings.

For each size, scan results are written once as the pipeline writes them (manifest, one partition per
chunk of the full profile's 250 repositories, and the blocks the scan stage compacts them into):
the audit benchmark's synthetic generator (statuses, frameworks, rules, ~1% quarantined), with every
column it leaves null filled from a real reference ping, so each stored ping is as wide as a real
one (~100 fields, ~3 KiB of JSON) and each quarantine row carries a whole ping. Then, each in a
fresh child process so peak memory is its own:

* stratum_assets: ``companions.write_scan_companions`` — the code the finishing stage and
  ``publish`` run: DuckDB renders each line from the blocks' Parquet, Python writes batches of lines;
* baseline: the same files in Python, partition by partition (rows → dicts → the ping rebuilt
  → ``json.dumps``), the straightforward way that still never holds every ping at once.

Both outputs are checked to hold the same pings in the same order. Goal: at 1,000,000 within the
audit's budget (<= 1 GiB peak). Writes its section of docs/BENCHMARKS.md.

    .venv/bin/python bench/companions_export.py [--sizes 50000,1000000]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
TEMPLATE = ROOT / "stratum_assets_tests" / "fixtures" / "pings" / "crewAIInc__crewAI-examples.json"


def generate(n: int, data: Path) -> None:
    """Synthetic partitions, widened to real pings: every all-null column takes the reference ping's value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from stratum_assets.domain import chunks
    from stratum_assets.scanning.storage import ping_row, pings_table, replace_partition
    from stratum_assets.storage.layout import Layout
    from stratum_assets.warehouse.blocks import compact_ready
    from stratum_assets_tests.support.synthetic_pings import generate as synthetic

    layout = Layout(data)
    synthetic(layout, n, seed=5, chunk_size=chunks.default_size("full"))  # the pipeline's partitions
    template_ping = json.loads(TEMPLATE.read_text())
    template = pings_table([ping_row(template_ping, {"scanner": "stratum", "clone_attempts": 1})])
    for folder in sorted(layout.scans(1).glob(chunks.GLOB)):
        stored, quarantine = (
            pq.read_table(folder / "scan_results.parquet"),
            pq.read_table(folder / "quarantine.parquet"),
        )
        filler = template.take(pa.array([0] * len(stored)))
        widened = pa.Table.from_arrays(
            [
                filler.column(f.name) if stored.column(f.name).null_count == len(stored) else stored.column(f.name)
                for f in stored.schema
            ],
            schema=stored.schema,
        )
        quarantine = quarantine.set_column(
            quarantine.schema.get_field_index("ping_json"),
            "ping_json",
            pa.array([json.dumps(template_ping)] * len(quarantine), pa.string()),
        )
        stats = json.loads((folder / "stats.json").read_text())
        replace_partition(folder, widened, quarantine, stats)
    compact_ready(layout, 1)  # the blocks, as the scan stage leaves them when every partition is done


def ours(data: Path) -> dict:
    from stratum_assets.storage.layout import Layout
    from stratum_assets.warehouse.companions import write_scan_companions

    return write_scan_companions(Layout(data), 1)


def baseline(data: Path) -> dict:
    """The same two files from Python dicts, one partition at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from stratum_assets.scanner.ping import Ping
    from stratum_assets.scanning.storage import JSON_TEXT_FIELDS, PING_SCHEMA
    from stratum_assets.storage.layout import Layout
    from stratum_assets.storage.verify import whole_partitions

    layout = Layout(data)
    fields = list(Ping.model_fields)
    maps = {f.name for f in PING_SCHEMA if pa.types.is_map(f.type)}

    def ping(row: dict) -> dict:
        out = {}
        for name in fields:
            value = row[name]
            if name in JSON_TEXT_FIELDS:
                value = json.loads(value) if value is not None else None
            elif name in maps and value is not None:  # Arrow gives a map as (key, value) pairs
                value = dict(value)
            out[name] = value
        return {**out, **json.loads(row["extra_json"] or "{}")}

    def quarantined(row: dict) -> dict:
        return {
            **{
                k: row[k]
                for k in ("repo_hash", "repo_full_name", "chunk_id", "scan_status", "failure_reason", "errors")
            },
            "ping": json.loads(row["ping_json"]),
        }

    counts = {}
    for name, make, target in (
        ("scan_results", ping, layout.scan_results_jsonl),
        ("quarantine", quarantined, layout.quarantine_jsonl),
    ):
        counts[name] = 0
        with open(target, "w") as fh:
            for folder in whole_partitions(layout, 1):
                rows = sorted(pq.read_table(folder / f"{name}.parquet").to_pylist(), key=lambda r: r["repo_hash"])
                fh.writelines(json.dumps(make(r)) + "\n" for r in rows)
                counts[name] += len(rows)
    return counts


def _peak_rss_bytes() -> int:
    """This process's own high-water mark (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(kind: str, data: Path) -> tuple[float, int, dict]:
    """Run one side in a fresh interpreter; (seconds, peak RSS bytes, lines written)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(data)], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - started
    peak, result = out.stdout.strip().splitlines()[-1].split(" ", 1)
    return seconds, int(peak), json.loads(result)


def _same_pings(a: Path, b: Path, every: int = 97) -> int:
    """Both files have as many lines, and every ``every``-th line holds the same JSON value in both."""
    compared = 0
    with open(a) as fa, open(b) as fb:
        for i, (la, lb) in enumerate(zip(fa, fb, strict=True)):
            if i % every == 0:
                assert json.loads(la) == json.loads(lb), (a.name, i)
                compared += 1
    return compared


def _row(n: int, size: int, ours_run, base_run) -> str:
    (o_s, o_m, _), (b_s, b_m, _) = ours_run, base_run
    return (
        f"| {n:,} | {size / 2**20:,.0f} | **{o_s:.1f}** | **{o_m / 2**20:.0f}** | {b_s:.1f} | {b_m / 2**20:.0f} "
        f"| **{b_s / o_s:.1f}x** |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,1000000")
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--generate", nargs=2)
    args = parser.parse_args()
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return
    if args.child:
        kind, data = args.child
        result = (ours if kind == "ours" else baseline)(Path(data))
        print(_peak_rss_bytes(), json.dumps(result))
        return
    from report import write_section

    rows, runs = [], {}
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            subprocess.run([sys.executable, __file__, "--generate", str(n), str(data)], check=True, cwd=ROOT)
            o = _child("ours", data)
            kept = Path(tmp) / "ours"
            kept.mkdir()
            for name in ("scan_results.jsonl", "quarantine.jsonl"):
                (data / name).rename(kept / name)
            size = sum((kept / name).stat().st_size for name in ("scan_results.jsonl", "quarantine.jsonl"))
            b = _child("baseline", data)
            assert o[2] == b[2] and sum(o[2].values()) == n, (o[2], b[2])
            for name in ("scan_results.jsonl", "quarantine.jsonl"):
                _same_pings(kept / name, data / name)
            runs[n] = (o, b)
            rows.append(_row(n, size, o, b))
            print(rows[-1], flush=True)
    big = max(runs)
    (o_s, o_m, counts), (b_s, b_m, _) = runs[big]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    body = f"""Command: `.venv/bin/python bench/companions_export.py --sizes {args.sizes}` \
(machine: {platform.machine()}, 2 cores, Python {platform.python_version()}).

Scan results written as the pipeline writes them (the audit benchmark's synthetic partitions, one per chunk
of 250 repositories, and their blocks; ~1% quarantined, every column the generator leaves null filled from a real \
reference ping, so each ping is
as wide as a real one), exported to `scan_results.jsonl` + `quarantine.jsonl`, ordered by repo_hash.
Each side runs in a fresh process; wall time includes interpreter start and imports; peak memory is the
process's own high-water mark (VmHWM). Both sides write the same pings in the same order (checked).

| pings | JSONL MiB | stratum_assets s | peak MiB | baseline (Python dicts per partition) s | peak MiB | speed-up |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

stratum_assets = `companions.write_scan_companions`, what the finishing stage (`pipeline_run_log`) and
`publish` run: DuckDB (memory limit 512 MB) renders each ping's line from the blocks' Parquet (40
partitions each, `warehouse/blocks.py`) in repo_hash order (partitions are hash ranges, each written in
order by the scan stage, so it streams without a sort; a file out of order would be sorted) and Python writes the \
lines 5,000 at a time to
a temporary file renamed into place. Baseline = each partition's rows as Python dicts, sorted, the ping
rebuilt and `json.dumps`-ed.

Ratio: **{b_s / o_s:.1f}x** faster than the baseline at {big:,} pings, at {o_m / b_m:.2f}x its peak memory.

Goals: at {big:,} pings ({counts["scan_results"]:,} stored, {counts["quarantine"]:,} quarantined) within \
the audit's memory budget, <= 1 GiB ({verdict(o_m <= 2**30)}: {o_m / 2**20:.0f} MiB, {o_s:.1f} s; \
baseline {b_m / 2**20:.0f} MiB, {b_s:.1f} s)."""
    write_section("Companion files: scan_results.jsonl at scale", body)
    print(body)


if __name__ == "__main__":
    main()
