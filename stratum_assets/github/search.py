"""Repository search past GitHub's 1,000-result cap.

GitHub returns at most 1,000 results per query. Splitting the query by
``created:`` windows gets past it: probe a window, and if it reports more than
1,000 results cut it into slices sized for about 800 each, recursively, until
every window fits; a window of a single second that still holds more than
1,000 results cannot be split further and is reported as truncated, never
silently cut. Result order is unstable between pages, so items are
deduplicated by repository id.

Progress is checkpointed after each finished window (items found so far and
the windows still to do), so an interrupted search resumes where it stopped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .client import GitHubClient, SearchCapReached

CAP = 1000
_TARGET_PER_WINDOW = 800
GITHUB_EPOCH = datetime(2008, 1, 1, tzinfo=UTC)

# The search-item fields the pipeline keeps; the rest of GitHub's ~90 fields are dropped at once.
SLIM_FIELDS = (
    "id",
    "node_id",
    "full_name",
    "html_url",
    "description",
    "fork",
    "created_at",
    "pushed_at",
    "stargazers_count",
    "forks_count",
    "language",
    "topics",
    "size",
    "default_branch",
    "archived",
)


def slim(item: dict) -> dict:
    out = {k: item.get(k) for k in SLIM_FIELDS}
    out["license"] = (item.get("license") or {}).get("spdx_id")
    return out


@dataclass(frozen=True)
class Window:
    """An inclusive ``created:`` range, to the second."""

    start: datetime
    end: datetime

    def qualifier(self) -> str:
        return f"created:{_iso(self.start)}..{_iso(self.end)}"

    def split(self, parts: int) -> list[Window]:
        seconds = int((self.end - self.start).total_seconds()) + 1
        parts = max(2, min(parts, seconds))
        step = seconds / parts
        bounds = [self.start + timedelta(seconds=round(i * step)) for i in range(parts + 1)]
        return [
            Window(bounds[i], bounds[i + 1] - timedelta(seconds=1)) for i in range(parts) if bounds[i + 1] > bounds[i]
        ]

    @property
    def splittable(self) -> bool:
        return self.end > self.start

    def to_json(self) -> list[str]:
        return [_iso(self.start), _iso(self.end)]

    @classmethod
    def from_json(cls, pair: list[str]) -> Window:
        return cls(_parse(pair[0]), _parse(pair[1]))


@dataclass
class SearchOutcome:
    items: dict[int, dict] = field(default_factory=dict)
    windows_searched: int = 0
    truncated: list[dict] = field(default_factory=list)  # windows still missing results: counts and reason


class SearchCheckpoint:
    """Append-only JSONL of finished windows; the last line also lists the windows still to do."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> tuple[SearchOutcome, list[Window] | None]:
        outcome, pending = SearchOutcome(), None
        if not self.path.exists():
            return outcome, None
        intact = 0  # bytes of whole, readable lines
        with self.path.open("rb") as fh:
            for line in fh:
                try:
                    entry = json.loads(line) if line.endswith(b"\n") else None
                except ValueError:
                    entry = None
                if entry is None:
                    break  # a line cut by a crash: everything before it is intact
                intact += len(line)
                outcome.items.update({item["id"]: item for item in entry["items"]})
                outcome.windows_searched += 1
                outcome.truncated += entry.get("truncated", [])
                pending = [Window.from_json(w) for w in entry["pending"]]
        if intact < self.path.stat().st_size:
            # Cut the torn tail, or the next record would be glued onto it and be unreadable too.
            with self.path.open("r+b") as fh:
                fh.truncate(intact)
        return outcome, pending

    def record(self, window: Window, items: Iterable[dict], pending: list[Window], truncated: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "window": window.to_json(),
                "items": list(items),
                "truncated": truncated,
                "pending": [w.to_json() for w in pending],
            }
        )
        with self.path.open("a") as fh:
            fh.write(line + "\n")
            fh.flush()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def search_all(
    client: GitHubClient,
    q: str,
    *,
    start: datetime = GITHUB_EPOCH,
    end: datetime | None = None,
    checkpoint: SearchCheckpoint | None = None,
) -> SearchOutcome:
    """Every repository matching ``q`` (which must not contain ``created:`` itself).

    A window is done when it is complete: every page answered ``incomplete_results: false`` and as many
    items arrived as the largest ``total_count`` any page reported. A window that timed out is read once
    more, then split (smaller windows time out less); one that cannot be split any further is recorded
    with what it still misses and why, never as finished.
    """
    end = end or datetime.now(UTC).replace(microsecond=0)
    outcome, pending = checkpoint.load() if checkpoint else (SearchOutcome(), None)
    if pending is None:
        pending = [Window(start, end)]
    while pending:
        window = pending.pop()
        read = _read(client, f"{q} {window.qualifier()}", splittable=window.splittable)
        if window.splittable and read.total > CAP:
            pending.extend(reversed(window.split(math.ceil(read.total / _TARGET_PER_WINDOW))))
            continue  # earliest slice is searched next
        if read.incomplete or len(read.found) < min(read.total, CAP):
            # A timeout or an unstable ordering between pages may pass: read the window once more.
            again = _read(client, f"{q} {window.qualifier()}", splittable=window.splittable)
            read = _WindowRead(
                {**read.found, **again.found},
                max(read.total, again.total),
                again.incomplete,
                read.counts | again.counts,
            )
            if window.splittable and (read.incomplete or read.total > CAP):
                parts = max(2, math.ceil(read.total / _TARGET_PER_WINDOW))
                pending.extend(reversed(window.split(parts)))
                continue
        gaps = (
            []
            if read.complete
            else [
                {
                    "query": q,
                    "window": window.to_json(),
                    "total_count": read.total,
                    "fetched": len(read.found),
                    "reason": read.gap_reason(),
                }
            ]
        )
        outcome.items.update(read.found)
        outcome.windows_searched += 1
        outcome.truncated += gaps
        if checkpoint:
            checkpoint.record(window, read.found.values(), pending, gaps)
    return outcome


# Why a window still misses results after it was read twice and split as far as it goes.
GAP_REASONS = {
    "incomplete": "incomplete",  # GitHub timed out on every read of a one-second window
    "cap": "cap: window of one second",  # more than 1,000 results created in one second
    "count_changed": "count_changed",  # total_count moved between pages; fewer arrived than the most
    "missing": "results missing between pages",  # as many as counted were never served
}


@dataclass
class _WindowRead:
    """What one read of a window's pages found, and what GitHub said about it on the way."""

    found: dict[int, dict]
    total: int  # the largest total_count any page reported
    incomplete: bool  # some page answered incomplete_results: true
    counts: set[int]  # every total_count seen

    @property
    def complete(self) -> bool:
        return not self.incomplete and len(self.found) >= self.total

    def gap_reason(self) -> str:
        if self.incomplete:
            return GAP_REASONS["incomplete"]
        if self.total > CAP:
            return GAP_REASONS["cap"]
        return GAP_REASONS["count_changed" if len(self.counts) > 1 else "missing"]


def _read(client: GitHubClient, q: str, *, splittable: bool) -> _WindowRead:
    """Every page of one window; stops early once a page counts more than the cap and the window can be split."""
    read = _WindowRead({}, 0, False, set())
    for page in _pages(client, q):
        total = int(page["total_count"])
        read.counts.add(total)
        read.total = max(read.total, total)
        read.incomplete |= page.get("incomplete_results") is True
        read.found.update({item["id"]: slim(item) for item in page["items"]})
        if splittable and read.total > CAP:
            break
    return read


def _pages(client: GitHubClient, q: str):
    """Pages of one query; stops quietly at the 1,000-result wall (the caller reports the gap)."""
    try:
        yield from client.search_pages(q, per_page=100)
    except SearchCapReached:
        return


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)  # Python >= 3.11 reads the trailing "Z"
