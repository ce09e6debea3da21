"""validate_ping: each consistency rule just satisfied and just broken, exact messages, every error listed.

The base is the real ping the reference scanner printed for crewAIInc/crewAI-examples (valid as recorded:
18 rules = 4+5+8+1 severities, 18 instances, 30 crews, 56 agents, one deployment signal, risk 69,
116 of 116 files) and the pipeline's empty ping.
"""

import copy

import pytest

from stratum_assets.scanner.engine import empty_ping
from stratum_assets.scanner.ping import SCHEMA_ID, SCHEMA_VERSION, validate_ping

from .conftest import fixture_json

HASH = "0123456789abcdef"


@pytest.fixture(scope="module")
def recorded() -> dict:
    return fixture_json("pings/crewAIInc__crewAI-examples.json")


@pytest.fixture
def base(recorded) -> dict:
    ping = copy.deepcopy(recorded)
    ping["repo_hash"] = HASH
    return ping


def errors_of(ping: dict, **changes) -> list[str]:
    return validate_ping({**ping, **changes}, HASH)


def test_the_recorded_ping_and_the_empty_ping_are_valid(base):
    assert (SCHEMA_ID, SCHEMA_VERSION) == (5, "0.3.2")
    assert base["finding_rule_count"] == 18 and base["crew_count"] == 30 and base["agent_count"] == 56
    assert validate_ping(base, HASH) == []
    for status, reason in (("empty", "no_agents"), ("failed", "clone_404"), ("partial", "parse_timeout")):
        ping = empty_ping("owner/repo", status=status, failure_reason=reason, files_total=3)
        assert validate_ping({**ping, "repo_hash": HASH}, HASH) == [], status


def test_the_input_ping_is_not_changed(base):
    before = copy.deepcopy(base)
    broken = {**base, "risk_score": 101}
    validate_ping(broken, HASH)
    validate_ping(base, HASH)
    assert base == before and broken["risk_score"] == 101


def test_extra_fields_are_allowed(base):
    extra = {
        **base,
        "a_newer_scanner_field": {"x": 1},
        "deployment_signals": {**base["deployment_signals"], "has_makefile": True},
    }
    assert validate_ping(extra, HASH) == []


# -- schema_id, schema_version, repo_hash ----------------------------------------------------------
def test_schema_id_must_be_5(base):
    assert errors_of(base, schema_id=5) == []
    assert errors_of(base, schema_id=4) == ["schema_id: expected 5, got 4"]
    assert errors_of(base, schema_id=6) == ["schema_id: expected 5, got 6"]


def test_schema_version_must_be_0_3_2(base):
    assert errors_of(base, schema_version="0.3.2") == []
    assert errors_of(base, schema_version="0.3.1") == ["schema_version: expected '0.3.2', got '0.3.1'"]
    assert errors_of(base, schema_version="0.3.20") == ["schema_version: expected '0.3.2', got '0.3.20'"]


def test_repo_hash_must_be_the_manifests(base):
    assert validate_ping(base, HASH) == []
    assert validate_ping(base, "fedcba9876543210") == [
        "repo_hash: '0123456789abcdef' is not the manifest's 'fedcba9876543210'"
    ]
    assert errors_of(base, repo_hash="") == ["repo_hash: '' is not the manifest's '0123456789abcdef'"]


# -- finding counts --------------------------------------------------------------------------------
SEVERITY_SUM = "finding_rule_count differs from the sum of finding_severities"
RULE_NUMBER = "finding_rule_count differs from the number of finding_rules"
INSTANCES = "total_finding_instances differs from the sum of finding_instance_counts"


def test_finding_rule_count_is_the_sum_of_finding_severities(base):
    # Same sum, other distribution: still valid.
    assert errors_of(base, finding_severities={"CRITICAL": 5, "HIGH": 5, "MEDIUM": 8}) == []
    assert errors_of(base, finding_severities={"CRITICAL": 4, "HIGH": 5, "MEDIUM": 8, "LOW": 2}) == [SEVERITY_SUM]
    assert errors_of(base, finding_severities={"CRITICAL": 4, "HIGH": 5, "MEDIUM": 8}) == [SEVERITY_SUM]


def test_finding_rule_count_is_the_number_of_finding_rules(base):
    rules = base["finding_rules"]
    assert len(rules) == 18
    assert errors_of(base, finding_rules=[*rules, "STRATUM-999"]) == [RULE_NUMBER]
    assert errors_of(base, finding_rules=rules[:-1]) == [RULE_NUMBER]


def test_a_wrong_finding_rule_count_breaks_both_rules(base):
    assert errors_of(base, finding_rule_count=19) == [SEVERITY_SUM, RULE_NUMBER]
    assert errors_of(base, finding_rule_count=17) == [SEVERITY_SUM, RULE_NUMBER]
    empty = {"finding_rule_count": 0, "finding_rules": [], "finding_severities": {}}
    assert errors_of(base, **empty) == []
    assert errors_of(base, **{**empty, "finding_rule_count": 1}) == [SEVERITY_SUM, RULE_NUMBER]


def test_total_finding_instances_is_the_sum_of_finding_instance_counts(base):
    counts = base["finding_instance_counts"]
    assert sum(counts.values()) == base["total_finding_instances"] == 18
    assert errors_of(base, total_finding_instances=19) == [INSTANCES]
    assert errors_of(base, total_finding_instances=17) == [INSTANCES]
    assert errors_of(base, finding_instance_counts={**counts, "STRATUM-001": 2}) == [INSTANCES]
    assert errors_of(base, finding_instance_counts={**counts, "STRATUM-001": 2}, total_finding_instances=19) == []


# -- distributions ---------------------------------------------------------------------------------
CREWS = "crew_size_distribution has not crew_count entries"
AGENTS = "agent_tool_count_distribution has not agent_count entries"


def test_crew_size_distribution_has_crew_count_entries(base):
    sizes = base["crew_size_distribution"]
    assert errors_of(base, crew_count=31) == [CREWS]
    assert errors_of(base, crew_count=29) == [CREWS]
    assert errors_of(base, crew_size_distribution=[*sizes, 1]) == [CREWS]
    assert errors_of(base, crew_size_distribution=[*sizes, 1], crew_count=31) == []
    assert errors_of(base, crew_size_distribution=[], crew_count=0) == []


def test_agent_tool_count_distribution_has_agent_count_entries(base):
    tools = base["agent_tool_count_distribution"]
    assert errors_of(base, agent_count=57) == [AGENTS]
    assert errors_of(base, agent_count=55) == [AGENTS]
    assert errors_of(base, agent_tool_count_distribution=tools[:-1]) == [AGENTS]
    assert errors_of(base, agent_tool_count_distribution=tools[:-1], agent_count=55) == []


# -- deployment signals ----------------------------------------------------------------------------
SCORE = "deployment_score is not the number of true deployment signals"
SIGNALS = ("has_dockerfile", "has_ci_config", "has_tests", "has_lockfile", "has_env_example")


def _signals(true: set[str], score: int, **extra) -> dict:
    return {"deployment_signals": {**{k: k in true for k in SIGNALS}, "deployment_score": score, **extra}}


@pytest.mark.parametrize(
    "true",
    [
        set(),
        {"has_dockerfile"},
        {"has_ci_config", "has_tests"},
        {"has_tests", "has_lockfile", "has_env_example"},
        set(SIGNALS),
    ],
)
def test_deployment_score_is_the_number_of_true_signals(base, true):
    n = len(true)
    assert errors_of(base, **_signals(true, n)) == []
    assert errors_of(base, **_signals(true, n + 1)) == [SCORE]
    if n:
        assert errors_of(base, **_signals(true, n - 1)) == [SCORE]


def test_each_signal_counts_and_extra_signals_do_not(base):
    for key in SIGNALS:
        assert errors_of(base, **_signals({key}, 1)) == [], key
        assert errors_of(base, **_signals({key}, 0)) == [SCORE], key
    assert errors_of(base, **_signals(set(), 0, has_makefile=True)) == []
    assert errors_of(base, **_signals(set(), 1, has_makefile=True)) == [SCORE]


# -- fix impact, risk score, files -----------------------------------------------------------------
NEGATIVE = "fix_impact_estimates must all be negative"


def test_fix_impact_estimates_must_all_be_negative(base):
    assert errors_of(base, fix_impact_estimates={"STRATUM-001": -1}) == []
    assert errors_of(base, fix_impact_estimates={}) == []
    assert errors_of(base, fix_impact_estimates={"STRATUM-001": 0}) == [NEGATIVE]
    assert errors_of(base, fix_impact_estimates={"STRATUM-001": 1}) == [NEGATIVE]
    assert errors_of(base, fix_impact_estimates={**base["fix_impact_estimates"], "STRATUM-002": 0}) == [NEGATIVE]


@pytest.mark.parametrize("score", [0, 1, 69, 99, 100])
def test_risk_score_inside_0_to_100_is_valid(base, score):
    assert errors_of(base, risk_score=score) == []


@pytest.mark.parametrize("score", [-1, 101, -100, 1000])
def test_risk_score_outside_0_to_100_is_invalid(base, score):
    assert errors_of(base, risk_score=score) == [f"risk_score {score} is outside 0-100"]


def test_files_scanned_may_not_exceed_files_total(base):
    assert base["files_scanned"] == base["files_total"] == 116
    assert errors_of(base) == []
    assert errors_of(base, files_scanned=115) == []
    assert errors_of(base, files_scanned=117) == ["files_scanned exceeds files_total"]
    assert errors_of(base, files_total=115) == ["files_scanned exceeds files_total"]
    assert errors_of(base, files_scanned=0, files_total=0) == []


# -- every error, type errors with their location --------------------------------------------------
def test_every_broken_rule_is_listed_in_rule_order(base):
    broken = {
        **base,
        "schema_id": 4,
        "schema_version": "0.3.1",
        "repo_hash": "other",
        "finding_rule_count": 17,
        "total_finding_instances": 0,
        "crew_count": 0,
        "agent_count": 0,
        **_signals({"has_tests"}, 3),
        "fix_impact_estimates": {"STRATUM-001": 0},
        "risk_score": 101,
        "files_scanned": 117,
    }
    assert validate_ping(broken, HASH) == [
        "schema_id: expected 5, got 4",
        "schema_version: expected '0.3.2', got '0.3.1'",
        "repo_hash: 'other' is not the manifest's '0123456789abcdef'",
        SEVERITY_SUM,
        RULE_NUMBER,
        INSTANCES,
        CREWS,
        AGENTS,
        SCORE,
        NEGATIVE,
        "risk_score 101 is outside 0-100",
        "files_scanned exceeds files_total",
    ]


def test_type_errors_carry_their_dotted_location(base):
    assert errors_of(base, risk_score="high") == ["risk_score: Input should be a valid integer"]
    assert errors_of(base, files_scanned=True) == ["files_scanned: Input should be a valid integer"]
    assert errors_of(base, scan_status="done") == [
        "scan_status: Input should be 'success', 'partial', 'failed' or 'empty'"
    ]
    assert errors_of(base, crew_size_distribution=[4, "x"] + [1] * 28) == [
        "crew_size_distribution.1: Input should be a valid integer"
    ]
    assert errors_of(base, graph_topology_metrics={**base["graph_topology_metrics"], "diameter": 2.5}) == [
        "graph_topology_metrics.diameter: Input should be a valid integer"
    ]
    assert errors_of(base, finding_severities={"SEVERE": 18}) == [
        "finding_severities.SEVERE.[key]: Input should be 'CRITICAL', 'HIGH', 'MEDIUM' or 'LOW'"
    ]
    assert errors_of(base, fix_impact_estimates={"STRATUM-001": "-25"}) == [
        "fix_impact_estimates.STRATUM-001: Input should be a valid integer"
    ]
    missing = {k: v for k, v in base.items() if k != "scan_id"}
    assert validate_ping(missing, HASH) == ["scan_id: Field required"]


def test_type_errors_and_broken_rules_are_all_listed_together(base):
    ping = {k: v for k, v in base.items() if k != "timestamp"}
    ping.update(
        scan_id=7,
        risk_score=101.0,
        repo_hash="other",
        crew_count=31,
        deployment_signals={**base["deployment_signals"], "has_tests": "yes"},
    )
    assert validate_ping(ping, HASH) == [
        "scan_id: Input should be a valid string",
        "timestamp: Field required",
        "risk_score: Input should be a valid integer",
        "deployment_signals.has_tests: Input should be a valid boolean",
        "repo_hash: 'other' is not the manifest's '0123456789abcdef'",
        CREWS,
        # the untyped values are still checked where they can be: "yes" counts as a true signal (2 != 1)
        SCORE,
        "risk_score 101.0 is outside 0-100",
    ]


def test_a_mistyped_schema_id_is_both_a_type_error_and_a_mismatch(base):
    assert errors_of(base, schema_id="5") == [
        "schema_id: Input should be a valid integer",
        "schema_id: expected 5, got '5'",
    ]
    assert errors_of(base, schema_version=32) == [
        "schema_version: Input should be a valid string",
        "schema_version: expected '0.3.2', got 32",
    ]


def test_rules_that_cannot_be_evaluated_are_left_to_the_type_errors(base):
    assert errors_of(base, finding_severities=[4, 5, 8, 1]) == [
        "finding_severities: Input should be a valid dictionary"
    ]
    assert errors_of(base, fix_impact_estimates=[-1]) == ["fix_impact_estimates: Input should be a valid dictionary"]
    assert errors_of(base, risk_score=None) == ["risk_score: Input should be a valid integer"]
    assert errors_of(base, files_total="116") == ["files_total: Input should be a valid integer"]
    assert errors_of(base, crew_size_distribution=None) == ["crew_size_distribution: Input should be a valid list"]
    assert errors_of(base, deployment_signals=None) == [
        "deployment_signals: Input should be a valid dictionary or instance of DeploymentSignals"
    ]
    without = {k: v for k, v in base.items() if k not in ("schema_id", "files_scanned", "finding_rules")}
    assert validate_ping(without, HASH) == [
        "schema_id: Field required",
        "files_scanned: Field required",
        "finding_rules: Field required",
    ]


@pytest.mark.parametrize("ping, kind", [(None, "NoneType"), ([], "list"), ("{}", "str"), (5, "int")])
def test_a_ping_that_is_not_a_json_object_is_one_clear_error(ping, kind):
    assert validate_ping(ping, "0" * 16) == [f"ping: expected a JSON object, got {kind}"]


def test_text_copied_out_of_a_repository_cannot_grow_a_ping_without_bound(base):
    """A 999,000-character version specifier (seen in a hostile repository) is refused, not stored."""
    from stratum_assets.scanner.ping import MAX_ITEMS, MAX_TEXT

    at_limit = copy.deepcopy(base)
    at_limit["framework_versions"] = {"crewai": "v" * MAX_TEXT}
    at_limit["llm_models"] = [f"m{i}" for i in range(MAX_ITEMS)]
    assert validate_ping(at_limit, HASH) == []
    over = copy.deepcopy(base)
    over["framework_versions"] = {"crewai": ">=" + "9" * 999_000}
    over["llm_models"] = [f"m{i}" for i in range(MAX_ITEMS + 1)]
    over["scan_id"] = "x" * (MAX_TEXT + 1)
    assert validate_ping(over, HASH) == [
        "scan_id: String should have at most 1000 characters",
        "framework_versions.crewai: String should have at most 1000 characters",
        "llm_models: List should have at most 1000 items after validation, not 1001",
    ]
