"""The finding rules of the built-in scanner.

Each rule has an id, a severity (CRITICAL/HIGH/MEDIUM/LOW), a confidence
(``confirmed`` when the code shows it directly, ``probable`` when it is
inferred from absence), a category and a function returning its instances
(which agents, tools or places it applies to). The risk score sums severity
weights, with diminishing returns for repeated instances, and maps the raw sum
into 0–100 with ``round(raw / (raw + 50) * 100)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .model import APPROVAL_OPS, RepoModel

SEVERITY_WEIGHT = {"CRITICAL": 12.0, "HIGH": 7.0, "MEDIUM": 3.0, "LOW": 1.0}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    confidence: str
    category: str
    title: str
    instances: Callable[[RepoModel, dict], list[str]]


def _agents_with(model: RepoModel, ops: set[str], *, unapproved: bool = True) -> list[str]:
    return [a.name for a in model.agents.values()
            if (any(model.tools[t].ops & ops for t in a.tools if t in model.tools)
                or ("exec" in ops and a.code_execution))
            and not (unapproved and (a.human_approval or _group_approval(model, a.name)))]


def _group_approval(model: RepoModel, agent: str) -> bool:
    return any(g.human_approval and agent in g.members for g in model.groups)


def _tools_with(model: RepoModel, ops: set[str]) -> list[str]:
    return [t.name for t in model.tools.values() if t.ops & ops and _used(model, t.name)]


def _used(model: RepoModel, tool: str) -> bool:
    return any(tool in a.tools for a in model.agents.values())


def _shared_tools(model: RepoModel) -> list[str]:
    return [t for t in model.tools if sum(t in a.tools for a in model.agents.values()) > 1]


def _scrape_to_action(model: RepoModel) -> list[str]:
    out = []
    for a in model.agents.values():
        ops = set().union(*(model.tools[t].ops for t in a.tools if t in model.tools)) if a.tools else set()
        if ops & {"scrape", "web_search", "http", "http_no_timeout"} and ops & APPROVAL_OPS:
            out.append(a.name)
    return out


def _uncapped(model: RepoModel) -> list[str]:
    capped_groups = {m for g in model.groups if g.iteration_cap for m in g.members}
    return [a.name for a in model.agents.values() if not a.iteration_cap and a.name not in capped_groups
            and a.framework in ("LangChain", "AutoGen", "SmolAgents", "LlamaIndex")]


RULES: tuple[Rule, ...] = (
    Rule("STRATUM-001", "CRITICAL", "confirmed", "execution", "Agent can execute arbitrary code without approval",
         lambda m, s: _agents_with(m, {"exec"})),
    Rule("STRATUM-002", "CRITICAL", "confirmed", "execution", "Shell command tool without human approval",
         lambda m, s: _agents_with(m, {"shell"})),
    Rule("STRATUM-003", "HIGH", "confirmed", "execution", "File-write tool without human approval",
         lambda m, s: _agents_with(m, {"file_write"})),
    Rule("STRATUM-004", "CRITICAL", "confirmed", "secrets", "Hard-coded credential in source",
         lambda m, s: [f"secret{i}" for i in range(m.secrets)]),
    Rule("STRATUM-005", "MEDIUM", "confirmed", "reliability", "Outbound HTTP call without a timeout in a tool",
         lambda m, s: _tools_with(m, {"http_no_timeout"})),
    Rule("STRATUM-006", "HIGH", "probable", "injection", "Untrusted web content reaches an agent that can act",
         lambda m, s: _scrape_to_action(m)),
    Rule("STRATUM-007", "MEDIUM", "confirmed", "isolation", "Tool shared across several agents",
         lambda m, s: _shared_tools(m)),
    Rule("STRATUM-008", "MEDIUM", "probable", "guardrails", "No guardrails anywhere in the project",
         lambda m, s: ["project"] if m.agents and not m.guardrails and not any(a.iteration_cap for a in m.agents.values())
         else []),
    Rule("STRATUM-009", "HIGH", "confirmed", "egress", "Outbound write (webhook, POST, e-mail) without approval",
         lambda m, s: _agents_with(m, {"http_write", "email"})),
    Rule("STRATUM-010", "CRITICAL", "confirmed", "financial", "Payment or refund tool without human approval",
         lambda m, s: _agents_with(m, {"payment"})),
    Rule("STRATUM-011", "HIGH", "confirmed", "injection", "Tool runs SQL built from model output",
         lambda m, s: _tools_with(m, {"sql"})),
    Rule("STRATUM-012", "MEDIUM", "confirmed", "autonomy", "Agents may delegate to each other",
         lambda m, s: [a.name for a in m.agents.values() if a.delegation] + [g.name for g in m.groups if g.hierarchical]),
    Rule("STRATUM-013", "LOW", "probable", "secrets", "Environment variables used but .env not git-ignored",
         lambda m, s: ["gitignore"] if m.env_vars and not s.get("has_env_in_gitignore") else []),
    Rule("STRATUM-014", "MEDIUM", "probable", "reliability", "Multi-step graph without a checkpointer",
         lambda m, s: [g.name for g in m.groups if g.kind == "graph" and g.checkpoint == "none"]),
    Rule("STRATUM-015", "LOW", "confirmed", "privacy", "Verbose agent logging may leak prompts and data",
         lambda m, s: [a.name for a in m.agents.values() if a.verbose]),
    Rule("STRATUM-016", "HIGH", "probable", "autonomy", "Agent loop without an iteration cap or termination",
         lambda m, s: _uncapped(m)),
    Rule("STRATUM-017", "LOW", "probable", "supply-chain", "Agent framework versions are not pinned",
         lambda m, s: sorted(fw for fw, v in s.get("framework_versions", {}).items() if v is None)),
    Rule("STRATUM-018", "MEDIUM", "confirmed", "privacy", "Data is sent to several LLM providers",
         lambda m, s: sorted(m.providers) if len(m.providers) > 1 else []),
    Rule("STRATUM-019", "HIGH", "probable", "egress", "An agent can read local files and send data out",
         lambda m, s: [a for a in _agents_with(m, {"file_read"}, unapproved=False)
                       if a in _agents_with(m, {"http_write", "email"}, unapproved=False)]),
    Rule("STRATUM-020", "MEDIUM", "probable", "oversight", "Large crew without a manager or approval step",
         lambda m, s: [g.name for g in m.groups if len(g.members) > 4 and not g.hierarchical and not g.human_approval]),
    Rule("STRATUM-021", "LOW", "probable", "maturity", "No tests for the agents",
         lambda m, s: ["tests"] if m.agents and not s.get("has_tests") else []),
    Rule("STRATUM-022", "LOW", "probable", "maturity", "No continuous integration",
         lambda m, s: ["ci"] if m.agents and not s.get("has_ci_config") else []),
    Rule("STRATUM-023", "MEDIUM", "probable", "privacy", "Shared memory without scoping",
         lambda m, s: sorted(m.memory_types & {"crew_memory", "conversation_buffer"})),
    Rule("STRATUM-024", "HIGH", "confirmed", "execution", "eval/exec of model-controlled text in a tool",
         lambda m, s: _tools_with(m, {"exec"})),
)
RULES_BY_ID = {r.id: r for r in RULES}


@dataclass(frozen=True)
class Findings:
    instances: dict[str, list[str]]  # rule id → instances, only rules that fired

    @property
    def rules(self) -> list[str]:
        return sorted(self.instances)


def evaluate(model: RepoModel, signals: dict) -> Findings:
    fired = {}
    for rule in RULES:
        hits = rule.instances(model, signals)
        if hits:
            fired[rule.id] = hits
    return Findings(fired)


def raw_risk(instances: dict[str, list[str]]) -> float:
    return sum(SEVERITY_WEIGHT[RULES_BY_ID[rid].severity] * (1 + math.log2(len(hits)))
               for rid, hits in instances.items())


def risk_score(instances: dict[str, list[str]]) -> int:
    raw = raw_risk(instances)
    return round(raw / (raw + 50) * 100)


def fix_impact(instances: dict[str, list[str]]) -> dict[str, int]:
    """How much the risk score drops if each rule were fixed alone (always at least one point)."""
    base = risk_score(instances)
    return {rid: min(-1, risk_score({k: v for k, v in instances.items() if k != rid}) - base)
            for rid in sorted(instances)}


def rules_markdown() -> str:
    """docs/RULES.md: the rule set as a table (kept in sync by a test)."""
    lines = ["# Built-in scanner rules", "",
             "Generated from `stratum_assets/scanning/rules.py` by `stratum-assets rules`; a test keeps it in sync.",
             "", "Risk score: each fired rule adds its severity weight "
             f"({', '.join(f'{k} {v:g}' for k, v in SEVERITY_WEIGHT.items())}) times `1 + log2(instances)`; "
             "`risk_score = round(raw / (raw + 50) * 100)`. A rule's fix impact is how much the score drops "
             "when only that rule is fixed (at least 1).", "",
             "| id | severity | confidence | category | finding |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.id} | {r.severity} | {r.confidence} | {r.category} | {r.title} |" for r in RULES]
    return "\n".join(lines) + "\n"
