"""Benchmark: built-in scanner throughput on the sample universe (files/s, repos/s).

Every non-fork repository of the default offline universe is written to disk once, then scanned.
Baseline in the same run: only reading and ``ast.parse``-ing the same Python files — the floor any
AST-based scanner pays — so the ratio is the cost of the analysis on top of parsing.
Writes its section of docs/BENCHMARKS.md.

    .venv/bin/python bench/scanner_speed.py
"""

from __future__ import annotations

import ast
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402

from stratum_assets.scanner.engine import scan_repository  # noqa: E402
from stratum_assets.scanner.rules import RULES  # noqa: E402
from stratum_assets_tests.support.checkouts import write_checkout  # noqa: E402
from stratum_sandbox.universe import build_universe  # noqa: E402


def main() -> None:
    universe = build_universe()
    repos = [r for r in universe.repos if not r.is_fork]
    with tempfile.TemporaryDirectory() as tmp:
        roots = []
        for repo in repos:
            root = Path(tmp) / str(repo.id)
            write_checkout(repo, root)
            roots.append((repo, root))
        started = time.perf_counter()
        pings = [scan_repository(root, repo.full_name) for repo, root in roots]
        ours = time.perf_counter() - started
        started = time.perf_counter()
        parsed = 0
        for _, root in roots:
            for path in root.rglob("*.py"):
                if path.is_symlink():
                    continue
                try:
                    ast.parse(path.read_bytes())
                    parsed += 1
                except (SyntaxError, ValueError):
                    pass
        baseline = time.perf_counter() - started
    files_total = sum(p["files_total"] for p in pings)
    scanned = sum(p["files_scanned"] for p in pings)
    body = f"""Command: `.venv/bin/python bench/scanner_speed.py` (machine: {platform.machine()}, \
Python {platform.python_version()}, one process).

{len(repos)} repositories of the default offline universe (forks skipped: same code as their parent), \
{files_total:,} files of which {scanned:,} parsed (Python and CrewAI YAML).

| | seconds | repos/s | parsed files/s |
| --- | ---: | ---: | ---: |
| built-in scanner (walk, AST facts, model, capabilities, {len(RULES)} catalog rules, graph, ping) | {ours:.2f} | \
**{len(repos) / ours:.0f}** | **{scanned / ours:.0f}** |
| baseline: read + `ast.parse` of the same Python files only | {baseline:.2f} | {len(repos) / baseline:.0f} | \
{parsed / baseline:.0f} |

Ratio: the full scan costs {ours / baseline:.1f}x a bare parse of the same files."""
    write_section("Built-in scanner: speed on the sample universe", body)
    print(body)


if __name__ == "__main__":
    main()
