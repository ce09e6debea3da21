"""One build per data directory: a second one refuses (naming the first) or waits; a killed one frees it."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from stratum_assets.cli import main
from stratum_assets.storage.build_lock import BuildLocked, build_lock, current_holder, lock_path

HOLD = """
import sys, time
from stratum_assets.storage.build_lock import build_lock
with build_lock(sys.argv[1], "stratum-assets run"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder_process(data, seconds=60.0) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(data), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_build_refuses_and_names_the_first(tmp_path):
    with build_lock(tmp_path, "stratum-assets run") as me:
        assert current_holder(tmp_path) == me and me["pid"] == os.getpid()
        with (
            pytest.raises(
                BuildLocked,
                match=rf"another build is running in {tmp_path}: pid {os.getpid()} on .* "
                r"\(`stratum-assets run`, since 20\d\d-.*Z\); wait for it to finish, "
                "or start this one with --wait",
            ),
            build_lock(tmp_path, "stratum-assets backfill", grace_s=0.2),
        ):
            pass
    assert current_holder(tmp_path) is None
    with build_lock(tmp_path, "stratum-assets backfill") as again:
        assert json.loads(lock_path(tmp_path).read_text()) == again


def test_a_build_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    child = _holder_process(tmp_path)
    try:
        assert current_holder(tmp_path)["pid"] == child.pid
        with (
            pytest.raises(BuildLocked, match=f"pid {child.pid} "),
            build_lock(tmp_path, "stratum-assets run", grace_s=0.2),
        ):
            pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert current_holder(tmp_path) is None
    with build_lock(tmp_path, "stratum-assets run") as me:
        assert me["pid"] == os.getpid()


def test_wait_takes_the_lock_once_the_holder_is_done(tmp_path):
    child = _holder_process(tmp_path, seconds=1.0)
    started = time.monotonic()
    with build_lock(tmp_path, "stratum-assets backfill", wait=True, poll_s=0.05, max_wait_s=60) as me:
        assert me["pid"] == os.getpid() and child.wait(timeout=30) == 0
    assert time.monotonic() - started < 30


def test_status_peeking_at_the_lock_never_makes_a_starting_build_refuse(tmp_path):
    """`status` reads the lock while builds take and release it: every build gets it, and the peeks saw it held."""
    stop, seen = threading.Event(), []

    def peek():
        while not stop.is_set():
            seen.append(current_holder(tmp_path))

    peeker = threading.Thread(target=peek)
    peeker.start()
    held = []
    try:
        for _ in range(20):
            with build_lock(tmp_path, "stratum-assets run") as me:
                held.append(me["pid"])
                time.sleep(0.01)
    finally:
        stop.set()
        peeker.join()
    assert held == [os.getpid()] * 20, "each start took the lock (a refusal raises)"
    assert any(h and h["pid"] == os.getpid() for h in seen), "the peeks ran while a build held the lock"


@pytest.mark.slow
def test_the_cli_refuses_a_second_run_on_the_same_data_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("STRATUM_SANDBOX", "1")
    child = _holder_process(tmp_path / "data")
    try:
        assert main(["run"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"stratum-assets run: another build is running in data: pid {child.pid} ")
        assert not (tmp_path / "data" / "candidates").exists(), "the refused build touched nothing"
    finally:
        child.kill()
        child.wait(timeout=30)


def test_status_says_whether_a_build_is_running_and_whose(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["status", "--data", str(data)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "no build running"
    child = _holder_process(data)
    try:
        assert main(["status", "--data", str(data)]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith(f"build running: pid {child.pid} on ") and "(`stratum-assets run`, since " in first
    finally:
        child.kill()
        child.wait(timeout=30)
