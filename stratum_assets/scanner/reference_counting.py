"""Frameworks, agents and crews counted the way the reference ``stratum`` CLI (0.3.1) counts them.

Why a second count: the dataset's buckets are framework × agent_count × maturity and users compare
their own ``stratum scan`` with them, so these ping fields must mean what the CLI's mean — including
where the CLI counts in a way the built-in model (model.py) would not. The built-in's richer reading
of the same code goes to the ping's ``*_detected`` fields (engine.py), never into these.

The reference reads text, not resolved names (catalog §3, pinned against 24 real pings):

* **frameworks** — from the imports that are statements of a module's top level only (not inside
  ``try``/``if``/functions): ``import x`` records ``x``, ``import x as y`` records ``y``,
  ``from m import …`` records ``m``; a framework's label fires when a record *starts with* one of
  its row's ``reference_imports`` (domain/frameworks.py).
* **agents**, in this order: every YAML file's top-level keys whose value has ``role``, ``goal``,
  ``backstory`` or ``tools``; per Python file, the functions decorated ``@agent``/``@x.agent`` —
  or, in a file with none, every call whose callee is written ``Agent``, ``AgentExecutor``,
  ``AssistantAgent`` or ``UserProxyAgent`` (named by its ``name=`` constant, else by the callee);
  these merge on (name, label). Then appended unmerged: LangGraph's literal ``add_node`` names
  of each ``StateGraph`` assignment, LangChain's ``v = AgentExecutor(…)`` and ``v = create_*_agent(…)``.
* **crews** — CrewAI ``Crew(agents=[…])`` list literals and ``@CrewBase`` classes with ``@agent``
  methods; one per LangGraph ``StateGraph`` assignment (even with no literal node); one per file
  with LangChain agents. AutoGen, Agno, LlamaIndex and SmolAgents never make crews.

docs/RULES.md lists every definition with the reference behaviour it follows and what the
reference does not see (LlamaIndex ``FunctionAgent``, SmolAgents ``CodeAgent``, AG2 ``ConversableAgent``…).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

from ..domain import frameworks as framework_table

# Folders whose files the reference never reads (its walker skips them by name, at any depth).
SKIPPED_FOLDERS = frozenset({".git", "node_modules", ".venv", "__pycache__", ".stratum"})
AGENT_KEYS = ("role", "goal", "backstory", "tools")  # a YAML entry with one of these is an agent
LANGCHAIN_FACTORIES = frozenset(
    {
        "create_react_agent",
        "create_openai_functions_agent",
        "create_tool_calling_agent",
        "create_openai_tools_agent",
        "create_structured_chat_agent",
        "create_json_chat_agent",
        "create_xml_agent",
        "initialize_agent",
    }
)


@dataclass(frozen=True)
class Agent:
    name: str
    label: str  # the framework label the reference gives it (a PydanticAI `Agent(…)` is "CrewAI" there)
    tools: tuple[str, ...] = ()
    role: str = ""  # its role= constant (or YAML role): what BR04 and CR01 read besides the name
    file: str = ""  # where it was first defined


@dataclass(frozen=True)
class Crew:
    kind: str  # "Crew", "CrewBase", "StateGraph" or "LangChain file"
    members: tuple[str, ...]  # as the reference names them: list elements, @agent methods, nodes, variables
    process: str = "sequential"  # sequential | hierarchical (a manager is set) | graph | single

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class ModuleCount:
    """What one parsed Python module contributes; the repository decides which parts count (by its labels)."""

    imports: list[str] = field(default_factory=list)  # top-level import records, as the reference keeps them
    agents: list[Agent] = field(default_factory=list)  # @agent functions, or else the generic constructor calls
    crewai_crews: list[Crew] = field(default_factory=list)
    graphs: list[list[str]] = field(default_factory=list)  # per StateGraph assignment: its literal node names
    langchain_agents: list[Agent] = field(default_factory=list)
    path: str = ""  # the module's path in the repository (set by the scanner once known)


@dataclass(frozen=True)
class Inventory:
    frameworks: list[str]
    agents: list[Agent]
    crews: list[Crew]

    @property
    def agent_count(self) -> int:
        return len(self.agents)

    @property
    def crew_count(self) -> int:
        return len(self.crews)

    @property
    def crew_size_distribution(self) -> list[int]:
        return sorted((c.size for c in self.crews), reverse=True)

    @property
    def agent_tool_count_distribution(self) -> list[int]:
        return sorted((len(a.tools) for a in self.agents), reverse=True)

    @property
    def primary_framework(self) -> str:
        """The label with most agents (ties: first by name); "" without frameworks."""
        return max(self.frameworks, key=lambda fw: sum(a.label == fw for a in self.agents), default="")


# -- one module ---------------------------------------------------------------------------------------------------
def count_module(tree: ast.Module) -> ModuleCount:
    """The reference's reading of one module's syntax tree."""
    nodes = list(ast.walk(tree))
    classes = _constructed_classes(nodes)
    count = ModuleCount(imports=_top_level_imports(tree))
    count.agents = _agent_functions(nodes) or _constructor_agents(nodes, classes)
    count.crewai_crews = _crewai_crews(nodes)
    count.graphs = _state_graphs(nodes)
    count.langchain_agents = _langchain_agents(nodes)
    return count


def _top_level_imports(tree: ast.Module) -> list[str]:
    records = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            records += [alias.asname or alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            records.append(node.module)
    return records


def _written_name(node: ast.AST | None) -> str:
    """The identifier a call or decorator is written with: ``Agent`` for ``Agent(…)`` and ``x.y.Agent(…)``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _decorated(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, name: str, *, call_form: bool) -> bool:
    return any(
        _written_name(d) == name or (call_form and isinstance(d, ast.Call) and _written_name(d.func) == name)
        for d in node.decorator_list
    )


def _constructed_classes(nodes: list[ast.AST]) -> dict[str, str]:
    """``x = SomeTool(…)`` anywhere in the module → {"x": "SomeTool"}: how a tool variable is named."""
    return {
        n.targets[0].id: _written_name(n.value.func)
        for n in nodes
        if isinstance(n, ast.Assign)
        and len(n.targets) == 1
        and isinstance(n.targets[0], ast.Name)
        and isinstance(n.value, ast.Call)
        and _written_name(n.value.func)
    }


def _tool_list(value: ast.AST | None, classes: dict[str, str]) -> list[str]:
    """A ``tools=[…]`` list literal: a call is its callee's name, a variable the class it was built from."""
    if not isinstance(value, ast.List):
        return []
    names = []
    for element in value.elts:
        if isinstance(element, ast.Call) and _written_name(element.func):
            names.append(_written_name(element.func))
        elif isinstance(element, ast.Name):
            names.append(classes.get(element.id, element.id))
    return names


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _agent_functions(nodes: list[ast.AST]) -> list[Agent]:
    """``@agent`` functions at any depth (bare decorator only), with the tools of the ``Agent(…)`` calls inside."""
    agents = []
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _decorated(node, "agent", call_form=False):
            inner = list(ast.walk(node))
            classes = _constructed_classes(inner)
            tools = [
                t
                for call in inner
                if isinstance(call, ast.Call) and _written_name(call.func) == "Agent"
                for t in _tool_list(_keyword(call, "tools"), classes)
            ]
            roles = [
                _constant(_keyword(call, "role"))
                for call in inner
                if isinstance(call, ast.Call) and _written_name(call.func) == "Agent"
            ]
            agents.append(Agent(node.name, "CrewAI", tuple(tools), next(filter(None, roles), "")))
    return agents


def _constructor_agents(nodes: list[ast.AST], classes: dict[str, str]) -> list[Agent]:
    constructors = framework_table.reference_agent_constructors()
    agents = []
    for node in nodes:
        if isinstance(node, ast.Call) and (written := _written_name(node.func)) in constructors:
            name = _keyword(node, "name")
            named = name.value if isinstance(name, ast.Constant) and name.value is not None else written
            agents.append(
                Agent(
                    str(named),
                    constructors[written],
                    tuple(_tool_list(_keyword(node, "tools"), classes)),
                    _constant(_keyword(node, "role")),
                )
            )
    return agents


def _crewai_crews(nodes: list[ast.AST]) -> list[Crew]:
    crews = []
    for node in nodes:
        if isinstance(node, ast.Call) and _written_name(node.func) == "Crew":
            members = _keyword(node, "agents")
            if isinstance(members, ast.List) and members.elts:
                process = _keyword(node, "process")  # Process.hierarchical or "hierarchical"
                managed = any(k.arg in ("manager_llm", "manager_agent") for k in node.keywords) or "hierarchical" in (
                    _written_name(process),
                    _constant(process),
                )
                crews.append(
                    Crew(
                        "Crew",
                        tuple(_member_name(e) for e in members.elts),
                        "hierarchical" if managed else "sequential",
                    )
                )
    for node in nodes:
        if isinstance(node, ast.ClassDef) and _decorated(node, "CrewBase", call_form=True):
            methods = tuple(
                item.name
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                and _decorated(item, "agent", call_form=True)
            )
            if methods:
                crews.append(Crew("CrewBase", methods))
    return crews


def _member_name(element: ast.AST) -> str:
    """A crew list element as the reference names it: a variable, an attribute (``self.writer``), a call's callee."""
    return _written_name(element.func if isinstance(element, ast.Call) else element)


def _constant(value: ast.AST | None) -> str:
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else ""


def _state_graphs(nodes: list[ast.AST]) -> list[list[str]]:
    """Per ``g = StateGraph(…)``: the string literals of the module's statements ``g.add_node("…", …)``."""
    added: dict[str, list[str]] = {}
    for node in nodes:
        call = node.value if isinstance(node, (ast.Expr, ast.Assign)) and isinstance(node.value, ast.Call) else None
        if (
            call is not None
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "add_node"
            and isinstance(call.func.value, ast.Name)
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            added.setdefault(call.func.value.id, []).append(call.args[0].value)
    graphs = []
    for node in nodes:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _written_name(node.value.func) == "StateGraph"
        ):
            variable = node.targets[0].id if isinstance(node.targets[0], ast.Name) else ""
            graphs.append(list(added.get(variable, [])))
    return graphs


def _langchain_agents(nodes: list[ast.AST]) -> list[Agent]:
    agents = []
    for node in nodes:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        written, call = _written_name(node.value.func), node.value
        variable = node.targets[0].id if isinstance(node.targets[0], ast.Name) else ""
        if written == "AgentExecutor":
            agents.append(Agent(variable or "agent", "LangChain", _langchain_tools(_keyword(call, "tools"))))
        elif written in LANGCHAIN_FACTORIES:
            given = call.args[1] if len(call.args) >= 2 else _keyword(call, "tools")
            agents.append(Agent(variable or written, "LangChain", _langchain_tools(given)))
    return agents


def _langchain_tools(value: ast.AST | None) -> tuple[str, ...]:
    """LangChain's tools: a list literal's calls and names (variables not resolved), or ``$name`` for a variable
    holding the list."""
    if isinstance(value, ast.Name):
        return (f"${value.id}",)
    return tuple(_tool_list(value, {}))


# -- YAML ---------------------------------------------------------------------------------------------------------
def yaml_agents(document) -> list[Agent]:
    """The agents of one YAML document: top-level keys whose mapping has one of :data:`AGENT_KEYS`."""
    if not isinstance(document, dict):
        return []
    agents = []
    for key, value in document.items():
        if isinstance(value, dict) and any(k in value for k in AGENT_KEYS):
            tools, role = value.get("tools"), value.get("role")
            agents.append(
                Agent(
                    str(key),
                    "CrewAI",
                    tuple(map(str, tools)) if isinstance(tools, list) else (),
                    str(role).strip() if isinstance(role, str) else "",
                )
            )
    return agents


def may_define_agents(data: bytes) -> bool:
    """Whether a YAML file can hold an agent at all (one of the keys is written in it): most YAML is CI,
    compose or config and is never parsed for this."""
    return any(key.encode() in data for key in AGENT_KEYS)


def is_read_by_reference(path: str) -> bool:
    """False for files under a folder the reference skips (``node_modules/``, ``.venv/``…)."""
    return not SKIPPED_FOLDERS & set(path.split("/")[:-1])


# -- the repository -----------------------------------------------------------------------------------------------
def inventory(modules: list[ModuleCount], yaml_defined: list[Agent]) -> Inventory:
    """The repository's frameworks, agents and crews from its modules (in walk order) and YAML agents."""
    frameworks = _labels({record for m in modules for record in m.imports})
    agents: dict[tuple[str, str], Agent] = {}
    for agent in [*yaml_defined, *(replace(a, file=m.path) for m in modules for a in m.agents)]:
        known = agents.get((agent.name, agent.label))
        if known is not None:  # merged: the tools of both, the first role and place
            agent = replace(known, tools=tuple(dict.fromkeys(known.tools + agent.tools)), role=known.role or agent.role)
        agents[(agent.name, agent.label)] = agent
    listed = list(agents.values())
    crews = [crew for m in modules for crew in m.crewai_crews] if "CrewAI" in frameworks else []
    if "LangGraph" in frameworks:
        for m in modules:
            crews += [Crew("StateGraph", tuple(nodes), "graph") for nodes in m.graphs]
            listed += [Agent(node, "LangGraph", file=m.path) for nodes in m.graphs for node in nodes]
    if "LangChain" in frameworks:
        for m in modules:
            if m.langchain_agents:
                names = tuple(a.name for a in m.langchain_agents)
                crews.append(Crew("LangChain file", names, "single" if len(names) == 1 else "sequential"))
                listed += [replace(a, file=m.path) for a in m.langchain_agents]
    return Inventory(sorted(frameworks), listed, crews)


def _labels(records: set[str]) -> set[str]:
    prefixes = framework_table.reference_import_prefixes()
    return {label for record in records for prefix, label in prefixes if record.startswith(prefix)}


# -- the definitions, for docs/RULES.md (rendered by scanner/rules.py) ---------------------------------------------
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "frameworks",
        "labels of the import records of each module's top-level statements (`import x` → `x`, "
        "`import x as y` → `y` only, `from m import …` → `m`) that start with a framework's reference "
        "prefix (crewai, crewai_tools, langgraph, langchain, autogen, pydantic_ai, llama_index, smolagents, "
        "semantic_kernel, agno, phidata). Not seen: imports inside functions, `try` or `if`; Google ADK, "
        "the OpenAI Agents SDK, `phi`, `ag2`",
    ),
    (
        "agent_count",
        "YAML: every `.yaml`/`.yml` file's top-level keys whose mapping has role, goal, backstory or "
        "tools. Python, per file: functions decorated `@agent` (bare form), or else every call written "
        "`Agent`, `AgentExecutor`, `AssistantAgent` or `UserProxyAgent` (named by its `name=` constant, "
        "else by the callee; labelled CrewAI, LangChain, AutoGen, AutoGen). These merge on (name, label): "
        "all nameless `Agent(…)` calls of a repository are one agent. Appended unmerged: with LangGraph, "
        "each `StateGraph` assignment's literal `add_node` names (utility nodes too); with LangChain, each "
        "`v = AgentExecutor(…)` and `v = create_*_agent(…)`/`initialize_agent(…)` assignment. Not seen: "
        "positional agent names, `ConversableAgent`, LlamaIndex and SmolAgents agents, "
        "`create_agent`, folders `.venv`, `node_modules`, `__pycache__`",
    ),
    (
        "crew_count",
        "CrewAI: `Crew(agents=[…])` with a non-empty list literal, `@CrewBase` classes with `@agent` "
        "methods; LangGraph: every `StateGraph` assignment (even without literal nodes); LangChain: one "
        "per file with LangChain agents. AutoGen, Agno, LlamaIndex and SmolAgents teams are no crews",
    ),
    (
        "crew_size_distribution",
        "each crew's size, descending: list elements, `@agent` methods (call form too), "
        "literal nodes, the file's LangChain agents",
    ),
    (
        "agent_tool_count_distribution",
        "each agent's tools, descending: a YAML `tools:` list; the `tools=[…]` list "
        "literal of its call (or of the `Agent(…)` calls in an `@agent` function): a "
        "call is its callee, a variable the class it was built from; LangChain: a "
        "variable holding the list is one tool; LangGraph nodes have none; merged "
        "agents merge their tools",
    ),
    (
        "deployment_signals",
        "names at the repository root only: `Dockerfile`; `.github`, `.gitlab-ci.yml`, "
        "`.circleci`, `Jenkinsfile`; `tests`, `test`, `pytest.ini`, `tox.ini`; `poetry.lock`, "
        "`Pipfile.lock`, `uv.lock`, `requirements.txt`, `package-lock.json`; `.env.example`, "
        "`.env.template`, `.env.sample`. `deployment_score` counts the true ones",
    ),
    ("repo_metadata.primary_framework", "the label with most agents (ties: the first by name)"),
    (
        "topology_signature_hash",
        "empty, as the reference prints it in every ping of the 24 (`--offline`); the "
        "built-in's own hash is `detected_topology_signature_hash`",
    ),
)

DETECTED: tuple[tuple[str, str], ...] = (
    (
        "detected_frameworks",
        "frameworks from imports anywhere (functions, `try`), by the framework table's import "
        "packages: also Google ADK, the OpenAI Agents SDK (by its own names), `phi`, `ag2`",
    ),
    (
        "detected_agent_count",
        "agents of the project's model: each constructor of each framework (LlamaIndex, "
        "SmolAgents, ConversableAgent… included), named by its variable",
    ),
    ("detected_crew_count", "groups the code builds: crews, graphs, group chats, teams"),
    ("detected_crew_size_distribution", "their member counts, descending"),
    (
        "detected_deployment_signals",
        "the same signals anywhere in the tree (compose files, `Dockerfile.*`, `test_*.py`, more lock files)",
    ),
    ("detected_finding_rules", "the rule ids on the built-in's reading of the project (see Finding fields below)"),
    ("detected_finding_instance_counts", "their instance counts"),
    ("detected_risk_score", "the risk score of those findings"),
    (
        "detected_topology_signature_hash",
        "a Weisfeiler–Lehman hash of the agent graph's node and edge types (the "
        "audit's G5 and the split's topology groups read it where the ping's is "
        "empty)",
    ),
)
