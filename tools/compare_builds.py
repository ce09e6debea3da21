"""Compare the data of two offline builds, clock fields aside: a refactor that should change nothing is checked
by building before and after it and comparing.

    python tools/compare_builds.py A/data B/data

Parquet: same schema and the same rows (as a sorted multiset); JSON and JSONL: equal. Before comparing, the
clock fields are removed at any depth, and so are the values that differ between two runs of unchanged main
(measured: the run ids, scan ids, block stamps, the checkout's absolute path) and the emulator's loopback port
inside URLs. Anything else: byte-equal. Skipped: the Dagster
instance, the emulator's bare repositories, locks and the DuckDB file (views only). Prints one line per
difference and exits 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pyarrow.parquet as pq

CLOCK_COLUMNS = {"timestamp", "scan_duration_ms", "collected_at"}
CLOCK_KEYS = CLOCK_COLUMNS | {
    "recorded_at",
    "finished_at",
    "duration_s",
    "started_at",
    "completed_at",
    "durations",
    "total_duration_hours",
    "avg_scan_duration_ms",
    "repos_per_min",
    "sha256",
    "checksums",
}
# Not clocks, but different in every run of unchanged main (two baseline builds, 2026-12-06): Dagster's run ids
# and the scanner's per-scan uuid anywhere; a block's stamp in its sources.json; the absolute path of the
# checkout's exclusions file in a manifest version's meta.json.
PER_RUN_KEYS = {"run_id", "scan_id", "partitions_scanned"}
PER_RUN_KEYS_OF = {"sources.json": {"stamp"}, "meta.json": {"source"}}
LOOPBACK = re.compile(r"http://127\.0\.0\.1:\d+")
SKIP_PARTS = {"dagster", "sandbox", "work"}
SKIP_NAMES = {".build.lock", ".pipeline_run_log.json.lock", "stratum.duckdb", "stratum.duckdb.wal"}


def _files(root: Path) -> set[Path]:
    return {
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and not SKIP_PARTS & set(p.relative_to(root).parts) and p.name not in SKIP_NAMES
    }


def _strip(value, drop: frozenset[str] = frozenset(CLOCK_KEYS | PER_RUN_KEYS)):
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, (list, tuple)):
        return [_strip(v, drop) for v in value]
    if isinstance(value, str):
        return LOOPBACK.sub("http://127.0.0.1:PORT", value)
    return value


def _parquet_differs(a: Path, b: Path) -> str | None:
    if not pq.read_schema(a).equals(pq.read_schema(b)):
        return "schema"
    rows = [
        sorted(json.dumps(_strip(r), sort_keys=True, default=str) for r in pq.read_table(p).to_pylist()) for p in (a, b)
    ]
    if rows[0] == rows[1]:
        return None
    only_a, only_b = set(rows[0]) - set(rows[1]), set(rows[1]) - set(rows[0])
    return f"{len(rows[0])} vs {len(rows[1])} rows, {len(only_a)} only in A, {len(only_b)} only in B"


def differs(a: Path, b: Path) -> str | None:
    if a.suffix == ".parquet":
        return _parquet_differs(a, b)
    if a.suffix == ".json":
        drop = frozenset(CLOCK_KEYS | PER_RUN_KEYS | PER_RUN_KEYS_OF.get(a.name, set()))
        return None if _strip(json.loads(a.read_text()), drop) == _strip(json.loads(b.read_text()), drop) else "json"
    if a.suffix == ".jsonl":
        la, lb = a.read_text().splitlines(), b.read_text().splitlines()
        if len(la) != len(lb):
            return f"{len(la)} vs {len(lb)} lines"
        bad = sum(_strip(json.loads(x)) != _strip(json.loads(y)) for x, y in zip(la, lb, strict=True))
        return f"{bad} lines differ" if bad else None
    return None if a.read_bytes() == b.read_bytes() else "bytes"


def main(a_root: Path, b_root: Path) -> int:
    fa, fb = _files(a_root), _files(b_root)
    problems = [f"only in A: {p}" for p in sorted(fa - fb)] + [f"only in B: {p}" for p in sorted(fb - fa)]
    for rel in sorted(fa & fb):
        why = differs(a_root / rel, b_root / rel)
        if why:
            problems.append(f"{rel}: {why}")
    print("\n".join(problems) or f"{len(fa & fb)} files equal (clock fields aside)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
