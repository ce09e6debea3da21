"""Loopback servers started by the tests and the benchmarks: a free port, and waiting for a server to answer.

One place for both, so a test and the rehearsal start a Dagster webserver the same way and give up
the same way: at once when its process exits, else after a bounded wait.
"""

from __future__ import annotations

import socket
import subprocess
import time

import requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_dagster_ui(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    """Until the Dagster webserver at ``url`` answers /server_info; fails at once if its process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Dagster webserver exited ({server.returncode})")
        try:
            if requests.get(f"{url}/server_info", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the Dagster webserver at {url} did not start within {timeout:.0f} s")
