"""Discover one stratum: search every query past the cap, enrich, filter, apply the fork policy.

Each returned row carries the dataset's ``repo_source_metadata`` (stars, forks,
dates, fork parent, license, topics, languages, README, the query that found
it, the stratum and when it was collected) plus the signals the manifest and
audit need. Every search hit is accounted for: kept, or counted under the
reason it was dropped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from ..github.client import GitHubClient
from ..github.enrich import Enrichment, enrich
from ..github.names import full_name_problem
from ..github.search import SearchCheckpoint, search_all
from .forks import one_fork_per_parent
from .strata import Stratum, frameworks_named

COLUMNS = (
    "repo_id",
    "node_id",
    "full_name",
    "html_url",
    "default_branch",
    "description",
    "github_stars",
    "github_forks",
    "last_commit_date",
    "repo_created_date",
    "is_fork",
    "fork_parent",
    "license",
    "github_topics",
    "primary_language",
    "language_bytes",
    "has_readme",
    "has_dockerfile",
    "has_ci",
    "has_tests",
    "size_kb",
    "frameworks_named",
    "discovery_query",
    "selection_stratum",
    "collected_at",
)


@dataclass
class StratumDiscovery:
    """The rows of one stratum and the account of every hit that did not become a row."""

    stratum: Stratum
    rows: list[dict] = field(default_factory=list)
    search_hits: int = 0
    dropped: Counter = field(default_factory=Counter)
    truncated_windows: list[dict] = field(default_factory=list)
    invalid_names: list[dict] = field(default_factory=list)  # {"full_name", "problem"}: never cloned
    enrichment_failed: list[dict] = field(default_factory=list)  # {"full_name", "node_id", "reason"}: not deleted
    renamed: list[dict] = field(default_factory=list)  # {"full_name", "renamed_from"}: GitHub's current name kept
    windows_searched: int = 0
    seconds: float = 0.0

    @property
    def search_gaps(self) -> dict[str, dict[str, int]]:
        """Per reason (incomplete, count_changed, ...): how many windows and how many results they still miss."""
        gaps: dict[str, dict[str, int]] = {}
        for window in self.truncated_windows:
            entry = gaps.setdefault(window["reason"], {"windows": 0, "missing": 0})
            entry["windows"] += 1
            entry["missing"] += max(0, window["total_count"] - window["fetched"])
        return gaps

    def summary(self) -> dict:
        """The numbers the audit report shows for this stratum's discovery: what was found, what is known to be
        missing (by reason), what GitHub kept failing to enrich, what was renamed."""
        return {
            "rows": len(self.rows),
            "target": self.stratum.target,
            "search_hits": self.search_hits,
            "search_gaps": self.search_gaps,
            "missing": sum(g["missing"] for g in self.search_gaps.values()),
            "enrichment_failed": len(self.enrichment_failed),
            "renamed": len(self.renamed),
        }

    @property
    def fill_pct(self) -> float:
        return round(100.0 * len(self.rows) / self.stratum.target, 1)


def discover_stratum(
    client: GitHubClient, stratum: Stratum, *, checkpoint_dir: Path | None = None, search_until: datetime | None = None
) -> StratumDiscovery:
    started = time.monotonic()
    result = StratumDiscovery(stratum)
    hits: dict[int, dict] = {}
    found_by: dict[int, str] = {}
    for query in stratum.queries:
        q = stratum.search_query(query)
        outcome = search_all(client, q, end=search_until, checkpoint=_checkpoint(checkpoint_dir, stratum, q))
        result.windows_searched += outcome.windows_searched
        result.truncated_windows += outcome.truncated
        for repo_id, item in outcome.items.items():
            hits.setdefault(repo_id, item)
            found_by.setdefault(repo_id, q)
    result.search_hits = len(hits)
    collected_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    enriched = enrich(client, [item["node_id"] for item in hits.values()])
    result.dropped["deleted_since_indexed"] = len(enriched.gone)
    result.dropped["enrichment_failed"] = len(enriched.failed)
    rows = []
    for repo_id, item in hits.items():
        if item["node_id"] in enriched.failed:
            result.enrichment_failed.append(
                {
                    "full_name": str(item.get("full_name"))[:200],
                    "node_id": item["node_id"],
                    "reason": enriched.failed[item["node_id"]],
                }
            )
        extra = enriched.found.get(item["node_id"])
        if extra is None:
            continue
        row = _row(item, extra, stratum, found_by[repo_id], collected_at)
        if extra.full_name != item.get("full_name"):
            result.renamed.append({"full_name": extra.full_name, "renamed_from": item.get("full_name")})
        problem = full_name_problem(row["full_name"])
        if problem:
            result.invalid_names.append({"full_name": str(row["full_name"])[:200], "problem": problem})
        reason = "invalid_full_name" if problem else _rejection(row, stratum)
        if reason:
            result.dropped[reason] += 1
        else:
            rows.append(row)
    kept, forks_dropped = one_fork_per_parent(rows)
    result.dropped["fork_of_kept_parent"] = len(forks_dropped)
    result.rows = sorted(kept, key=lambda r: r["repo_id"])
    result.seconds = time.monotonic() - started
    return result


def clear_checkpoints(checkpoint_dir: Path, stratum: Stratum) -> None:
    for query in stratum.queries:
        _checkpoint(checkpoint_dir, stratum, stratum.search_query(query)).clear()


@overload
def _checkpoint(directory: Path, stratum: Stratum, q: str) -> SearchCheckpoint: ...
@overload
def _checkpoint(directory: Path | None, stratum: Stratum, q: str) -> SearchCheckpoint | None: ...
def _checkpoint(directory: Path | None, stratum: Stratum, q: str) -> SearchCheckpoint | None:
    if directory is None:
        return None
    digest = hashlib.sha256(q.encode()).hexdigest()[:12]
    return SearchCheckpoint(Path(directory) / f"{stratum.name}-{digest}.jsonl")


def _row(item: dict, extra: Enrichment, stratum: Stratum, query: str, collected_at: str) -> dict:
    """A candidate row; GraphQL's fresher values win over the search item's."""
    text = " ".join([extra.full_name.split("/")[-1], item.get("description") or "", *extra.topics])
    return {
        "repo_id": int(item["id"]),
        "node_id": item["node_id"],
        "full_name": extra.full_name,
        "html_url": _current_url(item.get("html_url"), item.get("full_name"), extra.full_name),
        "default_branch": item.get("default_branch") or "main",
        "description": item.get("description"),
        "github_stars": extra.stars,
        "github_forks": extra.forks,
        "last_commit_date": extra.pushed_at or item.get("pushed_at"),
        "repo_created_date": extra.created_at,
        "is_fork": extra.is_fork,
        "fork_parent": extra.fork_parent,
        "license": extra.license,
        "github_topics": list(extra.topics),
        "primary_language": extra.primary_language,
        "language_bytes": json.dumps(extra.language_bytes, sort_keys=True),
        "has_readme": extra.has_readme,
        "has_dockerfile": extra.has_dockerfile,
        "has_ci": extra.has_ci,
        "has_tests": extra.has_tests,
        "size_kb": int(item.get("size") or 0),
        "frameworks_named": sorted(frameworks_named(text)),
        "discovery_query": query,
        "selection_stratum": stratum.name,
        "collected_at": collected_at,
    }


def _current_url(html_url: str | None, searched_name: str | None, current_name: str) -> str | None:
    """The search item's ``html_url`` under GitHub's current name (a repository renamed since search indexed it)."""
    if not html_url or not searched_name or searched_name == current_name or not html_url.endswith(f"/{searched_name}"):
        return html_url
    return html_url[: -len(searched_name)] + current_name


def _rejection(row: dict, stratum: Stratum) -> str | None:
    """Why a search hit is not a candidate of this stratum, or None."""
    if (row["last_commit_date"] or "") <= stratum.pushed_after.isoformat() + "T23:59:59Z":
        return "pushed_before_floor"
    if row["is_fork"] and not stratum.include_forks:
        return "fork"
    if len(row["frameworks_named"]) < stratum.min_frameworks:
        return "too_few_frameworks"
    if stratum.maturity and not (
        row["github_stars"] > stratum.maturity_stars or (row["has_dockerfile"] and row["has_ci"] and row["has_tests"])
    ):
        return "not_mature"
    return None
