"""A long-lived built-in scanner process: one JSON request per line in, one JSON answer per line out.

Starting Python and importing the scanner costs about 150 ms; a worker pays it
once per partition thread instead of once per repository, and still runs each
scan outside the pipeline's process, so a hung scan can be killed and a crash
stays contained.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .scanner import scan_repository


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        try:
            ping = scan_repository(Path(request["path"]), request["name"], all_files=request.get("files"))
            answer = {"ping": ping}
        except Exception as exc:  # noqa: BLE001 - reported to the parent as a crash of this scan
            answer = {"error": type(exc).__name__}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
