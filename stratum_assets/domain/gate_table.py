"""Quality gates G1–G8: each gate's thresholds, comparison, wording and advice, written once.

The dataset strategy's acceptance criteria for the full 50k scan. The audit measures each
gate (``audit/gate_measures.py``) and compares the measured value with the gate's ``compares``
threshold; the report's gate table (title, threshold), the asset checks' descriptions and the
report's recommendations are all rendered from this table, never parsed back from text.

Profiles: ``full`` uses the defaults; ``sample`` scales the thresholds marked ``scaled`` (counts
of repositories) by manifest rows / :data:`FULL_SCAN_SIZE`, rounding up and never below 1, so
the offline universe is judged by the same standard in proportion. Shares are never scaled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FULL_SCAN_SIZE = 50_000
SCALED_NOTE = " (full profile; the sample profile scales the counts to the manifest size)"


@dataclass(frozen=True)
class Threshold:
    key: str  # the name a run's config overrides it by ("g1_min_usable")
    default: int | float  # the full profile's value
    share: bool = False  # a fraction in [0, 1]; otherwise a whole count in [1, maximum]
    maximum: int = 10_000_000
    scaled: bool = False  # a count of repositories: the sample profile scales it to the manifest size


@dataclass(frozen=True)
class GateSpec:
    id: str
    thresholds: tuple[Threshold, ...]
    compares: str  # the threshold the measured value is compared with
    comparison: str  # ">=": passes at or above it; "<=": at or below it
    title: str  # what it measures (report, check metadata); may use {<threshold key>}, {frameworks}
    description: str  # the check's description, from the full profile's thresholds (format specs allowed)
    advice: str  # the recommendation when it fails; G2's may use {short}
    limit_suffix: str = ""  # after the threshold in the report: ">= 4 each"

    @property
    def scaled(self) -> bool:
        return any(t.scaled for t in self.thresholds)

    def passes(self, measured: float, values: Mapping[str, float]) -> bool:
        limit = values[self.compares]
        return measured >= limit if self.comparison == ">=" else measured <= limit

    def limit_text(self, values: Mapping[str, float]) -> str:
        return f"{self.comparison} {values[self.compares]}{self.limit_suffix}"

    def title_for(self, values: Mapping[str, float], frameworks: Sequence[str]) -> str:
        return self.title.format(**values, frameworks=", ".join(frameworks))

    def describe(self, values: Mapping[str, float], frameworks: Sequence[str]) -> str:
        """The check's description for these threshold values (the full profile's, in the UI)."""
        text = self.description.format(**values, frameworks=", ".join(frameworks))
        return text + (SCALED_NOTE if self.scaled else "")

    def advise(self, **facts: str) -> str:
        return self.advice.format(**facts)


def _count(key: str, default: int, *, scaled: bool = False, maximum: int = 10_000_000) -> Threshold:
    return Threshold(key, default, scaled=scaled, maximum=maximum)


def _share(key: str, default: float) -> Threshold:
    return Threshold(key, default, share=True)


GATES: tuple[GateSpec, ...] = (
    GateSpec(
        "G1",
        (_count("g1_min_usable", 40_000, scaled=True),),
        "g1_min_usable",
        ">=",
        "success + partial scans",
        "success + partial >= {g1_min_usable:,}",
        "G1: too few usable scans — raise stratum targets or widen queries, then freeze a new manifest.",
    ),
    GateSpec(
        "G2",
        (_count("g2_min_per_framework", 1_000, scaled=True),),
        "g2_min_per_framework",
        ">=",
        "repos per framework ({frameworks}); weakest shown",
        "each of {frameworks} >= {g2_min_per_framework:,} repos",
        "G2: add discovery queries for {short}.",
        limit_suffix=" each",
    ),
    GateSpec(
        "G3",
        (_count("g3_min_mature", 2_000, scaled=True),),
        "g3_min_mature",
        ">=",
        "repos with deployment_score >= 3",
        ">= {g3_min_mature:,} repos with deployment_score >= 3",
        "G3: too few mature repos — raise the high_maturity target or its star floor.",
    ),
    GateSpec(
        "G4",
        (_count("g4_min_rules", 15, maximum=10_000), _count("g4_min_repos_per_rule", 100, scaled=True)),
        "g4_min_rules",
        ">=",
        "rules firing in >= {g4_min_repos_per_rule} repos",
        ">= {g4_min_rules:,} rules fire in >= {g4_min_repos_per_rule:,} repos",
        "G4: too few rules fire widely — review the rule set or sample more tool-heavy strata.",
    ),
    GateSpec(
        "G5",
        (_count("g5_cluster_size", 10), _share("g5_max_share_in_clusters", 0.05)),
        "g5_max_share_in_clusters",
        "<=",
        "share of repos sharing a topology with {g5_cluster_size}+ others",
        "<= {g5_max_share_in_clusters:.0%} of repos share a topology_signature_hash with {g5_cluster_size}+ others",
        "G5: copy-paste clusters dominate — cap repos per topology signature in the split.",
    ),
    GateSpec(
        "G6",
        (_share("g6_max_empty_share", 0.20),),
        "g6_max_empty_share",
        "<=",
        "empty share",
        "empty <= {g6_max_empty_share:.0%}",
        "G6: many empty scans — tighten queries to code that builds agents (no_agents / no_python).",
    ),
    GateSpec(
        "G7",
        (_share("g7_max_failed_share", 0.10),),
        "g7_max_failed_share",
        "<=",
        "failed share",
        "failed <= {g7_max_failed_share:.0%}",
        "G7: many failed scans — backfill failed partitions; check clone timeouts and rate limits.",
    ),
    GateSpec(
        "G8",
        (_share("g8_min_median_coverage", 0.80),),
        "g8_min_median_coverage",
        ">=",
        "median files_scanned / files_total",
        "median files_scanned/files_total >= {g8_min_median_coverage:.2f}",
        "G8: low coverage — check parser errors and file-size limits.",
    ),
)


def thresholds() -> tuple[Threshold, ...]:
    """Every threshold of every gate, in gate order."""
    return tuple(t for g in GATES for t in g.thresholds)


def defaults() -> dict[str, int | float]:
    """The full profile: every threshold at its default."""
    return {t.key: t.default for t in thresholds()}


def by_id(gate_id: str) -> GateSpec:
    for g in GATES:
        if g.id == gate_id:
            return g
    raise KeyError(f"no gate {gate_id!r}; the gates are {', '.join(g.id for g in GATES)}")


def scale_count(value: int, manifest_rows: int) -> int:
    """The sample profile's value of a scaled count: in proportion to the manifest, rounded up, at least 1."""
    return max(1, math.ceil(value * (manifest_rows / FULL_SCAN_SIZE)))
