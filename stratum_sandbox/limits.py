"""Server-side rate-limit budgets and switchable fault injection for the emulator.

Budgets follow GitHub's: a fixed window per resource (search 30 per minute,
core 5,000 per hour, GraphQL 5,000 points per hour), reported in the
``x-ratelimit-*`` headers of every answer. Faults are deterministic: a rule
fires on chosen requests of a resource (the next N, or every k-th), so a test
knows exactly what the client had to survive.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace

DEFAULT_BUDGETS = {"search": (30, 60.0), "core": (5000, 3600.0), "graphql": (5000, 3600.0)}


@dataclass
class _Window:
    limit: int
    seconds: float
    started: float = 0.0
    used: int = 0


class RateBudgets:
    """Primary rate limits, one window per resource, shared by every client of the emulator."""

    def __init__(self, budgets: dict[str, tuple[int, float]] | None = None, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows = {
            name: _Window(limit, seconds) for name, (limit, seconds) in {**DEFAULT_BUDGETS, **(budgets or {})}.items()
        }

    def take(self, resource: str, cost: int = 1) -> tuple[bool, dict[str, str]]:
        """Spend ``cost`` from ``resource``; returns whether it was allowed and the headers to send."""
        with self._lock:
            w = self._windows[resource]
            now = self._clock()
            if now >= w.started + w.seconds:
                w.started, w.used = now, 0
            allowed = w.used + cost <= w.limit
            if allowed:
                w.used += cost
            return allowed, self._headers(resource, w)

    def peek(self, resource: str) -> dict[str, str]:
        with self._lock:
            w = self._windows[resource]
            if self._clock() >= w.started + w.seconds:
                w.started, w.used = self._clock(), 0
            return self._headers(resource, w)

    def snapshot(self) -> dict[str, dict[str, int]]:
        out = {}
        for name in self._windows:
            h = self.peek(name)
            out[name] = {
                "limit": int(h["x-ratelimit-limit"]),
                "used": int(h["x-ratelimit-used"]),
                "remaining": int(h["x-ratelimit-remaining"]),
                "reset": int(h["x-ratelimit-reset"]),
            }
        return out

    @staticmethod
    def _headers(resource: str, w: _Window) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(w.limit),
            "x-ratelimit-remaining": str(max(0, w.limit - w.used)),
            "x-ratelimit-used": str(w.used),
            "x-ratelimit-reset": str(math.ceil(w.started + w.seconds)),
            "x-ratelimit-resource": resource,
        }


# GitHub's documented weathers, each a fault kind. Kinds that shape an answer (rather than replace it) are
# drawn by the route that builds the answer (SHAPING), the others before any answer (the error kinds).
WEATHER_KINDS = (
    # REST docs, "Search" -> "Timeouts and incomplete results": a search that times out answers 200 with
    # incomplete_results true and only what it found so far (total_count counts that, not the truth).
    "search_incomplete",
    # The same page: total_count is an estimate and may move between the pages of one query.
    "search_count_drift",
    # GraphQL docs, "Rate limits and query limits for the GraphQL API" -> timeouts: a query over ten seconds is
    # cut, answering 200 with data null and "Something went wrong while executing your query. This may be the
    # result of a timeout..." (the server_error kind with status 502/504 is the other documented form).
    "graphql_timeout",
    # GraphQL spec ("Errors", path) as GitHub serves it: a node that failed for another reason than NOT_FOUND
    # (FORBIDDEN, SERVICE_UNAVAILABLE, a timeout) is null in nodes(ids:) and named by its error's path.
    "graphql_node_errors",
    # GraphQL docs, secondary rate limits: may answer 200 with an error saying so (no type) instead of a 403.
    "graphql_secondary_200",
    # REST docs, "Best practices" / older secondary-limit wording: 403 "You have triggered an abuse detection
    # mechanism", with or without retry-after.
    "abuse_403",
)
SHAPING = frozenset({"search_incomplete", "search_count_drift", "graphql_node_errors"})


@dataclass
class Fault:
    """One injected failure.

    ``kind``: ``secondary_403`` / ``secondary_429`` (secondary rate limit, with
    ``retry_after``), ``primary_403`` (remaining 0, wait for reset),
    ``server_error`` (``status`` 500/502/503/504), ``slow`` (sleep ``delay`` seconds
    then answer normally), or one of GitHub's documented weathers (:data:`WEATHER_KINDS`,
    each named with the documentation it follows). ``resource``: search, core, graphql or git.
    Fires on the next ``times`` matching requests, or — with ``every`` — on
    every k-th request, up to ``times`` in all; ``after`` lets that many
    matching requests through first (a server that breaks mid-run). ``above``
    restricts a fault to big requests: a search matching more than ``above``
    repositories, a GraphQL query asking for more than ``above`` nodes (GitHub
    times out on heavy requests, not on light ones). ``repo`` (``owner/name``) restricts a git fault
    to that repository's clones (a limit that catches some clones and not others, by count, whatever
    the order in which a build's workers reach them).
    """

    kind: str
    resource: str
    times: int = 1
    every: int = 1
    status: int = 502
    retry_after: int | None = 1
    delay: float = 0.0
    after: int = 0
    above: int = 0
    fraction: float = 0.4  # search_incomplete: the share of the matches found before the timeout
    drift: int = 200  # search_count_drift: how many matches page 1's total_count misses
    error_type: str = "SERVICE_UNAVAILABLE"  # graphql_node_errors: the error type of a failed node
    nodes_every: int = 10  # graphql_node_errors: every k-th node of a nodes(ids:) answer fails
    repo: str = ""  # git: only this repository's clones (owner/name); "" for every clone
    seen: int = field(default=0, repr=False)
    fired: int = field(default=0, repr=False)

    KINDS = ("secondary_403", "secondary_429", "primary_403", "server_error", "slow", *WEATHER_KINDS)

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {self.KINDS}")
        if self.kind == "graphql_node_errors" and self.nodes_every < 1:
            raise ValueError("nodes_every must be at least 1")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError("fraction must be in [0, 1): an incomplete search finds less than all")


class FaultPlan:
    """The faults armed on an emulator; thread-safe, switchable at run time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Arm a fresh copy of ``fault`` (so one Fault value can be armed again, e.g. by a second test run)."""
        armed = replace(fault, seen=0, fired=0)
        with self._lock:
            self._faults.append(armed)
        return armed

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def draw(self, resource: str, *, size: int | None = None, shaping: bool = False, repo: str = "") -> Fault | None:
        """The fault that applies to this request of ``resource``, if any.

        ``size`` is the request's size (matches of a search, ids of a GraphQL query) for faults with
        ``above``; ``shaping`` draws the kinds that shape an answer instead of the ones that replace it;
        ``repo`` is the repository a git request is for (faults with ``repo`` fire on it only).
        """
        with self._lock:
            for fault in self._faults:
                if (
                    fault.resource != resource
                    or fault.fired >= fault.times
                    or (fault.kind in SHAPING) != shaping
                    or (fault.above and (size or 0) <= fault.above)
                    or (fault.repo and fault.repo != repo)
                ):
                    continue
                fault.seen += 1
                if fault.seen > fault.after and (fault.seen - fault.after) % fault.every == 0:
                    fault.fired += 1
                    return fault
            return None

    def fired(self) -> int:
        with self._lock:
            return sum(f.fired for f in self._faults)
