"""The "GitHub weather" profile: each documented misbehaviour of :mod:`stratum_sandbox.limits` at a
realistic rate, switched on together (``stratum-assets sandbox serve --weather``, the rehearsal's
``--weather``, ``POST /_sandbox/weather``).

A few percent of search pages time out (``incomplete_results``) and every search over 700 matches
does; total_count drifts between pages; some GraphQL nodes fail alone; big GraphQL batches time out
(200 "may be the result of a timeout", 502); secondary limits arrive as 403, as GraphQL 200s and in
the older abuse wording; one repository in 200 is blocked (451 or a DMCA takedown) and one in 200
was renamed after search indexed it. Deterministic: the same universe gets the same weather.
The default stays clear: nothing here is on unless asked for.
"""

from __future__ import annotations

from .limits import Fault
from .universe import Universe

ALWAYS = 10**9  # "times" for a fault that never runs out

WEATHER = (
    Fault("search_incomplete", "search", times=ALWAYS, every=25, fraction=0.5),  # 4 % of pages
    Fault("search_incomplete", "search", times=ALWAYS, above=700, fraction=0.6),  # broad windows always
    Fault("search_count_drift", "search", times=ALWAYS, every=20, drift=60),
    Fault("secondary_403", "search", times=ALWAYS, every=50, retry_after=1),
    Fault("abuse_403", "search", times=ALWAYS, every=60, retry_after=1),
    Fault("graphql_node_errors", "graphql", times=ALWAYS, every=10, nodes_every=25),
    Fault("graphql_timeout", "graphql", times=ALWAYS, every=3, above=50),
    Fault("server_error", "graphql", times=ALWAYS, every=7, above=50, status=502),
    Fault("graphql_secondary_200", "graphql", times=ALWAYS, every=40, retry_after=1),
)
BLOCK_EVERY = 200  # one repository in 200 is blocked ...
RENAME_EVERY = 200  # ... and another one in 200 renamed


def weather_repos(universe: Universe) -> tuple[dict[str, str], dict[str, str]]:
    """(blocked: full name -> "dmca" | "legal", renamed: old -> new full name), chosen by repository id."""
    blocked, renamed = {}, {}
    for repo in universe.repos:
        if repo.deleted:
            continue
        if repo.id % BLOCK_EVERY == 7:
            blocked[repo.full_name] = "dmca" if repo.id % 2 else "legal"
        elif repo.id % RENAME_EVERY == 11:
            renamed[repo.full_name] = f"{repo.owner}/{repo.name}-renamed"
    return blocked, renamed


def apply_weather(emulator) -> None:
    """Switch the weather on for ``emulator`` (a :class:`~stratum_sandbox.server.GitHubEmulator`)."""
    for fault in WEATHER:
        emulator.faults.add(fault)
    blocked, renamed = weather_repos(emulator.universe)
    emulator.blocked.update(blocked)
    emulator.renamed.update(renamed)
