"""What the built-in scanner does not measure is null, never a constant that reads as a measurement (issue 16, item 3).

``UNMEASURED`` (scanner/engine.py) is the one list: the built-in scanner's pings are null there and nowhere
else, the ping model accepts null there and nowhere else (the reference scanner's values still validate),
the README lists the same fields, and storage, the companion JSONL, the audit and the split take the nulls.
"""

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from stratum_assets.audit.gate_measures import GateThresholds
from stratum_assets.audit.report import compute, render
from stratum_assets.audit.split import FEATURE_COLUMNS, split_and_export
from stratum_assets.manifest.build import repo_hash
from stratum_assets.manifest.store import ManifestStore
from stratum_assets.scanner.engine import UNMEASURED, empty_ping, scan_repository
from stratum_assets.scanner.ping import Ping, validate_ping
from stratum_assets.scanner.ping_file import stamp_identity
from stratum_assets.scanning.storage import ping_row, pings_table, quarantine_table, replace_partition
from stratum_assets.storage.layout import Layout
from stratum_assets.warehouse import companions, schema

from .conftest import ROOT, reference_pings
from .test_scanner import LANGCHAIN

AGENT = LANGCHAIN  # the scanner tests' LangChain agent: a tool, a shell tool, an iteration cap
MEMORY = """
import chromadb
client = chromadb.Client()

def remember(text):
    col = client.get_or_create_collection("memories")
    col.add(documents=[text]{provenance})
    return col.query(query_texts=[text])
"""
PAY = "import stripe\n\ndef refund(amount):\n{check}    return stripe.Refund.create(amount=amount)\n"


def _scan(root: Path, files: dict[str, str], name: str = "owner/fixture") -> dict:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    ping = scan_repository(root, name)
    stamp_identity(ping, name, "langchain_active")
    assert validate_ping(ping, repo_hash(name)) == []
    return ping


@pytest.fixture
def builtin(tmp_path) -> dict[str, dict]:
    """Pings of the built-in scanner: an agent project, a memory loop, a payment call, and a failed scan."""
    pings = {
        "owner/agent": _scan(tmp_path / "a", AGENT, "owner/agent"),
        "owner/memory": _scan(tmp_path / "m", {"mem.py": MEMORY.format(provenance=", source='agent'")}, "owner/memory"),
        "owner/pay": _scan(tmp_path / "p", {"pay.py": PAY.format(check="    assert amount < 100\n")}, "owner/pay"),
    }
    failed = empty_ping("owner/gone", status="failed", failure_reason="clone_404")
    stamp_identity(failed, "owner/gone", "langchain_active")
    return {**pings, "owner/gone": failed}


# -- the built-in scanner's pings -----------------------------------------------------------------------
def test_the_fields_the_builtin_scanner_does_not_measure_are_null_and_only_those(builtin):
    assert set(UNMEASURED) < set(Ping.model_fields) and all(UNMEASURED.values()), "each says why"
    for name, ping in builtin.items():
        allowed = set(UNMEASURED) | ({"failure_reason"} if ping["scan_status"] != "failed" else set())
        assert {f for f, v in ping.items() if v is None} == allowed, name
        assert validate_ping(ping, repo_hash(name)) == []


def test_the_fields_it_measures_come_from_the_project_not_a_constant(builtin, tmp_path):
    agent = builtin["owner/agent"]
    levels = agent["trust_level_distribution"]
    assert levels == {"privileged": 1, "external": 1}
    assert agent["trust_crossing_adjacency"] == {"privileged\u2192external": 1, "external\u2192privileged": 1}
    memory = builtin["owner/memory"]
    assert memory["has_learning_loop"] and memory["has_context_provenance"]
    assert "CONTEXT-001" not in memory["finding_rules"], "provenance in a loop is CONTEXT-001 not firing"
    unsourced = _scan(tmp_path / "u", {"mem.py": MEMORY.format(provenance="")})
    assert unsourced["has_learning_loop"] and not unsourced["has_context_provenance"]
    assert "CONTEXT-001" in unsourced["finding_rules"]
    assert builtin["owner/pay"]["financial_validation_rate"] == 1.0
    unchecked = _scan(tmp_path / "x", {"pay.py": PAY.format(check="")})
    assert unchecked["financial_validation_rate"] == 0.0 and "STRATUM-007" in unchecked["finding_rules"]
    for ping in (agent, builtin["owner/gone"]):
        assert not ping["has_learning_loop"] and not ping["has_context_provenance"]
    assert builtin["owner/gone"]["trust_crossing_adjacency"] == {}


# -- the ping model -------------------------------------------------------------------------------------
def _fields_in_error(errors: list[str]) -> set[str]:
    """The top-level fields ``errors`` name (``"edge_density.float: …"`` names edge_density)."""
    return {e.split(":")[0].split(".")[0] for e in errors}


def _valid_reference() -> tuple[str, dict]:
    name, ping = next(iter(reference_pings().items()))
    stamp_identity(ping, name)
    assert validate_ping(ping, repo_hash(name)) == []
    return name, ping


def test_the_ping_model_accepts_null_exactly_where_the_builtin_scanner_leaves_it():
    name, ping = _valid_reference()
    nullable = {
        f for f in Ping.model_fields if f not in _fields_in_error(validate_ping({**ping, f: None}, repo_hash(name)))
    }
    # failure_reason: null on a scan that did not fail (both scanners)
    assert nullable == set(UNMEASURED) | {"failure_reason"}


def test_reference_pings_with_values_in_those_fields_still_validate_and_wrong_types_do_not():
    for name, ping in reference_pings().items():
        stamp_identity(ping, name)
        assert validate_ping(ping, repo_hash(name)) == [], name
        assert all(ping[f] is not None for f in UNMEASURED if f != "learning_type"), "the reference measures"
    name, ping = _valid_reference()
    measured = {
        "control_bypass_count": 2,
        "mcp_remote_count": 1,
        "mcp_auth_ratio": 0.5,
        "mcp_pinned_ratio": 1,
        "mitigation_coverage": {"destructive_hitl_rate": 0.5},
        "downward_trust_crossings": 3,
        "incident_match_count": 1,
        "incident_ids": ["ECHOLEAK-2025"],
        "has_agent_identity": True,
        "learning_type": "context_level",
        "has_eval_conflict": True,
        "finding_coverages": {"STRATUM-001": 1},
        "severity_downgrades": {"STRATUM-001": "HIGH"},
        "findings_by_class": {"security": 4},
        "inter_crew_edges": 2,
    }
    assert measured.keys() == UNMEASURED.keys()
    assert validate_ping({**ping, **measured}, repo_hash(name)) == []
    wrong = {
        "control_bypass_count": "2",
        "mcp_auth_ratio": "half",
        "incident_ids": "ECHOLEAK-2025",
        "has_agent_identity": 1,
        "has_eval_conflict": "yes",
        "findings_by_class": [4],
        "inter_crew_edges": 2.5,
    }
    assert _fields_in_error(validate_ping({**ping, **wrong}, repo_hash(name))) == set(wrong)


def test_the_readme_lists_the_same_null_fields():
    line = next(ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.startswith("- null: "))
    assert re.findall(r"`([a-z_]+)`", line) == list(UNMEASURED)


# -- storage, companion JSONL, audit and split ------------------------------------------------------------
def _home(tmp_path, pings: dict[str, dict]) -> Layout:
    """Manifest v1 of these repositories and one partition holding their pings, as the pipeline writes them."""
    layout = Layout(tmp_path / "data")
    rows = [
        {
            "full_name": n,
            "repo_hash": repo_hash(n),
            "chunk_id": "v1-c0000",
            "matched_strata": ["langchain_active"],
            "manifest_version": 1,
            "github_stars": i,
            "github_forks": 0,
            "last_commit_date": "2026-05-01T00:00:00Z",
            "repo_created_date": "2024-01-01T00:00:00Z",
            "is_fork": False,
            "fork_parent": None,
            "license": "MIT",
            "github_topics": ["agents"],
            "primary_language": "Python",
            "language_bytes": json.dumps({"Python": 100}),
            "has_readme": True,
            "discovery_query": "langchain",
            "selection_stratum": "langchain_active",
            "collected_at": "2026-05-02T00:00:00Z",
        }
        for i, n in enumerate(pings)
    ]
    ManifestStore(layout.manifests).freeze(1, pa.Table.from_pylist(sorted(rows, key=lambda r: r["repo_hash"])), {})
    stored = [ping_row(p, {"chunk_id": "v1-c0000", "scanner": p["scanner_version"] or "none"}) for p in pings.values()]
    by_status: dict[str, int] = {}
    for p in pings.values():
        by_status[p["scan_status"]] = by_status.get(p["scan_status"], 0) + 1
    replace_partition(
        layout.scan_partition(1, "v1-c0000"),
        pings_table(stored),
        quarantine_table([]),
        {
            "repos": len(pings),
            "stored": len(pings),
            "quarantined": 0,
            "by_status": by_status,
            "duration_s": 1.0,
            "finished_at": "2026-05-02T00:00:00+00:00",
            "chunk": "v1-c0000",
        },
    )
    return layout


def test_null_fields_are_stored_as_null_exported_as_null_and_the_audit_and_split_run(builtin, tmp_path):
    references = {}
    for name, ping in list(reference_pings().items())[:3]:
        stamp_identity(ping, name, "langchain_active")
        references[name] = ping
    pings = {**builtin, **references}
    layout = _home(tmp_path, pings)
    conn = duckdb.connect()
    schema.refresh(conn, layout, 1)
    for field in UNMEASURED:
        query = f'SELECT repo_full_name FROM scan_results WHERE "{field}" IS NULL'
        nulls = {name for (name,) in conn.execute(query).fetchall()}
        assert nulls == set(builtin) | {n for n, p in references.items() if p[field] is None}, field

    companions.write_scan_companions(layout, 1)
    lines = {p["repo_full_name"]: p for p in map(json.loads, layout.scan_results_jsonl.read_text().splitlines())}
    assert lines == pings, "every ping exactly as validated, nulls as null"

    report = render(compute(conn, {"langchain_active": 10}, GateThresholds()), 1, "sample")
    assert "## 1. Volume" in report and "## 10. Recommendations" in report

    summary = split_and_export(conn, layout, 1, min_test=1)
    assert summary.train + summary.test == len(pings) - 1, "all but the failed scan are usable"
    assert set(summary.feature_fields) == set(FEATURE_COLUMNS) and not set(FEATURE_COLUMNS) & set(UNMEASURED)


def test_the_audit_groups_by_the_pings_topology_else_the_builtins_detected_one(builtin, tmp_path):
    """The ping's topology_signature_hash is empty, as the reference CLI prints it; the view's topology_key (what
    G5 and the split's topology groups read) falls back to the built-in's detected hash, and keeps a scanner's
    non-empty hash when one is given."""
    references = {}
    for name, ping in list(reference_pings().items())[:2]:
        stamp_identity(ping, name, "langchain_active")
        references[name] = ping
    hashed_name = next(iter(references))
    references[hashed_name]["topology_signature_hash"] = "a-scanners-own-hash"
    layout = _home(tmp_path, {**builtin, **references})
    conn = duckdb.connect()
    schema.refresh(conn, layout, 1)
    keys = dict(conn.execute("SELECT full_name, topology_key FROM scan_dataset").fetchall())
    detected = {n: p.get("detected_topology_signature_hash") or None for n, p in builtin.items()}
    assert any(detected.values()) and all(p["topology_signature_hash"] == "" for p in builtin.values())
    assert keys == {**detected, **dict.fromkeys(references), hashed_name: "a-scanners-own-hash"}
