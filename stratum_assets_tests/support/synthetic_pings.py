"""Synthetic scan results at any size, for audit tests and benchmarks.

Writes what the pipeline writes — a frozen manifest version and per-chunk
partition directories of typed pings and quarantine rows — with realistic
shapes: all four statuses with their failure reasons, a bimodal risk score,
rules from very common to under 1%, deployment scores, clusters of identical
topologies (copy-paste), unknown topologies, forks of a few popular parents,
mostly-Python and mostly-not language mixes, and about 1% invalid pings that
land in quarantine. Columns are generated with NumPy, so a million rows take
seconds; columns the audit does not read are left null.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from stratum_assets.discovery.strata import strata
from stratum_assets.domain import frameworks as framework_table
from stratum_assets.domain.chunks import chunk_id
from stratum_assets.domain.identity import repo_hash
from stratum_assets.manifest.store import ManifestStore
from stratum_assets.scanner.rules import RULES
from stratum_assets.scanning.storage import PING_SCHEMA, QUARANTINE_SCHEMA, replace_partition
from stratum_assets.storage.layout import Layout

# A ping's first framework: the one its stratum searches for (the framework table), or for strata of no single
# framework the one such repositories are mostly built on.
FRAMEWORK_OF_STRATUM = {
    **framework_table.framework_of_stratum(),
    "multi_framework": "CrewAI",
    "high_maturity": "LangChain",
    "discovery_pool": "LangChain",
}
_FRAMEWORKS = np.array([f.label for f in framework_table.offline()])  # the second framework of some pings
_STATUSES = np.array(["success", "partial", "empty", "failed"])
_RULE_IDS = [r.id for r in RULES]


def generate(
    layout: Layout,
    n: int,
    *,
    seed: int = 1,
    version: int = 1,
    chunk_size: int = 10_000,
    invalid_rate: float = 0.01,
    jsonl: Path | None = None,
) -> dict:
    """Write manifest v``version`` and its partitions under ``layout``; optionally the pings as JSONL too."""
    rng = np.random.default_rng(seed)
    names = [f"synth-{i % 9973}/agent-repo-{i}" for i in range(n)]
    hashes = np.array([repo_hash(name) for name in names])
    order = np.argsort(hashes)
    names = [names[i] for i in order]
    hashes = hashes[order]
    chunks = np.array([chunk_id(version, i // chunk_size) for i in range(n)])
    stratum_names = list(strata("full"))
    weights = np.array([s.target for s in strata("full").values()], dtype=float)
    stratum = np.array(stratum_names)[rng.choice(len(stratum_names), n, p=weights / weights.sum())]

    manifest = _manifest(rng, n, names, hashes, chunks, stratum, version)
    ManifestStore(layout.manifests).freeze(
        version, manifest, {"fingerprint": f"synthetic-{seed}-{n}", "rows": n, "dropped": {}, "per_stratum": {}}
    )
    pings = _pings(rng, n, names, hashes, chunks, stratum)
    invalid = rng.random(n) < invalid_rate
    for chunk in np.unique(chunks):
        in_chunk = chunks == chunk
        good = pings.filter(pa.array(in_chunk & ~invalid))
        bad_idx = np.flatnonzero(in_chunk & invalid)
        quarantine = pa.Table.from_pylist(
            [
                {
                    "repo_hash": hashes[i],
                    "repo_full_name": names[i],
                    "chunk_id": chunk,
                    "scan_status": "success",
                    "failure_reason": None,
                    "errors": ["finding_rule_count differs from the sum of finding_severities"],
                    "ping_json": "{}",
                }
                for i in bad_idx
            ],
            schema=QUARANTINE_SCHEMA,
        )
        replace_partition(layout.scan_partition(version, chunk), good, quarantine, {"synthetic": True})
    if jsonl is not None:
        _write_jsonl(jsonl, manifest, pings, invalid)
    return {"rows": n, "quarantined": int(invalid.sum()), "chunks": len(np.unique(chunks))}


def _manifest(rng, n, names, hashes, chunks, stratum, version) -> pa.Table:
    forks = rng.random(n) < 0.02
    parents = np.array([f"popular/example-{k}" for k in range(20)])[rng.integers(0, 20, n)]
    python = rng.integers(1_000, 200_000, n)
    other = np.where(rng.random(n) < 0.06, python * rng.integers(5, 20, n), rng.integers(0, 5_000, n))
    return pa.table(
        {
            "repo_hash": hashes,
            "full_name": names,
            "selection_stratum": stratum,
            "matched_strata": [[s] for s in stratum],
            "chunk_id": chunks,
            "manifest_version": np.full(n, version),
            "github_stars": rng.pareto(1.2, n).astype(np.int64) * 5,
            "is_fork": forks,
            "fork_parent": np.where(forks, parents, None),
            "language_bytes": [
                json.dumps({"Python": int(p), "TypeScript": int(o)}) for p, o in zip(python, other, strict=True)
            ],
            "html_url": [f"https://github.com/{name}" for name in names],
            "last_commit_date": np.full(n, "2026-09-01T00:00:00Z"),
            "license": np.full(n, "MIT"),
        }
    )


def _pings(rng, n, names, hashes, chunks, stratum) -> pa.Table:
    status = _STATUSES[rng.choice(4, n, p=[0.78, 0.07, 0.09, 0.06])]
    failed, empty = status == "failed", status == "empty"
    usable = ~failed & ~empty
    reasons = np.where(
        failed,
        np.array(["clone_404", "clone_timeout", "parse_crash"])[rng.integers(0, 3, n)],
        np.where(
            empty,
            np.array(["no_agents", "no_python"])[rng.integers(0, 2, n)],
            np.where(status == "partial", np.where(rng.random(n) < 0.3, "parse_timeout", None), None),
        ),
    )
    primary = np.array([FRAMEWORK_OF_STRATUM[s] for s in stratum])
    second = _FRAMEWORKS[rng.integers(0, len(_FRAMEWORKS), n)]
    multi = rng.random(n) < 0.15
    frameworks = [
        ([p, s] if m and s != p else [p]) if u else []
        for p, s, m, u in zip(primary, second, multi, usable, strict=True)
    ]
    high = rng.random(n) < 0.45  # two populations: toy projects and tool-heavy ones
    risk = np.clip(np.where(high, rng.normal(72, 10, n), rng.normal(28, 12, n)), 0, 100).round().astype(np.int64)
    risk = np.where(usable, risk, 0)
    prevalence = np.linspace(0.6, 0.004, len(_RULE_IDS))  # from most repos to under 1%
    fired = (rng.random((n, len(_RULE_IDS))) < prevalence) & usable[:, None]
    rule_ids = np.array(_RULE_IDS)
    finding_rules = [list(rule_ids[row]) for row in fired]
    signals = rng.random((n, 5)) < np.array([0.35, 0.45, 0.4, 0.35, 0.4])
    topo = np.array([f"{x:016x}" for x in rng.integers(0, 2**62, n)])
    clustered = rng.random(n) < 0.03
    topo = np.where(clustered, np.array([f"cluster{k:09d}" for k in range(30)])[rng.integers(0, 30, n)], topo)
    topo = np.where((rng.random(n) < 0.1) | ~usable, "", topo)
    files_total = rng.poisson(18, n) + 1
    files_scanned = np.where(usable, rng.binomial(files_total, 0.93), 0)
    agents = np.where(usable, rng.integers(1, 8, n), 0)
    columns = {
        "repo_hash": hashes,
        "repo_full_name": names,
        "chunk_id": chunks,
        "selection_stratum": stratum,
        "schema_id": np.full(n, 5),
        "schema_version": np.full(n, "0.3.2"),
        "scan_status": status,
        "failure_reason": reasons,
        "frameworks": frameworks,
        "risk_score": risk,
        "finding_rules": finding_rules,
        "finding_rule_count": fired.sum(axis=1),
        "topology_signature_hash": topo,
        "files_total": files_total,
        "files_scanned": files_scanned,
        "agent_count": agents,
        "crew_count": np.where(usable, rng.integers(0, 3, n), 0),
        "scan_duration_ms": rng.integers(5, 900, n),
        "deployment_signals": [
            {
                "has_dockerfile": bool(a),
                "has_ci_config": bool(b),
                "has_tests": bool(c),
                "has_lockfile": bool(d),
                "has_env_example": bool(e),
                "deployment_score": int(a) + int(b) + int(c) + int(d) + int(e),
            }
            for a, b, c, d, e in signals
        ],
    }
    arrays = [pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(n, f.type) for f in PING_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=PING_SCHEMA)


def _write_jsonl(path: Path, manifest: pa.Table, pings: pa.Table, invalid: np.ndarray) -> None:
    """The same data as one JSON object per repository: what the baseline audit reads.

    Whole pings, every field of the stored row (null where the generator leaves a column empty), maps
    as objects: what a pipeline that keeps its pings as JSON lines reads back, so the baseline parses
    the same pings the warehouse stores, not a digest of them. Written 20,000 rows at a time.
    """
    maps = [f.name for f in pings.schema if pa.types.is_map(f.type)]
    meta = manifest.select(["fork_parent", "language_bytes"])
    with open(path, "w") as fh:
        for start in range(0, pings.num_rows, 20_000):
            rows = pings.slice(start, 20_000).to_pylist()
            for ping, extra, bad in zip(
                rows, meta.slice(start, 20_000).to_pylist(), invalid[start : start + 20_000], strict=True
            ):
                for name in maps:
                    ping[name] = None if ping[name] is None else dict(ping[name])
                fh.write(json.dumps({**ping, **extra, "quarantined": bool(bad)}) + "\n")
