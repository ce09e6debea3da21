"""Postgres event-log storage whose pool slots are claimed one step at a time.

Why this exists: dagster-postgres 0.29 claims a pool slot with ``SELECT … FOR UPDATE SKIP LOCKED``
followed by an ``UPDATE … WHERE id = <that slot>``, on a connection in autocommit mode. The row
lock ends with the SELECT, so steps that claim at the same moment all find the same free slot
and all "claim" it: with ``git_clones`` at 2, three or four scan partitions launched together
clone at once (seen in CI; ``test_pool_claims.py`` shows the stock class letting four steps into
one slot). Pools are how this project bounds clones on a machine, so the bound must hold.

The fix is one statement: the claim is an ``UPDATE`` that only takes a slot still free
(``step_key IS NULL``). Under Postgres' READ COMMITTED, a second claimer that picked the same slot
waits for the first one's row lock, re-reads the row, finds it taken and updates nothing: its step
is told BLOCKED and Dagster's executor asks again later, as it does for any busy pool.

Use it in ``dagster.yaml`` as ``event_log_storage`` (docs/SCALE_OUT.md shows the whole block).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._utils.concurrency import ConcurrencySlotStatus
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config


class PostgresEventLogStorageWithAtomicSlots(PostgresEventLogStorage):
    """dagster-postgres' event log, except that a pool slot goes to exactly one step."""

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> PostgresEventLogStorageWithAtomicSlots:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def _claim_concurrency_slot(self, concurrency_key: str, run_id: str, step_key: str) -> ConcurrencySlotStatus:
        slots = ConcurrencySlotsTable.c
        free = db.and_(slots.concurrency_key == concurrency_key, slots.step_key.is_(None), slots.deleted.is_(False))
        one_free_slot = db.select(slots.id).where(free).limit(1).scalar_subquery()
        claim = ConcurrencySlotsTable.update().where(db.and_(slots.id == one_free_slot, free))
        with self.index_connection() as conn:
            taken = conn.execute(claim.values(run_id=run_id, step_key=step_key)).rowcount
        return ConcurrencySlotStatus.CLAIMED if taken == 1 else ConcurrencySlotStatus.BLOCKED
