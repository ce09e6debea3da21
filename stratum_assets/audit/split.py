"""The frozen 80/20 train/test split, stratified by framework × deployment-score bucket.

Determinism: a repository's position is ``sha256(seed:repo_hash)`` — never its
row order — so the same repositories always split the same way.

Stratification: within each stratum the repositories are ranked by that hash
and the first 20% go to test, so every stratum is 20% test up to rounding.
Strata whose test part would be under ``min_test`` repositories are merged:
first into their framework's "any" bucket, then into "other"; the merges are
reported.

Frozen: assignments once written are kept forever; a later run assigns only
repositories that have none yet, by the hash threshold (hash fraction < 0.2 →
test), which keeps their share at 20% without moving anyone.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

TEST_SHARE = 0.2


def bucket(deployment_score: int | None) -> str:
    score = deployment_score or 0
    return "low" if score <= 1 else "mid" if score <= 3 else "high"


def position(repo_hash: str, seed: int) -> float:
    return int(hashlib.sha256(f"{seed}:{repo_hash}".encode()).hexdigest()[:13], 16) / 16**13


@dataclass
class SplitResult:
    assignments: dict[str, tuple[str, str]]  # repo_hash → (split, stratum)
    merged: dict[str, str] = field(default_factory=dict)  # original stratum → stratum it was merged into
    kept: int = 0
    new: int = 0


def assign(repos: list[dict], existing: dict[str, tuple[str, str]], *, seed: int = 17, min_test: int = 40) -> SplitResult:
    """``repos``: dicts with repo_hash, framework, deployment_score. ``existing``: frozen assignments."""
    strata, merged = _strata(repos, min_test)
    result = SplitResult(assignments=dict(existing), merged=merged)
    result.kept = sum(1 for r in repos if r["repo_hash"] in existing)
    fresh = [r for r in repos if r["repo_hash"] not in existing]
    if not existing:  # first freeze: exact 20% per stratum by hash rank
        members = defaultdict(list)
        for r in fresh:
            members[strata[r["repo_hash"]]].append(r["repo_hash"])
        for stratum, hashes in members.items():
            ranked = sorted(hashes, key=lambda h: position(h, seed))
            n_test = round(TEST_SHARE * len(ranked))
            for i, h in enumerate(ranked):
                result.assignments[h] = ("test" if i < n_test else "train", stratum)
    else:  # later additions: the hash threshold, nobody already assigned moves
        for r in fresh:
            h = r["repo_hash"]
            result.assignments[h] = ("test" if position(h, seed) < TEST_SHARE else "train", strata[h])
    result.new = len(fresh)
    return result


def _strata(repos: list[dict], min_test: int) -> tuple[dict[str, str], dict[str, str]]:
    """Stratum of each repository after merging strata too small to give ``min_test`` test repos."""
    need = math.ceil(min_test / TEST_SHARE)
    fine = {r["repo_hash"]: f"{r['framework']}|{bucket(r['deployment_score'])}" for r in repos}
    fine_sizes = Counter(fine.values())
    level1 = {s: s if n >= need else f"{s.split('|')[0]}|any" for s, n in fine_sizes.items()}
    level1_sizes = Counter()
    for s, n in fine_sizes.items():
        level1_sizes[level1[s]] += n
    level2 = {s: t if t == s or level1_sizes[t] >= need else "other|any" for s, t in level1.items()}
    merged = {s: t for s, t in level2.items() if t != s}
    return {h: level2[s] for h, s in fine.items()}, merged


FEATURE_COLUMNS = (
    "graph_topology_metrics", "crew_size_distribution", "agent_tool_count_distribution",
    "capability_distribution", "graph_node_type_distribution", "graph_edge_type_distribution",
    "agent_count", "crew_count", "total_capabilities", "graph_node_count", "graph_edge_count", "edge_density",
    "guardrail_count", "env_var_count", "mcp_server_count", "deployment_signals", "repo_metadata",
)
LABEL_COLUMNS = ("risk_score", "finding_rules", "finding_severities", "finding_instance_counts",
                 "fix_impact_estimates")
METADATA_COLUMNS = ("github_stars", "github_forks", "last_commit_date", "repo_created_date", "is_fork",
                    "fork_parent", "license", "github_topics", "primary_language", "language_bytes", "has_readme",
                    "discovery_query", "selection_stratum", "collected_at", "framework_versions", "llm_providers")
