"""A pool slot goes to one step, even when steps claim it at the same moment (real Postgres).

dagster-postgres' own claim lets several simultaneous claimers take one slot (its row lock ends
before the slot is written: see stratum_assets/instance/postgres_event_log.py). This test races six
claimers for one slot, thirty times, each on its own connection as separate runs are; with the
stock class it counts three or four winners in a round.
"""

import threading

import pytest
from dagster._utils.concurrency import ConcurrencySlotStatus

from stratum_assets.instance.postgres_event_log import PostgresEventLogStorageWithAtomicSlots

pytestmark = pytest.mark.slow  # starts a PostgreSQL server

CLAIMERS, ROUNDS = 6, 30


def _storage(postgres) -> PostgresEventLogStorageWithAtomicSlots:
    host, port, user, db = postgres
    config = {
        "postgres_db": {
            "hostname": host,
            "port": port,
            "username": user,
            "password": "trust",
            "db_name": db,
            "scheme": "postgresql+psycopg2",
        }
    }
    return PostgresEventLogStorageWithAtomicSlots.from_config_value(None, config)


def _race_for_one_slot(postgres, pool: str, round_: int) -> list[ConcurrencySlotStatus]:
    storages = [_storage(postgres) for _ in range(CLAIMERS)]
    start = threading.Barrier(CLAIMERS)
    outcomes: list[ConcurrencySlotStatus] = []

    def claim(i: int) -> None:
        start.wait()
        outcomes.append(storages[i]._claim_concurrency_slot(pool, f"run-{round_}-{i}", "scan_partition"))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for storage in storages:
        storage.dispose()
    return outcomes


def test_simultaneous_claimers_get_one_slot_between_them(postgres):
    storage = _storage(postgres)
    storage.set_concurrency_slots("race_pool", 1)
    winners = []
    for round_ in range(ROUNDS):
        outcomes = _race_for_one_slot(postgres, "race_pool", round_)
        assert len(outcomes) == CLAIMERS
        winners.append(outcomes.count(ConcurrencySlotStatus.CLAIMED))
        for i in range(CLAIMERS):
            storage.free_concurrency_slots_for_run(f"run-{round_}-{i}")
    assert set(winners) == {1}, f"winners per round: {winners}"
    holder = storage.get_concurrency_info("race_pool")
    assert (holder.slot_count, holder.active_slot_count) == (1, 0)


def test_a_second_slot_is_claimed_once_the_first_is_taken(postgres):
    storage = _storage(postgres)
    storage.set_concurrency_slots("two_slots", 2)
    first = storage._claim_concurrency_slot("two_slots", "run-a", "scan_partition")
    second = storage._claim_concurrency_slot("two_slots", "run-b", "scan_partition")
    third = storage._claim_concurrency_slot("two_slots", "run-c", "scan_partition")
    assert (first, second, third) == (
        ConcurrencySlotStatus.CLAIMED,
        ConcurrencySlotStatus.CLAIMED,
        ConcurrencySlotStatus.BLOCKED,
    )
    storage.free_concurrency_slots_for_run("run-a")
    assert storage._claim_concurrency_slot("two_slots", "run-c", "scan_partition") == ConcurrencySlotStatus.CLAIMED
    storage.dispose()
