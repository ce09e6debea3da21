"""One rate governor for every GitHub request of a process.

GitHub's documented rule for both primary and secondary limits (403 or 429):
honour ``retry-after`` if present; else, if ``x-ratelimit-remaining`` is 0,
wait until ``x-ratelimit-reset``; else wait at least a minute; then back off
exponentially, with a bounded number of tries. Before each request the
governor also paces: a resource whose last answer said ``remaining: 0`` waits
for its reset instead of spending a request on a certain 403, and the search
API is never sent more than ``search_per_minute`` requests in any minute.

The governor counts requests per resource and every wait, so an asset can put
"how much did this cost" into its metadata.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryDecision:
    wait_seconds: float
    reason: str


class RateGovernor:
    def __init__(self, *, search_per_minute: int = 30, max_tries: int = 6, min_secondary_wait: float = 60.0,
                 backoff_base: float = 2.0, max_wait: float = 900.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.search_per_minute = search_per_minute
        self.max_tries = max_tries
        self.min_secondary_wait = min_secondary_wait
        self.backoff_base = backoff_base
        self.max_wait = max_wait
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._exhausted_until: dict[str, float] = {}
        self._search_sent: deque[float] = deque()
        self.requests: Counter[str] = Counter()
        self.waits: Counter[str] = Counter()
        self.wait_seconds: float = 0.0
        self.rate_limit_hits: int = 0

    # -- before a request -----------------------------------------------------------
    def before_request(self, resource: str) -> None:
        """Block until a request to ``resource`` may be sent without breaking a known limit."""
        while True:
            with self._lock:
                now = self._clock()
                wait = max(0.0, self._exhausted_until.get(resource, 0.0) - now)
                if resource == "search" and wait == 0.0:
                    while self._search_sent and self._search_sent[0] <= now - 60.0:
                        self._search_sent.popleft()
                    if len(self._search_sent) >= self.search_per_minute:
                        wait = self._search_sent[0] + 60.0 - now
                if wait <= 0.0:
                    self.requests[resource] += 1
                    if resource == "search":
                        self._search_sent.append(now)
                    return
            self._wait(wait, f"pacing:{resource}")

    # -- after an answer --------------------------------------------------------------
    def observe(self, resource: str, headers: Mapping[str, str]) -> None:
        """Remember an exhausted budget so the next request waits for the reset."""
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is not None and reset is not None and remaining.isdigit() and int(remaining) == 0:
            with self._lock:
                self._exhausted_until[headers.get("x-ratelimit-resource", resource)] = float(reset) + 1.0

    def retry_after(self, attempt: int, status: int | None, headers: Mapping[str, str]) -> RetryDecision | None:
        """How long to wait before try ``attempt + 1``; ``None`` when the tries are used up.

        ``status`` None means a network error. 403/429 are rate limits only when
        the answer says so (headers or message); the caller decides that and
        passes ``status`` only for retryable answers.
        """
        if attempt >= self.max_tries:
            return None
        backoff = self.backoff_base ** (attempt - 1)
        if status in (403, 429):
            with self._lock:
                self.rate_limit_hits += 1
            retry_after = headers.get("retry-after")
            if retry_after and retry_after.strip().isdigit():
                return RetryDecision(min(self.max_wait, float(retry_after)), "retry-after")
            if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
                until = float(headers["x-ratelimit-reset"]) - self._clock() + 1.0
                return RetryDecision(min(self.max_wait, max(1.0, until)), "reset")
            return RetryDecision(min(self.max_wait, self.min_secondary_wait * backoff), "secondary")
        return RetryDecision(min(self.max_wait, backoff), "server_error" if status else "network")

    def wait(self, decision: RetryDecision) -> None:
        self._wait(decision.wait_seconds, decision.reason)

    def _wait(self, seconds: float, reason: str) -> None:
        with self._lock:
            self.waits[reason] += 1
            self.wait_seconds += seconds
        self._sleep(seconds)

    def summary(self) -> dict:
        with self._lock:
            return {"requests": dict(self.requests), "requests_total": sum(self.requests.values()),
                    "waits": dict(self.waits), "wait_seconds": round(self.wait_seconds, 2),
                    "rate_limit_hits": self.rate_limit_hits}
