"""Quality gates G1–G8: measured value, threshold, pass/fail.

Thresholds are configuration. The ``full`` profile holds the full-scan numbers;
the ``sample`` profile keeps the ratios (G5–G8) and scales the absolute counts
(G1–G4) by manifest size / 50,000, so the offline universe is judged by the
same standard in proportion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .sections import GATE_FRAMEWORKS

FULL_SCAN_SIZE = 50_000


class ThresholdError(ValueError):
    """A threshold override that names no threshold or lies outside its range."""


class GateThresholds(BaseModel):
    """Counts are whole repositories or rules (1 to 10 million); shares are fractions (0 to 1)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    g1_min_usable: int = Field(40_000, ge=1, le=10_000_000)
    g2_min_per_framework: int = Field(1_000, ge=1, le=10_000_000)
    g3_min_mature: int = Field(2_000, ge=1, le=10_000_000)
    g4_min_rules: int = Field(15, ge=1, le=10_000)
    g4_min_repos_per_rule: int = Field(100, ge=1, le=10_000_000)
    g5_cluster_size: int = Field(10, ge=1, le=10_000_000)
    g5_max_share_in_clusters: float = Field(0.05, ge=0.0, le=1.0)
    g6_max_empty_share: float = Field(0.20, ge=0.0, le=1.0)
    g7_max_failed_share: float = Field(0.10, ge=0.0, le=1.0)
    g8_min_median_coverage: float = Field(0.80, ge=0.0, le=1.0)

    @classmethod
    def for_profile(cls, profile: str, manifest_rows: int, **overrides) -> GateThresholds:
        full = cls()
        if profile not in ("full", "sample"):
            raise ValueError(f"unknown gate profile {profile!r}: full or sample")
        scaled = {}
        if profile == "sample":
            scale = manifest_rows / FULL_SCAN_SIZE
            scaled = {k: max(1, math.ceil(getattr(full, k) * scale)) for k in
                      ("g1_min_usable", "g2_min_per_framework", "g3_min_mature", "g4_min_repos_per_rule")}
        return cls.checked({**full.model_dump(), **scaled, **overrides})

    @classmethod
    def checked(cls, values: dict) -> GateThresholds:
        """Validated thresholds; a misspelt key or a value out of range is refused with a clear message."""
        unknown = sorted(set(values) - set(cls.model_fields))
        if unknown:
            raise ThresholdError(f"unknown threshold {', '.join(map(repr, unknown))}; the thresholds are: "
                                 f"{', '.join(cls.model_fields)}")
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            problems = "; ".join(f"{e['loc'][0]}={e['input']!r}: {e['msg']}" for e in err.errors())
            raise ThresholdError(f"invalid threshold: {problems}") from None


@dataclass(frozen=True)
class Gate:
    name: str
    title: str
    measured: float | int | str
    threshold: str
    passed: bool


def evaluate(s: dict, t: GateThresholds) -> list[Gate]:
    """``s``: the audit sections (volume, frameworks, maturity, findings, duplicates, coverage)."""
    vol, fw = s["volume"], s["frameworks"]["counts"]
    accounted = vol["stored"] + vol["quarantined"]
    weakest = min(GATE_FRAMEWORKS, key=lambda f: (fw.get(f, 0), f))
    rules_ok = sum(1 for v in s["findings"]["prevalence"].values() if v["repos"] >= t.g4_min_repos_per_rule)
    empty = vol["by_status"].get("empty", 0) / accounted if accounted else 0.0
    failed = vol["by_status"].get("failed", 0) / accounted if accounted else 0.0
    coverage = s["coverage"]["median_ratio"] or 0.0
    return [
        Gate("G1", "success + partial scans", vol["usable"], f">= {t.g1_min_usable}",
             vol["usable"] >= t.g1_min_usable),
        Gate("G2", f"repos per framework ({', '.join(GATE_FRAMEWORKS)}); weakest shown",
             f"{weakest} {fw.get(weakest, 0)}", f">= {t.g2_min_per_framework} each",
             all(fw.get(f, 0) >= t.g2_min_per_framework for f in GATE_FRAMEWORKS)),
        Gate("G3", "repos with deployment_score >= 3", s["maturity"]["mature"], f">= {t.g3_min_mature}",
             s["maturity"]["mature"] >= t.g3_min_mature),
        Gate("G4", f"rules firing in >= {t.g4_min_repos_per_rule} repos", rules_ok, f">= {t.g4_min_rules}",
             rules_ok >= t.g4_min_rules),
        Gate("G5", f"share of repos sharing a topology with {t.g5_cluster_size}+ others",
             s["duplicates"]["repos_in_groups_share"], f"<= {t.g5_max_share_in_clusters}",
             s["duplicates"]["repos_in_groups_share"] <= t.g5_max_share_in_clusters),
        Gate("G6", "empty share", round(empty, 4), f"<= {t.g6_max_empty_share}", empty <= t.g6_max_empty_share),
        Gate("G7", "failed share", round(failed, 4), f"<= {t.g7_max_failed_share}", failed <= t.g7_max_failed_share),
        Gate("G8", "median files_scanned / files_total", coverage, f">= {t.g8_min_median_coverage}",
             coverage >= t.g8_min_median_coverage),
    ]
