"""The built-in reference scanner: one flat ping (schema_id 5, schema_version "0.3.2") per checkout.

It walks the checkout without following symlinks, reads Python (``ast``),
CrewAI YAML configs and dependency files, never executes anything, and emits
every field of the ping with consistent counts. It emits no source text, no
file paths and no secrets — only counts, names of frameworks, providers and
models, rule ids and structure.

Identity (``repo_hash``, ``selection_stratum``) is left empty: the pipeline
stamps it from the manifest. Coverage: ``files_total`` counts every file of
the repository that the scanner reads — Python sources and CrewAI agent/task
YAML — taken from the full tree listing when the caller passes one (a sparse
checkout holds only some files); ``files_scanned`` counts those it actually
parsed. Too large, unreadable or broken files count in the first, not the
second, so ``files_scanned / files_total`` is the scan's coverage (gate G8).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .. import __version__
from . import dependencies
from .capabilities import extract as extract_capabilities
from .capabilities import is_root_file
from .model import APPROVAL_OPS, RepoModel, build_model
from .python_facts import ModuleFacts, parse_module
from .rules import evaluate, external_to_action
from .topology import build_graph, metrics, signature

SCHEMA_ID = 5
SCHEMA_VERSION = "0.3.2"
MAX_FILE_BYTES = 1_000_000
MAX_DEPENDENCY_BYTES = 20_000_000  # lock files of large projects pass 1 MB
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")

_LOCKFILES = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "requirements.lock")


def scan_repository(root: Path, repo_full_name: str, *, all_files: list[str] | None = None) -> dict:
    """Scan a checkout at ``root``; ``all_files`` is the full tree listing when only part is checked out."""
    started = time.monotonic()
    root = Path(root)
    model, files, modules, python_count, yaml_count, parser_errors = read_repository(root)
    relative = [p.relative_to(root).as_posix() for p in files]
    signals = _deployment_signals(all_files if all_files is not None else relative)
    signals["has_env_in_gitignore"] = _env_ignored(root)
    signals["project"] = project_facts(root, files)
    signals["framework_versions"], dependency_errors = _framework_versions(root, files, model.frameworks)
    parser_errors += dependency_errors
    ping = _ping(model, signals, repo_full_name)
    ping.update(
        scan_duration_ms=int((time.monotonic() - started) * 1000),
        files_scanned=len(modules) + yaml_count,
        files_total=sum(map(is_scannable, all_files if all_files is not None else relative)),
        parser_errors=parser_errors,
        scan_status="partial" if parser_errors else "success",
    )
    ping["repo_metadata"] = {
        "python_file_count": python_count, "yaml_config_count": yaml_count,
        "total_loc": sum(m.loc for m in modules), "primary_framework": ping["repo_metadata"]["primary_framework"],
        "framework_count": len(model.frameworks),
    }
    return ping


def read_repository(root: Path) -> tuple[RepoModel, list[Path], list[ModuleFacts], int, int, int]:
    """(model, files, parsed modules, Python file count, CrewAI YAML configs read, parser errors) of a checkout.

    One file that cannot be read or parsed — too large, broken, or nested deeply enough to exhaust the
    parser (RecursionError, MemoryError) — is one parser error, never a failed scan.
    """
    root = Path(root)
    files = list(_walk(root))
    python = [p for p in files if p.suffix == ".py"]
    modules, parser_errors = [], 0
    for path in python:
        facts = _parse_python(path)
        if facts is None:
            parser_errors += 1
            continue
        facts.path = path.relative_to(root).as_posix()
        modules.append(facts)
    yaml_agents, yaml_tasks, yaml_files, yaml_errors = _crewai_yaml(root, files)
    model = build_model(modules, yaml_agents, yaml_tasks, yaml_files)
    return model, files, modules, len(python), len(yaml_files), parser_errors + yaml_errors


def _parse_python(path: Path) -> ModuleFacts | None:
    data = _read(path)
    if data is None:
        return None
    try:
        return parse_module(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def empty_ping(repo_full_name: str, *, status: str, failure_reason: str | None, files_total: int = 0) -> dict:
    """A schema-complete ping with nothing found: what the pipeline stores when a scan could not happen."""
    signals = _deployment_signals([])
    signals.update(has_env_in_gitignore=False, framework_versions={})
    ping = _ping(RepoModel(), signals, repo_full_name)
    # No scanner produced it: scanner_version stays empty, so a version's scanner is read off real scans only.
    ping.update(scan_status=status, failure_reason=failure_reason, files_total=files_total, scanner_version="",
                repo_metadata={"python_file_count": 0, "yaml_config_count": 0, "total_loc": 0,
                               "primary_framework": "", "framework_count": 0})
    return ping


def is_scannable(path: str) -> bool:
    """Files the scanner reads: Python sources and CrewAI agent/task configs."""
    return path.endswith(".py") or path.rsplit("/", 1)[-1] in _CREW_YAML


_CREW_YAML = ("agents.yaml", "agents.yml", "tasks.yaml", "tasks.yml")


# -- reading the checkout ------------------------------------------------------------------------
def _walk(root: Path):
    """Regular files under root; symlinks are never followed nor read, .git is skipped."""
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in (".git", ".stratum") and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(names):
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file():
                yield path


def _read(path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
    try:
        if path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_VENDORED = {"node_modules", ".venv", "__pycache__", "site-packages"}


def project_facts(root: Path, files: list[Path]):
    """The capability layer's facts (capabilities.py): Python sources, YAML documents, root files."""
    python, docs, root_files = [], [], {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        if _VENDORED & set(rel.split("/")[:-1]):
            continue  # installed third-party code is not the project's (the reference skips these folders too)
        if path.suffix == ".py":
            data = _read(path)
            if data is not None:
                python.append((rel, data))
        elif path.suffix in (".yaml", ".yml"):
            data = _read(path, MAX_FILE_BYTES // 4)
            if not data or (path.name not in _CREW_YAML and b"tools" not in data):
                continue  # only agent/task configs and YAML that lists tools matter to the rules
            try:
                docs += [(rel, _bounded_yaml(d))
                         for d in yaml.load_all(data.decode("utf-8", "replace"), Loader=_YAML_LOADER)]
            except (yaml.YAMLError, RecursionError, MemoryError, ValueError):
                pass
        elif is_root_file(rel):
            data = _read(path)
            if data is not None:
                root_files[rel] = data
    return extract_capabilities(python, docs, root_files)


MAX_YAML_NODES = 200_000  # far above any real config; a YAML whose aliases expand past it is a parser error


def _bounded_yaml(value, limit: int = MAX_YAML_NODES):
    """``value`` when walking it (aliases expanded, as every later reader would) visits at most ``limit``
    nodes; else ValueError — a billion-laughs document is a few lines that expand to 9**9 nodes."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            raise ValueError("YAML expands past the node limit")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def _crewai_yaml(root: Path, files: list[Path]) -> tuple[dict, dict, dict, int]:
    """(agents, tasks, per-file entries by repository path, parser errors) of the CrewAI agent/task YAML."""
    agents, tasks, by_file, errors = {}, {}, {}, 0
    for path in files:
        if path.name not in _CREW_YAML:
            continue
        data = _read(path)
        if data is None:  # too large or unreadable, like a Python file
            errors += 1
            continue
        try:
            parsed = _bounded_yaml(yaml.load(data.decode("utf-8", "replace"), Loader=_YAML_LOADER)) if data else None
        except (yaml.YAMLError, RecursionError, MemoryError, ValueError):
            errors += 1
            continue
        if not isinstance(parsed, dict):
            continue
        entries = {str(k): v for k, v in parsed.items() if isinstance(v, dict)}
        by_file[path.relative_to(root).as_posix()] = entries
        target = agents if path.name.startswith("agents") else tasks
        target.update(entries)
    return agents, tasks, by_file, errors


def _deployment_signals(paths: list[str]) -> dict:
    names = {p.rsplit("/", 1)[-1] for p in paths}
    signals = {
        "has_dockerfile": any(n == "Dockerfile" or n.startswith("Dockerfile.") or n in ("docker-compose.yml",
                                                                                        "compose.yaml") for n in names),
        "has_ci_config": any(p.startswith((".github/workflows/", ".circleci/")) or p == ".gitlab-ci.yml"
                             for p in paths),
        "has_tests": any(p.startswith(("tests/", "test/")) or "/tests/" in p or
                         re.match(r"(.*/)?test_[^/]+\.py$", p) is not None for p in paths),
        "has_lockfile": any(n in _LOCKFILES for n in names),
        "has_env_example": any(n in (".env.example", ".env.sample", ".env.template") for n in names),
    }
    signals["deployment_score"] = sum(signals.values())
    return signals


def _env_ignored(root: Path) -> bool:
    data = _read(root / ".gitignore") if (root / ".gitignore").is_file() and not (root / ".gitignore").is_symlink() else None
    lines = {line.strip() for line in (data or b"").decode("utf-8", "replace").splitlines()}
    return bool(lines & {".env", ".env*", "*.env", ".env.*", "/.env"})


def _framework_versions(root: Path, files: list[Path], frameworks: set[str]) -> tuple[dict, int]:
    """(framework → version, dependency files that did not parse); see :mod:`.dependencies`."""
    sources = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        if dependencies.is_dependency_file(relative):
            data = _read(path, MAX_DEPENDENCY_BYTES)
            if data is not None:
                sources.append((relative, data.decode("utf-8", "replace")))
    return dependencies.framework_versions(sources, frameworks)


# -- the ping ---------------------------------------------------------------------------------------
def _ping(model: RepoModel, signals: dict, repo_full_name: str) -> dict:
    findings = evaluate(model, signals)
    rules = findings.rules
    severities = findings.severity_counts()
    confidences = findings.confidence_counts()
    instance_counts = findings.instance_counts()
    tags = {r: findings.tags(r) for r in rules}  # the agents and crews each rule id concerns
    graph = build_graph(model)
    topo = metrics(graph)
    agents = list(model.agents.values())
    tool_counts = sorted((len(a.tools) for a in agents), reverse=True)
    crew_sizes = sorted((len(g.members) for g in model.groups), reverse=True)
    affected_agents = {x for r in rules for x in tags[r]} & set(model.agents)
    group_findings = [sum(1 for r in rules if tags[r] & (set(g.members) | {g.name})) for g in model.groups]
    capabilities = sorted({op for t in model.tools.values() for op in t.ops})
    tool_users = {t: sum(t in a.tools for a in agents) for t in model.tools}
    guardrail_types = sorted(set(model.guardrails) | ({"iteration_cap"} if any(a.iteration_cap for a in agents) else set()))
    guarded_agents = sum(1 for a in agents if a.iteration_cap or a.human_approval)
    sensitive = (["financial"] if any("payment" in t.ops for t in model.tools.values()) else []) + \
                (["pii"] if any("email" in t.ops for t in model.tools.values()) else [])
    risky_unapproved = sum(1 for a in agents for t in a.tools if t in model.tools
                           and model.tools[t].ops & APPROVAL_OPS and not a.human_approval)
    tools_used = [model.tools[t] for t in model.tools if tool_users.get(t)]
    primary = max(sorted(model.frameworks), key=lambda fw: sum(a.framework == fw for a in agents), default="")
    n_agents, n_groups = len(agents), len(model.groups)
    hitl = any(a.human_approval for a in agents) or any(g.human_approval for g in model.groups)
    co_occurrence = sorted({tuple(sorted((r1, r2))) for r1 in rules for r2 in rules if r1 < r2
                            and tags[r1] & tags[r2] & set(model.agents)})
    checkpoint = max((g.checkpoint for g in model.groups), key=["none", "memory", "persistent"].index, default="none")
    return {
        "scan_id": uuid.uuid4().hex[:8],
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "scanner_version": f"stratum-assets-builtin-{__version__}",
        "repo_hash": "",
        "schema_id": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "repo_full_name": repo_full_name,
        "scan_status": "success",
        "scan_duration_ms": 0,
        "files_scanned": 0,
        "files_total": 0,
        "parser_errors": 0,
        "failure_reason": None,
        "archetype_class": _archetype(model),
        "total_capabilities": len(capabilities),
        "capability_distribution": dict(sorted(
            {op: sum(op in t.ops for t in tools_used) for op in capabilities}.items())),
        "trust_level_distribution": _trust_levels(tools_used),
        "trust_crossings": {"external_to_action": external_to_action(model)},
        "total_trust_crossings": external_to_action(model),
        "topology_signature_hash": signature(graph),
        "trust_crossing_adjacency": {},
        **{k: topo[k] for k in ("graph_node_count", "graph_edge_count", "graph_node_type_distribution",
                                "graph_edge_type_distribution", "edge_density")},
        "guardrail_count": len(model.guardrails) + sum(a.iteration_cap for a in agents),
        "has_any_guardrails": bool(guardrail_types),
        "guardrail_types": guardrail_types,
        "guardrail_linked_count": guarded_agents,
        "control_bypass_count": 0,
        "control_coverage_pct": round(100.0 * guarded_agents / n_agents, 1) if n_agents else 0.0,
        "has_hitl_anywhere": hitl,
        "mcp_server_count": model.mcp_servers,
        "mcp_remote_count": 0,
        "mcp_auth_ratio": 0.0,
        "mcp_pinned_ratio": 0.0,
        "risk_score": findings.risk_score,
        "blast_radius_distribution": sorted((n for n in tool_users.values() if n), reverse=True),
        "max_blast_radius": max(tool_users.values(), default=0),
        "has_env_in_gitignore": signals["has_env_in_gitignore"],
        "error_handling_rate": round(sum(t.handled for t in tools_used) / len(tools_used), 3) if tools_used else 0.0,
        "timeout_rate": round(model.http_calls_with_timeout / model.http_calls, 3) if model.http_calls else 0.0,
        "checkpoint_type": checkpoint,
        "has_pii": "pii" in sensitive,
        "has_financial_data": "financial" in sensitive,
        "has_financial_tools": "financial" in sensitive,
        "financial_validation_rate": 0.0,
        "data_sensitivity_types": sensitive,
        "has_shared_credentials": model.secrets > 0,
        "mitigation_coverage": {},
        "uncontrolled_path_count": risky_unapproved,
        "max_path_hops": topo["graph_topology_metrics"]["longest_chain"],
        "downward_trust_crossings": 0,
        "external_sink_count": topo["graph_node_type_distribution"].get("external", 0),
        "shared_tool_max_agents": max(tool_users.values(), default=0),
        "incident_match_count": 0,
        "incident_ids": [],
        "regulatory_framework_count": len(_regulatory(sensitive)),
        "regulatory_surface": _regulatory(sensitive),
        "has_agent_identity": False,
        "has_shared_context": any(g.memory for g in model.groups),
        "has_context_provenance": False,
        "has_context_rollback": checkpoint == "persistent",
        "has_memory_store": bool(model.memory_types),
        "memory_store_types": sorted(model.memory_types),
        "has_learning_loop": False,
        "learning_type": "none",
        "has_eval_framework": model.eval_framework,
        "has_eval_conflict": False,
        "has_observability": model.observability,
        "frameworks": sorted(model.frameworks),
        "selection_stratum": "",
        "agent_count": n_agents,
        "crew_count": n_groups,
        "finding_rules": rules,
        "finding_rule_count": len(rules),
        "finding_severities": severities,
        "finding_confidences": confidences,
        "finding_instance_counts": instance_counts,
        "total_finding_instances": sum(instance_counts.values()),
        "env_var_count": len(model.env_vars),
        "telemetry_destination_count": int(model.observability),
        "crew_size_distribution": crew_sizes,
        "agent_tool_count_distribution": tool_counts,
        "finding_coverages": {},
        "severity_downgrades": {},
        "crews_clean": sum(1 for n in group_findings if n == 0),
        "crews_with_findings": sum(1 for n in group_findings if n > 0),
        "findings_by_class": {},
        "findings_by_category": findings.by_category(),
        "normalized_features": {
            "findings_per_agent": round(len(rules) / n_agents, 2) if n_agents else 0.0,
            "findings_per_crew": round(len(rules) / n_groups, 2) if n_groups else 0.0,
            "guardrails_per_agent": round(guarded_agents / n_agents, 2) if n_agents else 0.0,
            "tools_per_agent": round(sum(tool_counts) / n_agents, 2) if n_agents else 0.0,
            "external_exposure_ratio": round(len(affected_agents) / n_agents, 2) if n_agents else 0.0,
            "guardrail_coverage_ratio": round(guarded_agents / n_agents, 2) if n_agents else 0.0,
        },
        "framework_versions": signals["framework_versions"],
        "llm_providers": sorted(model.providers),
        "llm_models": sorted(model.models),
        "provider_confidence": "detected" if model.providers else "none",
        "deployment_signals": {k: signals[k] for k in ("has_dockerfile", "has_ci_config", "has_tests", "has_lockfile",
                                                       "has_env_example", "deployment_score")},
        "repo_metadata": {"primary_framework": primary},
        "inter_crew_edges": 0,
        "graph_topology_metrics": topo["graph_topology_metrics"],
        "fix_impact_estimates": findings.fix_impact,
        "finding_co_occurrence": [list(pair) for pair in co_occurrence],
        "per_crew_finding_density": _density(group_findings),
    }


def _archetype(model: RepoModel) -> str:
    if not model.agents:
        return "no_agents"
    if len(model.frameworks) > 1:
        return "multi_framework"
    if any(g.kind == "graph" for g in model.groups):
        return "graph_workflow"
    if model.groups:
        return "multi_agent_team" if max(len(g.members) for g in model.groups) > 1 else "single_agent"
    return "single_agent" if len(model.agents) == 1 else "independent_agents"


def _trust_levels(tools) -> dict:
    levels = {"privileged": 0, "external": 0, "internal": 0}
    for t in tools:
        if t.ops & {"shell", "exec", "payment", "file_write", "sql"}:
            levels["privileged"] += 1
        elif t.ops & {"http", "http_no_timeout", "http_write", "scrape", "web_search", "email"}:
            levels["external"] += 1
        else:
            levels["internal"] += 1
    return {k: v for k, v in levels.items() if v}


def _regulatory(sensitive: list[str]) -> list[str]:
    return sorted({"financial": "PCI-DSS", "pii": "GDPR"}[s] for s in sensitive)


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _density(values: list[int]) -> dict:
    if not values:
        return {"max": 0, "min": 0, "mean": 0.0, "median": 0.0, "stddev": 0.0}
    return {"max": max(values), "min": min(values), "mean": round(statistics.fmean(values), 2),
            "median": float(statistics.median(values)), "stddev": round(statistics.pstdev(values), 2)}


def ping_json(ping: dict) -> str:
    return json.dumps(ping, sort_keys=False)
