"""Dagster concurrency pools: what each protects, and its limit.

``dagster.yaml`` can only give pools a default limit (1, the safe value); a pool whose limit
differs is set in the instance with Dagster's documented command,
``dagster instance concurrency set <pool> <limit>`` (or the UI's Deployment → Concurrency page).
:func:`ensure_pool_limits` runs that command once for each pool the instance has no limit for
yet — ``stratum-assets run`` and ``backfill`` call it — and never overrides a limit someone set
since (``dagster instance concurrency set git_clones 4`` on a bigger machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

GITHUB_API = "github_api"  # the ten discovery steps share one search budget (30/min per token)
GIT_CLONES = "git_clones"  # one slot = one scan partition's pool of clone+scan workers

LIMITS = {GITHUB_API: 1, GIT_CLONES: 2}


def ensure_pool_limits(instance: dg.DagsterInstance, home: Path | str | None = None) -> dict[str, int]:
    """Set each pool's limit unless the instance already has one; returns the limits in force.

    Every build and backfill calls this, so the limits are read from the open ``instance`` (what
    ``dagster instance concurrency get`` reads) and the command, a Python start and an instance load
    of ~2 s, runs only for a pool that has none. ``home`` is the $DAGSTER_HOME ``instance`` was opened
    from (default: the environment's): the command opens the instance from there, as every Dagster
    process does, and runs there, where this project's dagster.yaml expects to be run from (its
    storage paths are relative: ``data/dagster/…``).
    """
    in_force = {pool: limit for pool, limit in pool_limits(instance).items() if pool in LIMITS}
    for pool, limit in LIMITS.items():
        if pool not in in_force:  # the command fails loudly or the limit is set: no second read to confirm it
            _dagster_cli(_home_of(home), "instance", "concurrency", "set", pool, str(limit))
            in_force[pool] = limit
    return in_force


def pool_limits(instance: dg.DagsterInstance) -> dict[str, int]:
    """Every pool limit set in the instance (``dagster instance concurrency get --all`` lists the same)."""
    storage = instance.event_log_storage
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in storage.get_concurrency_keys()}


def _home_of(home: Path | str | None) -> str:
    home = home or os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError("set DAGSTER_HOME (or pass home=): Dagster's command must open the same instance")
    return str(Path(home).resolve())


def _dagster_cli(home: str, *args: str) -> str:
    """Dagster's own CLI on the instance at ``home``, run from ``home``."""
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": home}
    done = subprocess.run([str(dagster), *args], cwd=home, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`dagster {' '.join(args)}` failed: {done.stderr.strip()[-500:]}")
    return done.stdout
