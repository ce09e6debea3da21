"""From per-module facts to one model of a project: frameworks, agents, tools, groups, LLMs.

Detection is by usage resolved through imports, not by names: an ``Agent``
counts only when it is ``crewai.Agent`` or ``agno.agent.Agent``, a tool only
when a framework's decorator, base class, wrapper or agent constructor makes
it one. Each framework contributes through one small extractor function.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from .python_facts import Call, ModuleFacts

FRAMEWORK_PACKAGES = {
    "LangChain": ("langchain", "langchain_core", "langchain_community", "langchain_openai", "langchain_anthropic",
                  "langchain_ollama", "langchain_groq", "langchain_google_genai", "langchain_text_splitters"),
    "LangGraph": ("langgraph",),
    "CrewAI": ("crewai", "crewai_tools"),
    "AutoGen": ("autogen", "autogen_agentchat", "autogen_ext", "autogen_core", "pyautogen", "ag2"),
    "LlamaIndex": ("llama_index",),
    "Agno": ("agno", "phi"),
    "SmolAgents": ("smolagents",),
}

# Library tools by class name → what they can do.
LIBRARY_TOOL_OPS = {
    "ShellTool": {"shell"}, "PythonREPLTool": {"exec"}, "PythonAstREPLTool": {"exec"},
    "CodeInterpreterTool": {"exec"}, "FileWriterTool": {"file_write"}, "WriteFileTool": {"file_write"},
    "FileReadTool": {"file_read"}, "ReadFileTool": {"file_read"}, "ScrapeWebsiteTool": {"scrape", "http_no_timeout"},
    "SerperDevTool": {"web_search"}, "DuckDuckGoSearchRun": {"web_search"}, "DuckDuckGoSearchTool": {"web_search"},
    "DuckDuckGoTools": {"web_search"}, "TavilySearchResults": {"web_search"}, "WebsiteSearchTool": {"web_search"},
    "RequestsPostTool": {"http_write"}, "GmailSendMessage": {"email"},
}

PROVIDERS = {
    "ChatOpenAI": "openai", "OpenAI": "openai", "AzureChatOpenAI": "azure", "OpenAIChat": "openai",
    "OpenAIChatCompletionClient": "openai", "ChatAnthropic": "anthropic", "Anthropic": "anthropic",
    "Claude": "anthropic", "ChatOllama": "ollama", "Ollama": "ollama", "ChatGroq": "groq", "Groq": "groq",
    "ChatGoogleGenerativeAI": "google", "Gemini": "google", "InferenceClientModel": "huggingface",
    "HfApiModel": "huggingface", "LiteLLMModel": "litellm", "ChatMistralAI": "mistral",
}
_MODEL = re.compile(r"^(?:[a-z]+/)?(gpt-|o[1-9]|claude-|llama|qwen|mistral|mixtral|gemini|deepseek|phi|command-r|"
                    r"Qwen/|meta-llama/)[A-Za-z0-9._:/-]{0,60}$")
_MODEL_PREFIX_PROVIDER = {"gpt": "openai", "o1": "openai", "o3": "openai", "o4": "openai", "claude": "anthropic",
                          "llama": "ollama", "qwen": "huggingface", "mistral": "mistral", "mixtral": "mistral",
                          "gemini": "google", "deepseek": "deepseek"}

APPROVAL_OPS = {"shell", "exec", "file_write", "http_write", "email", "payment", "sql"}


@dataclass
class Tool:
    name: str
    ops: set[str] = field(default_factory=set)
    handled: bool = False  # has error handling


@dataclass
class Agent:
    name: str
    framework: str
    tools: list[str] = field(default_factory=list)
    human_approval: bool = False
    delegation: bool = False
    iteration_cap: bool = False
    code_execution: bool = False
    verbose: bool = False


@dataclass
class Group:
    """A crew, graph, team or group chat."""

    name: str
    framework: str
    kind: str
    members: list[str] = field(default_factory=list)
    flows: list[tuple[str, str]] = field(default_factory=list)
    human_approval: bool = False
    hierarchical: bool = False
    iteration_cap: bool = False
    checkpoint: str = "none"
    memory: bool = False


@dataclass
class RepoModel:
    frameworks: set[str] = field(default_factory=set)
    agents: dict[str, Agent] = field(default_factory=dict)
    tools: dict[str, Tool] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    providers: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    secrets: int = 0
    env_vars: set[str] = field(default_factory=set)
    http_calls: int = 0
    http_calls_with_timeout: int = 0
    memory_types: set[str] = field(default_factory=set)
    observability: bool = False
    eval_framework: bool = False
    mcp_servers: int = 0
    guardrails: list[str] = field(default_factory=list)


def build_model(modules: list[ModuleFacts], yaml_agents: dict[str, dict], yaml_tasks: dict[str, dict]) -> RepoModel:
    model = RepoModel()
    imports = set().union(*(m.imports for m in modules)) if modules else set()
    for fw, packages in FRAMEWORK_PACKAGES.items():
        if any(i.split(".")[0] in packages for i in imports):
            model.frameworks.add(fw)
    ops = _function_ops(modules)
    handled = set().union(*(m.handled for m in modules)) if modules else set()
    calls = [c for m in modules for c in m.calls]
    lists = {k: v for m in modules for k, v in m.lists.items()}
    _tools(model, modules, calls, ops, handled)
    for extractor in (_langchain, _langgraph, _crewai, _autogen, _llamaindex, _agno, _smolagents):
        extractor(model, modules, calls, lists, yaml_agents, yaml_tasks)
    for tool in model.tools.values():  # tools first met as agent arguments: their body's ops
        tool.ops |= ops.get(tool.name, set()) | ops.get(f"{tool.name}._run", set())
        tool.handled = tool.handled or tool.name in handled
    _llms(model, calls, modules, yaml_agents)
    model.secrets = sum(m.secrets for m in modules)
    model.env_vars = set().union(*(m.env_vars for m in modules)) if modules else set()
    http = [c for c in calls if c.name.startswith(("requests.", "httpx.")) and c.name.split(".")[-1] in
            ("get", "post", "put", "delete", "patch", "request")]
    model.http_calls, model.http_calls_with_timeout = len(http), sum("timeout" in c.keywords for c in http)
    model.observability = any(i.split(".")[0] in ("langsmith", "langfuse", "opentelemetry", "agentops", "phoenix")
                              for i in imports)
    model.eval_framework = any(i.split(".")[0] in ("ragas", "deepeval", "promptfoo", "trulens") for i in imports)
    model.mcp_servers = sum(1 for c in calls if "mcp" in c.name.lower() and c.name.split(".")[-1][0].isupper())
    return model


# -- shared helpers ------------------------------------------------------------------------------
def _function_ops(modules: list[ModuleFacts]) -> dict[str, set[str]]:
    """Ops of each function including the repository functions it calls (one level deep)."""
    direct: dict[str, set[str]] = defaultdict(set)
    callees: dict[str, set[str]] = defaultdict(set)
    for m in modules:
        for fn, fn_ops in m.function_ops.items():
            direct[fn] |= fn_ops
        for c in m.calls:
            if c.function:
                callees[c.function].add(c.name.split(".")[-1])
    return {fn: direct[fn] | set().union(*(direct.get(x, set()) for x in callees[fn])) for fn in direct}


def _is(call: Call, fw: str, *names: str) -> bool:
    root = call.name.split(".")[0]
    return root in FRAMEWORK_PACKAGES[fw] and call.name.split(".")[-1] in names


def _tool_refs(call: Call, lists: dict[str, list[str]], keyword: str = "tools") -> list[str]:
    names = call.list_kw.get(keyword)
    if names is None:
        value = call.keywords.get(keyword, "")
        if isinstance(value, str) and value.startswith("<name:"):
            names = lists.get(value[6:-1], [])
        else:
            names = [n for n in call.arg_names if n not in ("llm", "model", "prompt")]
            names = [x for n in names for x in lists.get(n, [n])]
    return names


def _add_agent(model: RepoModel, agent: Agent, lists: dict[str, list[str]]) -> None:
    agent.tools = [t for t in dict.fromkeys(agent.tools)]
    for t in agent.tools:
        model.tools.setdefault(t, Tool(t, set(LIBRARY_TOOL_OPS.get(t, set()))))
    name, n = agent.name, 1
    while name in model.agents:
        n += 1
        name = f"{agent.name}#{n}"
    agent.name = name
    model.agents[name] = agent


def _tools(model, modules, calls, ops, handled) -> None:
    """Custom tools: decorated functions, BaseTool subclasses, FunctionTool wrappers."""
    for m in modules:
        for dec, fn in m.decorated:
            if dec.split(".")[-1] == "tool" and dec.split(".")[0] in {p for ps in FRAMEWORK_PACKAGES.values() for p in ps}:
                model.tools[fn] = Tool(fn, set(ops.get(fn, set())), fn in handled)
        for cls, bases in m.classes:
            if any(b.split(".")[-1] in ("BaseTool", "Tool", "StructuredTool") for b in bases):
                run = f"{cls}._run" if f"{cls}._run" in ops else f"{cls}.forward"
                model.tools[cls] = Tool(cls, set(ops.get(run, set())), run in handled)
    for c in calls:
        if c.name.endswith(("FunctionTool.from_defaults", "register_function")):
            fn = c.keywords.get("fn")
            target = fn[6:-1] if isinstance(fn, str) and fn.startswith("<name:") else (c.arg_names or [None])[0]
            if target:
                model.tools[target] = Tool(target, set(ops.get(target, set())), target in handled)
    for t in model.tools.values():
        t.ops |= LIBRARY_TOOL_OPS.get(t.name, set())


# -- one extractor per framework ------------------------------------------------------------------
def _langchain(model, modules, calls, lists, *_):
    executors = [c for c in calls if _is(c, "LangChain", "AgentExecutor", "initialize_agent")]
    makers = {c.target: c for c in calls if _is(c, "LangChain", "create_tool_calling_agent", "create_react_agent",
                                                      "create_openai_tools_agent", "create_structured_chat_agent")}
    for c in executors:
        agent_ref = c.keywords.get("agent", "")
        maker = makers.pop(agent_ref[6:-1], None) if isinstance(agent_ref, str) and agent_ref.startswith("<name:") else None
        tools = _tool_refs(c, lists) or (_tool_refs(maker, lists) if maker else [])
        _add_agent(model, Agent(c.target or f"executor_{c.line}", "LangChain", tools,
                                iteration_cap="max_iterations" in c.keywords or "max_execution_time" in c.keywords,
                                verbose=c.keywords.get("verbose") is True), lists)
    for target, c in makers.items():
        _add_agent(model, Agent(target or f"agent_{c.line}", "LangChain", _tool_refs(c, lists)), lists)
    if any(_is(c, "LangChain", "ConversationBufferMemory", "ConversationSummaryMemory") for c in calls):
        model.memory_types.add("conversation_buffer")


def _langgraph(model, modules, calls, lists, *_):
    for c in calls:
        if _is(c, "LangGraph", "create_react_agent"):
            _add_agent(model, Agent(c.target or f"react_{c.line}", "LangGraph", _tool_refs(c, lists)), lists)
    graphs = [c for c in calls if _is(c, "LangGraph", "StateGraph", "MessageGraph")]
    if not graphs:
        return
    node_ref: dict[str, str] = {}  # graph node name → the variable (agent or function) that runs it
    for c in calls:
        if c.name.endswith(".add_node") and c.args:
            name = c.args[0] if isinstance(c.args[0], str) and not c.args[0].startswith("<") else None
            ref = c.args[1][6:-1] if len(c.args) > 1 and str(c.args[1]).startswith("<name:") else name
            if name or ref:
                node_ref[name or ref] = ref or name
    group = Group(graphs[0].target or "graph", "LangGraph", "graph")
    for ref in node_ref.values():
        if ref not in model.agents:
            _add_agent(model, Agent(ref, "LangGraph"), lists)
        group.members.append(ref)
    for c in calls:
        if c.name.endswith(".add_edge") and len(c.args) == 2:
            a, b = (node_ref.get(x) if isinstance(x, str) else None for x in c.args)
            if a and b:
                group.flows.append((a, b))
    group.hierarchical = any(c.name.endswith(".add_conditional_edges") for c in calls)
    compiles = [c for c in calls if c.name.endswith(".compile")]
    for c in compiles:
        if "checkpointer" in c.keywords:
            group.checkpoint = "memory" if any(_is(x, "LangGraph", "MemorySaver", "InMemorySaver") for x in calls) \
                else "persistent"
        if "interrupt_before" in c.keywords or "interrupt_after" in c.keywords:
            group.human_approval = True
            model.guardrails.append("interrupt")
    model.groups.append(group)


def _crewai(model, modules, calls, lists, yaml_agents, yaml_tasks):
    for c in calls:
        if _is(c, "CrewAI", "Agent"):
            name = c.target or (c.keywords.get("config") and str(c.keywords.get("config"))) or f"agent_{c.line}"
            name = c.function if c.function and not c.target else name
            _add_agent(model, Agent(name.split(".")[-1], "CrewAI", _tool_refs(c, lists),
                                    delegation=c.keywords.get("allow_delegation") is True,
                                    iteration_cap="max_iter" in c.keywords,
                                    code_execution=c.keywords.get("allow_code_execution") is True,
                                    verbose=c.keywords.get("verbose") is True), lists)
    human_tasks = {c.keywords.get("agent", "") for c in calls if _is(c, "CrewAI", "Task")
                   and c.keywords.get("human_input") is True}
    human_yaml = any(t.get("human_input") for t in yaml_tasks.values())
    for c in calls:
        if not _is(c, "CrewAI", "Crew"):
            continue
        members = c.list_kw.get("agents") or [a.name for a in model.agents.values() if a.framework == "CrewAI"]
        process = str(c.keywords.get("process", ""))
        group = Group(c.target or c.function or "crew", "CrewAI", "crew", list(members),
                      hierarchical="hierarchical" in process.lower() or "manager_llm" in c.keywords,
                      memory=c.keywords.get("memory") is True,
                      human_approval=bool(human_tasks - {""}) or human_yaml)
        group.flows = list(zip(group.members, group.members[1:]))
        if group.memory:
            model.memory_types.add("crew_memory")
        if group.human_approval:
            model.guardrails.append("human_input")
            for m in group.members:
                if m in model.agents:
                    model.agents[m].human_approval = True
        model.groups.append(group)


def _autogen(model, modules, calls, lists, *_):
    registered = defaultdict(list)
    for c in calls:
        if c.name.split(".")[0] in FRAMEWORK_PACKAGES["AutoGen"] and c.name.endswith("register_function"):
            caller = c.keywords.get("caller", "")
            if isinstance(caller, str) and caller.startswith("<name:") and c.arg_names:
                registered[caller[6:-1]].append(c.arg_names[0])
    for c in calls:
        if _is(c, "AutoGen", "AssistantAgent", "ConversableAgent", "UserProxyAgent", "CodeExecutorAgent"):
            name = c.target or f"agent_{c.line}"
            code = c.keywords.get("code_execution_config")
            executes = isinstance(code, dict) or c.name.endswith("CodeExecutorAgent")
            mode = c.keywords.get("human_input_mode")
            human = mode in ("ALWAYS", "TERMINATE") or ("input_func" in c.keywords)
            _add_agent(model, Agent(name, "AutoGen", _tool_refs(c, lists) + registered.get(name, []),
                                    human_approval=human, code_execution=executes,
                                    iteration_cap="max_consecutive_auto_reply" in c.keywords), lists)
            if human:
                model.guardrails.append("human_input_mode")
    for c in calls:
        if _is(c, "AutoGen", "GroupChat", "RoundRobinGroupChat", "SelectorGroupChat", "Swarm"):
            members = c.list_kw.get("agents") or c.arg_names
            members = [m for m in members if m in model.agents]
            group = Group(c.target or "team", "AutoGen", "team", members,
                          hierarchical=c.name.endswith(("SelectorGroupChat", "Swarm")),
                          iteration_cap="max_round" in c.keywords or "termination_condition" in c.keywords,
                          human_approval=any(model.agents[m].human_approval for m in members))
            group.flows = list(zip(members, members[1:] + members[:1])) if len(members) > 1 else []
            if group.iteration_cap:
                model.guardrails.append("termination")
            model.groups.append(group)


def _llamaindex(model, modules, calls, lists, *_):
    for c in calls:
        if _is(c, "LlamaIndex", "from_tools", "ReActAgent", "FunctionAgent", "FunctionCallingAgent", "OpenAIAgent"):
            tools = _tool_refs(c, lists)
            _add_agent(model, Agent(c.target or f"agent_{c.line}", "LlamaIndex", tools,
                                    iteration_cap="max_iterations" in c.keywords), lists)
    for c in calls:
        if _is(c, "LlamaIndex", "from_defaults") and c.name.endswith("QueryEngineTool.from_defaults") and c.target:
            model.tools.setdefault(c.target, Tool(c.target, {"vector_search"}))
    if any(_is(c, "LlamaIndex", "VectorStoreIndex", "from_documents") for c in calls):
        model.memory_types.add("vector_index")


def _agno(model, modules, calls, lists, *_):
    for c in calls:
        if _is(c, "Agno", "Agent") and c.name.split(".")[0] in ("agno", "phi"):
            _add_agent(model, Agent(c.target or f"agent_{c.line}", "Agno", _tool_refs(c, lists)), lists)
    for c in calls:
        if _is(c, "Agno", "Team"):
            members = [m for m in c.list_kw.get("members", []) if m in model.agents]
            model.groups.append(Group(c.target or "team", "Agno", "team", members,
                                      hierarchical=c.keywords.get("mode") in ("coordinate", "route")))


def _smolagents(model, modules, calls, lists, *_):
    for c in calls:
        if _is(c, "SmolAgents", "CodeAgent", "ToolCallingAgent", "MultiStepAgent"):
            _add_agent(model, Agent(c.target or f"agent_{c.line}", "SmolAgents", _tool_refs(c, lists),
                                    code_execution=c.name.endswith("CodeAgent"),
                                    iteration_cap="max_steps" in c.keywords), lists)


def _llms(model, calls, modules, yaml_agents) -> None:
    for c in calls:
        provider = PROVIDERS.get(c.name.split(".")[-1])
        root = c.name.split(".")[0]
        framework_root = root in {p for ps in FRAMEWORK_PACKAGES.values() for p in ps} or root in ("openai", "anthropic")
        if provider and framework_root:
            model.providers.add(provider)
            for key in ("model", "model_id", "id", "model_name"):
                _add_model(model, c.keywords.get(key))
            continue
        for key in ("llm", "model"):  # CrewAI's llm="groq/mixtral-…", LiteLLM-style model strings
            value = c.keywords.get(key)
            if isinstance(value, str) and _MODEL.match(value):
                _add_model(model, value, infer_provider=True)
    for agent in yaml_agents.values():
        _add_model(model, agent.get("llm"), infer_provider=True)
    for m in modules:
        for s in m.strings:
            if s.startswith(("gpt-", "claude-")) and _MODEL.match(s):
                _add_model(model, s, infer_provider=True)


def _add_model(model: RepoModel, value, infer_provider: bool = False) -> None:
    if not isinstance(value, str) or not _MODEL.match(value):
        return
    provider, _, name = value.partition("/") if "/" in value and value.split("/")[0].islower() else ("", "", value)
    if provider and provider not in ("meta-llama",):
        model.providers.add(provider)
    model.models.add(name or value)
    if infer_provider and not provider:
        for prefix, p in _MODEL_PREFIX_PROVIDER.items():
            if value.lower().startswith(prefix):
                model.providers.add(p)
                break
