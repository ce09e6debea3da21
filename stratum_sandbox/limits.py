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
        self._windows = {name: _Window(limit, seconds) for name, (limit, seconds) in
                         {**DEFAULT_BUDGETS, **(budgets or {})}.items()}

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
            out[name] = {"limit": int(h["x-ratelimit-limit"]), "used": int(h["x-ratelimit-used"]),
                         "remaining": int(h["x-ratelimit-remaining"]), "reset": int(h["x-ratelimit-reset"])}
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


@dataclass
class Fault:
    """One injected failure.

    ``kind``: ``secondary_403`` / ``secondary_429`` (secondary rate limit, with
    ``retry_after``), ``primary_403`` (remaining 0, wait for reset),
    ``server_error`` (``status`` 500/502/503), ``slow`` (sleep ``delay`` seconds
    then answer normally). ``resource``: search, core, graphql or git.
    Fires on the next ``times`` matching requests, or — with ``every`` — on
    every k-th request, up to ``times`` in all; ``after`` lets that many
    matching requests through first (a server that breaks mid-run).
    """

    kind: str
    resource: str
    times: int = 1
    every: int = 1
    status: int = 502
    retry_after: int | None = 1
    delay: float = 0.0
    after: int = 0
    seen: int = field(default=0, repr=False)
    fired: int = field(default=0, repr=False)

    KINDS = ("secondary_403", "secondary_429", "primary_403", "server_error", "slow")

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {self.KINDS}")


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

    def draw(self, resource: str) -> Fault | None:
        """The fault that applies to this request of ``resource``, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.resource != resource or fault.fired >= fault.times:
                    continue
                fault.seen += 1
                if fault.seen > fault.after and (fault.seen - fault.after) % fault.every == 0:
                    fault.fired += 1
                    return fault
            return None

    def fired(self) -> int:
        with self._lock:
            return sum(f.fired for f in self._faults)
