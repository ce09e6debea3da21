"""Re-run every benchmark, one after the other, so docs/BENCHMARKS.md is measured in one sitting.

    .venv/bin/python bench/run_all.py [--quick]

``--quick`` uses smaller sizes (a smoke run: the page then shows those sizes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = [
    ["discovery_requests.py", "--size", "60000"],
    ["manifest_build.py", "--size", "70000"],
    ["scanner_speed.py"],
    ["scan_partitions.py", "--repos", "120", "--workers", "4"],
    ["audit_scale.py", "--sizes", "50000,1000000"],
]
QUICK = [
    ["discovery_requests.py", "--size", "6000"],
    ["manifest_build.py", "--size", "7000"],
    ["scanner_speed.py"],
    ["scan_partitions.py", "--repos", "40", "--workers", "4"],
    ["audit_scale.py", "--sizes", "20000,100000"],
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for script, *rest in QUICK if args.quick else FULL:
        started = time.monotonic()
        print(f"== {script} {' '.join(rest)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *rest], check=True)
        print(f"== {script}: {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
