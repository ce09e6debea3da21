"""Quality gates G1–G8: measured value, threshold, pass/fail.

What each gate requires — its thresholds and their defaults, comparison, wording, advice and
the sample profile's scaling rule — is the gate table, :mod:`stratum_assets.domain.gate_table`;
this module measures each gate on the audit's sections and judges it by that table. The
``full`` profile holds the full-scan numbers; the ``sample`` profile keeps the ratios (G5–G8)
and scales the absolute counts (G1–G4) by manifest size / 50,000, so the offline universe is
judged by the same standard in proportion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..domain import frameworks as framework_table
from ..domain import gate_table
from ..domain.choices import Profile
from ..domain.gate_table import FULL_SCAN_SIZE, GATES

__all__ = ["FULL_SCAN_SIZE", "GATES", "Gate", "GateThresholds", "ThresholdError", "evaluate"]


class ThresholdError(ValueError):
    """A threshold override that names no threshold or lies outside its range."""


class _Thresholds(BaseModel):
    """Counts are whole repositories or rules (1 to 10 million); shares are fractions (0 to 1)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def for_profile(cls, profile: Profile, manifest_rows: int, **overrides) -> Self:
        full = cls()
        if profile not in tuple(Profile):
            raise ValueError(f"unknown gate profile {profile!r}: {' or '.join(Profile)}")
        scaled = {}
        if profile == Profile.sample:
            scaled = {
                t.key: gate_table.scale_count(getattr(full, t.key), manifest_rows)
                for t in gate_table.thresholds()
                if t.scaled
            }
        return cls.checked({**full.model_dump(), **scaled, **overrides})

    @classmethod
    def checked(cls, values: dict) -> Self:
        """Validated thresholds; a misspelt key or a value out of range is refused with a clear message."""
        unknown = sorted(set(values) - set(cls.model_fields))
        if unknown:
            raise ThresholdError(
                f"unknown threshold {', '.join(map(repr, unknown))}; the thresholds are: {', '.join(cls.model_fields)}"
            )
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            problems = "; ".join(f"{e['loc'][0]}={e['input']!r}: {e['msg']}" for e in err.errors())
            raise ThresholdError(f"invalid threshold: {problems}") from None


def _field(t: gate_table.Threshold):
    if t.share:
        return float, Field(t.default, ge=0.0, le=1.0)
    return int, Field(t.default, ge=1, le=t.maximum)


if TYPE_CHECKING:  # the fields are the gate table's, made at import: unknown to mypy by name and type

    class GateThresholds(_Thresholds):
        def __getattr__(self, name: str) -> Any: ...

else:
    # One field per threshold of the gate table, in its order, with the full profile's default.
    GateThresholds = create_model(
        "GateThresholds",
        __base__=_Thresholds,
        __module__=__name__,
        **{t.key: _field(t) for t in gate_table.thresholds()},
    )


@dataclass(frozen=True)
class Gate:
    name: str
    title: str
    measured: float | int | str
    threshold: str  # as the report shows it (">= 143"); ``limit`` is the number
    passed: bool
    limit: float | int | None = None


def evaluate(s: dict, t: GateThresholds) -> list[Gate]:
    """``s``: the audit sections (volume, frameworks, maturity, findings, duplicates, coverage)."""
    values = t.model_dump()
    required = framework_table.gated()
    measured = _measure(s, t, required)
    gates = []
    for spec in GATES:
        shown, compared = measured[spec.id]
        gates.append(
            Gate(
                spec.id,
                spec.title_for(values, required),
                shown,
                spec.limit_text(values),
                spec.passes(compared, values),
                values[spec.compares],
            )
        )
    return gates


def _measure(s: dict, t: GateThresholds, required: tuple[str, ...]) -> dict[str, tuple]:
    """Gate id → (the value shown, the value compared with its threshold)."""
    vol, fw = s["volume"], s["frameworks"]["counts"]
    accounted = vol["stored"] + vol["quarantined"]
    weakest = min(required, key=lambda f: (fw.get(f, 0), f))
    rules_ok = sum(1 for v in s["findings"]["prevalence"].values() if v["repos"] >= t.g4_min_repos_per_rule)
    empty = vol["by_status"].get("empty", 0) / accounted if accounted else 0.0
    failed = vol["by_status"].get("failed", 0) / accounted if accounted else 0.0
    coverage = s["coverage"]["median_ratio"] or 0.0
    share = s["duplicates"]["repos_in_groups_share"]
    return {
        "G1": (vol["usable"], vol["usable"]),
        "G2": (f"{weakest} {fw.get(weakest, 0)}", fw.get(weakest, 0)),  # every framework passes if the weakest does
        "G3": (s["maturity"]["mature"], s["maturity"]["mature"]),
        "G4": (rules_ok, rules_ok),
        "G5": (share, share),
        "G6": (round(empty, 4), empty),
        "G7": (round(failed, 4), failed),
        "G8": (coverage, coverage),
    }


def check_descriptions() -> dict[str, str]:
    """Gate id → its asset check's description: what it requires in the full profile."""
    return {spec.id: spec.describe(gate_table.defaults(), framework_table.gated()) for spec in GATES}
