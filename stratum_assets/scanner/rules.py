"""The built-in scanner's rules: the reference scanner's catalog, same id = same meaning.

Every rule carries the catalog's id, title, severity, OWASP category and weight class, and a check
that turns the project's facts into finding *instances* (one instance = one place the rule applies;
a rule id may have several). The facts are the capability layer (:mod:`.capabilities`: what the code
can do and what guards it) and the agents and crews the rules about them (BR04, CR01–CR06) read: the
reference's (:mod:`.reference_counting`) for the ping's findings, the project's own model
(:mod:`.model`) for the ``detected_*`` findings.

Severities go through the catalog's confidence gate (heuristic → at most MEDIUM, probable → at most
HIGH). The rules about business, operational and compounding risk (BR*, OP*, CR01–CR04) report one
instance per id, as the reference does; CR05 and CR06 report up to three, as suffixed ids
(``STRATUM-CR05``, ``STRATUM-CR05.1``, ``STRATUM-CR05.2``), most severe first. Scoring is in
:mod:`.scoring`. The ping's findings come from the project as the reference reads it, the ``detected_*``
findings from the built-in's fuller reading: :data:`READINGS` says what each sees; where the ping still differs
from the reference, :data:`DIFFERENCES` says where and why; ``stratum-assets rules`` renders all of it as docs/RULES.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from . import reference_counting, scoring
from .capabilities import (
    FINANCIAL_LIBS,
    HTTP_LIBS,
    HUMAN_FACING,
    HUMAN_FACING_TOOLS,
    OBSERVABILITY_ENV,
    OBSERVABILITY_LIBS,
    TELEMETRY,
    Cap,
    Guard,
    ProjectFacts,
    same_project,
    tool_kinds,
)
from .model import APPROVAL_OPS, RepoModel

SEVERITIES = scoring.SEVERITIES
CONFIDENCES = ("confirmed", "probable", "heuristic")
MAX_SUFFIXED = 3


@dataclass(frozen=True)
class Instance:
    """One finding as the ping counts it. Where it was found is not kept: no ping field, report or check reads it."""

    rule: str  # the rule id, with its suffix for CR05/CR06 variants
    severity: str  # after the confidence gate
    confidence: str
    tags: frozenset = frozenset()  # agent and crew names it concerns


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str  # as the catalog states it
    owasp: str
    trigger: str  # the catalog's trigger, in one line
    check: Callable[[Context], list[Instance]] = field(repr=False, compare=False)

    @property
    def klass(self) -> str:
        return scoring.rule_class(self.id)


def gate(severity: str, confidence: str) -> str:
    """The catalog's confidence gate: heuristic findings at most MEDIUM, probable ones at most HIGH."""
    if confidence == "heuristic" and severity in ("CRITICAL", "HIGH"):
        return "MEDIUM"
    if confidence == "probable" and severity == "CRITICAL":
        return "HIGH"
    return severity


def _weakest(*confidences: str) -> str:
    return max(confidences, key=CONFIDENCES.index)


# -- the facts a check sees -------------------------------------------------------------------------------
class Context:
    def __init__(self, model: RepoModel, facts: ProjectFacts, signals: dict | None = None):
        self.model, self.facts, self.signals = model, facts, signals or {}

    @cached_property
    def kinds(self) -> dict[str, set[str]]:
        return tool_kinds(self.facts)

    def agent_kinds(self, agent: str) -> set[str]:
        a = self.model.agents.get(agent)
        return set().union(*(self.kinds.get(t, set()) for t in a.tools)) if a and a.tools else set()

    def tool_caps(self, tool: str) -> list[Cap]:
        return [c for c in self.facts.all_caps if tool in (c.name, c.function, c.owner)]

    @cached_property
    def sites(self) -> dict[str, list]:
        by_key = defaultdict(list)
        for site in self.facts.agent_sites:
            for key in site.keys:
                by_key[key].append(site)
        return by_key

    def site(self, agent: str):
        """Where a model agent is defined (its variable, method, name=, or YAML key), if found."""
        sites = self.sites.get(agent.split("#")[0], [])
        return next((s for s in sites if s.role), sites[0] if sites else None)

    def text(self, agent: str) -> str:
        """Its name (without a repeat's ``#n``) and its role, else the roles of every site of that name."""
        own = self.model.agents[agent].role if agent in self.model.agents else ""
        roles = own or " ".join(s.role for s in self.sites.get(agent.split("#")[0], []) if s.role)
        return f"{agent.split('#')[0]} {roles}".lower()

    @cached_property
    def crews_of(self) -> dict[str, set[int]]:
        crews = defaultdict(set)
        for i, g in enumerate(self.model.groups):
            for m in g.members:
                crews[m].add(i)
        return crews

    def sequential_crews(self):
        return [g for g in self.model.groups if g.kind == "crew" and not g.hierarchical and len(g.members) >= 3]

    def guard_covers(self, guard: Guard) -> set[str] | None:
        """Names a guard applies to; None when it names none (and so applies to everything)."""
        if guard.covers:
            return set(guard.covers)
        agent = self.task_agent(guard.agent)
        if agent:
            tools = list(self.model.agents[agent].tools) if agent in self.model.agents else []
            tools += self.facts.yaml_tool_agents.get(agent, [])
            return set(tools) or None
        return None

    def task_agent(self, ref: str) -> str:
        if ref.startswith("<task:"):
            return self.facts.yaml_task_agents.get(ref[6:-1], "")
        return ref

    def hitl_covers(self, names: set[str]) -> bool:
        for g in self.facts.guards:
            if g.kind == "hitl":
                covers = self.guard_covers(g)
                if covers is None or covers & names:
                    return True
        return False

    def reviewed(self, cap: Cap, kinds: tuple[str, ...]) -> bool:
        """A guard of these kinds names the capability's tool or sits in the same project."""
        for g in self.facts.guards:
            if g.kind in kinds and (cap.name in (self.guard_covers(g) or set()) or self.same_project(g.file, cap.file)):
                return True
        return False

    def same_project(self, file_a: str, file_b: str) -> bool:
        return same_project(file_a, file_b, self.facts.reading)

    @cached_property
    def learning_loop(self) -> bool:
        f = self.facts
        return bool(f.store_files and f.reads and f.writes)

    @cached_property
    def shared_collections(self) -> list[str]:
        f, shared = self.facts, []
        scopes = defaultdict(set)
        for file, scope, name, _ in f.collections:
            scopes[name].add((file, scope))
        shared = [name for name, s in scopes.items() if len(s) >= 2]
        if shared:
            return shared
        for file, scope, name, _ in f.collections:  # a module-level collection used by several functions
            if scope == "<module>":
                users = {s for fl, s in f.reads + [(fl, s) for fl, s, _ in f.writes] if fl == file and s != "<module>"}
                if len(users) >= 2:
                    return [name]
        return []


# -- checks -----------------------------------------------------------------------------------------------
def _one(rule: str, severity: str, confidence: str, tags=()) -> Instance:
    return Instance(rule, gate(severity, confidence), confidence, frozenset(tags))


def _first(instances: list[Instance]) -> list[Instance]:
    """Business, operational and compounding rules report one instance per id (the first, most severe)."""
    if not instances:
        return []
    best = min(instances, key=lambda i: SEVERITIES.index(i.severity))
    return [Instance(best.rule, best.severity, best.confidence, frozenset().union(*(i.tags for i in instances)))]


def _caps(c: Context, *kinds: str) -> list[Cap]:
    return [cap for cap in c.facts.caps if cap.kind in kinds]


def _no_guards(c: Context) -> bool:
    return not c.facts.guards


def r001(c: Context) -> list[Instance]:
    if any(g.kind in ("output_filter", "input_filter") and g.active for g in c.facts.guards):
        return []
    for d in _caps(c, "data_access"):
        for o in _caps(c, "outbound"):
            if not c.hitl_covers({d.name, o.name}):
                return [
                    _one("STRATUM-001", "CRITICAL" if _no_guards(c) else "HIGH", _weakest(d.confidence, o.confidence))
                ]
    return []


def r002(c: Context) -> list[Instance]:
    return [
        _one("STRATUM-002", "CRITICAL" if _no_guards(c) else "HIGH", cap.confidence)
        for cap in _caps(c, "destructive")
        if not c.hitl_covers({cap.name})
    ]


def r003(c: Context) -> list[Instance]:
    return [_one("STRATUM-003", "HIGH", cap.confidence) for cap in _caps(c, "code_exec")]


def _version_below(version: str, fixed: tuple[int, ...]) -> bool:
    try:
        return tuple(int(x) for x in version.strip().lstrip("^~=v").split(".")) < fixed
    except ValueError:
        return True  # "latest", a range or a tag: not known to be fixed


def r004(c: Context) -> list[Instance]:
    return [
        _one("STRATUM-004", "CRITICAL", "confirmed")
        for s in c.facts.mcp
        if s.package == "mcp-remote" and (not s.version or _version_below(s.version, (0, 1, 9)))
    ]


_MCP_SECRETS = ("DATABASE", "SECRET", "PASSWORD", "AWS_", "STRIPE_", "OPENAI_", "ANTHROPIC_")


def r005(c: Context) -> list[Instance]:
    return [
        _one("STRATUM-005", "HIGH", "confirmed")
        for s in c.facts.mcp
        if not s.trusted and any(m in e.upper() for e in s.env for m in _MCP_SECRETS)
    ]


def r006(c: Context) -> list[Instance]:
    out = []
    for s in c.facts.mcp:
        if s.trusted:
            continue
        if s.package and not s.version:
            out.append(_one("STRATUM-006", "HIGH", "confirmed"))
        if s.remote and not s.auth:
            out.append(_one("STRATUM-006", "HIGH", "confirmed"))
    return out


def r007(c: Context) -> list[Instance]:
    fin = [
        cap
        for cap in c.facts.caps
        if not cap.validated and (cap.kind == "financial" or (cap.kind == "outbound" and cap.library in FINANCIAL_LIBS))
    ]
    if not fin or any(g.kind == "validation" for g in c.facts.guards):
        return []
    fin = [cap for cap in fin if not c.hitl_covers({cap.name})]
    if not fin:
        return []
    confidence = _weakest(*(cap.confidence for cap in fin))
    return [_one("STRATUM-007", "HIGH" if _no_guards(c) else "MEDIUM", confidence) for cap in fin]


def r008(c: Context) -> list[Instance]:
    bare = [
        cap
        for cap in _caps(c, "outbound", "data_access", "financial")
        if cap.confidence == "confirmed" and not cap.in_try
    ]
    return [_one("STRATUM-008", "MEDIUM", "confirmed")] if len(bare) >= 2 else []


def r009(c: Context) -> list[Instance]:
    bare = [
        cap
        for cap in _caps(c, "outbound")
        if cap.confidence == "confirmed" and cap.library in HTTP_LIBS and not cap.timeout
    ]
    return [_one("STRATUM-009", "MEDIUM", "confirmed")] if len(bare) >= 2 else []


def r010(c: Context) -> list[Instance]:
    confirmed = sum(cap.confidence == "confirmed" for cap in c.facts.caps)
    return [_one("STRATUM-010", "MEDIUM", "confirmed")] if confirmed >= 3 and not c.facts.durable_checkpoint else []


def _human_facing(cap: Cap) -> bool:
    lib = cap.library.lower()
    return cap.kind == "outbound" and (
        cap.library.split(".")[0] in HUMAN_FACING
        or cap.tool in HUMAN_FACING_TOOLS
        or any(h in lib for h in ("slack", "gmail", "smtp", "twilio"))
    )


def br01(c: Context) -> list[Instance]:
    return _first(
        [
            _one("STRATUM-BR01", "HIGH" if cap.confidence == "confirmed" else "MEDIUM", cap.confidence)
            for cap in c.facts.caps
            if _human_facing(cap) and not c.reviewed(cap, ("hitl", "output_filter"))
        ]
    )


def br02(c: Context) -> list[Instance]:
    money = [
        cap
        for cap in c.facts.caps
        if cap.kind == "financial"
        or cap.library.split(".")[0] in FINANCIAL_LIBS
        or (
            cap.kind == "outbound" and any(w in cap.library.lower() for w in ("stripe", "paypal", "payment", "invoice"))
        )
    ]
    return _first(
        [
            _one("STRATUM-BR02", "HIGH" if cap.confidence == "confirmed" else "MEDIUM", cap.confidence)
            for cap in money
            if not c.reviewed(cap, ("hitl",))
        ]
    )


def br03(c: Context) -> list[Instance]:
    f = c.facts
    # the reference looks only at capability libraries and root .env names: an imported tracing SDK is not seen
    observed = (
        (bool(f.telemetry) and f.reading != "reference")
        or bool(f.env_names & OBSERVABILITY_ENV)
        or any(o in cap.library for cap in f.caps for o in OBSERVABILITY_LIBS)
    )
    acts = [cap for cap in _caps(c, "destructive", "financial", "outbound") if cap.confidence == "confirmed"]
    return [_one("STRATUM-BR03", "MEDIUM", "confirmed")] if len(acts) >= 2 and not observed else []


DECISION_WORDS = (
    "approv",
    "classif",
    "scor",
    "evaluat",
    "filter",
    "triage",
    "review",
    "assess",
    "judge",
    "rate",
    "rank",
)
INPUT_WORDS = ("filter", "read", "ingest", "parse", "receive", "scan", "fetch", "scrape", "monitor", "watch")
ACTION_WORDS = ("write", "send", "respond", "action", "execute", "draft", "post", "notify", "dispatch", "create")


def br04(c: Context) -> list[Instance]:
    structured = [g for g in c.facts.guards if g.kind == "validation" and g.detail == "output_pydantic"]
    out = []
    for name in c.model.agents:
        if not any(w in c.text(name) for w in DECISION_WORDS):
            continue
        site = c.site(name)
        if any(site is None or c.same_project(g.file, site.file) for g in structured):
            continue
        out.append(_one("STRATUM-BR04", "MEDIUM", "probable", {name}))
    return _first(out)


def _confirmed_tool(c: Context, agent: str, kinds: set[str]) -> bool:
    a = c.model.agents.get(agent)
    return a is not None and any(
        cap.kind in kinds and cap.confidence == "confirmed" for t in a.tools for cap in c.tool_caps(t)
    )


def cr01(c: Context) -> list[Instance]:
    holders = defaultdict(list)
    for name, agent in c.model.agents.items():
        for t in dict.fromkeys(agent.tools):
            holders[t].append(name)
    out = []
    for agents in holders.values():
        if len(agents) < 2:
            continue
        ingest = [a for a in agents if any(w in c.text(a) for w in INPUT_WORDS) or "data_access" in c.agent_kinds(a)]
        act = [
            a
            for a in agents
            if any(w in c.text(a) for w in ACTION_WORDS) or c.agent_kinds(a) & {"outbound", "destructive", "financial"}
        ]
        for i in ingest:
            for a in act:
                if i == a or (c.crews_of.get(i) and c.crews_of.get(a) and not c.crews_of[i] & c.crews_of[a]):
                    continue
                confirmed = _confirmed_tool(c, i, {"data_access"}) and _confirmed_tool(
                    c, a, {"outbound", "destructive"}
                )
                out.append(_one("STRATUM-CR01", "HIGH", "confirmed" if confirmed else "probable", {i, a}))
    return _first(out)


def _structured_agents(c: Context) -> set[str]:
    return {c.task_agent(g.agent) for g in c.facts.guards if g.kind == "validation" and g.detail == "output_pydantic"}


def cr02(c: Context) -> list[Instance]:
    checked = _structured_agents(c)
    return _first(
        [
            _one("STRATUM-CR02", "MEDIUM", "probable", {g.name, *g.members})
            for g in c.sequential_crews()
            if not set(g.members[1:-1]) & checked
        ]
    )


def cr03(c: Context) -> list[Instance]:
    edges = set()
    for g in c.model.groups:
        edges |= set(g.flows)
        for m in g.members:
            if m in c.model.agents and c.model.agents[m].delegation:
                edges |= {(m, other) for other in g.members if other != m}
    out = []
    for src, dst in sorted(edges):
        if (
            src in c.model.agents
            and dst in c.model.agents
            and c.agent_kinds(src) <= {"data_access", "outbound"}
            and c.agent_kinds(dst) & {"destructive", "financial"}
        ):
            out.append(_one("STRATUM-CR03", "HIGH", "probable", {src, dst}))
    return _first(out)


def _target(cap: Cap) -> str:
    text = f"{cap.library} {cap.tool}".lower()
    for word, target in (("gmail", "gmail"), ("slack", "slack"), ("smtp", "smtp"), ("twilio", "twilio")):
        if word in text:
            return target
    return ""


def cr04(c: Context) -> list[Instance]:
    senders = defaultdict(set)
    for cap in c.facts.all_caps:
        if cap.kind == "outbound" and _target(cap):
            for name, a in c.model.agents.items():
                if {cap.name, cap.function, cap.owner} & set(a.tools):
                    senders[_target(cap)].add(name)
    return _first(
        [_one("STRATUM-CR04", "MEDIUM", "probable", agents) for agents in senders.values() if len(agents) >= 2]
    )


def _suffixed(instances: list[Instance]) -> list[Instance]:
    """CR05/CR06 variants: the most severe first, numbered after the first (``STRATUM-CR05.1``…), three at most."""
    ordered = sorted(instances, key=lambda i: SEVERITIES.index(i.severity))[:MAX_SUFFIXED]
    return [
        Instance(i.rule if n == 0 else f"{i.rule}.{n}", i.severity, i.confidence, i.tags) for n, i in enumerate(ordered)
    ]


def cr05(c: Context) -> list[Instance]:
    out = []
    for g in c.model.groups:
        members = [m for m in dict.fromkeys(g.members) if m in c.model.agents]
        tools = dict.fromkeys(t for m in members for t in c.model.agents[m].tools)
        for tool in tools:
            holders = [m for m in members if tool in c.model.agents[m].tools]
            if len(holders) < 2:
                continue
            external = bool(c.kinds.get(tool, set()) & {"outbound", "financial"})
            out.append(
                _one(
                    "STRATUM-CR05",
                    "CRITICAL" if len(holders) >= 3 and external else "HIGH",
                    "confirmed",
                    {g.name, *holders},
                )
            )
    return _suffixed(out)


def _stores(c: Context, agent: str) -> set[str]:
    a = c.model.agents.get(agent)
    stores = set()
    for t in a.tools if a else []:
        if "data_access" in c.kinds.get(t, set()):  # a custom tool: the databases it reads; a tool class: itself
            libs = {cap.library.split(".")[0] for cap in c.tool_caps(t) if cap.kind == "data_access" and not cap.tool}
            stores |= libs or {t}
    return stores


def cr06(c: Context) -> list[Instance]:
    out = []
    for g in c.sequential_crews():
        members = [m for m in g.members if m in c.model.agents]
        for i, early in enumerate(members):
            for late in members[i + 1 :]:
                if _stores(c, early) & _stores(c, late):
                    out.append(_one("STRATUM-CR06", "HIGH", "probable", {g.name, early, late}))
    return _suffixed(out)


_PROVIDER_SIGNALS = {
    "openai": ("OPENAI_API_KEY", "ChatOpenAI", "openai"),
    "anthropic": ("ANTHROPIC_API_KEY", "ChatAnthropic", "anthropic"),
    "google": ("GOOGLE_API_KEY", "ChatGoogleGenerativeAI", "google"),
    "azure": ("AZURE_OPENAI_API_KEY", "AzureChatOpenAI"),
}


def op01(c: Context) -> list[Instance]:
    strings = list(c.facts.env_names) + [f"{cap.library} {cap.tool}" for cap in c.facts.caps]
    found = {p for p, signals in _PROVIDER_SIGNALS.items() if any(s in x for s in signals for x in strings)}
    return [_one("STRATUM-OP01", "MEDIUM", "confirmed")] if len(found) == 1 else []


def op02(c: Context) -> list[Instance]:
    limited = any(
        g.kind == "rate_limit" and g.detail in ("max_rpm", "rate_limit", "max_requests_per_minute")
        for g in c.facts.guards
    )
    return [_one("STRATUM-OP02", "MEDIUM", "confirmed")] if len(c.facts.caps) >= 5 and not limited else []


def env001(c: Context) -> list[Instance]:
    f = c.facts
    return [_one("ENV-001", "MEDIUM", "confirmed")] if f.env_files and not f.env_ignored else []


def env002(c: Context) -> list[Instance]:
    return [_one("ENV-002", "MEDIUM", "confirmed") for _ in c.facts.secrets]


def learning001(c: Context) -> list[Instance]:
    f = c.facts
    if not c.learning_loop:
        return []
    loop_files = {fl for fl, _ in f.reads} & {fl for fl, _, _ in f.writes} & f.store_files
    if not loop_files:
        return []
    severity = "CRITICAL" if f.fine_tuning else "HIGH" if f.distillation else "MEDIUM"
    # As the reference counts: once some file has a store with reads and writes, every (file, scope) of the
    # repository that both reads and writes is an instance, in files without a store too.
    both = {(fl, s) for fl, s in f.reads} & {(fl, s) for fl, s, _ in f.writes}
    if both:
        return [_one("LEARNING-001", severity, "confirmed") for _ in both]
    return [_one("LEARNING-001", severity, "probable") for _ in loop_files]


def learning002(c: Context) -> list[Instance]:
    unscoped = any(not scoped for *_, scoped in c.facts.collections)
    return [_one("LEARNING-002", "HIGH", "confirmed")] if unscoped else []


def learning003(c: Context) -> list[Instance]:
    return [_one("LEARNING-003", "HIGH", "probable") for _ in c.shared_collections]


def learning004(c: Context) -> list[Instance]:
    return [_one("LEARNING-004", "CRITICAL", "confirmed")] if c.facts.fine_tuning else []


def context001(c: Context) -> list[Instance]:
    f = c.facts
    return [_one("CONTEXT-001", "MEDIUM", "probable")] if c.learning_loop and not any(p for *_, p in f.writes) else []


def context002(c: Context) -> list[Instance]:
    return [_one("CONTEXT-002", "MEDIUM", "probable")] if c.learning_loop and not c.facts.rollback else []


def context003(c: Context) -> list[Instance]:
    f = c.facts
    return (
        [_one("CONTEXT-003", "HIGH", "probable")]
        if c.learning_loop and c.shared_collections and not any(p for *_, p in f.writes)
        else []
    )


def _telemetry(c: Context) -> set[str]:
    found = set(c.facts.telemetry)
    for provider, env_keys in TELEMETRY.values():
        if c.facts.env_names & set(env_keys):
            found.add(provider)
    return found


def telemetry001(c: Context) -> list[Instance]:
    return [_one("TELEMETRY-001", "MEDIUM", "confirmed") for _ in _telemetry(c)]


def telemetry002(c: Context) -> list[Instance]:
    return (
        [_one("TELEMETRY-002", "HIGH", "confirmed")]
        if "LangSmith" in _telemetry(c) and c.facts.model_sdks & {"OpenAI", "Anthropic"}
        else []
    )


def telemetry003(c: Context) -> list[Instance]:
    return [] if _telemetry(c) else [_one("TELEMETRY-003", "LOW", "probable")]


def eval001(c: Context) -> list[Instance]:
    return (
        [_one("EVAL-001", "MEDIUM", "confirmed")]
        if "openai.evals" in c.facts.evals and "OpenAI" in c.facts.model_sdks
        else []
    )


def eval002(c: Context) -> list[Instance]:
    return [] if c.facts.evals or c.facts.langchain_imported else [_one("EVAL-002", "MEDIUM", "probable")]


def _agent_scopes(c: Context) -> list[tuple[str, bool, tuple[str, ...]]]:
    """(name, has an identifier, API keys read) of every agent scope: a function that calls a model SDK itself.

    Identity and credentials are properties of the code that calls the provider with its own key; framework
    agents call through their framework (whose key handling the code does not show), so they are not scopes.
    """
    return [(f"{s.file}:{s.name}", s.has_identity, s.credentials) for s in c.facts.llm_scopes]


def identity001(c: Context) -> list[Instance]:
    users = defaultdict(set)
    for name, _, keys in _agent_scopes(c):
        for key in keys:
            users[key].add(name)
    shared = sorted(k for k, names in users.items() if len(names) >= 2)
    return [_one("IDENTITY-001", "HIGH", "confirmed", users[shared[0]])] if shared else []


def identity002(c: Context) -> list[Instance]:
    scopes = _agent_scopes(c)
    nameless = [n for n, ident, _ in scopes if not ident]
    return [_one("IDENTITY-002", "MEDIUM", "probable", nameless)] if len(scopes) >= 2 and nameless else []


def identity003(c: Context) -> list[Instance]:
    scopes = _agent_scopes(c)
    personal = [
        (n, k) for n, _, keys in scopes for k in keys if any(m in k.upper() for m in ("USER_", "PERSONAL_", "MY_"))
    ]
    return [_one("IDENTITY-003", "HIGH", "heuristic", {personal[0][0]})] if len(scopes) >= 2 and personal else []


def portability001(c: Context) -> list[Instance]:
    sdks = c.facts.model_sdks
    return [_one("PORTABILITY-001", "LOW", "confirmed")] if len(sdks) == 1 and not c.facts.abstraction else []


def portability002(c: Context) -> list[Instance]:
    vendors = {g.vendor for g in c.facts.guards if g.vendor}
    return [_one("PORTABILITY-002", "MEDIUM", "confirmed")] if len(vendors) == 1 else []


def portability003(c: Context) -> list[Instance]:
    return [_one("PORTABILITY-003", "LOW", "confirmed")] if c.facts.proprietary_format else []


# -- the catalog -------------------------------------------------------------------------------------------------
RULES: tuple[Rule, ...] = (
    Rule(
        "STRATUM-001",
        "Data reaches an external sink unguarded",
        "CRITICAL / HIGH",
        "ASI01",
        "a data-access capability and an outbound capability; suppressed by a human gate naming either (or naming "
        "none) or any active filter; CRITICAL when there are no guards at all",
        r001,
    ),
    Rule(
        "STRATUM-002",
        "Destructive action with no human gate",
        "CRITICAL / HIGH",
        "ASI09",
        "one per destructive capability (a destructive tool class is enough) not named by a human gate; CRITICAL "
        "when there are no guards at all",
        r002,
    ),
    Rule(
        "STRATUM-003",
        "Host code execution",
        "HIGH",
        "ASI02",
        "one per code-execution capability (subprocess, os.system/popen, exec/eval, shell and REPL tools, AutoGen "
        "code execution); nothing suppresses it",
        r003,
    ),
    Rule(
        "STRATUM-004",
        "MCP server with a known CVE",
        "CRITICAL",
        "ASI06",
        "an npx MCP server `mcp-remote` unpinned or pinned below 0.1.9 (CVE-2025-6514)",
        r004,
    ),
    Rule(
        "STRATUM-005",
        "MCP server receives secrets",
        "HIGH",
        "ASI04",
        "an MCP server outside the trusted npm scopes gets env names with DATABASE, SECRET, PASSWORD, AWS_, "
        "STRIPE_, OPENAI_ or ANTHROPIC_",
        r005,
    ),
    Rule(
        "STRATUM-006",
        "MCP supply-chain risk",
        "HIGH",
        "ASI04",
        "an MCP server outside the trusted scopes: an npx package with no @version; separately, a remote server "
        "with no auth-like env name",
        r006,
    ),
    Rule(
        "STRATUM-007",
        "Payment call with no validation",
        "HIGH / MEDIUM",
        "ASI02",
        "a payment capability in a function that does not validate its input; suppressed by a human gate naming "
        "it or any validation guard; HIGH when there are no guards at all",
        r007,
    ),
    Rule(
        "STRATUM-008",
        "External calls with no error handling",
        "MEDIUM",
        "ASI08",
        "at least 2 confirmed outbound, data or payment capabilities outside a try block",
        r008,
    ),
    Rule(
        "STRATUM-009",
        "HTTP calls with no timeout",
        "MEDIUM",
        "ASI08",
        "at least 2 confirmed requests/httpx/aiohttp capabilities with no timeout argument",
        r009,
    ),
    Rule(
        "STRATUM-010",
        "No durable checkpointing",
        "MEDIUM",
        "ASI05",
        "at least 3 confirmed capabilities and no file naming langgraph.checkpoint with a Postgres, Sqlite or "
        "Redis saver",
        r010,
    ),
    Rule(
        "STRATUM-BR01",
        "Agent messages people with no review",
        "HIGH / MEDIUM",
        "ASI09",
        "an outbound capability via SMTP, Slack, Gmail, Twilio or SendGrid with no human gate or output filter "
        "naming it or in the same project",
        br01,
    ),
    Rule(
        "STRATUM-BR02",
        "Money moves with no approval",
        "HIGH / MEDIUM",
        "ASI09",
        "a payment capability (or an outbound one whose library mentions stripe, paypal, payment, invoice) with "
        "no human gate naming it or in the same project",
        br02,
    ),
    Rule(
        "STRATUM-BR03",
        "No audit trail",
        "MEDIUM",
        "ASI05",
        "at least 2 confirmed destructive, payment or outbound capabilities and no observability",
        br03,
    ),
    Rule(
        "STRATUM-BR04",
        "Decision agent with free-text output",
        "MEDIUM",
        "ASI10",
        "an agent whose role or name reads as a decision (approv, classif, scor, evaluat, filter, triage, review, "
        "assess, judge, rate, rank) with no output_pydantic in its project",
        br04,
    ),
    Rule(
        "STRATUM-CR01",
        "Shared tool links input and action",
        "HIGH",
        "ASI01",
        "two agents (not in different crews) share a tool; one ingests (role words or a data tool), the other "
        "acts (role words or an outbound, destructive or payment tool)",
        cr01,
    ),
    Rule(
        "STRATUM-CR02",
        "Long chain with no checks between steps",
        "MEDIUM",
        "ASI10",
        "a sequential crew of at least 3 agents with no output_pydantic on any middle agent",
        cr02,
    ),
    Rule(
        "STRATUM-CR03",
        "Low-privilege agent feeds a powerful one",
        "HIGH",
        "ASI01",
        "a flow or delegation from an agent with only read or outbound tools (or none) to one with destructive "
        "or payment tools",
        cr03,
    ),
    Rule(
        "STRATUM-CR04",
        "Uncoordinated messaging",
        "MEDIUM",
        "ASI08",
        "at least 2 agents send through the same Gmail, Slack, SMTP or Twilio target",
        cr04,
    ),
    Rule(
        "STRATUM-CR05",
        "Shared-tool blast radius",
        "CRITICAL / HIGH",
        "ASI01",
        "one per (tool, crew) held by at least 2 agents of the crew; CRITICAL with 3+ agents and an external "
        "sink; most severe first, suffixed .1, .2, at most 3",
        cr05,
    ),
    Rule(
        "STRATUM-CR06",
        "Filtering agent is bypassed",
        "HIGH",
        "ASI05",
        "in a sequential crew a later agent reads the same data store as an earlier one; one per pair, suffixed, "
        "at most 3",
        cr06,
    ),
    Rule(
        "STRATUM-OP01",
        "Single LLM provider",
        "MEDIUM",
        "ASI08",
        "exactly one of openai, anthropic, google, azure in root .env names and capability strings",
        op01,
    ),
    Rule(
        "STRATUM-OP02",
        "No cost controls",
        "MEDIUM",
        "ASI08",
        "at least 5 capabilities and no max_rpm / rate_limit setting",
        op02,
    ),
    Rule(
        "ENV-001",
        ".env not git-ignored",
        "MEDIUM",
        "ASI04",
        "a root .env or .env.* file and no .env, .env*, .env.* or *.env line in the root .gitignore",
        env001,
    ),
    Rule(
        "ENV-002",
        "Hard-coded secret",
        "MEDIUM",
        "ASI04",
        "a .py file holds an sk- key, an sk_live_ key, a Bearer token or a Postgres/Mongo URL with a password; "
        "one per pattern per file",
        env002,
    ),
    Rule(
        "LEARNING-001",
        "Self-feeding memory loop",
        "MEDIUM / HIGH / CRITICAL",
        "ASI10",
        "a file imports a memory store and reads and writes; one per function doing both (confirmed), else one "
        "per file (probable); HIGH with distillation, CRITICAL with fine-tuning",
        learning001,
    ),
    Rule(
        "LEARNING-002",
        "Memory collection with no limits",
        "HIGH",
        "ASI10",
        "a create_collection-style call with a literal name and no ttl, namespace or size setting",
        learning002,
    ),
    Rule(
        "LEARNING-003",
        "Memory shared between agents",
        "HIGH",
        "ASI07",
        "the same collection is used from at least 2 scopes",
        learning003,
    ),
    Rule(
        "LEARNING-004",
        "Fine-tuning on production data",
        "CRITICAL",
        "ASI10",
        "an import from openai.fine_tuning, or trl's PPOTrainer / DPOTrainer",
        learning004,
    ),
    Rule(
        "CONTEXT-001",
        "Memory writes lack provenance",
        "MEDIUM",
        "ASI10",
        "a learning loop and no write passing metadata, source, author, agent_id or timestamp",
        context001,
    ),
    Rule(
        "CONTEXT-002",
        "No memory rollback",
        "MEDIUM",
        "ASI10",
        "a learning loop and no snapshot, backup, version= or copy pattern anywhere",
        context002,
    ),
    Rule(
        "CONTEXT-003",
        "Unscoped writes to shared memory",
        "HIGH",
        "ASI07",
        "LEARNING-003's condition and no write carrying provenance",
        context003,
    ),
    Rule(
        "TELEMETRY-001",
        "Traces sent to an outside vendor",
        "MEDIUM",
        "ASI04",
        "one per provider: langsmith, langfuse, arize, galileo, braintrust, wandb, mlflow, datadog, opentelemetry",
        telemetry001,
    ),
    Rule(
        "TELEMETRY-002",
        "Traces go back to the model vendor",
        "HIGH",
        "ASI04",
        "LangSmith together with an openai or anthropic import",
        telemetry002,
    ),
    Rule("TELEMETRY-003", "No observability", "LOW", "ASI05", "no telemetry provider at all", telemetry003),
    Rule(
        "EVAL-001",
        "Evals run by the model vendor",
        "MEDIUM",
        "ASI09",
        "openai.evals together with an openai import",
        eval001,
    ),
    Rule(
        "EVAL-002",
        "No eval framework",
        "MEDIUM",
        "ASI05",
        "none of openai.evals, ragas, deepeval, promptfoo, langsmith, trulens, and no langchain import",
        eval002,
    ),
    Rule(
        "IDENTITY-001",
        "Agents share one API key",
        "HIGH",
        "ASI03",
        "at least 2 agent scopes (functions of a model-SDK file that call create, generate, invoke, chat or "
        "complete) read the same API key",
        identity001,
    ),
    Rule(
        "IDENTITY-002",
        "Agents have no identifier",
        "MEDIUM",
        "ASI03",
        "at least 2 agent scopes, and one never passes agent_id, name, agent_name or id",
        identity002,
    ),
    Rule(
        "IDENTITY-003",
        "Agent may use a person's credentials",
        "MEDIUM (heuristic)",
        "ASI03",
        "at least 2 agent scopes, and a key variable contains USER_, PERSONAL_ or MY_",
        identity003,
    ),
    Rule(
        "PORTABILITY-001",
        "Tied to one model SDK",
        "LOW",
        "none",
        "exactly one model SDK imported and no langchain, litellm, haystack or llama_index",
        portability001,
    ),
    Rule(
        "PORTABILITY-002",
        "All guardrails from one vendor",
        "MEDIUM",
        "ASI05",
        "the guardrails traceable to a vendor (NVIDIA NeMo, Guardrails AI, OpenAI) all come from one",
        portability002,
    ),
    Rule(
        "PORTABILITY-003",
        "Proprietary agent format",
        "LOW",
        "none",
        "a from-import of openai.beta.assistants",
        portability003,
    ),
)
RULES_BY_ID = {r.id: r for r in RULES}

# Catalog rules the built-in scanner never emits, and why.
NOT_EMITTED = (
    (
        "STRATUM-TC-001 … TC-010",
        "Toxic combinations: the reference computes them but never writes them to its "
        "JSON output (and they need a data file missing from its build).",
    ),
)

# How the reference reads a project where the built-in reads more (rendered into docs/RULES.md): the ping's finding
# fields follow the reference's reading (capabilities.ProjectFacts.as_reference_reads), the detected_finding_* fields
# the built-in's.
READINGS: tuple[tuple[str, str, str], ...] = (
    (
        "Agents and crews in the rules (catalog §3)",
        "BR04 and CR01–CR06 read the agents and crews it counts (Inventory fields): every nameless `Agent(role=…)` of "
        "the repository is one agent with the first role seen, Agno and PydanticAI agents are CrewAI's, LangGraph "
        "utility nodes are agents, every LangChain file is a synthetic crew; crew members are the names written in "
        "the list (`self.scout` → scout), so a crew of nameless agents has no member among the agents; a sequential "
        "crew's members follow one another (CR03's edges), a manager makes it hierarchical",
        "the project's own model (`model.py`): agents resolved through imports and named by their variables, crews, "
        "graphs, group chats and teams where the code builds them",
    ),
    (
        "Module-level calls (catalog, Other quirks)",
        "classifies calls only inside function bodies",
        "also module-level calls and class bodies: a script's top-level `requests.post(...)` or `subprocess.run(...)` "
        "is the same capability",
    ),
    (
        "Name resolution",
        "resolves a name through the module's top-level imports and the import statements directly in the "
        "function's body; records only the alias of `import x as y`; ignores `from subprocess import run; run(...)`, "
        "module-level clients used inside functions, `with httpx.Client() as c` bindings and imports nested in an "
        "`if`/`try`/inner block",
        "resolves all of them to the library they stand for",
    ),
    (
        "MCP npx packages (STRATUM-004/005/006)",
        "takes the first npx argument as the package, so `npx -y pkg` is read as the package `-y`",
        "skips npx options: `npx -y @modelcontextprotocol/server-x` is a trusted, and `npx -y mcp-remote` a "
        "vulnerable, package",
    ),
    (
        "Same project (BR01, BR02, BR04)",
        "two files share their first two path components, file names included (two files at the repository root "
        "never do)",
        "two files share their first two folders (files at the root are one project)",
    ),
    (
        "Human gates in YAML",
        "only `human_input=True` in Python counts",
        "a CrewAI tasks.yaml `human_input: true` is the same gate",
    ),
    (
        "STRATUM-BR03 and telemetry",
        "looks only at capability library names and root .env names, so an imported observability SDK does not "
        "count (and BR03 can fire next to TELEMETRY-001)",
        "any telemetry provider TELEMETRY-001 finds is an audit trail",
    ),
    (
        "IDENTITY-* credentials",
        "reads API keys only through `.getenv(…)`/`.get(…)` calls: the scope's own, else every such call of the file "
        "(a key read in `__init__` is shared by every method that calls the model)",
        'also `os.environ["…"]` subscripts; a scope without keys of its own shares only those read outside functions',
    ),
    (
        "Guardrail vendors (PORTABILITY-002)",
        "any imported module whose name contains `guardrails` is a Guardrails AI filter (a local `guardrails.py` too)",
        "only the `guardrails` package (guardrails-ai) and NeMo Guardrails",
    ),
    (
        "Hard-coded secrets (ENV-002)",
        "`sk-` anywhere, also inside words such as `task-…`; only `postgresql://` and `mongodb://` URLs",
        "`sk-` at a word start; `postgres://`, `postgresql://` and `mongodb+srv://` URLs too",
    ),
    (
        "Payment verbs (STRATUM-007, BR02)",
        "a payment SDK counts only with an outbound verb (create, post, …)",
        "also sale, capture, refund, charge, transfer, payout",
    ),
)

# Where the ping's finding fields still differ from the reference's, and why (rendered into docs/RULES.md).
DIFFERENCES: tuple[tuple[str, str, str], ...] = (
    (
        "Top list cut to 5 (catalog, Other quirks)",
        "after the graph form of STRATUM-001 is added, keeps 5 top findings and drops the rest silently",
        "keeps every finding",
    ),
    (
        "STRATUM-001 graph form",
        "replaces the pairwise finding with risk-graph paths whose severity follows data sensitivity",
        "the pairwise form only (one finding, CRITICAL/HIGH); the risk graph and its sensitivity labels are not "
        "modelled",
    ),
    (
        "Python version",
        "parses with Python 3.12 or later (its CLI does not run on older versions)",
        "parses with the interpreter it runs on: a file using 3.12-only syntax is a parser error on 3.11",
    ),
)


# Catalog behaviour that looks odd but is the rule's definition, kept on purpose (rendered into docs/RULES.md).
KEPT: tuple[str, ...] = (
    "IDENTITY-* count *agent scopes* — functions of a model-SDK file that call the model — not framework agents: "
    "identity and keys belong to code that calls a provider with its own credentials; §3's agent counting does "
    "not enter these rules.",
    "Capabilities are deduplicated per (file, kind, library); the call kept for a pair (which decides timeout and "
    "try/except for STRATUM-008/009) is the first in breadth-first order, as in the reference.",
    "LEARNING-001 and CONTEXT-*: any read-style and write-style method counts (plain `dict.get`, `set.add`) once "
    "a memory store (including any langchain or llama_index package) is imported.",
    "STRATUM-OP02: only `max_rpm` / `rate_limit` settings are cost controls; `recursion_limit`, `max_iterations` "
    "and `max_turns` are rate-limit guards that do not suppress it.",
    "ENV-001 also fires on a committed `.env.example` when the root `.gitignore` has no `.env` line; EVAL-002 treats "
    "any `langchain` import as an eval framework.",
)

# Readings that look wrong but that no reference ping settles yet (met while mutation testing the scanner core,
# issue 31). Each waits for a reference scan of a small project before it changes, with its own test.
OPEN_QUESTIONS: tuple[str, ...] = (
    "**Validation guard**: `pydantic.TypeAdapter(...)` is a repository-wide validation guard, a bare "
    "`TypeAdapter(...)` is not, though a function's own check accepts both; the catalog names only `isinstance`, "
    "`model_validate`, `output_pydantic` and `response_format`.",
    "**Aliased tool classes**: after `from crewai_tools import FileWriterTool as Writer`, `w = Writer()` records "
    "`w` as a `Writer`, so the tool's kinds miss `w`.",
    "**Variables assigned twice**: a variable's origin is its last assignment in the module, for earlier uses too.",
    "**LlamaIndex query tools**: `tools=[QueryEngineTool.from_defaults(...)]` gives the agent no capability from "
    "the list itself.",
    "**`initialize_agent(tools, llm)`**: LangChain factories take their tools from the second positional argument, "
    "right for `create_*_agent(llm, tools, …)`; `initialize_agent` takes its tools first, so "
    "`initialize_agent([search], llm)` gives the agent the tools `$llm`.",
    "**Relative imports**: `from .tools import x` records the module `tools`; the catalog does not say what the "
    "reference records.",
)


# -- evaluation -------------------------------------------------------------------------------------------------
@dataclass
class Findings:
    instances: list[Instance] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return sorted({i.rule for i in self.instances})

    def first(self) -> dict[str, Instance]:
        firsts: dict[str, Instance] = {}
        for i in self.instances:
            firsts.setdefault(i.rule, i)
        return firsts

    def severity_counts(self) -> dict[str, int]:
        firsts = self.first().values()
        return {s: sum(i.severity == s for i in firsts) for s in SEVERITIES}

    def confidence_counts(self) -> dict[str, int]:
        firsts = list(self.first().values())
        counts = {c: sum(i.confidence == c for i in firsts) for c in CONFIDENCES}
        return {c: n for c, n in counts.items() if n or c != "heuristic"}

    def instance_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self.instances:
            counts[i.rule] = counts.get(i.rule, 0) + 1
        return dict(sorted(counts.items()))

    def tags(self, rule: str) -> set[str]:
        return set().union(*(i.tags for i in self.instances if i.rule == rule))

    @property
    def risk_score(self) -> int:
        return scoring.risk_score((i.rule, i.severity) for i in self.instances)

    @property
    def fix_impact(self) -> dict[str, int]:
        return scoring.fix_impact({r: i.severity for r, i in self.first().items()})

    def by_category(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for r in self.rules:
            counts[RULES_BY_ID[scoring.base_id(r)].owasp] += 1
        return dict(sorted(counts.items()))


def evaluate(model: RepoModel, signals: dict) -> Findings:
    """Every rule's instances; nothing when the scan produced no project facts (a failed or empty scan)."""
    facts = signals.get("project")
    if facts is None:
        return Findings()
    c = Context(model, facts, signals)
    return Findings([i for rule in RULES for i in rule.check(c)])


def external_to_action(model: RepoModel) -> int:
    """Agents that read the web and can also act (write, send, pay, execute): the ping's trust crossings."""
    web = {"scrape", "web_search", "http", "http_no_timeout"}
    count = 0
    for a in model.agents.values():
        ops = set().union(*(model.tools[t].ops for t in a.tools if t in model.tools))
        count += bool(ops & web and ops & APPROVAL_OPS)
    return count


# -- docs/RULES.md ---------------------------------------------------------------------------------------------
def rules_markdown() -> str:
    """docs/RULES.md: the rule set, the scoring and where we differ from the reference (kept in sync by a test)."""
    w = scoring.CLASS_WEIGHTS
    lines = [
        "# Built-in scanner rules",
        "",
        "Generated from `stratum_assets/scanner/rules.py` by `stratum-assets rules`; a test keeps it in sync.",
        "",
        "The built-in scanner speaks the reference scanner's rule catalog (stratum-cli 0.3.1, "
        "`reference/stratum-rule-catalog.md`): the same id means the same trigger, severity, weight class and "
        "OWASP category, so pings of both scanners can share one dataset. Findings come from a capability layer "
        "(`capabilities.py`: calls classified as outbound, data access, destructive, code execution or payment, "
        "known tool classes, and guards: human gates, filters, validation, rate limits) and, for rules about "
        "agents and crews, from the agents and crews the reference counts (`reference_counting.py`; the "
        "`detected_*` findings read the project's own model, `model.py`).",
        "",
        "| id | finding | severity | class | OWASP | fires when |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {r.id} | {r.title} | {r.severity} | {r.klass} | {r.owasp} | {r.trigger} |" for r in RULES]
    lines += ["", "Not emitted:", ""] + [f"- **{rid}** — {why}" for rid, why in NOT_EMITTED]
    lines += [
        "",
        "## Score",
        "",
        "Severities pass the confidence gate first (heuristic → at most MEDIUM, probable → at most HIGH).",
        "",
        "- `finding_rules`: sorted unique ids (CR05/CR06 variants are ids of their own); `finding_rule_count` "
        "their number; `finding_severities` / `finding_confidences` count unique ids by their first instance; "
        "`finding_instance_counts` / `total_finding_instances` count instances.",
        "- `fix_impact_estimates`: per id, by severity: "
        + ", ".join(f"{s} {v}" for s, v in scoring.FIX_IMPACT.items())
        + ".",
        "- `risk_score`: raw = sum over every instance of the weight of its class (by base id) and severity; "
        f"score = raw / (raw + {scoring.HALF_LIFE}) × 100 (0 with no findings); floor "
        f"max(score, {scoring.SCORE_FLOOR}, {scoring.PER_INSTANCE_FLOOR} × instances); rounded half to even; "
        "capped at 100.",
        "",
        "| class | CRITICAL | HIGH | MEDIUM | LOW |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {k} | " + " | ".join(str(w[k][s]) for s in SEVERITIES) + " |" for k in w]
    lines += [
        "",
        "## Inventory fields: counted as the reference counts",
        "",
        "The dataset is compared with scans users make with the `stratum` CLI, so these ping fields follow its "
        "definitions (`scanner/reference_counting.py`, pinned on 24 real repositories and their reference "
        "pings by `bench/scanner_agreement.py`), blind spots included. The built-in's own reading of the same "
        "code is kept in the fields after the schema's (below).",
        "",
        "| field | definition (the reference's) |",
        "| --- | --- |",
    ]
    lines += [f"| `{name}` | {text} |" for name, text in reference_counting.DEFINITIONS]
    lines += [
        "",
        "Fields beyond the reference (appended after the schema's fields; the built-in model's reading):",
        "",
        "| field | what it holds |",
        "| --- | --- |",
    ]
    lines += [f"| `{name}` | {text} |" for name, text in reference_counting.DETECTED]
    lines += [
        "",
        "## Finding fields: the project as the reference reads it",
        "",
        "The ping's finding fields (`finding_rules`, severities, confidences, instance counts, fix impact, "
        "`risk_score`) come from the rules run on the project as the reference reads it; the same rules on the "
        "built-in's fuller reading fill `detected_finding_rules`, `detected_finding_instance_counts` and "
        "`detected_risk_score`.",
        "",
        "| topic | the ping's finding fields (the reference's reading) | `detected_finding_*` (the built-in's) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {topic} | {ref} | {ours} |" for topic, ref, ours in READINGS]
    lines += [
        "",
        "## Where the ping still differs from the reference, and why",
        "",
        "| topic | reference scanner | built-in scanner |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {topic} | {ref} | {ours} |" for topic, ref, ours in DIFFERENCES]
    lines += ["", "Kept as the catalog states them:", ""] + [f"- {note}" for note in KEPT]
    lines += [
        "",
        "## Open questions: readings not yet checked against the reference",
        "",
        "None is pinned by a test or changed yet; each needs a reference ping of a small project first:",
        "",
    ] + [f"- {question}" for question in OPEN_QUESTIONS]
    return "\n".join(lines) + "\n"
