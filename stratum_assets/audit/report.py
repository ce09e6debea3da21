"""Compute every section and render the audit as markdown with ASCII histograms.

The output depends only on the data: no timestamps, no run ids, fixed
ordering, so the same dataset always gives byte-identical reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..dedup.fingerprint import NearDupSettings
from ..domain import frameworks as framework_table
from ..domain import gate_table
from ..domain.choices import Profile
from ..manifest.exclusions import summary_line as exclusions_line
from ..warehouse.runlog import scanner_counts
from . import sections as S
from .gate_measures import Gate, GateThresholds, evaluate
from .groups import KEY_COLUMNS, DuplicateGroups, duplicate_groups

BAR = 40


@dataclass(frozen=True)
class AuditResults:
    """What the audit computed: every section of the report (each a dict of its own measures), the gates over
    them, and what only the build knows (exclusions, the four kinds of duplicate groups, discovery's gaps)."""

    volume: dict
    frameworks: dict
    scores: dict
    findings: dict
    maturity: dict
    duplicates: dict
    coverage: dict
    strata: dict[str, dict]
    scanners: dict[str, int]  # "<scanner> <version>" -> stored pings (warehouse/runlog.py)
    framework_targets: dict[str, int]
    gates: list[Gate]
    exclusions: dict | None  # the manifest version's opt-outs and licence allowlist; None: not recorded
    duplicate_groups: dict | None  # audit/groups.py's summary; None when no groups were computed
    discovery: dict[str, dict]  # each stratum's discovery summary (search gaps, enrichment failures)


def audit(
    conn: duckdb.DuckDBPyConnection,
    targets: dict[str, int],
    thresholds: GateThresholds,
    *,
    near_duplicate_threshold: float,
    manifest_meta: dict | None = None,
    discovery: dict[str, dict] | None = None,
) -> AuditResults:
    """What ``audit_report`` computes: every section and the duplicate groups four ways, all from one
    snapshot of ``scan_dataset`` (the view's joins run once per audit). ``discovery``: each stratum's discovery
    summary (candidates' search gaps, enrichment failures, renames), shown beside the strata."""
    src = S.snapshot(conn, extra=KEY_COLUMNS)
    groups = duplicate_groups(conn, near_duplicate_threshold, src=src)
    return compute(conn, targets, thresholds, manifest_meta=manifest_meta, groups=groups, src=src, discovery=discovery)


def compute(
    conn: duckdb.DuckDBPyConnection,
    targets: dict[str, int],
    thresholds: GateThresholds,
    framework_targets: dict[str, int] | None = None,
    manifest_meta: dict | None = None,
    groups: DuplicateGroups | None = None,
    src: str | None = None,
    discovery: dict[str, dict] | None = None,
) -> AuditResults:
    """Every section; ``framework_targets`` defaults to the framework table's strata summed over ``targets``;
    ``manifest_meta`` (the version's meta.json) gives what its build left out, which no table holds;
    ``groups`` (audit/groups.py) the duplicates four ways, side by side; ``src`` what to read: a snapshot of
    the view (sections.snapshot; made here when None, dropped at the end) or ``scan_dataset`` itself."""
    src = src or S.snapshot(conn)
    sections = {
        "volume": S.volume(conn, src),
        "frameworks": S.frameworks(conn, src),
        "scores": S.scores(conn, src),
        "findings": S.findings(conn, src),
        "maturity": S.maturity(conn, src),
        "duplicates": S.duplicates(conn, thresholds.g5_cluster_size, src),
        "coverage": S.coverage(conn, src),
        "strata": S.strata(conn, targets, src),
    }
    results = AuditResults(
        **sections,
        scanners=scanner_counts(conn, src),
        framework_targets=S.framework_targets(targets) if framework_targets is None else framework_targets,
        gates=evaluate(sections, thresholds),
        exclusions=(manifest_meta or {}).get("exclusions"),
        duplicate_groups=groups.summary() if groups is not None else None,
        discovery=discovery or {},
    )
    if src != "scan_dataset":
        conn.execute(f"DROP TABLE IF EXISTS {src}")  # the snapshot's memory goes back before the split runs
    return results


def histogram(labels: list[str], counts: list[int]) -> str:
    peak = max(counts, default=0) or 1
    width = max(len(label) for label in labels)
    return "\n".join(
        f"{label:>{width}} | {'#' * round(BAR * c / peak):<{BAR}} {c}" for label, c in zip(labels, counts, strict=False)
    )


def render(d: AuditResults, version: int, profile: Profile) -> str:
    v, sc, fi, ma, du, co = d.volume, d.scores, d.findings, d.maturity, d.duplicates, d.coverage
    out = [f"# Stratum dataset audit — manifest v{version} ({profile} profile)", ""]
    out += [
        "## 1. Volume",
        "",
        f"Manifest {v['manifest']} · stored {v['stored']} · quarantined {v['quarantined']} · "
        f"pending {v['pending']} · usable (success + partial) **{v['usable']}**",
        "",
        _scanner_line(d.scanners),
        "",
        exclusions_line(d.exclusions),
        "",
        _table(["status", "repos"], sorted(v["by_status"].items())),
        "",
        _table(["failure reason", "repos"], list(v["failure_reasons"].items()))
        if v["failure_reasons"]
        else "No failures.",
        "",
    ]
    fw_rows = [
        (f, n, d.framework_targets.get(f, "-"), _gap(n, d.framework_targets.get(f)))
        for f, n in d.frameworks["counts"].items()
    ]
    out += [
        "## 2. Frameworks",
        "",
        _table(["framework", "usable repos", "target", "gap"], fw_rows),
        "",
        f"Multi-framework repositories: {d.frameworks['multi_framework_repos']}.",
        "",
    ]
    shape = "bimodal" if sc["bimodality_coefficient"] and sc["bimodality_coefficient"] > 0.555 else "unimodal"
    out += [
        "## 3. Risk scores",
        "",
        "```",
        histogram([f"{b * 10:>2}-{b * 10 + 9 if b < 9 else 100}" for b in range(10)], sc["histogram"]),
        "```",
        "",
        f"n {sc['n']} · mean {sc['mean']} · median {sc['median']} · p10 {sc['p10']} · p90 {sc['p90']} · "
        f"sd {sc['stddev']}",
        "",
        f"Shape: **{shape}** (Sarle's coefficient {sc['bimodality_coefficient']}, peaks at "
        f"{', '.join(f'{p * 10}-{p * 10 + 9}' for p in sc['peaks']) or 'none'}); tails: "
        f"{sc['tail_low_share']:.1%} at <= 10, {sc['tail_high_share']:.1%} at >= 90.",
        "",
    ]
    out += [
        "## 4. Findings",
        "",
        _table(["rule", "repos", "share"], [(r, p["repos"], f"{p['share']:.1%}") for r, p in fi["prevalence"].items()]),
        "",
        f"Rules under 1% of usable repos: {', '.join(fi['rare_rules']) or 'none'}.",
        "",
    ]
    out += [
        "## 5. Maturity",
        "",
        "```",
        histogram([str(s) for s in range(6)], ma["histogram"]),
        "```",
        "",
        f"deployment_score >= 3: **{ma['mature']}** ({ma['mature_share']:.1%}).",
        "",
    ]
    out += [
        "## 6. Duplicates",
        "",
        f"{du['group_count']} topology signatures shared by more than {du['topology_groups_over']} repos, "
        f"holding {du['repos_in_groups']} repos ({du['repos_in_groups_share']:.1%}); {du['unknown_topology']} "
        f"repos have an unknown (empty) signature and are never counted as duplicates.",
        "",
        f"G5 counts, as the dataset strategy words it, the usable repos that share their signature with "
        f"{du['topology_groups_over']}+ others (groups of {du['topology_groups_over'] + 1} or more); the "
        f"reference pipeline's audit.py counts groups of {du['topology_groups_over']} or more over all "
        f"pings, failed and empty ones included, so its share can differ on the same data.",
        "",
        _table(["topology signature", "repos"], [(g["hash"], g["repos"]) for g in du["groups"]])
        if du["groups"]
        else "",
        "",
        _table(["fork parent", "forks in manifest"], [(g["parent"], g["forks"]) for g in du["fork_parent_groups"]])
        if du["fork_parent_groups"]
        else "No fork parent has more than one fork in the manifest.",
        "",
        f"Effective dataset size after topology dedup: **{du['effective_size']}** of {v['usable']} usable.",
        "",
        *_duplicate_kinds(d.duplicate_groups),
    ]
    out += [
        "## 7. Coverage",
        "",
        "```",
        histogram([f"{c / 10:.1f}-{(c + 1) / 10:.1f}" for c in range(10)], co["histogram"]),
        "```",
        "",
        f"Median files_scanned / files_total: **{co['median_ratio']}**. Repositories under 20% Python by "
        f"language bytes: {co['low_python_repos']} ({co['low_python_share']:.1%}).",
        "",
    ]
    out += [
        "## 8. Strata",
        "",
        _table(
            ["stratum", "target", "manifest", "usable", "fill"],
            [(n, s["target"], s["manifest"], s["usable"], f"{s['fill']:.0%}") for n, s in d.strata.items()],
        ),
        "",
    ]
    out += _discovery_lines(d.discovery)
    out += [
        "## 9. Gates",
        "",
        _table(
            ["gate", "what", "measured", "threshold", "result"],
            [(g.name, g.title, g.measured, g.threshold, "PASS" if g.passed else "**FAIL**") for g in d.gates],
        ),
        "",
    ]
    out += ["## 10. Recommendations", "", *[f"- {r}" for r in recommendations(d)], ""]
    return "\n".join(out)


_KIND_LABELS = {
    "fork_family": "fork family (a parent and its forks)",
    "exact_code": "exact code copy (same content hash)",
    "near_duplicate_code": "same-project code (near-duplicate or contained copy)",
    "topology": "same topology signature (non-empty)",
}


def _duplicate_kinds(groups: dict | None) -> list[str]:
    """The four ways of being a copy side by side, and the split's groups (all four joined)."""
    if groups is None:
        return []
    rows = [
        (_KIND_LABELS[kind], r["groups"], r["repos_in_groups"], r["largest"], r["effective_size"])
        for kind, r in groups["kinds"].items()
    ]
    j = groups["joined"]
    rows.append(
        (
            "**all four joined: the split's groups**",
            j["groups"],
            j["repos_in_groups"],
            j["largest"],
            f"**{j['effective_size']}**",
        )
    )
    return [
        "Duplicates four ways (usable repositories; effective size = each group counted once):",
        "",
        _table(["grouping", "groups", "repos in groups", "largest", "effective size"], rows),
        "",
        f"Code fingerprints: {groups['fingerprinted']} of {groups['usable']} usable repositories "
        f"({', '.join(groups['signature_keys']) or 'none'}); the others have too little Python code. "
        "The train/test split keeps each joined group on one side.",
        "",
        same_project(NearDupSettings()),
        "",
    ]


def same_project(s: NearDupSettings) -> str:
    """The written definition the same-project grouping implements (README, "What counts as one project")."""
    return (
        "Same project: one repository carries the other's own code — a copy of a source taken at any date, "
        "a copy that added files of its own, a lightly edited copy (most files unchanged). Projects that only "
        "started from one template, or share files many unrelated repositories hold, are separate. Joined when "
        f"the MinHash estimate is beyond its noise above the threshold ({s.sure_threshold:.3f}, {s.threshold} + 3 "
        "standard errors), or when the exact per-file digests show containment: shared files make at least "
        f"{s.containment:.0%} of the smaller repository's code and {s.grown_share:.0%} of the larger's, in "
        f"{s.min_shared_files} files at least or all of the smaller's, one of them distinctive (held by at most "
        f"{s.common_repos} projects, counted after the similar copies are joined; commoner files weigh less and "
        "never join alone). Between the threshold "
        "and that margin the digests of the parts (files cut before each def and class) decide, never the "
        "estimate."
    )


def recommendations(d: AuditResults) -> list[str]:
    recs = []
    for gate in d.gates:
        if gate.passed:
            continue
        facts = {}
        if gate.name == "G2":  # which of the required frameworks are short: by the gate's number, not its text
            counts = d.frameworks["counts"]
            facts["short"] = ", ".join(f for f in framework_table.gated() if counts.get(f, 0) < gate.limit)
        recs.append(gate_table.by_id(gate.name).advise(**facts))
    under = [n for n, s in d.strata.items() if s["fill"] < 0.8]
    if under:
        recs.append(f"Strata under 80% of target: {', '.join(under)}.")
    if d.findings["rare_rules"]:
        recs.append(
            f"Rare rules (< 1%): {', '.join(d.findings['rare_rules'])} — too few positives to learn; "
            "consider merging or dropping them as labels."
        )
    if d.volume["pending"]:
        recs.append(f"{d.volume['pending']} manifest repos have no result yet: materialize the missing partitions.")
    return recs or ["All gates pass; no action needed."]


def _gap(n: int, target) -> str:
    return "-" if not target else (f"{target - n} short" if n < target else "met")


def _discovery_lines(discovery: dict[str, dict]) -> list[str]:
    """What discovery knows it could not get, per stratum: search results GitHub counted but never returned (by
    reason: a timed-out search, a count that moved, ...), search hits GitHub kept failing to enrich; and renames."""
    if not discovery:
        return []
    rows = [
        (
            name,
            s["search_hits"],
            s["rows"],
            s["missing"],
            ", ".join(
                f"{reason} {g['missing']} in {g['windows']} windows" for reason, g in sorted(s["search_gaps"].items())
            )
            or "-",
            s["enrichment_failed"],
            s["renamed"],
        )
        for name, s in discovery.items()
    ]
    lost = sum(s["missing"] + s["enrichment_failed"] for s in discovery.values())
    return [
        "Discovery: what GitHub's search and enrichment could not give, per stratum (missing = counted by "
        "search, never returned; not enriched = GitHub kept failing on them, not deleted). "
        + (f"**{lost:,} candidates are known to be missing.**" if lost else "Nothing is known to be missing."),
        "",
        _table(["stratum", "search hits", "candidates", "missing", "search gaps", "not enriched", "renamed"], rows),
        "",
    ]


def _table(header: list[str], rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _scanner_line(scanners: dict[str, int]) -> str:
    """Which scanner produced the labels: one per manifest version, or a warning that they are not comparable."""
    if not scanners:
        return "Scanner: none yet (no scanned ping stored)."
    if len(scanners) == 1:
        ((name, pings),) = scanners.items()
        return f"Scanner: `{name}` ({pings} pings)."
    listed = ", ".join(f"`{name}` ({pings})" for name, pings in scanners.items())
    return (
        f"Scanner: **{len(scanners)} scanners in one version** — {listed}: their labels are not comparable; "
        "rescan the version with one scanner."
    )
