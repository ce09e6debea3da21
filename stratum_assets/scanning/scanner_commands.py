"""Scanner commands: run a scanner on a checkout in a child process, with a timeout, and get one ping back.

This module owns the :class:`ScannerCommand` contract (``scan(path, full_name, files,
timeout)`` → :class:`ScanOutcome`) and its two implementations, which the ``scanner`` resource
chooses between (``ScannerResource.command()``), and the minimal environment of every child
process the scan stage starts (:func:`child_env`, git's too).

Two implementations share the same contract: the external ``stratum`` CLI
(``stratum scan PATH --json --no-telemetry --offline --repo-name NAME``, one
process per scan) and the built-in scanner (long-lived worker processes, one
per thread, see :mod:`stratum_assets.scanning.worker`). Both run outside the
pipeline's process so a hang can be killed and a crash cannot take the
partition down. The external one runs on a copy of the checkout because it writes
``.stratum/`` into the folder it scans; its stdout may carry log lines around
the JSON object, which are skipped.

Every child gets a minimal environment (:func:`child_env`): ``PATH``, a
``HOME`` and ``TMPDIR`` of its own that are removed after it, a UTF-8 locale,
and for the worker ``PYTHONPATH`` pointing at this package. Nothing else of
the pipeline's environment — a ``GITHUB_TOKEN``, cloud credentials — is
readable by a scanner, even through ``/proc/<pid>/environ``.

Every child also gets a memory cap (``memory_limit_mb``, ``RLIMIT_AS``; 0: none): a
worker sets it on itself at start, the external scanner is started through a
tiny ``python -c`` that sets it and ``exec``s the command (no ``preexec_fn``:
it is unsafe with the pipeline's threads). A scan that hits the cap is that
repository's ``parse_crash`` whose detail names the cap — a file whose parse
alone runs out of memory is one parser error inside the worker (a ``partial``
scan) — and a worker that ran out of memory or died is replaced for the next
repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

# A clone or scan that failed because of the machine or the connection, never because of the repository: not a
# failure reason (no ping carries it); the pipeline fails the partition instead (pipeline.EnvironmentFault).
ENVIRONMENT_FAILURE = "environment"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds stratum_assets/
DEFAULT_MEMORY_LIMIT_MB = 1024

# Sets RLIMIT_AS on itself, then becomes the command (argv[1] is the cap in bytes, the command follows).
_LIMITED_EXEC = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_AS, (n, n)); os.execvp(sys.argv[2], sys.argv[2:])"
)


def memory_limited(cmd: list[str], memory_limit_mb: int) -> list[str]:
    """``cmd`` run under an address-space cap of ``memory_limit_mb`` (unchanged for 0)."""
    if memory_limit_mb <= 0:
        return cmd
    return [sys.executable, "-I", "-S", "-c", _LIMITED_EXEC, str(memory_limit_mb << 20), *cmd]


def child_env(home: Path, *, tmp: Path | None = None, **extra: str) -> dict[str, str]:
    """The whole environment of a child process: nothing is inherited but ``PATH``."""
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": str(home),
        "TMPDIR": str(tmp or home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        **extra,
    }


@dataclass
class ScanOutcome:
    ping: dict | None
    failure: str | None = None  # parse_timeout | parse_crash | environment (not the repository's: never stored)
    detail: str = ""


def killed_from_outside(returncode: int | None) -> bool:
    """A scanner process ended by SIGKILL that we did not send: the OOM killer or an operator, i.e. the machine.
    Its own faults end otherwise: a MemoryError under its cap, an exception, a crash signal on hostile code."""
    return returncode == -signal.SIGKILL


class ScannerCommand:
    """Base: build the command line, run it, parse the single JSON object it prints."""

    name = "scanner"
    copies_checkout = False
    memory_limit_mb = DEFAULT_MEMORY_LIMIT_MB

    def command(self, path: Path, full_name: str, files_list: Path) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        """Release whatever the scanner keeps between scans (nothing, for a one-shot command)."""

    def scan(self, path: Path, full_name: str, files: list[str], timeout: float) -> ScanOutcome:
        path = Path(path).resolve()
        with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
            target = path
            if self.copies_checkout:
                target = Path(tmp) / "checkout"
                shutil.copytree(path, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            files_list = Path(tmp) / "files.txt"
            files_list.write_text("\n".join(files))
            try:
                out = subprocess.run(
                    memory_limited(self.command(target, full_name, files_list), self.memory_limit_mb),
                    capture_output=True,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                    cwd=tmp,
                    env=child_env(Path(tmp), PYTHONDONTWRITEBYTECODE="1"),
                )
            except subprocess.TimeoutExpired:
                return ScanOutcome(None, "parse_timeout", f"{self.name} exceeded {timeout:.0f}s")
            except OSError as exc:  # the command is gone, or the machine is out of processes or memory
                return ScanOutcome(None, ENVIRONMENT_FAILURE, f"{self.name} could not start: {type(exc).__name__}")
        if killed_from_outside(out.returncode):
            return ScanOutcome(None, ENVIRONMENT_FAILURE, f"{self.name} was killed (SIGKILL) from outside")
        ping = extract_json_object(out.stdout.decode("utf-8", "replace"))
        if out.returncode != 0 or ping is None:
            last = (out.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:200]
            cap = f" (memory cap {self.memory_limit_mb} MB)" if self.memory_limit_mb > 0 else ""
            return ScanOutcome(
                None,
                "parse_crash",
                f"{self.name} exited {out.returncode}{cap}"
                + ("" if ping is not None else ", no JSON ping on stdout")
                + (f": {last}" if last else ""),
            )
        return ScanOutcome(ping)


class BuiltinScanner(ScannerCommand):
    """The built-in scanner in long-lived worker processes, one per calling thread."""

    name = "builtin"

    def __init__(self, memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB):
        self.memory_limit_mb = memory_limit_mb
        self._local = threading.local()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def scan(self, path: Path, full_name: str, files: list[str], timeout: float) -> ScanOutcome:
        worker = getattr(self._local, "worker", None)
        if worker is None or not worker.alive():
            worker = self._local.worker = _Worker(self.memory_limit_mb)
            with self._lock:
                self._workers.append(worker)
        request = {"path": str(Path(path).resolve()), "name": full_name, "files": files}
        try:
            answer = worker.ask(request, timeout)
        except TimeoutError:
            worker.kill()
            return ScanOutcome(None, "parse_timeout", f"builtin scanner exceeded {timeout:.0f}s")
        except (EOFError, OSError, ValueError) as exc:
            code = worker.kill(grace=2.0)
            if killed_from_outside(code):
                return ScanOutcome(
                    None, ENVIRONMENT_FAILURE, "builtin scanner worker was killed (SIGKILL) from outside"
                )
            return ScanOutcome(
                None, "parse_crash", f"builtin scanner worker died ({type(exc).__name__}, exit {code}{self._cap()})"
            )
        if "ping" not in answer:
            error = answer.get("error", "an error")
            if error == "MemoryError":  # the worker survived, but may be left fragmented: start a fresh one
                worker.kill()
                return ScanOutcome(None, "parse_crash", f"builtin scanner ran out of memory{self._cap()}")
            return ScanOutcome(None, "parse_crash", f"builtin scanner raised {error}")
        return ScanOutcome(answer["ping"])

    def _cap(self) -> str:
        return f"; memory cap {self.memory_limit_mb} MB" if self.memory_limit_mb > 0 else ""

    def close(self) -> None:
        with self._lock:
            for worker in self._workers:
                worker.kill()
            self._workers.clear()


class _Worker:
    """One ``python -m stratum_assets.scanning.worker`` child and its line-based protocol."""

    def __init__(self, memory_limit_mb: int = 0):
        # Its own HOME and working directory: nothing of the caller's folder is importable or readable by
        # accident, so the package comes from PYTHONPATH — the very copy the caller runs.
        self.home = Path(tempfile.mkdtemp(prefix="scan-worker-"))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stratum_assets.scanning.worker", "--memory-limit-mb", str(memory_limit_mb)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=self.home,
                env=child_env(self.home, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(PACKAGE_ROOT)),
            )
        except BaseException:
            shutil.rmtree(self.home, ignore_errors=True)
            raise
        self.buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict, timeout: float) -> dict:
        stdin, stdout = cast(IO[bytes], self.proc.stdin), cast(IO[bytes], self.proc.stdout)  # PIPEs: never None
        stdin.write(json.dumps(request).encode() + b"\n")
        stdin.flush()
        deadline = time.monotonic() + timeout
        fd = stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise EOFError("worker exited")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def kill(self, grace: float = 0.0) -> int:
        """Stop the worker (if it still runs after ``grace`` seconds: one that closed its output is exiting by
        itself, and its own exit code says why) and remove its home; returns its exit code."""
        if grace > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait()
        for stream in (cast(IO[bytes], self.proc.stdin), cast(IO[bytes], self.proc.stdout)):  # PIPEs: never None
            with contextlib.suppress(OSError):
                stream.close()
        shutil.rmtree(self.home, ignore_errors=True)
        return code


class ExternalScanner(ScannerCommand):
    name = "stratum"
    copies_checkout = True

    def __init__(self, executable: str = "stratum", memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB):
        self.executable = executable
        self.memory_limit_mb = memory_limit_mb

    def command(self, path: Path, full_name: str, files_list: Path) -> list[str]:
        return [self.executable, "scan", str(path), "--json", "--no-telemetry", "--offline", "--repo-name", full_name]


def extract_json_object(stdout: str) -> dict | None:
    """The last complete top-level JSON object in ``stdout``, ignoring log noise around it."""
    decoder = json.JSONDecoder()
    found = None
    index = stdout.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(stdout, index)
        except ValueError:
            index = stdout.find("{", index + 1)
            continue
        if isinstance(value, dict):
            found = value
        index = stdout.find("{", end)
    return found
