"""The built-in reference scanner: one flat ping (schema_id 5, schema_version "0.3.2") per checkout.

It walks the checkout without following symlinks, reads Python (``ast``),
CrewAI YAML configs and dependency files, never executes anything, and emits
every field of the ping with consistent counts. It emits no source text, no
file paths and no secrets — only counts, names of frameworks, providers and
models, rule ids and structure. The fields it has no analysis for are null
(:data:`UNMEASURED`), never a constant that would read as a measurement.

Identity (``repo_hash``, ``selection_stratum``) is left empty: the pipeline
stamps it from the manifest. Coverage: ``files_total`` counts every file of
the repository that the scanner reads — Python sources and CrewAI agent/task
YAML — taken from the full tree listing when the caller passes one (a sparse
checkout holds only some files); ``files_scanned`` counts those it actually
parsed. Too large, unreadable or broken files count in the first, not the
second, so ``files_scanned / files_total`` is the scan's coverage (gate G8).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import yaml

from .. import __version__
from . import dependencies, reference_counting
from .capabilities import ProjectFacts, is_root_file
from .capabilities import extract as extract_capabilities
from .model import APPROVAL_OPS, Agent, Group, RepoModel, build_model
from .ping import Ping
from .python_facts import ModuleFacts, parse_module
from .rules import Context, Findings, evaluate, external_to_action
from .topology import Graph, build_graph, metrics, signature

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
    listing = all_files if all_files is not None else relative
    signals = _deployment_signals(listing)
    signals["detected_deployment_signals"] = _detected_deployment_signals(listing)
    signals["reference"] = _reference_inventory(root, files, modules)
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
        "python_file_count": python_count,
        "yaml_config_count": yaml_count,
        "total_loc": sum(m.loc for m in modules),
        "primary_framework": ping["repo_metadata"]["primary_framework"],
        "framework_count": len(ping["frameworks"]),
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


def _reference_inventory(root: Path, files: list[Path], modules: list[ModuleFacts]) -> reference_counting.Inventory:
    """The reference CLI's frameworks, agents and crews (reference_counting.py): from the modules already parsed
    and every YAML file that could define an agent, outside the folders the reference skips."""
    defined = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if path.suffix not in (".yaml", ".yml") or not reference_counting.is_read_by_reference(rel):
            continue
        data = _read(path, MAX_FILE_BYTES // 4)
        if not data or not reference_counting.may_define_agents(data):
            continue
        try:  # one document per file: the reference skips a file it cannot read as one
            document = _bounded_yaml(yaml.load(data.decode("utf-8", "replace"), Loader=_YAML_LOADER))
        except (yaml.YAMLError, RecursionError, MemoryError, ValueError):
            continue
        defined += reference_counting.yaml_agents(document)
    counted = [replace(m.reference, path=m.path) for m in modules if reference_counting.is_read_by_reference(m.path)]
    return reference_counting.inventory(counted, defined)


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
    signals.update(
        has_env_in_gitignore=False,
        framework_versions={},
        detected_deployment_signals=_detected_deployment_signals([]),
        reference=reference_counting.inventory([], []),
    )
    ping = _ping(RepoModel(), signals, repo_full_name)
    # No scanner produced it: scanner_version stays empty, so a version's scanner is read off real scans only.
    ping.update(
        scan_status=status,
        failure_reason=failure_reason,
        files_total=files_total,
        scanner_version="",
        repo_metadata={
            "python_file_count": 0,
            "yaml_config_count": 0,
            "total_loc": 0,
            "primary_framework": "",
            "framework_count": 0,
        },
    )
    return ping


def is_scannable(path: str) -> bool:
    """Files the scanner reads: Python sources and CrewAI agent/task configs."""
    return path.endswith(".py") or path.rsplit("/", 1)[-1] in _CREW_YAML


_CREW_YAML = ("agents.yaml", "agents.yml", "tasks.yaml", "tasks.yml")


# -- reading the checkout ------------------------------------------------------------------------
def _walk(root: Path):
    """Regular files under root; symlinks are never followed nor read, .git is skipped."""
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d for d in dirs if d not in (".git", ".stratum") and not os.path.islink(os.path.join(folder, d))
        )
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
            with contextlib.suppress(yaml.YAMLError, RecursionError, MemoryError, ValueError):
                docs += [
                    (rel, _bounded_yaml(d)) for d in yaml.load_all(data.decode("utf-8", "replace"), Loader=_YAML_LOADER)
                ]
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
    agents: dict[str, dict]
    tasks: dict[str, dict]
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


# The reference's deployment signals (catalog §4): these names exist at the repository's root, as a file or a folder.
ROOT_SIGNALS = {
    "has_dockerfile": ("Dockerfile",),
    "has_ci_config": (".github", ".gitlab-ci.yml", ".circleci", "Jenkinsfile"),
    "has_tests": ("tests", "test", "pytest.ini", "tox.ini"),
    "has_lockfile": ("poetry.lock", "Pipfile.lock", "uv.lock", "requirements.txt", "package-lock.json"),
    "has_env_example": (".env.example", ".env.template", ".env.sample"),
}


def _deployment_signals(paths: list[str]) -> dict:
    """The reference's signals: names at the root only (a nested Dockerfile or tests/ folder is not one)."""
    at_root = {p.split("/", 1)[0] for p in paths}
    signals: dict[str, int] = {name: bool(at_root.intersection(names)) for name, names in ROOT_SIGNALS.items()}
    signals["deployment_score"] = sum(signals.values())
    return signals


def _detected_deployment_signals(paths: list[str]) -> dict:
    """The built-in's reading, anywhere in the tree (compose files, Dockerfile.*, test_*.py, lock files of more
    tools): an extra field, since the reference's definition is the one users compare against."""
    names = {p.rsplit("/", 1)[-1] for p in paths}
    signals: dict[str, int] = {
        "has_dockerfile": any(
            n == "Dockerfile" or n.startswith("Dockerfile.") or n in ("docker-compose.yml", "compose.yaml")
            for n in names
        ),
        "has_ci_config": any(
            p.startswith((".github/workflows/", ".circleci/")) or p == ".gitlab-ci.yml" for p in paths
        ),
        "has_tests": any(
            p.startswith(("tests/", "test/")) or "/tests/" in p or re.match(r"(.*/)?test_[^/]+\.py$", p) is not None
            for p in paths
        ),
        "has_lockfile": any(n in _LOCKFILES for n in names),
        "has_env_example": any(n in (".env.example", ".env.sample", ".env.template") for n in names),
    }
    signals["deployment_score"] = sum(signals.values())
    return signals


def _env_ignored(root: Path) -> bool:
    data = (
        _read(root / ".gitignore")
        if (root / ".gitignore").is_file() and not (root / ".gitignore").is_symlink()
        else None
    )
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
# Ping fields the built-in scanner does not measure, and why. Every ping it writes (and every empty ping
# the pipeline stores for a scan that could not happen) has null there: a constant such as
# ``has_agent_identity: false`` would read as a measurement. The reference scanner's pings keep their values
# (ping.py accepts both). README.md lists them under "Pings"; a test keeps the three in step.
UNMEASURED: dict[str, str] = {
    "control_bypass_count": "needs the reference's risk graph (paths that go around a control), not modelled",
    "mcp_remote_count": "mcp_server_count counts MCP clients built in Python, whose transport is not read",
    "mcp_auth_ratio": "mcp_server_count counts MCP clients built in Python, whose credentials are not read",
    "mcp_pinned_ratio": "mcp_server_count counts MCP clients built in Python, whose package versions are not read",
    "mitigation_coverage": "the reference's per-guard coverage ratios are not computed",
    "downward_trust_crossings": "needs the reference's risk graph with a trust level per node, not modelled",
    "incident_match_count": "no database of known incidents to match against",
    "incident_ids": "no database of known incidents to match against",
    "has_agent_identity": "identifiers are read only in functions that call a model SDK, not for framework agents",
    "learning_type": "the reference's kinds of learning are not reproduced (has_learning_loop is measured)",
    "has_eval_conflict": "no rule or fact of the catalog defines it",
    "finding_coverages": "a rescan field: needs an earlier scan of the same repository",
    "severity_downgrades": "a rescan field: needs an earlier scan of the same repository",
    "findings_by_class": "the reference's finding classes are not the catalog's weight classes",
    "inter_crew_edges": "the model sees flows inside one crew or graph only, never from one crew to another",
}
PING_FIELDS = tuple(Ping.model_fields)  # the schema's order, which is the reference scanner's


def _ping(model: RepoModel, signals: dict, repo_full_name: str) -> dict:
    """Every field of the ping, in the schema's order: each part below fills the fields of one concern, the
    fields in :data:`UNMEASURED` are null."""
    s = _Scan.of(model, signals)
    fields = {
        **_identity(repo_full_name),
        **_capabilities(s),
        **_topology(s),
        **_controls(s),
        **_tool_exposure(s),
        **_data_sensitivity(s),
        **_memory_and_oversight(s),
        **_inventory(s),
        **_findings(s),
        **_normalized_features(s),
        **dict.fromkeys(UNMEASURED),
    }
    return {**{name: fields[name] for name in PING_FIELDS}, **_detected(s)}


@dataclass
class _Scan:
    """What the parts of the ping read — the model, the rules' findings, the agent graph — and the figures
    several parts share, each computed once."""

    model: RepoModel
    signals: dict
    findings: Findings  # the rules on the project as the reference reads it: the ping's finding fields
    detected_findings: Findings  # the rules on the built-in's own reading: the detected_* finding fields
    graph: Graph
    topo: dict

    @classmethod
    def of(cls, model: RepoModel, signals: dict) -> _Scan:
        graph = build_graph(model)
        facts = signals.get("project")
        as_reference = {**signals, "project": facts.as_reference_reads()} if facts is not None else signals
        findings = evaluate(_as_reference_counts(model, signals["reference"]), as_reference)
        return cls(model, signals, findings, evaluate(model, signals), graph, metrics(graph))

    @cached_property
    def facts(self) -> ProjectFacts | None:
        """The capability layer's facts; None when nothing was scanned (an empty ping)."""
        return self.signals.get("project")

    @cached_property
    def agents(self) -> list:
        return list(self.model.agents.values())

    @cached_property
    def rules(self) -> list[str]:
        return self.findings.rules

    @cached_property
    def tags(self) -> dict[str, set[str]]:
        """The agents and crews each rule id concerns."""
        return {r: self.findings.tags(r) for r in self.rules}

    @cached_property
    def tool_users(self) -> dict[str, int]:
        """Tool → how many agents use it."""
        return {t: sum(t in a.tools for a in self.agents) for t in self.model.tools}

    @cached_property
    def tools_used(self) -> list:
        return [self.model.tools[t] for t in self.model.tools if self.tool_users.get(t)]

    @cached_property
    def guarded_agents(self) -> int:
        return sum(1 for a in self.agents if a.iteration_cap or a.human_approval)

    @cached_property
    def group_findings(self) -> list[int]:
        """Per crew or graph: how many rule ids concern it or its members."""
        return [sum(1 for r in self.rules if self.tags[r] & (set(g.members) | {g.name})) for g in self.model.groups]

    @cached_property
    def sensitive(self) -> list[str]:
        tools = self.model.tools.values()
        return (["financial"] if any("payment" in t.ops for t in tools) else []) + (
            ["pii"] if any("email" in t.ops for t in tools) else []
        )

    @cached_property
    def checkpoint(self) -> str:
        return max(
            (g.checkpoint for g in self.model.groups), key=["none", "memory", "persistent"].index, default="none"
        )

    @cached_property
    def learning_loop(self) -> bool:
        """The catalog's learning loop (a memory store imported, reads and writes): what LEARNING-001 and
        CONTEXT-* test first."""
        return self.facts is not None and Context(self.model, self.facts, self.signals).learning_loop


def _as_reference_counts(model: RepoModel, reference: reference_counting.Inventory) -> RepoModel:
    """The model with the reference's agents and crews in place of the built-in's, for the rules about agents and
    crews (BR04, CR01–CR06): named, merged and grouped as the reference counts them, with the tools it lists."""
    agents: dict[str, Agent] = {}
    for a in reference.agents:  # one per name for the rules (a LangGraph node may repeat an agent's name)
        agents.setdefault(a.name, Agent(a.name, a.label, list(a.tools), role=a.role))
    groups = [
        Group(
            f"{crew.kind}:{i}",
            "",
            "crew" if crew.process == "sequential" else crew.process,
            members=list(crew.members),
            hierarchical=crew.process == "hierarchical",
            flows=list(pairwise(crew.members)) if crew.process == "sequential" else [],
        )
        for i, crew in enumerate(reference.crews)
    ]
    return replace(model, agents=agents, groups=groups)


def _identity(repo_full_name: str) -> dict:
    """Who scanned what, and how it went. The status and coverage fields are placeholders that
    :func:`scan_repository` overwrites with what it measured; ``repo_hash`` and ``selection_stratum`` stay empty
    because only the pipeline knows them (it stamps them from the manifest)."""
    return {
        "scan_id": uuid.uuid4().hex[:8],
        "timestamp": datetime.now(UTC).isoformat(),
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
        "selection_stratum": "",
    }


def _capabilities(s: _Scan) -> dict:
    """What the project's tools can do, at which trust level, and where risk crosses levels: the surface every
    other risk signal is about."""
    ops = sorted({op for t in s.model.tools.values() for op in t.ops})
    levels = _trust_levels(s.tools_used)
    crossings = external_to_action(s.model)
    return {
        "archetype_class": _archetype(s.model),
        "total_capabilities": len(ops),
        "capability_distribution": dict(sorted({op: sum(op in t.ops for t in s.tools_used) for op in ops}.items())),
        "trust_level_distribution": levels,
        "trust_crossings": {"external_to_action": crossings},
        "total_trust_crossings": crossings,
        "trust_crossing_adjacency": _trust_adjacency(levels),
    }


def _topology(s: _Scan) -> dict:
    """The agent graph's shape (agents, tools, crews, providers, sinks), structure only: what makes two
    architectures alike or different whatever their names."""
    topo = s.topo
    return {
        "topology_signature_hash": "",  # the reference CLI's (empty offline); the built-in's: detected_*
        **{
            k: topo[k]
            for k in (
                "graph_node_count",
                "graph_edge_count",
                "graph_node_type_distribution",
                "graph_edge_type_distribution",
                "edge_density",
                "graph_topology_metrics",
            )
        },
        "max_path_hops": topo["graph_topology_metrics"]["longest_chain"],
        "external_sink_count": topo["graph_node_type_distribution"].get("external", 0),
    }


def _controls(s: _Scan) -> dict:
    """Guardrails and human approval, and the risky tool uses they leave uncovered: how much of the surface
    is controlled."""
    agents, tools = s.agents, s.model.tools
    types = sorted(set(s.model.guardrails) | ({"iteration_cap"} if any(a.iteration_cap for a in agents) else set()))
    return {
        "guardrail_count": len(s.model.guardrails) + sum(a.iteration_cap for a in agents),
        "has_any_guardrails": bool(types),
        "guardrail_types": types,
        "guardrail_linked_count": s.guarded_agents,
        "control_coverage_pct": round(100.0 * s.guarded_agents / len(agents), 1) if agents else 0.0,
        "has_hitl_anywhere": any(a.human_approval for a in agents) or any(g.human_approval for g in s.model.groups),
        "uncontrolled_path_count": sum(
            1 for a in agents for t in a.tools if t in tools and tools[t].ops & APPROVAL_OPS and not a.human_approval
        ),
    }


def _tool_exposure(s: _Scan) -> dict:
    """How far one tool's failure spreads (agents sharing it) and how robustly tools call out (error handling,
    timeouts, secrets): the operational side of the surface."""
    m, users, used = s.model, s.tool_users, s.tools_used
    return {
        "mcp_server_count": m.mcp_servers,
        "blast_radius_distribution": sorted((n for n in users.values() if n), reverse=True),
        "max_blast_radius": max(users.values(), default=0),
        "shared_tool_max_agents": max(users.values(), default=0),
        "has_env_in_gitignore": s.signals["has_env_in_gitignore"],
        "error_handling_rate": round(sum(t.handled for t in used) / len(used), 3) if used else 0.0,
        "timeout_rate": round(m.http_calls_with_timeout / m.http_calls, 3) if m.http_calls else 0.0,
        "has_shared_credentials": m.secrets > 0,
        "env_var_count": len(m.env_vars),
    }


def _data_sensitivity(s: _Scan) -> dict:
    """Which sensitive data the tools touch (payments, mail), the regulations that follow from it, and how
    often payment calls validate their input: what a leak or a wrong action would cost."""
    sensitive = s.sensitive
    return {
        "has_pii": "pii" in sensitive,
        "has_financial_data": "financial" in sensitive,
        "has_financial_tools": "financial" in sensitive,
        "financial_validation_rate": _financial_validation_rate(s.facts),
        "data_sensitivity_types": sensitive,
        "regulatory_framework_count": len(_regulatory(sensitive)),
        "regulatory_surface": _regulatory(sensitive),
    }


def _memory_and_oversight(s: _Scan) -> dict:
    """The state agents keep (checkpoints, memory, a learning loop and whether its writes carry provenance) and
    who watches them (evals, observability): risks that grow over time rather than in one call."""
    m, loop = s.model, s.learning_loop
    return {
        "checkpoint_type": s.checkpoint,
        "has_shared_context": any(g.memory for g in m.groups),
        # with a learning loop this is exactly "CONTEXT-001 did not fire"; without one there is no memory to trace
        # (a learning loop is only ever found in scanned facts: s.facts is not None whenever loop is true)
        "has_context_provenance": loop and s.facts is not None and any(provenance for *_, provenance in s.facts.writes),
        "has_context_rollback": s.checkpoint == "persistent",
        "has_memory_store": bool(m.memory_types),
        "memory_store_types": sorted(m.memory_types),
        "has_learning_loop": loop,
        # the capability layer's telemetry providers and eval frameworks (capabilities.TELEMETRY, EVAL_LIBS): the
        # same lists TELEMETRY-* and EVAL-* read; one destination per provider, as the reference counts them
        "has_eval_framework": bool(s.facts and s.facts.evals),
        "has_observability": bool(s.facts and s.facts.telemetry),
        "telemetry_destination_count": len(s.facts.telemetry) if s.facts else 0,
    }


def _inventory(s: _Scan) -> dict:
    """What the project is built from — frameworks and their versions, agents and crews, LLM providers and
    models, deployment signals — the context every finding is read in. Frameworks, agents, crews and deployment
    signals are counted the reference CLI's way (reference_counting.py): the dataset's buckets are compared with
    scans users make with it."""
    m, signals, reference = s.model, s.signals, s.signals["reference"]
    return {
        "frameworks": reference.frameworks,
        "agent_count": reference.agent_count,
        "crew_count": reference.crew_count,
        "crew_size_distribution": reference.crew_size_distribution,
        "agent_tool_count_distribution": reference.agent_tool_count_distribution,
        "framework_versions": signals["framework_versions"],
        "llm_providers": sorted(m.providers),
        "llm_models": sorted(m.models),
        "provider_confidence": "detected" if m.providers else "none",
        "deployment_signals": {
            k: signals[k]
            for k in (
                "has_dockerfile",
                "has_ci_config",
                "has_tests",
                "has_lockfile",
                "has_env_example",
                "deployment_score",
            )
        },
        "repo_metadata": {"primary_framework": reference.primary_framework},  # scan_repository adds the file counts
    }


def _detected(s: _Scan) -> dict:
    """Fields beyond the reference's, appended after the schema's: the built-in model's own reading of the same
    project (frameworks imported anywhere or by other names, every agent and group constructor it knows,
    deployment signals anywhere in the tree, the rules on every call it resolves). docs/RULES.md says where it
    differs from the reference's reading and why."""
    m, agents, findings = s.model, s.agents, s.detected_findings
    return {
        "detected_frameworks": sorted(m.frameworks),
        "detected_agent_count": len(agents),
        "detected_crew_count": len(m.groups),
        "detected_crew_size_distribution": sorted((len(g.members) for g in m.groups), reverse=True),
        "detected_deployment_signals": s.signals["detected_deployment_signals"],
        "detected_finding_rules": findings.rules,
        "detected_finding_instance_counts": findings.instance_counts(),
        "detected_risk_score": findings.risk_score,
        "detected_topology_signature_hash": signature(s.graph),
    }


def _findings(s: _Scan) -> dict:
    """The catalog's rules on this project — which ids fired, how severe and how sure, the risk score and what
    fixing each would gain — and how the findings spread over crews: the dataset's labels."""
    f, rules = s.findings, s.rules
    instance_counts = f.instance_counts()
    agents = set(s.model.agents)
    co_occurrence = sorted(
        {tuple(sorted((r1, r2))) for r1 in rules for r2 in rules if r1 < r2 and s.tags[r1] & s.tags[r2] & agents}
    )
    return {
        "risk_score": f.risk_score,
        "finding_rules": rules,
        "finding_rule_count": len(rules),
        "finding_severities": f.severity_counts(),
        "finding_confidences": f.confidence_counts(),
        "finding_instance_counts": instance_counts,
        "total_finding_instances": sum(instance_counts.values()),
        "crews_clean": sum(1 for n in s.group_findings if n == 0),
        "crews_with_findings": sum(1 for n in s.group_findings if n > 0),
        "findings_by_category": f.by_category(),
        "fix_impact_estimates": f.fix_impact,
        "finding_co_occurrence": [list(pair) for pair in co_occurrence],
        "per_crew_finding_density": _density(s.group_findings),
    }


def _normalized_features(s: _Scan) -> dict:
    """Findings, guardrails and tools per agent or crew, so projects of different sizes compare (0.0 when there
    is no agent or crew to divide by)."""
    n_agents, n_groups, rules = len(s.agents), len(s.model.groups), s.rules
    affected = {x for r in rules for x in s.tags[r]} & set(s.model.agents)
    tools = sum(len(a.tools) for a in s.agents)

    def per(count: int, n: int) -> float:
        return round(count / n, 2) if n else 0.0

    return {
        "normalized_features": {
            "findings_per_agent": per(len(rules), n_agents),
            "findings_per_crew": per(len(rules), n_groups),
            "guardrails_per_agent": per(s.guarded_agents, n_agents),
            "tools_per_agent": per(tools, n_agents),
            "external_exposure_ratio": per(len(affected), n_agents),
            "guardrail_coverage_ratio": per(s.guarded_agents, n_agents),
        }
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


def _trust_adjacency(levels: dict[str, int]) -> dict[str, int]:
    """Directed crossings between trust levels, ``"a→b"``: the product of the two levels' tool counts (the
    reference's formula, over the tools of trust_level_distribution)."""
    return {f"{a}\u2192{b}": na * nb for a, na in levels.items() for b, nb in levels.items() if a != b}


def _financial_validation_rate(facts: ProjectFacts | None) -> float:
    """Share of payment calls whose function validates its input (what STRATUM-007 tests); 0.0 with none."""
    payments = [c for c in facts.caps if c.kind == "financial"] if facts is not None else []
    return round(sum(c.validated for c in payments) / len(payments), 3) if payments else 0.0


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
    return {
        "max": max(values),
        "min": min(values),
        "mean": round(statistics.fmean(values), 2),
        "median": float(statistics.median(values)),
        "stddev": round(statistics.pstdev(values), 2),
    }


def ping_json(ping: dict) -> str:
    return json.dumps(ping, sort_keys=False)
