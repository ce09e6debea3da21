"""A long-lived built-in scanner process: one JSON request per line in, one JSON answer per line out.

Starting Python and importing the scanner costs about 150 ms; a worker pays it
once per partition thread instead of once per repository, and still runs each
scan outside the pipeline's process, so a hung scan can be killed and a crash
stays contained. ``--memory-limit-mb N`` caps its address space (``RLIMIT_AS``) before
it reads anything; a scan that runs out of memory answers ``{"error": "MemoryError"}``.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from ..scanner.engine import scan_repository


def limit_memory(argv: list[str]) -> None:
    if "--memory-limit-mb" in argv:
        megabytes = int(argv[argv.index("--memory-limit-mb") + 1])
        if megabytes > 0:
            resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))


def main() -> None:
    limit_memory(sys.argv[1:])
    for line in sys.stdin:
        request = json.loads(line)
        try:
            ping = scan_repository(Path(request["path"]), request["name"], all_files=request.get("files"))
            answer: dict[str, object] = {"ping": ping}
        except Exception as exc:
            answer = {"error": type(exc).__name__}
        try:
            text = json.dumps(answer)
        except MemoryError:
            text = json.dumps({"error": "MemoryError"})
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
