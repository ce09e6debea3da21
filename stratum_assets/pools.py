"""Dagster concurrency pools: what each protects, and its limit.

``dagster.yaml`` can only give pools a default limit (1, the safe value); the limits that
differ live in the instance. ``ensure_pool_limits`` writes them once — ``stratum-assets run``
and ``backfill`` call it — and never overrides a limit someone set since
(``dagster instance concurrency set git_clones 4`` on a bigger machine).
"""

from __future__ import annotations

import dagster as dg

GITHUB_API = "github_api"  # the ten discovery steps share one search budget (30/min per token)
GIT_CLONES = "git_clones"  # one slot = one scan partition's pool of clone+scan workers

LIMITS = {GITHUB_API: 1, GIT_CLONES: 2}


def ensure_pool_limits(instance: dg.DagsterInstance) -> dict[str, int]:
    """Set each pool's limit unless the instance already has one; returns the limits in force."""
    storage = instance.event_log_storage
    configured = storage.get_concurrency_keys()
    for pool, limit in LIMITS.items():
        if pool not in configured:
            storage.set_concurrency_slots(pool, limit)
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in LIMITS}
