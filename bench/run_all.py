"""Re-run every benchmark, one after the other, so docs/BENCHMARKS.md is measured in one sitting.

    .venv/bin/python bench/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["discovery_requests.py", "--size", "60000"],
    ["manifest_build.py", "--size", "70000"],
    ["scanner_speed.py"],
    ["scanner_agreement.py"],
    ["scan_partitions.py", "--repos", "120", "--workers", "4"],
    ["audit_scale.py", "--sizes", "50000,1000000"],
]


def main() -> int:
    for script, *args in BENCHMARKS:
        started = time.monotonic()
        print(f"== {script} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
        print(f"== {script}: {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
