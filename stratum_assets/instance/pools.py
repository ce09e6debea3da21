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
import re
import subprocess
import sys
from pathlib import Path

GITHUB_API = "github_api"  # the ten discovery steps share one search budget (30/min per token)
GIT_CLONES = "git_clones"  # one slot = one scan partition's pool of clone+scan workers

LIMITS = {GITHUB_API: 1, GIT_CLONES: 2}

_LIMIT_LINE = re.compile(r'^"(?P<pool>[^"]+)": \d+ / (?P<limit>\d+) slots', re.M)


def ensure_pool_limits(home: Path | str | None = None) -> dict[str, int]:
    """Set each pool's limit unless the instance already has one; returns the limits in force.

    ``home`` is the instance's $DAGSTER_HOME (default: the environment's): Dagster's command opens
    the instance from there, as every Dagster process does. The command runs in ``home``, where this
    project's dagster.yaml expects to be run from (its storage paths are relative: ``data/dagster/…``).
    """
    home = _home_of(home)
    configured = pool_limits(home)
    for pool, limit in LIMITS.items():
        if pool not in configured:
            _dagster_cli(home, "instance", "concurrency", "set", pool, str(limit))
    return {pool: limit for pool, limit in pool_limits(home).items() if pool in LIMITS}


def pool_limits(home: Path | str | None = None) -> dict[str, int]:
    """Every pool limit set in the instance, as ``dagster instance concurrency get --all`` reports it."""
    listed = _dagster_cli(_home_of(home), "instance", "concurrency", "get", "--all")
    return {m["pool"]: int(m["limit"]) for m in _LIMIT_LINE.finditer(listed)}


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
