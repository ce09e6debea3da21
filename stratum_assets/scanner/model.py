"""From per-module facts to one model of a project: frameworks, agents, tools, groups, LLMs.

Detection is by usage resolved through imports, not by names: an ``Agent``
counts only when it is ``crewai.Agent``, ``agno.agent.Agent``, ``pydantic_ai.Agent``…, a
tool only when a framework's decorator, base class, wrapper or agent constructor makes
it one. Each framework contributes through one small extractor function.

Scope: a group (crew, graph, team) holds its own agents. A ``@CrewBase`` crew holds the
``@agent`` methods of its own class; a name in a crew's or team's member list is looked up
in its own module first, then in its folder, then anywhere; each ``StateGraph`` holds the
nodes added to it. Two agents with the same name in two places are two agents.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from urllib.parse import urlparse

from ..domain import frameworks as framework_table  # which imports are which framework: the table's `imports`
from ..domain.frameworks import OPENAI_AGENTS_SDK  # its `agents` import counts only with the SDK's own names
from .python_facts import Call, ModuleFacts

# Names the OpenAI Agents SDK exports; a `from agents import …` counts only when every name is one of
# these and at least one is not a word a local `agents` package would export as well.
_SDK_GENERIC = {
    "Agent",
    "Tool",
    "FunctionTool",
    "Model",
    "ModelProvider",
    "ModelResponse",
    "Session",
    "Usage",
    "Trace",
    "Span",
    "Computer",
    "Prompt",
    "Handoff",
    "trace",
    "UserError",
    "StreamEvent",
    "RunItem",
    "RunResult",
    "OpenAIProvider",
    "AgentHooks",
    "AgentBase",
}
_SDK_DISTINCTIVE = {
    "Runner",
    "function_tool",
    "handoff",
    "RunContextWrapper",
    "ModelSettings",
    "RunConfig",
    "RunHooks",
    "GuardrailFunctionOutput",
    "input_guardrail",
    "output_guardrail",
    "InputGuardrail",
    "OutputGuardrail",
    "InputGuardrailTripwireTriggered",
    "OutputGuardrailTripwireTriggered",
    "InputGuardrailResult",
    "OutputGuardrailResult",
    "gen_trace_id",
    "gen_span_id",
    "set_default_openai_key",
    "set_default_openai_client",
    "set_default_openai_api",
    "set_tracing_disabled",
    "set_tracing_export_api_key",
    "set_trace_processors",
    "add_trace_processor",
    "OpenAIChatCompletionsModel",
    "OpenAIResponsesModel",
    "WebSearchTool",
    "FileSearchTool",
    "ComputerTool",
    "HostedMCPTool",
    "CodeInterpreterTool",
    "ImageGenerationTool",
    "LocalShellTool",
    "ItemHelpers",
    "SQLiteSession",
    "enable_verbose_stdout_logging",
    "MaxTurnsExceeded",
    "TResponseInputItem",
    "AgentOutputSchema",
    "AgentOutputSchemaBase",
    "AgentsException",
    "ModelBehaviorError",
    "RunResultStreaming",
    "RunErrorDetails",
    "HandoffInputData",
    "HandoffInputFilter",
    "MessageOutputItem",
    "ToolCallItem",
    "ToolCallOutputItem",
    "ReasoningItem",
    "HandoffCallItem",
    "HandoffOutputItem",
    "RawResponsesStreamEvent",
    "RunItemStreamEvent",
    "AgentUpdatedStreamEvent",
    "StopAtTools",
    "ToolsToFinalOutputResult",
    "FunctionToolResult",
    "AsyncComputer",
    "ModelTracing",
    "agent_span",
    "custom_span",
    "function_span",
    "generation_span",
    "guardrail_span",
    "handoff_span",
    "get_current_span",
    "get_current_trace",
    "default_tool_error_function",
    "RealtimeAgent",
}
_SDK_SUBMODULES = {
    "mcp",
    "extensions",
    "model_settings",
    "tracing",
    "voice",
    "realtime",
    "run_context",
    "handoffs",
    "lifecycle",
    "agent_output",
    "stream_events",
    "guardrail",
}

# Library tools by class name → what they can do.
LIBRARY_TOOL_OPS = {
    "ShellTool": {"shell"},
    "PythonREPLTool": {"exec"},
    "PythonAstREPLTool": {"exec"},
    "CodeInterpreterTool": {"exec"},
    "FileWriterTool": {"file_write"},
    "WriteFileTool": {"file_write"},
    "FileReadTool": {"file_read"},
    "ReadFileTool": {"file_read"},
    "ScrapeWebsiteTool": {"scrape", "http_no_timeout"},
    "SerperDevTool": {"web_search"},
    "DuckDuckGoSearchRun": {"web_search"},
    "DuckDuckGoSearchTool": {"web_search"},
    "DuckDuckGoTools": {"web_search"},
    "TavilySearchResults": {"web_search"},
    "WebsiteSearchTool": {"web_search"},
    "RequestsPostTool": {"http_write"},
    "GmailSendMessage": {"email"},
}

# -- LLM providers ---------------------------------------------------------------------------------------
# A client or model class names its provider (strongest evidence, after a literal base_url).
PROVIDERS = {
    # openai
    "ChatOpenAI": "openai",
    "OpenAI": "openai",
    "AsyncOpenAI": "openai",
    "OpenAIChat": "openai",
    "OpenAIChatCompletionClient": "openai",
    "OpenAIModel": "openai",
    "OpenAIChatModel": "openai",
    "OpenAIResponsesModel": "openai",
    "OpenAIServerModel": "openai",
    "OpenAIProvider": "openai",
    "OpenAIChatCompletionsModel": "openai",
    "OpenAIChatCompletion": "openai",
    "OpenAIResponses": "openai",
    # azure
    "AzureChatOpenAI": "azure",
    "AzureOpenAI": "azure",
    "AsyncAzureOpenAI": "azure",
    "AzureOpenAIModel": "azure",
    "AzureOpenAIChatCompletionClient": "azure",
    "AzureChatCompletion": "azure",
    "AzureOpenAIServerModel": "azure",
    "AzureAIChatCompletionClient": "azure",
    "AzureProvider": "azure",
    # anthropic
    "ChatAnthropic": "anthropic",
    "Anthropic": "anthropic",
    "AsyncAnthropic": "anthropic",
    "Claude": "anthropic",
    "AnthropicModel": "anthropic",
    "AnthropicProvider": "anthropic",
    "AnthropicChatCompletionClient": "anthropic",
    "AnthropicChatCompletion": "anthropic",
    # ollama
    "ChatOllama": "ollama",
    "Ollama": "ollama",
    "OllamaLLM": "ollama",
    "OllamaChatCompletionClient": "ollama",
    "OllamaProvider": "ollama",
    "OllamaChatCompletion": "ollama",
    "OllamaChat": "ollama",
    "OllamaFunctions": "ollama",
    # groq
    "ChatGroq": "groq",
    "Groq": "groq",
    "AsyncGroq": "groq",
    "GroqModel": "groq",
    "GroqProvider": "groq",
    # google
    "ChatGoogleGenerativeAI": "google",
    "GoogleGenerativeAI": "google",
    "Gemini": "google",
    "GoogleModel": "google",
    "GoogleProvider": "google",
    "GeminiModel": "google",
    "GoogleGenAI": "google",
    "ChatVertexAI": "google",
    "VertexAI": "google",
    "GenerativeModel": "google",
    "GoogleAIChatCompletion": "google",
    "VertexAIChatCompletion": "google",
    "GoogleVertexProvider": "google",
    "GoogleGLAProvider": "google",
    # mistral
    "ChatMistralAI": "mistral",
    "MistralAI": "mistral",
    "Mistral": "mistral",
    "MistralModel": "mistral",
    "MistralProvider": "mistral",
    "MistralAIChatCompletion": "mistral",
    # together, fireworks, deepseek, openrouter, cohere, xai
    "ChatTogether": "together",
    "Together": "together",
    "TogetherLLM": "together",
    "TogetherProvider": "together",
    "ChatFireworks": "fireworks",
    "Fireworks": "fireworks",
    "FireworksProvider": "fireworks",
    "ChatDeepSeek": "deepseek",
    "DeepSeek": "deepseek",
    "DeepSeekProvider": "deepseek",
    "OpenRouter": "openrouter",
    "OpenRouterProvider": "openrouter",
    "ChatOpenRouter": "openrouter",
    "ChatCohere": "cohere",
    "Cohere": "cohere",
    "CohereModel": "cohere",
    "CohereProvider": "cohere",
    "ChatXAI": "xai",
    "Grok": "xai",
    # bedrock
    "ChatBedrock": "bedrock",
    "ChatBedrockConverse": "bedrock",
    "BedrockChat": "bedrock",
    "Bedrock": "bedrock",
    "BedrockConverse": "bedrock",
    "BedrockModel": "bedrock",
    "BedrockConverseModel": "bedrock",
    "AwsBedrock": "bedrock",
    "BedrockChatCompletion": "bedrock",
    "BedrockProvider": "bedrock",
    # huggingface
    "InferenceClientModel": "huggingface",
    "HfApiModel": "huggingface",
    "HuggingFaceEndpoint": "huggingface",
    "ChatHuggingFace": "huggingface",
    "HuggingFaceLLM": "huggingface",
    "HuggingFaceInferenceAPI": "huggingface",
    "TransformersModel": "huggingface",
    "HuggingFaceModel": "huggingface",
    "InferenceClient": "huggingface",
}
# Routers: the provider is in the model string ("groq/llama-3.3-70b-versatile", "openai:gpt-4o") or a keyword.
_ROUTERS = {
    "LiteLLMModel",
    "LiteLlm",
    "ChatLiteLLM",
    "LiteLLM",
    "LLM",
    "init_chat_model",
    "completion",
    "acompletion",
    "Agent",
    "OpenAILike",
}
# Modules whose calls are LLM clients whatever the class (ollama.chat, genai.Client, genai.GenerativeModel).
_MODULE_PROVIDER = {"ollama": "ollama", "google.genai": "google", "google.generativeai": "google", "vertexai": "google"}
_LLM_MODULES = (
    "openai",
    "anthropic",
    "groq",
    "mistralai",
    "cohere",
    "together",
    "fireworks",
    "ollama",
    "litellm",
    "google.genai",
    "google.generativeai",
    "vertexai",
    "huggingface_hub",
    "boto3",
)
# "provider/model" (LiteLLM) and "provider:model" (PydanticAI, LangChain) prefixes; provider= keyword values.
_PREFIX_PROVIDER = {
    "openai": "openai",
    "azure": "azure",
    "azure_ai": "azure",
    "anthropic": "anthropic",
    "groq": "groq",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "gemini": "google",
    "vertex_ai": "google",
    "google-gla": "google",
    "google-vertex": "google",
    "google_genai": "google",
    "google_vertexai": "google",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "mistral": "mistral",
    "together_ai": "together",
    "together": "together",
    "fireworks_ai": "fireworks",
    "fireworks": "fireworks",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "huggingface": "huggingface",
    "cohere": "cohere",
    "xai": "xai",
    "perplexity": "perplexity",
    "cerebras": "cerebras",
    "sambanova": "sambanova",
    "nvidia_nim": "nvidia",
    "deepinfra": "deepinfra",
    "replicate": "replicate",
    "watsonx": "watsonx",
    "databricks": "databricks",
    "sagemaker": "bedrock",
}
_PROVIDER_NAMES = {
    **_PREFIX_PROVIDER,
    "mistralai": "mistral",
    "azure_openai": "azure",
    "aws": "bedrock",
    "hf": "huggingface",
    "google": "google",
    "google-genai": "google",
    "grok": "xai",
}
_HOST_PROVIDER = (
    (":11434", "ollama"),
    ("ollama", "ollama"),
    ("api.groq.com", "groq"),
    ("together.xyz", "together"),
    ("together.ai", "together"),
    ("fireworks.ai", "fireworks"),
    ("deepseek.com", "deepseek"),
    ("openrouter.ai", "openrouter"),
    ("generativelanguage.googleapis.com", "google"),
    ("aiplatform.googleapis.com", "google"),
    ("mistral.ai", "mistral"),
    ("azure.com", "azure"),
    ("anthropic.com", "anthropic"),
    ("api.openai.com", "openai"),
    ("api.x.ai", "xai"),
    ("cerebras.ai", "cerebras"),
    ("huggingface.co", "huggingface"),
    ("hf.space", "huggingface"),
    ("perplexity.ai", "perplexity"),
    ("amazonaws.com", "bedrock"),
    ("deepinfra.com", "deepinfra"),
    ("sambanova.ai", "sambanova"),
    ("nvidia.com", "nvidia"),
    ("cohere.", "cohere"),
)
_BASE_URL_KEYS = ("base_url", "api_base", "openai_api_base", "endpoint", "host")
_MODEL_KEYS = ("model", "model_name", "model_id", "id", "ai_model_id", "deployment_name", "azure_deployment")
# Model families that only their maker serves: the last resort for a provider. Open-weights families (llama, qwen,
# mistral, mixtral, phi, gemma…) run anywhere, so their name alone names no provider.
_FAMILY_PROVIDER = (
    (re.compile(r"^(gpt-|chatgpt-|gpt4|o[134](-|$)|text-davinci|text-embedding-)"), "openai"),
    (re.compile(r"^claude-"), "anthropic"),
    (re.compile(r"^gemini-"), "google"),
    (re.compile(r"^deepseek-(chat|reasoner)$"), "deepseek"),
    (
        re.compile(
            r"^(mistral-(large|medium|small|tiny|saba)-|codestral-|open-mistral-|open-mixtral-|ministral-|"
            r"pixtral-|magistral-)"
        ),
        "mistral",
    ),
    (re.compile(r"^grok-"), "xai"),
)
_MODEL = re.compile(
    r"^(?:[a-z][a-z0-9_-]*/)?(gpt-|o[1-9]|claude-|llama|qwen|mistral|mixtral|gemini|gemma|deepseek|"
    r"phi|command-r|grok-|codestral|Qwen/|meta-llama/|mistralai/)[A-Za-z0-9._:/-]{0,80}$"
)
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$")

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
    role: str = ""  # set where the role is known with the agent (the reference's agents); else read from its site


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
    mcp_servers: int = 0
    guardrails: list[str] = field(default_factory=list)


@dataclass
class _Defined:
    final: str  # the agent's key in RepoModel.agents
    module: int
    framework: str


@dataclass
class _Context:
    """What the extractors share: the modules, their calls, and where each agent was defined."""

    modules: list[ModuleFacts]
    calls: list[Call]
    lists: dict[str, list[str]]
    yaml_tasks: dict[str, dict]
    yaml_files: dict[str, dict] | None
    defined: list[_Defined] = field(default_factory=list)
    by_local: dict[str, list[_Defined]] = field(default_factory=lambda: defaultdict(list))

    def folder(self, module: int) -> str:
        return posixpath.dirname(self.modules[module].path) if 0 <= module < len(self.modules) else ""

    def add(self, model: RepoModel, agent: Agent, module: int = -1, local: str | None = None) -> str:
        """Adds the agent to the model and remembers it under the name its code uses (``local``, else the name it
        had before the model made it unique)."""
        local = local or agent.name
        _add_agent(model, agent)
        defined = _Defined(agent.name, module, agent.framework)
        self.defined.append(defined)
        self.by_local[local].append(defined)
        return agent.name

    def resolve(self, local: str, module: int, anywhere: bool = True, framework: str | None = None) -> str | None:
        """The agent a name means where it is used: same module, then same folder, then (optionally) anywhere."""
        candidates = [d for d in self.by_local.get(local, ()) if framework in (None, d.framework)]
        folder = self.folder(module)
        for scope in (lambda d: d.module == module, lambda d: self.folder(d.module) == folder, lambda d: anywhere):
            found = [d for d in candidates if scope(d)]
            if found:
                return found[0].final
        return None

    def members(self, names: list[str], module: int, framework: str | None = None) -> list[str]:
        return [self.resolve(n, module, framework=framework) or n for n in names]

    def local_list(self, ref, module: int) -> list[str] | None:
        """The names of a list variable (agents=team) as its own module assigns it, else any module's."""
        if not (isinstance(ref, str) and ref.startswith("<name:")):
            return None
        name = ref[6:-1]
        if 0 <= module < len(self.modules) and name in self.modules[module].lists:
            return self.modules[module].lists[name]
        return self.lists.get(name)


def build_model(
    modules: list[ModuleFacts],
    yaml_agents: dict[str, dict],
    yaml_tasks: dict[str, dict],
    yaml_files: dict[str, dict] | None = None,
) -> RepoModel:
    """The project model; ``yaml_files`` (repository path → entries of each CrewAI YAML file) scopes YAML to crews."""
    model = RepoModel()
    for i, m in enumerate(modules):
        for c in m.calls:
            c.module = i
    model.frameworks = detect_frameworks(modules)
    ops = _function_ops(modules)
    handled = set().union(*(m.handled for m in modules)) if modules else set()
    calls = [c for m in modules for c in m.calls]
    lists = {k: v for m in modules for k, v in m.lists.items()}
    ctx = _Context(modules, calls, lists, yaml_tasks, yaml_files)
    _tools(model, modules, calls, ops, handled)
    for framework in framework_table.FRAMEWORKS:  # each row's agents and groups, by its extractor below
        if framework.label in EXTRACTORS:  # a new row without one is detected, its agents not yet known
            EXTRACTORS[framework.label](model, ctx)
    for tool in model.tools.values():  # tools first met as agent arguments: their body's ops
        tool.ops |= ops.get(tool.name, set()) | ops.get(f"{tool.name}._run", set())
        tool.handled = tool.handled or tool.name in handled
    _llms(model, calls, modules, yaml_agents)
    model.secrets = sum(m.secrets for m in modules)
    model.env_vars = set().union(*(m.env_vars for m in modules)) if modules else set()
    http = [
        c
        for c in calls
        if c.name.startswith(("requests.", "httpx."))
        and c.name.split(".")[-1] in ("get", "post", "put", "delete", "patch", "request")
    ]
    model.http_calls, model.http_calls_with_timeout = len(http), sum("timeout" in c.keywords for c in http)
    model.mcp_servers = sum(1 for c in calls if "mcp" in c.name.lower() and c.name.split(".")[-1][0].isupper())
    return model


# -- frameworks ----------------------------------------------------------------------------------------
@framework_table.derived
def _import_index(table) -> tuple[tuple[tuple[str, str, bool], ...], dict[str, str | None]]:
    """Every import entry of the table as (label, package or prefix, is a prefix), in table order; and a memo.

    "x_*" matches every top-level package starting with "x_"; a dotted entry ("google.adk") matches that
    module and its submodules.
    """
    entries = tuple((f.label, p[:-1] if p.endswith("_*") else p, p.endswith("_*")) for f in table for p in f.imports)
    return entries, {}


_MEMO_LIMIT = 65536


def framework_of(dotted: str) -> str | None:
    """The framework label of a module or resolved call name ("langchain_aws.ChatBedrock" → "LangChain")."""
    entries, memo = _import_index()
    if dotted in memo:
        return memo[dotted]
    root = dotted.split(".")[0]
    found = next(
        (
            fw
            for fw, package, prefix in entries
            if (root.startswith(package) if prefix else dotted == package or dotted.startswith(package + "."))
        ),
        None,
    )
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[dotted] = found
    return found


def detect_frameworks(modules: list[ModuleFacts]) -> set[str]:
    found = {fw for m in modules for i in m.imports if (fw := framework_of(i)) and fw != OPENAI_AGENTS_SDK}
    if _uses_openai_agents_sdk(modules):
        found.add(OPENAI_AGENTS_SDK)
    return found


def _uses_openai_agents_sdk(modules: list[ModuleFacts]) -> bool:
    """``agents`` is also the name of countless local packages: only the SDK's own names count."""
    local = set()
    for m in modules:
        parts = m.path[:-3].split("/") if m.path.endswith(".py") else []
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        local |= {".".join(parts[i:]) for i in range(len(parts))}
    for m in modules:
        names = {n.split(".", 1)[1] for n in m.imported_names if n.startswith("agents.") and n.count(".") == 1}
        if names and names <= (_SDK_DISTINCTIVE | _SDK_GENERIC) and names & _SDK_DISTINCTIVE:
            return True
        for i in m.imports:
            parts = i.split(".")
            if (
                parts[0] == "agents"
                and len(parts) > 1
                and parts[1] in _SDK_SUBMODULES
                and ".".join(parts[:2]) not in local
            ):
                return True
    return False


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
    return call.name.split(".")[-1] in names and framework_of(call.name) == fw


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


def _add_agent(model: RepoModel, agent: Agent) -> None:
    agent.tools = list(dict.fromkeys(agent.tools))
    for t in agent.tools:
        model.tools.setdefault(t, Tool(t, set(LIBRARY_TOOL_OPS.get(t, set()))))
    name, n = agent.name, 1
    while name in model.agents:
        n += 1
        name = f"{agent.name}#{n}"
    agent.name = name
    model.agents[name] = agent


def _add(
    model: RepoModel,
    ctx: _Context,
    agent: Agent,
    call: Call | None = None,
    local: str | None = None,
    module: int | None = None,
) -> str:
    return ctx.add(model, agent, call.module if call else (module if module is not None else -1), local)


def _tools(model, modules, calls, ops, handled) -> None:
    """Custom tools: decorated functions, BaseTool subclasses, FunctionTool wrappers."""
    sdk = OPENAI_AGENTS_SDK in model.frameworks
    for m in modules:
        for dec, fn in m.decorated:
            fw = framework_of(dec)
            if (
                dec.split(".")[-1] in ("tool", "function_tool", "kernel_function")
                and fw
                and (fw != OPENAI_AGENTS_SDK or sdk)
            ):
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


# -- one extractor per framework row (domain/frameworks.py), registered under its label ----------------------------
EXTRACTORS: dict[str, Callable[[RepoModel, _Context], None]] = {}


def _extracts(label: str):
    """Register the function that finds the agents and groups of framework ``label`` (a row of the table)."""

    def register(extractor):
        EXTRACTORS[label] = extractor
        return extractor

    return register


@_extracts("LangChain")
def _langchain(model, ctx):
    calls, lists = ctx.calls, ctx.lists
    executors = [c for c in calls if _is(c, "LangChain", "AgentExecutor", "initialize_agent")]
    makers = {
        (c.module, c.target): c
        for c in calls
        if _is(
            c,
            "LangChain",
            "create_tool_calling_agent",
            "create_react_agent",
            "create_openai_tools_agent",
            "create_structured_chat_agent",
        )
    }
    for c in executors:
        agent_ref = c.keywords.get("agent", "")
        maker = (
            makers.pop((c.module, agent_ref[6:-1]), None)
            if isinstance(agent_ref, str) and agent_ref.startswith("<name:")
            else None
        )
        tools = _tool_refs(c, lists) or (_tool_refs(maker, lists) if maker else [])
        _add(
            model,
            ctx,
            Agent(
                c.target or f"executor_{c.line}",
                "LangChain",
                tools,
                iteration_cap="max_iterations" in c.keywords or "max_execution_time" in c.keywords,
                verbose=c.keywords.get("verbose") is True,
            ),
            c,
        )
    for (_, target), c in makers.items():
        _add(model, ctx, Agent(target or f"agent_{c.line}", "LangChain", _tool_refs(c, lists)), c)
    if any(_is(c, "LangChain", "ConversationBufferMemory", "ConversationSummaryMemory") for c in calls):
        model.memory_types.add("conversation_buffer")


_UTILITY_NODES = ("ToolNode", "ValidationNode")


@_extracts("LangGraph")
def _langgraph(model, ctx):
    calls, lists = ctx.calls, ctx.lists
    for c in calls:
        if _is(c, "LangGraph", "create_react_agent"):
            _add(model, ctx, Agent(c.target or f"react_{c.line}", "LangGraph", _tool_refs(c, lists)), c)
    graphs = [c for c in calls if _is(c, "LangGraph", "StateGraph", "MessageGraph")]
    if not graphs:
        return
    groups: dict[tuple, Group] = {}
    nodes: dict[tuple, dict[str, str]] = {}  # graph → node name → the variable (agent or function) that runs it
    for g in graphs:
        key = (g.module, g.function, g.target)
        if key not in groups:
            groups[key] = Group(g.target or "graph", "LangGraph", "graph")
            nodes[key] = {}
    utility_vars = {(c.module, c.target) for c in calls if c.target and c.name.split(".")[-1] in _UTILITY_NODES}

    def owner(c: Call, method: str) -> tuple | None:
        """The graph a builder call belongs to: its own variable here, else this module's graph, else the only
        graph of that variable name (a builder imported from another module)."""
        var = c.name[: -len(method) - 1]
        if (c.module, c.function, var) in groups:
            return (c.module, c.function, var)
        here = [k for k in groups if k[0] == c.module]
        named = [k for k in here if k[2] == var] or here
        if named:
            return named[0]
        elsewhere = [k for k in groups if k[2] == var]
        return elsewhere[0] if len(elsewhere) == 1 else None

    by_graph: dict[tuple, dict[str, list[Call]]] = {key: defaultdict(list) for key in groups}
    for c in calls:
        method = c.name.rsplit(".", 1)[-1]
        if "." in c.name and method in ("add_node", "add_edge", "add_conditional_edges", "compile"):
            graph = owner(c, method)
            if graph is None and method == "compile" and len(groups) == 1:
                graph = next(iter(groups))
            if graph is not None:
                by_graph[graph][method].append(c)
    memory_saver = any(_is(x, "LangGraph", "MemorySaver", "InMemorySaver") for x in calls)
    for key, group in groups.items():
        module = key[0]
        for c in by_graph[key]["add_node"]:
            first = c.args[0] if c.args else None
            if isinstance(first, str) and not first.startswith("<"):
                second = c.args[1] if len(c.args) > 1 else None
                ref = second[6:-1] if isinstance(second, str) and second.startswith("<name:") else None
                call = c.arg_calls[1] if len(c.arg_calls) > 1 else None
                if (call and call.split(".")[-1] in _UTILITY_NODES) or (ref and (c.module, ref) in utility_vars):
                    continue  # a tool-running or validation node is not an agent
                nodes[key][first] = ref or first
            elif isinstance(first, str) and first.startswith("<name:"):  # add_node(call_model): named after it
                nodes[key][first[6:-1]] = first[6:-1]
        finals: dict[str, str] = {}
        for name, ref in nodes[key].items():
            final = ctx.resolve(ref, module, anywhere=False)
            if final is None or final not in model.agents:
                final = _add(model, ctx, Agent(ref, "LangGraph"), module=module, local=ref)
            finals[name] = final
            if final not in group.members:
                group.members.append(final)
        for c in by_graph[key]["add_edge"]:
            if len(c.args) == 2:
                a, b = (finals.get(x) if isinstance(x, str) else None for x in c.args)
                if a and b:
                    group.flows.append((a, b))
        group.hierarchical = bool(by_graph[key]["add_conditional_edges"])
        for c in by_graph[key]["compile"]:
            if "checkpointer" in c.keywords:
                group.checkpoint = "memory" if memory_saver else "persistent"
            if "interrupt_before" in c.keywords or "interrupt_after" in c.keywords:
                group.human_approval = True
                model.guardrails.append("interrupt")
        model.groups.append(group)


@_extracts("CrewAI")
def _crewai(model, ctx):
    calls, lists, modules = ctx.calls, ctx.lists, ctx.modules
    agent_methods = [
        (i, cls, meth)
        for i, m in enumerate(modules)
        for dec, cls, meth in m.decorated_methods
        if dec.split(".")[-1] == "agent" and framework_of(dec) == "CrewAI"
    ]
    crew_classes = {(i, cls) for i, cls, _ in agent_methods}
    class_agents: dict[tuple, dict[str, str]] = defaultdict(dict)  # (module, class) → method → agent
    for c in calls:
        if not _is(c, "CrewAI", "Agent"):
            continue
        method = (
            c.function.split(".", 1)[1] if c.klass and c.function and c.function.startswith(f"{c.klass}.") else None
        )
        in_crew_class = (c.module, c.klass) in crew_classes
        if in_crew_class and (c.module, c.klass, method) not in agent_methods:
            continue  # a factory helper of a @CrewBase class: its @agent methods are the agents
        if in_crew_class and method in class_agents[(c.module, c.klass)]:
            continue  # one agent per @agent method
        name = c.target or (c.keywords.get("config") and str(c.keywords.get("config"))) or f"agent_{c.line}"
        name = c.function if c.function and not c.target else name
        # in a @CrewBase class, method is one of its @agent methods (else skipped above): never None
        name = method if in_crew_class and method is not None else name.split(".")[-1]
        final = _add(
            model,
            ctx,
            Agent(
                name,
                "CrewAI",
                _tool_refs(c, lists),
                delegation=c.keywords.get("allow_delegation") is True,
                iteration_cap="max_iter" in c.keywords,
                code_execution=c.keywords.get("allow_code_execution") is True,
                verbose=c.keywords.get("verbose") is True,
            ),
            c,
            local=name,
        )
        if in_crew_class and method is not None:
            class_agents[(c.module, c.klass)][method] = final
    for i, cls, meth in agent_methods:  # @agent methods that build their Agent elsewhere (self._make(...))
        if meth not in class_agents[(i, cls)]:
            class_agents[(i, cls)][meth] = _add(model, ctx, Agent(meth, "CrewAI"), module=i, local=meth)
    human_tasks = [c for c in calls if _is(c, "CrewAI", "Task") and c.keywords.get("human_input") is True]
    for c in calls:
        if not _is(c, "CrewAI", "Crew"):
            continue
        members = _crew_members(model, ctx, c, class_agents)
        process = str(c.keywords.get("process", ""))
        group = Group(
            c.target or c.function or "crew",
            "CrewAI",
            "crew",
            members,
            hierarchical="hierarchical" in process.lower() or "manager_llm" in c.keywords,
            memory=c.keywords.get("memory") is True,
            human_approval=_crew_human_input(ctx, c, members, human_tasks),
        )
        group.flows = list(pairwise(group.members))
        if group.memory:
            model.memory_types.add("crew_memory")
        if group.human_approval:
            model.guardrails.append("human_input")
            for m in group.members:
                if m in model.agents:
                    model.agents[m].human_approval = True
        model.groups.append(group)


def _crew_members(model, ctx: _Context, c: Call, class_agents: dict) -> list[str]:
    own = class_agents.get((c.module, c.klass), {}) if c.klass else {}
    names = c.list_kw.get("agents")
    if names is None:
        names = ctx.local_list(c.keywords.get("agents"), c.module)
    if names is not None:
        return [own.get(n) or ctx.resolve(n, c.module, framework="CrewAI") or n for n in names]
    if own:  # Crew(agents=self.agents) in a @CrewBase class: its @agent methods
        return list(own.values())
    crewai = [d for d in ctx.defined if d.framework == "CrewAI"]
    same_module = [d.final for d in crewai if d.module == c.module]
    if same_module:
        return same_module
    folder = ctx.folder(c.module)
    return [d.final for d in crewai if ctx.folder(d.module) == folder]


def _crew_human_input(ctx: _Context, c: Call, members: list[str], human_tasks: list[Call]) -> bool:
    for t in human_tasks:
        ref = t.keywords.get("agent")
        if t.module == c.module and (not c.klass or t.klass == c.klass):
            return True
        if isinstance(ref, str) and ref.startswith("<name:") and ctx.resolve(ref[6:-1], t.module) in members:
            return True
    if ctx.yaml_files is None:
        return any(t.get("human_input") for t in ctx.yaml_tasks.values())
    folder = ctx.folder(c.module)
    for path, entries in ctx.yaml_files.items():
        name = path.rsplit("/", 1)[-1]
        if (
            name.startswith("tasks")
            and (not folder or path.startswith(folder + "/"))
            and any(isinstance(t, dict) and t.get("human_input") for t in entries.values())
        ):
            return True
    return False


@_extracts("AutoGen")
def _autogen(model, ctx):
    calls, lists = ctx.calls, ctx.lists
    registered = defaultdict(list)
    for c in calls:
        if framework_of(c.name) == "AutoGen" and c.name.endswith("register_function"):
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
            _add(
                model,
                ctx,
                Agent(
                    name,
                    "AutoGen",
                    _tool_refs(c, lists) + registered.get(name, []),
                    human_approval=human,
                    code_execution=executes,
                    iteration_cap="max_consecutive_auto_reply" in c.keywords,
                ),
                c,
            )
            if human:
                model.guardrails.append("human_input_mode")
    for c in calls:
        if _is(c, "AutoGen", "GroupChat", "RoundRobinGroupChat", "SelectorGroupChat", "Swarm"):
            members = c.list_kw.get("agents") or c.arg_names
            members = [m for m in ctx.members(members, c.module, "AutoGen") if m in model.agents]
            group = Group(
                c.target or "team",
                "AutoGen",
                "team",
                members,
                hierarchical=c.name.endswith(("SelectorGroupChat", "Swarm")),
                iteration_cap="max_round" in c.keywords or "termination_condition" in c.keywords,
                human_approval=any(model.agents[m].human_approval for m in members),
            )
            group.flows = list(zip(members, members[1:] + members[:1], strict=True)) if len(members) > 1 else []
            if group.iteration_cap:
                model.guardrails.append("termination")
            model.groups.append(group)


@_extracts("LlamaIndex")
def _llamaindex(model, ctx):
    calls, lists = ctx.calls, ctx.lists
    for c in calls:
        if _is(c, "LlamaIndex", "from_tools", "ReActAgent", "FunctionAgent", "FunctionCallingAgent", "OpenAIAgent"):
            tools = _tool_refs(c, lists)
            _add(
                model,
                ctx,
                Agent(c.target or f"agent_{c.line}", "LlamaIndex", tools, iteration_cap="max_iterations" in c.keywords),
                c,
            )
    for c in calls:
        if _is(c, "LlamaIndex", "from_defaults") and c.name.endswith("QueryEngineTool.from_defaults") and c.target:
            model.tools.setdefault(c.target, Tool(c.target, {"vector_search"}))
    if any(_is(c, "LlamaIndex", "VectorStoreIndex", "from_documents") for c in calls):
        model.memory_types.add("vector_index")


@_extracts("Agno")
def _agno(model, ctx, framework: str = "Agno"):
    calls, lists = ctx.calls, ctx.lists
    for c in calls:
        if _is(c, framework, "Agent", "Assistant"):
            _add(model, ctx, Agent(c.target or f"agent_{c.line}", framework, _tool_refs(c, lists)), c)
    for c in calls:
        if _is(c, framework, "Team"):
            members = [m for m in ctx.members(c.list_kw.get("members", []), c.module, framework) if m in model.agents]
            model.groups.append(
                Group(
                    c.target or "team",
                    framework,
                    "team",
                    members,
                    hierarchical=c.keywords.get("mode") in ("coordinate", "route"),
                )
            )


@_extracts("Phidata")
def _phidata(model, ctx):
    _agno(model, ctx, "Phidata")


@_extracts("SmolAgents")
def _smolagents(model, ctx):
    for c in ctx.calls:
        if _is(c, "SmolAgents", "CodeAgent", "ToolCallingAgent", "MultiStepAgent"):
            _add(
                model,
                ctx,
                Agent(
                    c.target or f"agent_{c.line}",
                    "SmolAgents",
                    _tool_refs(c, ctx.lists),
                    code_execution=c.name.endswith("CodeAgent"),
                    iteration_cap="max_steps" in c.keywords,
                ),
                c,
            )


@_extracts("PydanticAI")
def _pydantic_ai(model, ctx):
    created: dict[tuple[int, str], str] = {}
    for c in ctx.calls:
        if _is(c, "PydanticAI", "Agent"):
            final = _add(
                model,
                ctx,
                Agent(
                    c.target or f"agent_{c.line}",
                    "PydanticAI",
                    _tool_refs(c, ctx.lists) if "tools" in c.keywords else [],
                ),
                c,
            )
            if c.target:
                created[(c.module, c.target)] = final
    for i, m in enumerate(ctx.modules):  # @agent.tool / @agent.tool_plain register a tool on that agent
        for dec, fn in m.decorated:
            owner, _, attr = dec.rpartition(".")
            if attr in ("tool", "tool_plain") and (i, owner) in created:
                agent = model.agents[created[(i, owner)]]
                if fn not in agent.tools:
                    agent.tools.append(fn)
                model.tools.setdefault(fn, Tool(fn))


@_extracts(OPENAI_AGENTS_SDK)
def _openai_agents(model, ctx):
    if OPENAI_AGENTS_SDK not in model.frameworks:
        return
    for c in ctx.calls:
        if _is(c, OPENAI_AGENTS_SDK, "Agent"):
            handoffs = c.list_kw.get("handoffs") or []
            _add(
                model,
                ctx,
                Agent(
                    c.target or f"agent_{c.line}",
                    OPENAI_AGENTS_SDK,
                    _tool_refs(c, ctx.lists) if "tools" in c.keywords else [],
                    delegation=bool(handoffs),
                ),
                c,
            )


@_extracts("Google ADK")
def _google_adk(model, ctx):
    for c in ctx.calls:
        if _is(c, "Google ADK", "Agent", "LlmAgent"):
            _add(
                model,
                ctx,
                Agent(
                    c.target or f"agent_{c.line}",
                    "Google ADK",
                    _tool_refs(c, ctx.lists) if "tools" in c.keywords else [],
                    delegation=bool(c.list_kw.get("sub_agents")),
                ),
                c,
            )
    for c in ctx.calls:
        if _is(c, "Google ADK", "SequentialAgent", "ParallelAgent", "LoopAgent"):
            members = [
                m for m in ctx.members(c.list_kw.get("sub_agents", []), c.module, "Google ADK") if m in model.agents
            ]
            group = Group(
                c.target or "workflow", "Google ADK", "team", members, iteration_cap="max_iterations" in c.keywords
            )
            if not c.name.endswith("ParallelAgent"):
                group.flows = list(pairwise(members))
            model.groups.append(group)


@_extracts("Semantic Kernel")
def _semantic_kernel(model, ctx):
    kinds = (
        "ChatCompletionAgent",
        "OpenAIAssistantAgent",
        "AzureAssistantAgent",
        "AzureAIAgent",
        "OpenAIResponsesAgent",
        "BedrockAgent",
        "CopilotStudioAgent",
    )
    for c in ctx.calls:
        if _is(c, "Semantic Kernel", *kinds):
            _add(
                model,
                ctx,
                Agent(
                    c.target or f"agent_{c.line}",
                    "Semantic Kernel",
                    _tool_refs(c, ctx.lists, "plugins") if "plugins" in c.keywords else [],
                ),
                c,
            )
    teams = (
        "AgentGroupChat",
        "SequentialOrchestration",
        "ConcurrentOrchestration",
        "GroupChatOrchestration",
        "HandoffOrchestration",
        "MagenticOrchestration",
    )
    for c in ctx.calls:
        if _is(c, "Semantic Kernel", *teams):
            names = c.list_kw.get("agents") or c.list_kw.get("members") or c.arg_names
            members = [m for m in ctx.members(names, c.module, "Semantic Kernel") if m in model.agents]
            group = Group(
                c.target or "team",
                "Semantic Kernel",
                "team",
                members,
                hierarchical=c.name.endswith(("MagenticOrchestration", "HandoffOrchestration")),
            )
            if c.name.endswith("SequentialOrchestration"):
                group.flows = list(pairwise(members))
            model.groups.append(group)


# -- LLM providers and models ----------------------------------------------------------------------
def _llms(model, calls, modules, yaml_agents) -> None:
    """Providers and models. Evidence, strongest first: a literal endpoint of an OpenAI-compatible client, the
    client or model class, a "provider/" or "provider:" prefix, and last the model family (gpt-, claude-,
    gemini-…); an open-weights name alone (llama, qwen, mistral…) names no provider. Tests are no evidence."""
    tests = {i for i, m in enumerate(modules) if _is_test(m.path)}
    for c in calls:
        if c.module in tests:
            continue
        last = c.name.split(".")[-1]
        llm_module = framework_of(c.name) is not None or any(
            c.name == m or c.name.startswith(m + ".") for m in _LLM_MODULES
        )
        if not llm_module:
            for key in ("llm", "model", "model_name"):  # CrewAI's llm="groq/mixtral-…", client.create(model=…)
                _add_model(model, c.keywords.get(key))
            continue
        provider = PROVIDERS.get(last) or next(
            (p for m, p in _MODULE_PROVIDER.items() if c.name.startswith(m + ".")), None
        )
        router = last in _ROUTERS and not provider and (last != "Agent" or framework_of(c.name) == "PydanticAI")
        if not provider and not router:
            for key in ("llm", "model", "model_name"):  # agent constructors: Agent(model="gpt-4o-mini")
                _add_model(model, c.keywords.get(key))
            continue
        if "provider" in c.nested:  # OpenAIModel(…, provider=OllamaProvider()): the inner call decides
            provider = None
        named = c.keywords.get("model_provider") or c.keywords.get("provider")
        if isinstance(named, str) and named.lower() in _PROVIDER_NAMES:
            provider = _PROVIDER_NAMES[named.lower()]
        # An OpenAI-compatible client (or a router) sent elsewhere: a literal endpoint names the provider by its
        # host (unknown hosts name none); an endpoint from configuration leaves it unknown. A dedicated client
        # (ChatOllama(base_url=…)) keeps its class's provider.
        base = next((c.keywords[k] for k in _BASE_URL_KEYS if k in c.keywords), None)
        if base is not None and (provider == "openai" or router):
            literal = isinstance(base, str) and base and not base.startswith("<")
            provider = _host_provider(base) if literal else None
        values = [c.keywords.get(k) for k in _MODEL_KEYS] + [c.args[0] if c.args else None]
        values = [v for v in values if isinstance(v, str) and _MODEL_ID.match(v)]
        if router:
            for v in values:
                _add_model(model, v, strict=False, provider=provider)
            continue
        if provider == "openai" and base is None:  # an OpenAI-compatible client with claude-…/gemini-…: that
            families = {_family_provider(v) for v in values} - {None}  # maker's compatible endpoint (AutoGen
            provider = families.pop() if len(families) == 1 else provider  # routes them so by itself)
        if provider:
            model.providers.add(provider)
        for v in values:
            model.models.add(v)
    for agent in yaml_agents.values():
        _add_model(model, agent.get("llm"))
    for m in modules:
        if _is_test(m.path):
            continue  # a model name a test passes around is no evidence of use
        for s in m.strings:  # configuration: {"model": "gpt-4o"}, field(default="anthropic/claude-…")
            if s in model.models or not _MODEL.match(s):
                continue
            if s.startswith(("gpt-", "claude-")) or (_split_provider(s)[0] and "/" in s):
                _add_model(model, s)


def _add_model(model: RepoModel, value, strict: bool = True, provider: str | None = None) -> None:
    """A model string: "provider/model" or "provider:model" names its provider; else its family may."""
    if not isinstance(value, str) or not value:
        return
    prefix, name = _split_provider(value)
    if strict and not prefix and not _MODEL.match(value):
        return
    if not _MODEL_ID.match(name):
        return
    model.models.add(name)
    found = provider or prefix or _family_provider(name)
    if found:
        model.providers.add(found)


def _split_provider(value: str) -> tuple[str | None, str]:
    """("groq", "llama-3.3-70b") of "groq/llama-3.3-70b"; an unknown "org/" prefix counts only before a family
    its maker alone serves ("google/gemini-2.0-flash"), never before open weights ("google/gemma-2-9b")."""
    match = re.match(r"^([a-z][a-z0-9_-]*)[/:](.+)$", value)
    if match and match.group(1) in _PREFIX_PROVIDER:
        return _PREFIX_PROVIDER[match.group(1)], match.group(2)
    if match and "/" in value and (family := _family_provider(match.group(2))):
        return family, match.group(2)
    return None, value


def _family_provider(name: str) -> str | None:
    lowered = name.lower()
    if ":" in lowered:  # an Ollama-style tag (llama3.1:8b, gpt-oss:20b): local weights
        return None
    return next((p for pattern, p in _FAMILY_PROVIDER if pattern.match(lowered)), None)


def _host_provider(url: str) -> str | None:
    try:
        parsed = urlparse(url if "//" in url else f"//{url}")
        host = f"{parsed.hostname or ''}:{parsed.port}" if parsed.port else (parsed.hostname or "")
    except ValueError:
        return None
    return next((p for needle, p in _HOST_PROVIDER if needle in host.lower()), None)


def _is_test(path: str) -> bool:
    parts = path.lower().split("/")
    name = parts[-1]
    return (
        any(p in ("tests", "test", "testing", "unit_tests", "integration_tests") for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )
