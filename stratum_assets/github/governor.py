"""One rate governor for every GitHub request of a process.

GitHub's documented rule for both primary and secondary limits (403 or 429):
honour ``retry-after`` if present; else, if ``x-ratelimit-remaining`` is 0,
wait until ``x-ratelimit-reset``; else wait at least a minute; then back off
exponentially, with a bounded number of tries. Before each request the
governor also paces: a resource whose last answer said ``remaining: 0`` waits
for its reset instead of spending a request on a certain 403, and the search
API is never sent more than ``search_per_minute`` requests in any minute.

Every wait is bounded and logged (logger ``stratum_assets.github``, plus an
optional ``on_wait`` sink such as a Dagster log). Waits the governor chooses
itself (backoff after a secondary limit, a 5xx, a network error or a garbled
body) are capped at ``max_wait``. Waits GitHub demands (``retry-after``, or a
budget that resets at ``x-ratelimit-reset``) are honoured exactly or not at
all: one longer than ``max_required_wait`` raises :class:`WaitTooLong`
instead of sleeping, and so does any wait that would take one request's
waiting past ``max_total_wait``. A rate-limit header that is not a plain
non-negative integer is treated as absent.

The governor counts requests per resource and every wait, so an asset can put
"how much did this cost" into its metadata.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger("stratum_assets.github")

# Waits GitHub asks for: shortening them only buys a certain second failure, so they are never capped.
REQUIRED = frozenset({"retry-after", "reset"})
_MAX_DIGITS = 12  # a header value longer than this is not a time GitHub would send


@dataclass(frozen=True)
class RetryDecision:
    wait_seconds: float
    reason: str


class WaitTooLong(RuntimeError):
    """A wait past the governor's bounds: the request fails instead of sleeping."""

    def __init__(self, reason: str, seconds: float, bound: float, *, total: bool = False, what: str = ""):
        self.reason, self.seconds, self.bound, self.total = reason, seconds, bound, total
        where = f"{what}: " if what else ""
        if total:
            text = (
                f"{where}waiting ({reason}) would make {seconds:.0f}s in total for this request, more than the "
                f"bound of {bound:.0f}s; not waiting"
            )
        else:
            text = f"{where}a wait of {seconds:.0f}s ({reason}) is more than the bound of {bound:.0f}s; not waiting"
        super().__init__(text)


def header_int(value: str | None) -> int | None:
    """A rate-limit header as a non-negative integer, or None when it is absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _MAX_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return int(value)


class RateGovernor:
    def __init__(
        self,
        *,
        search_per_minute: int = 30,
        max_tries: int = 6,
        min_secondary_wait: float = 60.0,
        backoff_base: float = 2.0,
        max_wait: float = 900.0,
        max_required_wait: float = 3700.0,
        max_total_wait: float = 7200.0,
        on_wait: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``max_required_wait`` defaults to GitHub's longest primary window (an hour) plus slack."""
        self.search_per_minute = search_per_minute
        self.max_tries = max_tries
        self.min_secondary_wait = min_secondary_wait
        self.backoff_base = backoff_base
        self.max_wait = max_wait
        self.max_required_wait = max_required_wait
        self.max_total_wait = max_total_wait
        self.on_wait = on_wait
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._exhausted_until: dict[str, float] = {}
        self._search_sent: deque[float] = deque()
        self.requests: Counter[str] = Counter()
        self.waits: Counter[str] = Counter()
        self.wait_seconds: float = 0.0
        self.rate_limit_hits: int = 0

    # -- before a request -----------------------------------------------------------
    def before_request(self, resource: str, *, spent: float = 0.0, what: str = "") -> float:
        """Block until a request to ``resource`` may be sent without breaking a known limit.

        Returns the seconds waited; ``spent`` is what this request already waited (for the total
        bound). Raises :class:`WaitTooLong` when the budget resets too far away.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = max(0.0, self._exhausted_until.get(resource, 0.0) - now)
                reason = "reset"
                if resource == "search" and wait == 0.0:
                    reason = "pacing"
                    while self._search_sent and self._search_sent[0] <= now - 60.0:
                        self._search_sent.popleft()
                    if len(self._search_sent) >= self.search_per_minute:
                        wait = self._search_sent[0] + 60.0 - now
                if wait <= 0.0:
                    self.requests[resource] += 1
                    if resource == "search":
                        self._search_sent.append(now)
                    return waited
            self._bounded_wait(
                wait,
                f"pacing:{resource}",
                required=reason == "reset",
                spent=spent + waited,
                what=what,
                label=f"{reason} of the {resource} budget",
            )
            waited += wait

    # -- after an answer --------------------------------------------------------------
    def observe(self, resource: str, headers: Mapping[str, str]) -> None:
        """Remember an exhausted budget so the next request waits for the reset."""
        remaining = header_int(headers.get("x-ratelimit-remaining"))
        reset = header_int(headers.get("x-ratelimit-reset"))
        if remaining == 0 and reset is not None:
            with self._lock:
                self._exhausted_until[headers.get("x-ratelimit-resource", resource)] = float(reset) + 1.0

    def retry_after(
        self, attempt: int, status: int | None, headers: Mapping[str, str], *, reason: str | None = None
    ) -> RetryDecision | None:
        """How long to wait before try ``attempt + 1``; ``None`` when the tries are used up.

        ``status`` None means a network error. 403/429 are rate limits only when
        the answer says so (headers or message); the caller decides that and
        passes ``status`` only for retryable answers. ``reason`` names another
        transient failure (e.g. ``malformed_body``) that backs off like a 5xx.
        A wait GitHub demands is returned uncapped: :meth:`wait` refuses it if
        it is past the bounds.
        """
        if attempt >= self.max_tries:
            return None
        backoff = self.backoff_base ** (attempt - 1)
        if status in (403, 429):
            with self._lock:
                self.rate_limit_hits += 1
            retry_after = header_int(headers.get("retry-after"))
            if retry_after is not None:
                return RetryDecision(float(retry_after), "retry-after")
            reset = header_int(headers.get("x-ratelimit-reset"))
            if header_int(headers.get("x-ratelimit-remaining")) == 0 and reset is not None:
                return RetryDecision(max(1.0, float(reset) - self._clock() + 1.0), "reset")
            return RetryDecision(min(self.max_wait, self.min_secondary_wait * backoff), "secondary")
        return RetryDecision(min(self.max_wait, backoff), reason or ("server_error" if status else "network"))

    def wait(self, decision: RetryDecision, *, spent: float = 0.0, what: str = "") -> None:
        """Sleep as decided, within the bounds; ``spent`` is what this request already waited."""
        self._bounded_wait(
            decision.wait_seconds,
            decision.reason,
            required=decision.reason in REQUIRED,
            spent=spent,
            what=what,
            label=decision.reason,
        )

    def _bounded_wait(
        self, seconds: float, reason: str, *, required: bool, spent: float, what: str, label: str
    ) -> None:
        if required and seconds > self.max_required_wait:
            log.warning(
                "%s: not waiting %.1fs (%s): more than the bound of %.0fs",
                what or "GitHub",
                seconds,
                label,
                self.max_required_wait,
            )
            raise WaitTooLong(label, seconds, self.max_required_wait, what=what)
        if spent + seconds > self.max_total_wait:
            log.warning(
                "%s: not waiting %.1fs (%s): this request would wait %.1fs in total, more than the bound of %.0fs",
                what or "GitHub",
                seconds,
                label,
                spent + seconds,
                self.max_total_wait,
            )
            raise WaitTooLong(label, spent + seconds, self.max_total_wait, total=True, what=what)
        message = f"GitHub: waiting {seconds:.1f}s ({label}){' before ' + what if what else ''}"
        log.log(logging.WARNING if required or reason == "secondary" else logging.INFO, message)
        if self.on_wait is not None:
            self.on_wait(message)
        self._wait(seconds, reason)

    def _wait(self, seconds: float, reason: str) -> None:
        with self._lock:
            self.waits[reason] += 1
            self.wait_seconds += seconds
        self._sleep(seconds)

    def summary(self) -> dict:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "requests_total": sum(self.requests.values()),
                "waits": dict(self.waits),
                "wait_seconds": round(self.wait_seconds, 2),
                "rate_limit_hits": self.rate_limit_hits,
            }
