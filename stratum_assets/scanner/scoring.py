"""How findings become the ping's score fields — the reference catalog's section 2, as pure functions.

* Every rule id belongs to one weight class (looked up by its *base* id: ``STRATUM-CR05.1`` → ``STRATUM-CR05``).
* ``raw`` = the sum, over every finding **instance**, of the class × severity weight.
* ``score`` = raw / (raw + 50) × 100 (0 when raw is 0), floored at max(8, 2 × instances),
  rounded half-to-even, capped at 100.
* A rule id's fix impact is set by its severity alone (CRITICAL −25, HIGH −15, MEDIUM −8, LOW −3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")

# Weight per class and severity (catalog §2, step 1). "none" rules carry no weight at all.
CLASS_WEIGHTS: dict[str, dict[str, int]] = {
    "architecture": {"CRITICAL": 12, "HIGH": 8, "MEDIUM": 5, "LOW": 2},
    "operational": {"CRITICAL": 8, "HIGH": 5, "MEDIUM": 3, "LOW": 1},
    "hygiene": {"CRITICAL": 3, "HIGH": 2, "MEDIUM": 1, "LOW": 0},
    "meta": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
    "none": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
}

_ARCH = (
    [f"STRATUM-00{i}" for i in range(1, 7)]
    + ["STRATUM-BR01", "STRATUM-BR02"]
    + [f"STRATUM-CR0{i}" for i in range(1, 7)]
)
_OPS = [f"STRATUM-00{i}" for i in range(7, 10)] + [
    "STRATUM-010",
    "STRATUM-BR03",
    "STRATUM-BR04",
    "STRATUM-OP01",
    "STRATUM-OP02",
]
_HYGIENE = ["ENV-001", "ENV-002", "CONTEXT-001", "CONTEXT-002", "TELEMETRY-003", "IDENTITY-001", "IDENTITY-002"]
_META = ["EVAL-001", "EVAL-002", "LEARNING-001", "PORTABILITY-001"]
_NONE = [
    "LEARNING-002",
    "LEARNING-003",
    "LEARNING-004",
    "CONTEXT-003",
    "TELEMETRY-001",
    "TELEMETRY-002",
    "IDENTITY-003",
    "PORTABILITY-002",
    "PORTABILITY-003",
]
RULE_CLASS: dict[str, str] = {
    **dict.fromkeys(_ARCH, "architecture"),
    **dict.fromkeys(_OPS, "operational"),
    **dict.fromkeys(_HYGIENE, "hygiene"),
    **dict.fromkeys(_META, "meta"),
    **dict.fromkeys(_NONE, "none"),
}

FIX_IMPACT = {"CRITICAL": -25, "HIGH": -15, "MEDIUM": -8, "LOW": -3}
HALF_LIFE = 50  # raw / (raw + 50)
SCORE_FLOOR = 8
PER_INSTANCE_FLOOR = 2

_SUFFIX = re.compile(r"\.\d+$")


def base_id(rule_id: str) -> str:
    """``STRATUM-CR05.2`` → ``STRATUM-CR05``; ids without a numeric suffix are their own base."""
    return _SUFFIX.sub("", rule_id)


def rule_class(rule_id: str) -> str:
    """The weight class of a rule id (by base id); ids outside the catalog weigh nothing ("none")."""
    return RULE_CLASS.get(base_id(rule_id), "none")


def weight(rule_id: str, severity: str) -> int:
    return CLASS_WEIGHTS[rule_class(rule_id)][severity]


def raw_score(instances: Iterable[tuple[str, str]]) -> int:
    """Sum of class × severity weights over every (rule id, severity) instance."""
    return sum(weight(rule_id, severity) for rule_id, severity in instances)


def risk_score(instances: Iterable[tuple[str, str]]) -> int:
    """The ping's risk_score from every finding instance as (rule id, severity)."""
    instances = list(instances)
    return score_from_raw(raw_score(instances), len(instances))


def score_from_raw(raw: int, n_instances: int) -> int:
    score = Fraction(100 * raw, raw + HALF_LIFE) if raw else Fraction(0)
    if n_instances:  # the floor applies to any repository with at least one finding
        score = max(score, Fraction(SCORE_FLOOR), Fraction(PER_INSTANCE_FLOOR * n_instances))
    return min(round(score), 100)  # round() of a Fraction rounds half to even, exactly


def fix_impact(first_severity: dict[str, str]) -> dict[str, int]:
    """fix_impact_estimates: one negative value per unique rule id, set by its (first instance's) severity."""
    return {rule_id: FIX_IMPACT[severity] for rule_id, severity in sorted(first_severity.items())}
