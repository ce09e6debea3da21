"""Re-run every benchmark, one after the other, so docs/BENCHMARKS.md is measured in one sitting.

    .venv/bin/python bench/run_all.py

Not included: ``bench/rehearsal.py``, the whole 50k build through Dagster (about two hours on two
cores); run it on its own when the build's end-to-end behaviour at scale may have changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["discovery_requests.py", "--size", "60000"],
    ["manifest_build.py", "--size", "70000"],
    ["scanner_speed.py"],
    ["scanner_agreement.py"],  # needs STRATUM_REAL_CORPUS: skipped without it
    ["scan_partitions.py", "--repos", "120", "--workers", "4"],
    ["partition_runs.py", "--parallel", "2", "--rounds", "2", "--latency", "1.0"],
    ["audit_scale.py", "--sizes", "50000,1000000"],
    ["companions_export.py", "--sizes", "50000,1000000"],
    ["near_duplicates.py", "--size", "50000", "--sample", "2000"],
    # Last: it cites the audit and manifest sections written above. Uses STRATUM_REAL_CORPUS when set.
    ["main_job_cost.py", "--chunks", "5", "--rounds", "1", "--throughput-repos", "80", "--discovery-size", "75000"],
]


def main() -> int:
    for script, *args in BENCHMARKS:
        if script == "scanner_agreement.py" and not os.environ.get("STRATUM_REAL_CORPUS"):
            print(f"== {script}: skipped (set STRATUM_REAL_CORPUS to the real corpus to run it)", flush=True)
            continue
        started = time.monotonic()
        print(f"== {script} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
        print(f"== {script}: {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
