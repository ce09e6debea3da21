"""The scanner ping (schema_id 5, schema_version "0.3.2") and the checks it must pass before storage.

:class:`Ping` fixes the type of every field of the flat ping that the real
``stratum`` scanner prints (real examples in ``stratum_assets_tests/fixtures/pings``).
:func:`validate_ping` adds the consistency rules the dataset relies on and
returns *every* error, so a quarantined ping says all that is wrong with it.
Extra fields are allowed: a newer scanner may add some without breaking storage.
A field a scanner does not measure is null, never a constant that reads as a measurement:
the fields marked ``null: not measured`` accept null (the built-in scanner leaves exactly
those null, :data:`~stratum_assets.scanner.engine.UNMEASURED`); the reference scanner's
values there validate as before.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints, ValidationError
from pydantic import StrictBool as Bool

SCHEMA_ID = 5
SCHEMA_VERSION = "0.3.2"
SIGNAL_KEYS = ("has_dockerfile", "has_ci_config", "has_tests", "has_lockfile", "has_env_example")

# Repositories are strangers: no text a scanner copies out of one (a version specifier, a model name)
# may grow a stored ping without bound. Far above anything real: run ids, names, hashes, specifiers.
MAX_TEXT = 1_000
MAX_ITEMS = 1_000

Int = StrictInt
Str = Annotated[str, StringConstraints(strict=True, max_length=MAX_TEXT)]
StrList = Annotated[list[Str], Field(max_length=MAX_ITEMS)]
Float = StrictFloat | StrictInt  # JSON writes 0.0 as 0 in some encoders


class DeploymentSignals(BaseModel):
    model_config = ConfigDict(extra="allow")
    has_dockerfile: Bool
    has_ci_config: Bool
    has_tests: Bool
    has_lockfile: Bool
    has_env_example: Bool
    deployment_score: Int


class RepoMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    python_file_count: Int
    yaml_config_count: Int
    total_loc: Int
    primary_framework: Str | None  # the reference writes null when it finds no framework
    framework_count: Int


class TopologyMetrics(BaseModel):
    model_config = ConfigDict(extra="allow")
    diameter: Int
    avg_degree: Float
    max_degree: Int
    clustering_coefficient: Float
    connected_components: Int
    longest_chain: Int
    hub_score: Int | Float


class Density(BaseModel):
    model_config = ConfigDict(extra="allow")
    max: Int | Float
    min: Int | Float
    mean: Float
    median: Float
    stddev: Float


class Ping(BaseModel):
    model_config = ConfigDict(extra="allow")

    scan_id: Str
    timestamp: Str
    scanner_version: Str
    repo_hash: Str
    schema_id: Int
    schema_version: Str
    repo_full_name: Str
    scan_status: Literal["success", "partial", "failed", "empty"]
    scan_duration_ms: Int
    files_scanned: Int
    files_total: Int
    parser_errors: Int
    failure_reason: (
        Literal[
            "clone_timeout",
            "clone_404",
            "clone_rate_limited",
            "parse_timeout",
            "parse_crash",
            "no_python",
            "no_agents",
            "clone_refused",
            "over_limit",
            "clone_blocked",
            "clone_unclassified",
        ]
        | None
    )
    archetype_class: Str
    total_capabilities: Int
    capability_distribution: dict[str, Int]
    trust_level_distribution: dict[str, Int]
    trust_crossings: dict[str, Int]
    total_trust_crossings: Int
    topology_signature_hash: Str
    trust_crossing_adjacency: dict
    graph_node_count: Int
    graph_edge_count: Int
    graph_node_type_distribution: dict[str, Int]
    graph_edge_type_distribution: dict[str, Int]
    edge_density: Float
    guardrail_count: Int
    has_any_guardrails: Bool
    guardrail_types: StrList
    guardrail_linked_count: Int
    control_bypass_count: Int | None  # null: not measured (engine.UNMEASURED)
    control_coverage_pct: Float
    has_hitl_anywhere: Bool
    mcp_server_count: Int
    mcp_remote_count: Int | None  # null: not measured (engine.UNMEASURED)
    mcp_auth_ratio: Float | None  # null: not measured (engine.UNMEASURED)
    mcp_pinned_ratio: Float | None  # null: not measured (engine.UNMEASURED)
    risk_score: Int
    blast_radius_distribution: list[Int]
    max_blast_radius: Int
    has_env_in_gitignore: Bool
    error_handling_rate: Float
    timeout_rate: Float
    checkpoint_type: Str
    has_pii: Bool
    has_financial_data: Bool
    has_financial_tools: Bool
    financial_validation_rate: Float
    data_sensitivity_types: StrList
    has_shared_credentials: Bool
    mitigation_coverage: dict | None  # null: not measured (engine.UNMEASURED)
    uncontrolled_path_count: Int
    max_path_hops: Int
    downward_trust_crossings: Int | None  # null: not measured (engine.UNMEASURED)
    external_sink_count: Int
    shared_tool_max_agents: Int
    incident_match_count: Int | None  # null: not measured (engine.UNMEASURED)
    incident_ids: StrList | None  # null: not measured (engine.UNMEASURED)
    regulatory_framework_count: Int
    regulatory_surface: StrList
    has_agent_identity: Bool | None  # null: not measured (engine.UNMEASURED)
    has_shared_context: Bool
    has_context_provenance: Bool
    has_context_rollback: Bool
    has_memory_store: Bool
    memory_store_types: StrList
    has_learning_loop: Bool
    learning_type: Str | None  # the reference: null with no learning loop; the built-in: not measured
    has_eval_framework: Bool
    has_eval_conflict: Bool | None  # null: not measured (engine.UNMEASURED)
    has_observability: Bool
    frameworks: StrList
    selection_stratum: Str
    agent_count: Int
    crew_count: Int
    finding_rules: StrList
    finding_rule_count: Int
    finding_severities: dict[Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"], Int]
    finding_confidences: dict[str, Int]
    finding_instance_counts: dict[str, Int]
    total_finding_instances: Int
    env_var_count: Int
    telemetry_destination_count: Int
    crew_size_distribution: list[Int]
    agent_tool_count_distribution: list[Int]
    finding_coverages: dict | None  # null: not measured (engine.UNMEASURED)
    severity_downgrades: dict | None  # null: not measured (engine.UNMEASURED)
    crews_clean: Int
    crews_with_findings: Int
    findings_by_class: dict | None  # null: not measured (engine.UNMEASURED)
    findings_by_category: dict
    normalized_features: dict[str, Float]
    framework_versions: Annotated[dict[str, Str | None], Field(max_length=MAX_ITEMS)]
    llm_providers: StrList
    llm_models: StrList
    provider_confidence: Str
    deployment_signals: DeploymentSignals
    repo_metadata: RepoMetadata
    inter_crew_edges: Int | None  # null: not measured (engine.UNMEASURED)
    graph_topology_metrics: TopologyMetrics
    fix_impact_estimates: dict[str, Int]
    finding_co_occurrence: Annotated[list[StrList], Field(max_length=MAX_ITEMS)]
    per_crew_finding_density: Density


REQUIRED_FIELDS = tuple(Ping.model_fields)


def validate_ping(ping: object, expected_repo_hash: str) -> list[str]:
    """Every reason ``ping`` must not be stored; an empty list means it is valid."""
    if not isinstance(ping, dict):
        return [f"ping: expected a JSON object, got {type(ping).__name__}"]
    try:
        model = Ping.model_validate(ping)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return errors + _consistency(ping, expected_repo_hash)
    return _consistency(model.model_dump(), expected_repo_hash)


def _consistency(p: dict, expected_repo_hash: str) -> list[str]:
    errors: list[str] = []

    def check(condition, message):
        try:
            ok = condition()
        except (KeyError, TypeError, AttributeError, ValueError):
            return  # a type error already reported by the model
        if not ok:
            errors.append(message)

    check(lambda: p["schema_id"] == SCHEMA_ID, f"schema_id: expected {SCHEMA_ID}, got {p.get('schema_id')!r}")
    check(
        lambda: p["schema_version"] == SCHEMA_VERSION,
        f"schema_version: expected {SCHEMA_VERSION!r}, got {p.get('schema_version')!r}",
    )
    check(
        lambda: p["repo_hash"] == expected_repo_hash,
        f"repo_hash: {p.get('repo_hash')!r} is not the manifest's {expected_repo_hash!r}",
    )
    check(
        lambda: p["finding_rule_count"] == sum(p["finding_severities"].values()),
        "finding_rule_count differs from the sum of finding_severities",
    )
    check(
        lambda: p["finding_rule_count"] == len(p["finding_rules"]),
        "finding_rule_count differs from the number of finding_rules",
    )
    check(
        lambda: p["total_finding_instances"] == sum(p["finding_instance_counts"].values()),
        "total_finding_instances differs from the sum of finding_instance_counts",
    )
    check(
        lambda: len(p["crew_size_distribution"]) == p["crew_count"], "crew_size_distribution has not crew_count entries"
    )
    check(
        lambda: len(p["agent_tool_count_distribution"]) == p["agent_count"],
        "agent_tool_count_distribution has not agent_count entries",
    )
    check(
        lambda: (
            p["deployment_signals"]["deployment_score"] == sum(bool(p["deployment_signals"][k]) for k in SIGNAL_KEYS)
        ),
        "deployment_score is not the number of true deployment signals",
    )
    check(lambda: all(v < 0 for v in p["fix_impact_estimates"].values()), "fix_impact_estimates must all be negative")
    check(lambda: 0 <= p["risk_score"] <= 100, f"risk_score {p.get('risk_score')!r} is outside 0-100")
    check(lambda: p["files_scanned"] <= p["files_total"], "files_scanned exceeds files_total")
    return errors
