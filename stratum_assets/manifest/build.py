"""From ten candidate tables to one manifest: dedup, fork index, primary stratum, identity, chunks.

Primary stratum rule (documented in the README): repositories are visited in
``repo_hash`` order, which is a fixed pseudo-random order independent of which
stratum found them first. Each repository goes to the matched stratum that is
furthest from its target at that moment (lowest assigned/target), ties broken
by the order of strata.yaml. A stratum that reached its target takes no more;
a repository whose matched strata are all full is left out as ``over_target``.
So overlaps go where they are needed, no stratum swallows them because it was
searched first, and the sample inside each stratum is unbiased.

Opt-outs and the licence allowlist (``exclusions.py``) are applied first, right
after the union: a repository left out there takes no stratum slot and no
fork-family place, and is never cloned because it is in no chunk.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..discovery.forks import one_fork_per_parent
from ..domain.chunks import chunk_id
from ..domain.identity import repo_hash
from .exclusions import Exclusions

__all__ = [
    "ManifestBuild",
    "build_manifest",
    "chunk_id",
    "fingerprint",
    "repo_hash",
    "what_changed",
]  # chunk_id, repo_hash: domain


@dataclass
class ManifestBuild:
    rows: list[dict]
    dropped: Counter = field(default_factory=Counter)
    per_stratum: dict[str, int] = field(default_factory=dict)
    opt_out_matches: Counter = field(default_factory=Counter)  # opt-out entry → repositories it left out


def build_manifest(
    candidates: Mapping[str, Iterable[dict]],
    targets: Mapping[str, int],
    *,
    version: int,
    chunk_size: int,
    exclusions: Exclusions | None = None,
) -> ManifestBuild:
    """``candidates``: stratum name → candidate rows, in strata.yaml order; ``exclusions``: none by default."""
    order = {name: i for i, name in enumerate(candidates)}
    merged: dict[str, dict] = {}
    for stratum, rows in candidates.items():
        for row in rows:
            key = row["full_name"].lower()
            if key not in merged:
                merged[key] = {**row, "matched_strata": [], "discovery_queries": {}}
            merged[key]["matched_strata"].append(stratum)
            merged[key]["discovery_queries"][stratum] = row["discovery_query"]
    dropped: Counter = Counter()
    rows, left_out, matches = (exclusions or Exclusions()).apply(merged.values())
    dropped.update(left_out)
    rows, forks = one_fork_per_parent(rows)
    dropped["fork_of_kept_fork"] = len(forks)
    present = {r["full_name"].lower() for r in rows}
    parent_present = [r for r in rows if r["is_fork"] and (r.get("fork_parent") or "").lower() in present]
    dropped["fork_of_manifest_repo"] = len(parent_present)
    rows = [r for r in rows if not (r["is_fork"] and (r.get("fork_parent") or "").lower() in present)]
    for row in rows:
        row["repo_hash"] = repo_hash(row["full_name"])
    rows.sort(key=lambda r: r["repo_hash"])
    assigned: Counter = Counter()
    selected = []
    for row in rows:
        open_strata = [s for s in row["matched_strata"] if assigned[s] < targets.get(s, 0)]
        if not open_strata:
            dropped["over_target"] += 1
            continue
        primary = min(open_strata, key=lambda s: (assigned[s] / targets[s], order[s]))
        assigned[primary] += 1
        selected.append(_manifest_row(row, primary, version))
    for i, row in enumerate(selected):
        row["chunk_id"] = chunk_id(version, i // chunk_size)
    return ManifestBuild(rows=selected, dropped=dropped, per_stratum=dict(assigned), opt_out_matches=matches)


def _manifest_row(row: dict, primary: str, version: int) -> dict:
    out = {k: v for k, v in row.items() if k != "discovery_queries"}  # the stratum and query are set below
    out["matched_strata"] = sorted(row["matched_strata"])
    out["selection_stratum"] = primary
    out["discovery_query"] = row["discovery_queries"][primary]
    out["manifest_version"] = version
    return out


def fingerprint(candidates: Mapping[str, Iterable[dict]], settings: Mapping) -> str:
    """What a manifest version was built from: the candidate set per stratum and the settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for stratum in sorted(candidates):
        names = sorted(r["full_name"].lower() for r in candidates[stratum])
        digest.update(f"\n{stratum}:{','.join(names)}".encode())
    return digest.hexdigest()


def what_changed(candidates: Mapping[str, Iterable[dict]], settings: Mapping, frozen: Mapping) -> list[str]:
    """Why ``frozen`` (a version's meta) no longer matches: "candidates" and/or the settings keys that differ.

    Says which, so an edited opt-out list reads as ``opt_outs`` changed and not as new search results.
    """
    before = frozen.get("settings", {})
    changed = sorted(
        k
        for k in {*before, *settings}
        if json.dumps(before.get(k), sort_keys=True, default=str)
        != json.dumps(settings.get(k), sort_keys=True, default=str)
    )
    if fingerprint(candidates, before) != frozen.get("fingerprint"):
        changed.insert(0, "candidates")
    return changed
