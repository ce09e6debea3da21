"""The capability layer under the reference catalog's rules: what code can *do*, and what guards it.

Pure and AST-based (nothing is executed, nothing is read from disk here): the scanner hands in the
text of the repository's Python files, its YAML documents and a few root files, and gets back
:class:`ProjectFacts`.

* **Capabilities** (:class:`Cap`) are calls the code makes, classified by the library they resolve to
  through the file's imports, local variables (``conn = psycopg2.connect(); conn.execute(...)``),
  ``with … as`` bindings and the conventional cursor names: ``outbound`` (HTTP, mail, chat, SMS),
  ``data_access`` (databases), ``destructive`` (a database delete/drop, destructive SQL, or a
  destructive tool class), ``code_exec`` (subprocess, os.system/popen, exec/eval, shell and REPL
  tools, AutoGen code execution) and ``financial`` (payment SDKs), plus about 67 known framework
  tool classes counted when imported, listed in an agent's ``tools`` or under a YAML ``tools:`` key.
  Calls are classified in function bodies *and* at module level, through every name the file binds;
  each capability records whether the reference scanner sees it too (``seen_by_reference``: a call
  inside a function, resolved through the imports it records). Capabilities are deduplicated to one
  per (file, kind, top-level library), keeping the most confident.
* **Guards** (:class:`Guard`): human-in-the-loop (``interrupt_before/after``, ``human_input=True``,
  AutoGen ``human_input_mode``), output/input filters (guardrails-ai, llm_guard, NeMo,
  Input/OutputGuardrail), validation (``isinstance``, ``model_validate``, structured-output
  arguments) and rate limits (``max_rpm``/``rate_limit`` arguments; the text ``recursion_limit``,
  ``max_iterations``, ``max_turns``).
* Everything else the catalog's rules look at: MCP servers in root configs, root ``.env`` names and
  ``.gitignore``, hard-coded secrets, memory stores and their reads/writes, telemetry, eval and
  model SDKs, agent role text and identity, API-key reads per agent scope.

Two readings of the same facts: these are the built-in's (the ping's ``detected_*`` findings);
:meth:`ProjectFacts.as_reference_reads` derives the reference scanner's (the ping's finding fields);
docs/RULES.md, "Finding fields", says where they differ.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from ..domain import frameworks as framework_table

# -- the catalog's vocabulary ----------------------------------------------------------------------
OUTBOUND_LIBS = {
    "requests",
    "httpx",
    "aiohttp",
    "urllib",
    "smtplib",
    "sendgrid",
    "resend",
    "slack_sdk",
    "twilio",
    "stripe",
}
OUTBOUND_METHODS = {
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "send",
    "sendmail",
    "send_message",
    "chat_postMessage",
    "create",
}
HTTP_LIBS = {"requests", "httpx", "aiohttp"}
DB_LIBS = ("psycopg2", "sqlalchemy", "pymongo", "sqlite3", "motor", "mysql", "redis")
DATA_METHODS = {"execute", "query", "connect"}
DATA_METHOD_PREFIXES = ("find", "fetch")
DESTRUCTIVE_METHODS = {"delete", "delete_one", "delete_many", "drop", "remove"}
DESTRUCTIVE_SQL = re.compile(r"\b(DELETE\s+FROM|DROP\s+(TABLE|DATABASE|SCHEMA|INDEX|VIEW)|TRUNCATE)\b", re.I)
CURSOR_NAMES = {"cursor", "conn", "session", "collection", "db", "client"}
# Resolutions the reference lacks: an alias (`import requests as r`), a module-level client used in a function, a
# `with … as` binding, `from subprocess import run; run()`, an import nested in a block (`if`/`try`/an inner body).
BEYOND_REFERENCE = {"alias", "module-variable", "with", "from-import-call", "nested-import"}
CODE_EXEC_CALLS = {"subprocess": {"run", "call", "Popen", "check_output", "check_call"}, "os": {"system", "popen"}}
CODE_EXEC_BUILTINS = {"exec", "eval"}
FINANCIAL_LIBS = {"stripe", "paypalrestsdk", "square", "braintree", "adyen"}
FINANCIAL_METHODS = OUTBOUND_METHODS | {"sale", "capture", "refund", "charge", "transfer", "payout"}

# Known framework tool classes → (capability kinds, packages they come from).
_CREW, _LCC, _LCX, _LLI = (
    ("crewai_tools",),
    ("langchain_community", "langchain"),
    ("langchain_community", "langchain_experimental", "langchain"),
    ("llama_index",),
)
KNOWN_TOOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # web search and scraping
    **dict.fromkeys(
        (
            "SerperDevTool",
            "ScrapeWebsiteTool",
            "WebsiteSearchTool",
            "BrowserbaseLoadTool",
            "FirecrawlSearchTool",
            "FirecrawlScrapeWebsiteTool",
            "FirecrawlCrawlWebsiteTool",
            "EXASearchTool",
            "CodeDocsSearchTool",
            "YoutubeVideoSearchTool",
            "YoutubeChannelSearchTool",
            "SpiderTool",
            "APITool",
            "MCPServerAdapter",
            "SeleniumScrapingTool",
            "ScrapeElementFromWebsiteTool",
            "TavilySearchTool",
        ),
        (("outbound",), _CREW),
    ),
    **dict.fromkeys(
        (
            "SerpAPIWrapper",
            "GoogleSearchAPIWrapper",
            "GoogleSerperAPIWrapper",
            "DuckDuckGoSearchRun",
            "DuckDuckGoSearchResults",
            "TavilySearchResults",
            "BraveSearch",
            "RequestsGetTool",
            "RequestsPostTool",
            "GmailCreateDraft",
            "GmailSendMessage",
        ),
        (("outbound",), _LCC),
    ),
    **dict.fromkeys(
        (
            "WikipediaQueryRun",
            "ArxivQueryRun",
            "PubmedQueryRun",
            "GmailToolkit",
            "O365Toolkit",
            "SlackToolkit",
            "JiraToolkit",
        ),
        (("outbound", "data_access"), _LCC),
    ),
    **dict.fromkeys(
        (
            "GmailGetThread",
            "GmailGetMessage",
            "GmailSearch",
            "ReadFileTool",
            "ListDirectoryTool",
            "QuerySQLDataBaseTool",
            "VectorStoreQATool",
        ),
        (("data_access",), _LCC),
    ),
    "GithubToolkit": (("outbound", "data_access"), _CREW + _LCC),
    "GithubSearchTool": (("outbound", "data_access"), _CREW),
    "ZapierToolkit": (("outbound", "data_access", "destructive"), _LCC),
    "ZapierNLARunAction": (("outbound", "data_access", "destructive"), _LCC),
    # files and databases
    **dict.fromkeys(
        (
            "FileReadTool",
            "DirectoryReadTool",
            "DirectorySearchTool",
            "TXTSearchTool",
            "CSVSearchTool",
            "JSONSearchTool",
            "PDFSearchTool",
            "DOCXSearchTool",
            "MDXSearchTool",
            "XMLSearchTool",
            "PGSearchTool",
            "MySQLSearchTool",
            "RagTool",
        ),
        (("data_access",), _CREW),
    ),
    "FileWriterTool": (("destructive",), _CREW),
    "WriteFileTool": (("destructive",), _LCC),
    "MoveFileTool": (("destructive",), _LCC),
    "DeleteFileTool": (("destructive",), _LCC),
    "CopyFileTool": (("data_access", "destructive"), _LCC),
    "FileManagementToolkit": (("data_access", "destructive"), _LCC),
    "SQLDatabaseToolkit": (("data_access", "destructive"), _LCC),
    "NL2SQLTool": (("data_access", "destructive"), _CREW),
    # code execution
    "CodeInterpreterTool": (("code_exec",), _CREW),
    "PythonREPLTool": (("code_exec",), _LCX),
    "PythonAstREPLTool": (("code_exec",), _LCX),
    "ShellTool": (("code_exec",), _LCC),
    "BashProcess": (("code_exec",), _LCX),
    # LlamaIndex
    "QueryEngineTool": (("data_access",), _LLI),
}
HUMAN_FACING = {"smtplib", "slack_sdk", "twilio", "sendgrid"}
HUMAN_FACING_TOOLS = {"GmailToolkit", "GmailSendMessage", "GmailCreateDraft", "SlackToolkit", "O365Toolkit"}

MEMORY_STORES = (
    "chromadb",
    "pinecone",
    "weaviate",
    "qdrant_client",
    "pgvector",
    "redis",
    "mem0",
    "langchain",
    "langchain_community",
    "llama_index",
)
READ_METHODS = {
    "similarity_search",
    "retrieve",
    "as_retriever",
    "query",
    "get_relevant_documents",
    "search",
    "get",
    "load_memory_variables",
    "invoke",
}
WRITE_METHODS = {
    "add_documents",
    "add_texts",
    "add",
    "upsert",
    "insert",
    "persist",
    "update",
    "put",
    "set",
    "save_context",
    "add_message",
    "add_ai_message",
    "add_user_message",
}
PROVENANCE_KEYS = {"metadata", "source", "author", "agent_id", "timestamp"}
SCOPING_KEYS = {"ttl", "expire_after", "max_age", "max_documents", "collection_size", "namespace", "collection_name"}
COLLECTION_CALLS = {"get_or_create_collection", "create_collection", "get_collection", "Collection"}
ROLLBACK_PATTERNS = (
    ".snapshot(",
    ".backup(",
    "version=",
    "copytree(",
    "shutil.copy",
    "def backup",
    "def snapshot",
    "def rollback",
)
DISTILLATION = {
    "langsmith": ("create_dataset", "create_example", "create_examples"),
    "mlflow": ("log_artifact", "log_model"),
    "wandb": ("log", "save"),
}

TELEMETRY = {  # import → (provider, its env keys)
    "langsmith": ("LangSmith", ("LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")),
    "langfuse": ("Langfuse", ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST")),
    "arize": ("Arize", ("ARIZE_SPACE_KEY", "ARIZE_API_KEY")),
    "galileo": ("Galileo", ("GALILEO_API_KEY",)),
    "braintrust": ("Braintrust", ("BRAINTRUST_API_KEY",)),
    "wandb": ("Weights & Biases", ("WANDB_API_KEY", "WANDB_PROJECT")),
    "mlflow": ("MLflow", ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME")),
    "datadog": ("Datadog", ("DD_API_KEY", "DD_LLMOBS_ENABLED", "DD_LLMOBS_ML_APP")),
    "opentelemetry": ("OpenTelemetry", ("OTEL_EXPORTER_OTLP_ENDPOINT",)),
}
OBSERVABILITY_LIBS = (
    "langsmith",
    "langfuse",
    "arize",
    "phoenix",
    "opentelemetry",
    "mlflow",
    "wandb",
    "helicone",
    "braintrust",
)
OBSERVABILITY_ENV = {
    "LANGCHAIN_TRACING_V2",
    "LANGFUSE_SECRET_KEY",
    "LANGFUSE_PUBLIC_KEY",
    "LANGSMITH_API_KEY",
    "ARIZE_API_KEY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "HELICONE_API_KEY",
    "BRAINTRUST_API_KEY",
}
MODEL_SDKS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "cohere": "Cohere",
    "mistralai": "Mistral",
    "together": "Together AI",
    "groq": "Groq",
    "fireworks": "Fireworks AI",
}
EVAL_LIBS = ("ragas", "deepeval", "promptfoo", "langsmith", "trulens")
ABSTRACTION_LIBS = ("langchain", "litellm", "haystack", "llama_index")
LLM_CALL_METHODS = {"create", "generate", "invoke", "chat", "complete"}
IDENTITY_KEYS = {"agent_id", "name", "agent_name", "id"}
API_KEY_MARKERS = ("API_KEY", "SECRET_KEY", "ACCESS_TOKEN", "AUTH_TOKEN")
STRUCTURED_OUTPUT_KEYS = {"output_pydantic", "output_json", "response_format", "result_type", "output_type"}

MCP_CONFIGS = ("claude_desktop_config.json", ".cursor/mcp.json", ".vscode/mcp.json", "mcp.json")
TRUSTED_SCOPES = (
    "@modelcontextprotocol/",
    "@anthropic/",
    "@openai/",
    "@google/",
    "@microsoft/",
    "@docker/",
    "@stripe/",
    "@github/",
)
MCP_AUTH_MARKERS = ("TOKEN", "KEY", "SECRET", "AUTH", "PASSWORD", "OAUTH", "BEARER")
SECRET_PATTERNS = (
    ("openai_key", re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}")),
    ("stripe_live_key", re.compile(r"(?<![A-Za-z0-9_-])sk_live_[A-Za-z0-9]{8,}")),
    ("bearer_token", re.compile(r"Bearer [A-Za-z0-9_\-.]{20,}")),
    ("postgres_url", re.compile(r"postgres(?:ql)?(?:\+\w+)?://[^:/@\s'\"]+:[^@/\s'\"]+@")),
    ("mongo_url", re.compile(r"mongodb(?:\+srv)?://[^:/@\s'\"]+:[^@/\s'\"]+@")),
)
REFERENCE_SECRET_PATTERNS = (  # the reference's: sk- anywhere (inside words too), postgresql:// and mongodb:// only
    ("openai_key", re.compile(r"sk-[A-Za-z0-9_-]{20,}")),
    ("stripe_live_key", re.compile(r"sk_live_[A-Za-z0-9]{8,}")),
    SECRET_PATTERNS[2],  # the same bearer token pattern
    ("postgres_url", re.compile(r"postgresql://[^:/@\s'\"]+:[^@/\s'\"]+@")),
    ("mongo_url", re.compile(r"mongodb://[^:/@\s'\"]+:[^@/\s'\"]+@")),
)


@framework_table.derived
def agent_framework_roots(table) -> frozenset[str]:
    """Import roots whose agent constructors are agents: every framework's `agent_roots` (domain/frameworks.py)."""
    return frozenset(root for f in table for root in f.constructor_roots)


AGENT_CONSTRUCTORS = {
    "Agent",
    "AssistantAgent",
    "UserProxyAgent",
    "ConversableAgent",
    "CodeExecutorAgent",
    "CodeAgent",
    "ToolCallingAgent",
    "ReActAgent",
    "FunctionAgent",
    "FunctionCallingAgent",
    "OpenAIAgent",
    "AgentExecutor",
    "initialize_agent",
    "create_react_agent",
    "create_tool_calling_agent",
    "create_openai_tools_agent",
    "create_structured_chat_agent",
    "LlmAgent",
    "ChatCompletionAgent",
}


# -- what the layer returns ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cap:
    kind: str  # outbound | data_access | destructive | code_exec | financial
    library: str  # the top-level library (for a tool class: its package)
    confidence: str  # confirmed | probable
    file: str
    function: str  # enclosing function ("<module>" at module level)
    line: int
    owner: str = ""  # enclosing class, if any (a BaseTool subclass's _run belongs to the class)
    tool: str = ""  # known tool class name when the capability comes from the registry
    in_try: bool = False
    timeout: bool = False
    validated: bool = False  # the enclosing function validates its input (isinstance, assert, compare, if-raise)
    via: str = "import"  # how the call resolved: import, from-import, variable, cursor, builtin, tool, sql-text,
    #                          or (beyond the reference) alias, module-variable, with, from-import-call, nested-import
    seen_by_reference: bool = True  # the reference classifies it too (see :meth:`ProjectFacts.as_reference_reads`)

    @property
    def name(self) -> str:
        """The name a guard or an agent's tool list would use for it."""
        return self.tool or self.function


@dataclass(frozen=True)
class Guard:
    kind: str  # hitl | output_filter | input_filter | validation | rate_limit
    file: str
    detail: str
    covers: tuple[str, ...] = ()  # names it applies to; () = names none (applies to everything)
    active: bool = True  # filters: actually used, not only imported
    vendor: str = ""  # NVIDIA | Guardrails AI | OpenAI, when traceable
    agent: str = ""  # output_pydantic / human_input on a task: the agent it applies to
    seen_by_reference: bool = True


@dataclass(frozen=True)
class McpServer:
    name: str
    file: str
    package: str
    version: str
    remote: bool
    auth: bool
    env: tuple[str, ...]
    reference_package: str = ""  # the reference takes the first npx argument as the package, even ``-y``
    reference_version: str = ""

    @property
    def trusted(self) -> bool:
        return bool(self.package) and self.package.startswith(TRUSTED_SCOPES)


@dataclass
class AgentSite:
    """Where an agent is defined and the text that names it (role, name), for the rules about agents."""

    keys: set[str]  # names a model agent may carry: variable, enclosing function, name=, YAML key
    file: str
    role: str = ""


@dataclass
class LlmScope:
    """A function in a file importing a model SDK that calls create/generate/invoke/chat/complete."""

    file: str
    name: str
    has_identity: bool
    credentials: tuple[str, ...]
    reference_credentials: tuple[str, ...] = ()  # as the reference reads keys: by calls, else the file's (_agents)


@dataclass
class ProjectFacts:
    caps: list[Cap] = field(default_factory=list)  # deduplicated per (file, kind, library)
    all_caps: list[Cap] = field(default_factory=list)  # before deduplication (one per function/kind/lib)
    guards: list[Guard] = field(default_factory=list)
    mcp: list[McpServer] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)  # root .env and .env.* files
    env_names: set[str] = field(default_factory=set)  # variable names in them
    env_ignored: bool = False  # root .gitignore has .env / .env* / .env.* / *.env
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (file, pattern), one per pattern per file
    durable_checkpoint: bool = False
    # memory and learning
    store_files: set[str] = field(default_factory=set)
    reads: list[tuple[str, str]] = field(default_factory=list)  # (file, scope)
    writes: list[tuple[str, str, bool]] = field(default_factory=list)  # (file, scope, has provenance)
    collections: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (file, scope, name, scoped)
    fine_tuning: bool = False
    distillation: bool = False
    rollback: bool = False
    # telemetry, evals, model SDKs, portability
    telemetry: set[str] = field(default_factory=set)  # providers found
    model_sdks: set[str] = field(default_factory=set)  # providers whose SDK is imported
    evals: set[str] = field(default_factory=set)  # eval frameworks (openai.evals, ragas, …)
    langchain_imported: bool = False
    abstraction: bool = False
    proprietary_format: bool = False
    # agents
    agent_sites: list[AgentSite] = field(default_factory=list)
    llm_scopes: list[LlmScope] = field(default_factory=list)
    yaml_tool_agents: dict[str, list[str]] = field(default_factory=dict)  # YAML agent key → its tools: list
    yaml_task_agents: dict[str, str] = field(default_factory=dict)  # YAML task key → its agent
    tool_vars: dict[str, str] = field(default_factory=dict)  # search = SerperDevTool() → {"search": "SerperDevTool"}
    # what only the reference sees, and whose reading these facts are
    reference_guards: list[Guard] = field(default_factory=list)
    reference_secrets: list[tuple[str, str]] = field(default_factory=list)
    reading: str = "built-in"  # built-in | reference

    def as_reference_reads(self) -> ProjectFacts:
        """The same project as the reference scanner reads it, so that the ping's finding fields mean what the
        ``stratum`` CLI's mean: only calls inside functions, resolved through the imports it records (the module's
        top-level ones and the direct statements of the function's body, no aliases, ``with`` bindings or
        module-level clients); financial calls only with an outbound verb; the first npx argument as the MCP
        package; API keys read by ``getenv``/``get`` calls, a file's anywhere shared by its scopes without keys of
        their own; any module named like ``guardrails`` a Guardrails AI filter; no YAML human gate; its secret
        patterns. What the built-in reads beyond that stays in these facts (the ``detected_*`` findings)."""
        caps = [c for c in self.all_caps if c.seen_by_reference]
        return replace(
            self,
            reading="reference",
            all_caps=caps,
            caps=dedupe(caps),
            guards=[g for g in self.guards if g.seen_by_reference] + self.reference_guards,
            mcp=[replace(m, package=m.reference_package, version=m.reference_version) for m in self.mcp],
            llm_scopes=[replace(s, credentials=s.reference_credentials) for s in self.llm_scopes],
            secrets=self.reference_secrets,
            reference_guards=[],
            reference_secrets=[],
        )


# -- entry point -------------------------------------------------------------------------------------------
def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def is_root_file(path: str) -> bool:
    """Root files the layer reads besides Python and YAML: .env*, .gitignore, MCP configs, root JSON."""
    name = path.rsplit("/", 1)[-1]
    if "/" not in path:
        return name == ".gitignore" or name == ".env" or name.startswith(".env.") or name.endswith(".json")
    return path in MCP_CONFIGS


def extract(
    python: Sequence[tuple[str, bytes | str]],
    yaml_docs: list[tuple[str, object]] | None = None,
    root_files: Mapping[str, bytes | str] | None = None,
) -> ProjectFacts:
    """Facts of a project from its Python sources (path, text), parsed YAML documents and root files.

    Files that do not parse are skipped (the scanner counts them as parser errors).
    """
    facts = ProjectFacts()
    collected: list[Cap] = []
    for path, data in python:
        text = decode(data)
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        try:
            _File(path, text, tree, facts, collected).run()
        except RecursionError:  # a pathologically deep expression: keep what was found so far
            continue
    for path, doc in yaml_docs or []:
        _yaml(path, doc, facts, collected)
    facts.all_caps = collected
    facts.caps = dedupe(collected)
    _root(root_files or {}, facts)
    return facts


def dedupe(caps: list[Cap]) -> list[Cap]:
    """One capability per (file, kind, top-level library), keeping the first of the most confident."""
    rank = {"confirmed": 2, "probable": 1}
    kept: dict[tuple[str, str, str], Cap] = {}
    for cap in caps:
        key = (cap.file, cap.kind, cap.library.split(".")[0])
        if key not in kept or rank[cap.confidence] > rank[kept[key].confidence]:
            kept[key] = cap
    return list(kept.values())


def same_project(file_a: str, file_b: str, reading: str = "built-in") -> bool:
    """Two files belong to one (sub-)project when their first two folders agree (root files: one project). The
    reference compares the first two path components, file names included: two root files never agree."""
    if reading == "reference":
        return PurePosixPath(file_a).parts[:2] == PurePosixPath(file_b).parts[:2]
    return PurePosixPath(file_a).parts[:-1][:2] == PurePosixPath(file_b).parts[:-1][:2]


# -- one Python file -------------------------------------------------------------------------------------
_Function = ast.FunctionDef | ast.AsyncFunctionDef


class _File:
    def __init__(self, path: str, text: str, tree: ast.Module, facts: ProjectFacts, caps: list[Cap]):
        self.path, self.text, self.tree, self.facts, self.caps = path, text, tree, facts, caps
        self.imports: dict[str, str] = {}  # local name → module (import x.y as z: z → x.y; import x.y: x → x)
        self.names: dict[str, str] = {}  # local name → module.attr (from m import a as b: b → m.a)
        self.modules: set[str] = set()  # every imported module path (for label-style checks)
        self.parents: dict[int, tuple[str, str]] = {}  # id(node) → (outermost scope, enclosing class)
        self.inner: dict[int, _Function] = {}  # id(node) → innermost enclosing function
        self.targets: dict[int, str] = {}  # id(value) → the name it is assigned to
        self.nodes: list[ast.AST] = []  # every node, in source order
        self.module_nodes: list[ast.AST] = []  # nodes outside any function body
        self.fn_nodes: dict[int, list[ast.AST]] = {}  # id(function) → every node inside it (nested included)
        self.functions: list[_Function] = []
        self._index()
        for node in self.nodes:  # imports anywhere (function-local imports resolve too)
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.modules.add(a.name)
                    self.imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                self.modules.add(node.module)
                for a in node.names:
                    self.modules.add(f"{node.module}.{a.name}")
                    self.names[a.asname or a.name] = f"{node.module}.{a.name}"
        self.tops = {m.split(".")[0] for m in self.modules}
        # the names the reference resolves: bound by the module's top-level imports, or by an import that is a
        # direct statement of the function's body
        self.top_bound = _bound_names(self.tree.body)
        self.fn_bound = {id(fn): _bound_names(fn.body) for fn in self.functions}

    # resolution -------------------------------------------------------------------------------------
    def origin(self, name: str, local: dict[str, tuple[str, str]], bound: set[str]) -> tuple[str, str]:
        """(top-level library, how it resolved) of a bare name, or ("", ""); ``bound`` are the names the
        reference would resolve there (any other import is one nested in a block)."""
        if name in local:
            return local[name]
        if name in self.imports:
            module = self.imports[name]
            how = "import" if name == module.split(".")[0] else "alias"
        elif name in self.names:
            module, how = self.names[name], "from-import"
        else:
            return "", ""
        return module.split(".")[0], how if name in bound or how in BEYOND_REFERENCE else "nested-import"

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            return self.imports.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def run(self) -> None:
        # Capabilities are emitted breadth-first (the order of ast.walk, as the reference does), which decides
        # the representative kept per (file, kind, library); variables resolve in source order.
        module_vars = self._var_origins(self.module_nodes, {}, self.top_bound)
        for fn in self.functions:
            nodes, bound = self.fn_nodes[id(fn)], self.top_bound | self.fn_bound[id(fn)]
            self._capabilities(fn, nodes, fn.name, self._var_origins(nodes, dict(module_vars), bound), bound)
        self._capabilities(self.tree, self.module_nodes, "<module>", module_vars, self.top_bound)
        self._tool_classes()
        self._guards()
        self._memory()
        self._governance()
        self._agents()

    def _index(self) -> None:
        """One breadth-first traversal (ast.walk's order): per node its outermost scope (the catalog's "scope":
        function or class), enclosing class and innermost function; the nodes of every function and of module
        level."""
        queue: deque[tuple[ast.AST, str | None, str | None, tuple[_Function, ...]]] = deque(
            [(self.tree, None, None, ())]
        )
        while queue:
            node, scope, klass, fns = queue.popleft()
            for child in ast.iter_child_nodes(node):
                s, k, f = scope, klass, fns
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    s, f = scope or child.name, (*fns, child)
                    self.functions.append(child)
                    self.fn_nodes[id(child)] = []
                elif isinstance(child, ast.ClassDef):
                    s, k = scope or child.name, child.name
                queue.append((child, s, k, f))
            if node is self.tree:
                continue
            self.nodes.append(node)
            self.parents[id(node)] = (scope or "<module>", klass or "")
            inside = fns[:-1] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else fns
            if inside:
                self.inner[id(node)] = inside[-1]
                for fn in inside:
                    self.fn_nodes[id(fn)].append(node)
            else:
                self.module_nodes.append(node)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                if isinstance(target, (ast.Name, ast.Attribute)):
                    name = target.id if isinstance(target, ast.Name) else target.attr
                    self.targets[id(node.value)] = name
                    if isinstance(node.value, ast.Call) and _callee_name(node.value)[:1].isupper():
                        self.facts.tool_vars.setdefault(name, _callee_name(node.value))  # x = SomeTool(...)

    def _var_origins(
        self, nodes: list[ast.AST], known: dict[str, tuple[str, str]], bound: set[str]
    ) -> dict[str, tuple[str, str]]:
        """Variables assigned from a call on a known library (conn = psycopg2.connect(...)), in source order:
        name → (library, how: variable, with, or module-variable for a module-level client used in a function)."""
        origins = {var: (lib, "module-variable") for var, (lib, _) in known.items()} if known else {}
        bindings = [n for n in nodes if isinstance(n, (ast.Assign, ast.With, ast.AsyncWith))]
        for node in sorted(bindings, key=lambda n: (n.lineno, n.col_offset)):
            pairs = []
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                pairs.append((node.targets[0].id, node.value, "variable"))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                pairs += [
                    (i.optional_vars.id, i.context_expr, "with")
                    for i in node.items
                    if isinstance(i.optional_vars, ast.Name)
                ]
            for var, value, how in pairs:
                while isinstance(value, ast.Await):
                    value = value.value
                if isinstance(value, ast.Call):
                    root = _root_name(value.func)
                    lib, via = self.origin(root, origins, bound) if root else ("", "")
                    if lib:
                        origins[var] = (lib, via if via in BEYOND_REFERENCE else how)
                    elif var in origins:
                        del origins[var]
        return origins

    # capabilities ------------------------------------------------------------------------------------
    def _capabilities(
        self, scope: ast.AST, nodes: list[ast.AST], name: str, local: dict[str, tuple[str, str]], bound: set[str]
    ) -> None:
        module = name == "<module>"
        klass = self.parents.get(id(scope), ("", ""))[1] if not module else ""
        tries = [
            (t.body[0].lineno, max(getattr(s, "end_lineno", s.lineno) for s in t.body))
            for t in nodes
            if isinstance(t, ast.Try) and t.body
        ]
        validated = None if module else _validates(nodes)
        emitted: set[tuple[str, str, bool]] = set()
        db = next((lib for lib in DB_LIBS if lib in self.tops), "")

        def emit(kind, lib, line, via, confidence="confirmed", call=None, reference_verb=True):
            # the first call per (kind, library) the reference sees too, and the first only the built-in sees
            seen = not module and via not in BEYOND_REFERENCE and reference_verb
            if (kind, lib, seen) in emitted or (kind, lib, True) in emitted:
                return
            emitted.add((kind, lib, seen))
            self.caps.append(
                Cap(
                    kind,
                    lib,
                    confidence,
                    self.path,
                    name,
                    line,
                    klass,
                    "",
                    in_try=any(a <= line <= b for a, b in tries),
                    timeout=bool(call is not None and any(k.arg == "timeout" for k in call.keywords)),
                    validated=bool(validated) if kind == "financial" else False,
                    via=via,
                    seen_by_reference=seen,
                )
            )

        destructive_sql = False
        for node in nodes:
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                if func.id in CODE_EXEC_BUILTINS and func.id not in local and func.id not in self.names:
                    emit("code_exec", func.id, node.lineno, "builtin", call=node)
                    continue
                target = self.names.get(func.id, "")  # from subprocess import run; run(...)
                lib, _, method = target.rpartition(".")
                if lib in CODE_EXEC_CALLS and method in CODE_EXEC_CALLS[lib]:
                    emit("code_exec", lib, node.lineno, "from-import-call", call=node)
                continue
            if not isinstance(func, ast.Attribute):
                continue
            method, root = func.attr, _root_name(func.value)
            if not root:
                continue
            lib, via = self.origin(root, local, bound)
            if not lib and root in CURSOR_NAMES and db:
                lib, via = db, "cursor"
            if not lib:
                continue
            if lib in CODE_EXEC_CALLS and method in CODE_EXEC_CALLS[lib]:
                emit("code_exec", lib, node.lineno, via, call=node)
            elif lib in FINANCIAL_LIBS and method in FINANCIAL_METHODS:
                emit("financial", lib, node.lineno, via, call=node, reference_verb=method in OUTBOUND_METHODS)
            elif lib in OUTBOUND_LIBS and method in OUTBOUND_METHODS:
                emit("outbound", lib, node.lineno, via, call=node)
            elif lib in DB_LIBS and (method in DATA_METHODS or method.startswith(DATA_METHOD_PREFIXES)):
                emit("data_access", lib, node.lineno, via, call=node)
                if method == "execute" and node.args and DESTRUCTIVE_SQL.search(_string(node.args[0])):
                    emit("destructive", lib, node.lineno, via)
                    destructive_sql = True
            elif lib in DB_LIBS and method in DESTRUCTIVE_METHODS:
                emit("destructive", lib, node.lineno, via, call=node)
        if db and not destructive_sql:  # destructive SQL text that is not (visibly) executed: probable
            for node in nodes:
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and DESTRUCTIVE_SQL.search(node.value)
                ):
                    emit("destructive", db, node.lineno, "sql-text", confidence="probable")
                    break

    def _tool_classes(self) -> None:
        """Known tool classes: imported, listed in an agent's tools, AutoGen code execution."""
        for target in self.names.values():
            tool = target.rsplit(".", 1)[-1]
            if tool in KNOWN_TOOLS and target.split(".")[0] in KNOWN_TOOLS[tool][1]:
                self._tool_cap(tool, target.rsplit(".", 1)[0], 0)
        for node in self.nodes:
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "tools" and isinstance(kw.value, (ast.List, ast.Tuple)):
                    for elt in kw.value.elts:
                        tool = _callee_name(elt)
                        if tool in KNOWN_TOOLS:
                            self._tool_cap(tool, KNOWN_TOOLS[tool][1][0], node.lineno)
                elif kw.arg == "code_execution_config" and isinstance(kw.value, ast.Dict):
                    self.caps.append(
                        Cap(
                            "code_exec",
                            "autogen",
                            "confirmed",
                            self.path,
                            self.parents.get(id(node), ("<module>", ""))[0],
                            node.lineno,
                            tool="code_execution_config",
                            via="tool",
                        )
                    )

    def _tool_cap(self, tool: str, library: str, line: int) -> None:
        for kind in KNOWN_TOOLS[tool][0]:
            self.caps.append(Cap(kind, library, "confirmed", self.path, f"[{tool}]", line, tool=tool, via="tool"))

    # guards ------------------------------------------------------------------------------------------
    def _guards(self) -> None:
        add = self.facts.guards.append
        path = self.path
        used = {n.id for n in self.nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        named_like_guardrails = False
        for module in sorted(self.modules):
            low = module.lower()
            if "nemoguardrails" in low:
                add(
                    Guard(
                        "input_filter",
                        path,
                        "nemoguardrails",
                        active=bool({"LLMRails", "RailsConfig"} & used),
                        vendor="NVIDIA",
                    )
                )
            elif low.split(".")[0] == "guardrails":
                add(
                    Guard(
                        "output_filter",
                        path,
                        "guardrails-ai",
                        active=any(p in self.text for p in ("Guard(", ".use(", "guard.validate", "guard(")),
                        vendor="Guardrails AI",
                    )
                )
            elif low.split(".")[0] == "llm_guard":
                add(Guard("output_filter", path, "llm_guard"))
            elif "guardrails" in low:
                named_like_guardrails = True
        if named_like_guardrails:  # the reference takes any module named like it for Guardrails AI (a local one too)
            self.facts.reference_guards.append(
                Guard("output_filter", path, "guardrails", active=False, vendor="Guardrails AI")
            )
        for local, target in self.names.items():
            leaf = target.rsplit(".", 1)[-1]
            if leaf in ("InputGuardrail", "OutputGuardrail"):
                add(
                    Guard(
                        "input_filter" if leaf == "InputGuardrail" else "output_filter",
                        path,
                        leaf,
                        active=local in used,
                        vendor="OpenAI",
                    )
                )
        if any(t in self.text for t in ("recursion_limit", "max_iterations", "max_turns")):
            add(Guard("rate_limit", path, "recursion/iteration limit"))
        validation_seen = False
        for node in self.nodes:
            if isinstance(node, ast.Call):
                if not validation_seen and (
                    (isinstance(node.func, ast.Name) and node.func.id == "isinstance")
                    or (isinstance(node.func, ast.Attribute) and node.func.attr in ("model_validate", "TypeAdapter"))
                ):
                    add(Guard("validation", path, "isinstance/model_validate"))
                    validation_seen = True
                agent = _keyword_name(node, "agent")
                for kw in node.keywords:
                    value = kw.value
                    if kw.arg in ("interrupt_before", "interrupt_after"):
                        add(Guard("hitl", path, kw.arg, covers=tuple(_strings(value))))
                    elif kw.arg == "human_input" and isinstance(value, ast.Constant) and value.value is True:
                        add(Guard("hitl", path, "human_input", agent=agent or self._task_agent(node)))
                    elif (
                        kw.arg == "human_input_mode"
                        and isinstance(value, ast.Constant)
                        and value.value in ("ALWAYS", "TERMINATE")
                    ):
                        add(Guard("hitl", path, "human_input_mode"))
                    elif kw.arg in ("max_rpm", "rate_limit", "max_requests_per_minute"):
                        add(Guard("rate_limit", path, kw.arg))
                    elif kw.arg in STRUCTURED_OUTPUT_KEYS:
                        add(Guard("validation", path, kw.arg, agent=agent or self._task_agent(node)))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    if isinstance(dec, ast.Attribute) and dec.attr in ("result_validator", "output_validator"):
                        add(Guard("output_filter", path, dec.attr))

    def _task_agent(self, node: ast.Call) -> str:
        """A task built inside ``def <name>(self)`` of a CrewBase class: the YAML task of that name says."""
        fn = self.inner.get(id(node))
        return f"<task:{fn.name}>" if fn is not None else ""

    # memory, learning, rollback --------------------------------------------------------------------------
    def _memory(self) -> None:
        f, path = self.facts, self.path
        if any(m.split(".")[0] in MEMORY_STORES for m in self.modules):
            f.store_files.add(path)
        for node in self.nodes:
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            method, scope = node.func.attr, self.parents.get(id(node), ("<module>", ""))[0]
            if method in WRITE_METHODS:
                f.writes.append((path, scope, any(k.arg in PROVENANCE_KEYS for k in node.keywords)))
            if method in READ_METHODS:
                f.reads.append((path, scope))
            if method in COLLECTION_CALLS and node.args and isinstance(node.args[0], ast.Constant):
                f.collections.append((path, scope, str(node.args[0].value), _scoped(node)))
        if any(m.startswith("openai.fine_tuning") for m in self.modules) or any(
            m in ("trl.PPOTrainer", "trl.DPOTrainer") for m in self.modules
        ):
            f.fine_tuning = True
        for lib, methods in DISTILLATION.items():
            if lib in self.tops and any(f".{m}(" in self.text for m in methods):
                f.distillation = True
        if any(p in self.text for p in ROLLBACK_PATTERNS):
            f.rollback = True
        if "langgraph.checkpoint" in self.text and any(
            s in self.text for s in ("PostgresSaver", "SqliteSaver", "RedisSaver")
        ):
            f.durable_checkpoint = True
        f.secrets += [(path, label) for label, pattern in SECRET_PATTERNS if pattern.search(self.text)]
        f.reference_secrets += [
            (path, label) for label, pattern in REFERENCE_SECRET_PATTERNS if pattern.search(self.text)
        ]

    # telemetry, evals, model SDKs, portability -------------------------------------------------------
    def _governance(self) -> None:
        f = self.facts
        for lib, (provider, env_keys) in TELEMETRY.items():
            if lib in self.tops or any(f'"{k}"' in self.text or f"'{k}'" in self.text for k in env_keys):
                f.telemetry.add(provider)
        if "ddtrace" in self.tops:
            f.telemetry.add("Datadog")
        for lib, provider in MODEL_SDKS.items():
            if lib in self.tops:
                f.model_sdks.add(provider)
        if "openai" in self.tops and (
            any(m.startswith("openai.evals") for m in self.modules) or "openai.evals" in self.text
        ):
            f.evals.add("openai.evals")
        f.evals.update(lib for lib in EVAL_LIBS if lib in self.tops)
        if "langchain" in self.tops:
            f.langchain_imported = True
        if self.tops & set(ABSTRACTION_LIBS):
            f.abstraction = True
        if any(
            isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("openai.beta.assistants")
            for n in self.nodes
        ):
            f.proprietary_format = True

    # agents: role text; model-SDK scopes with their identity and credentials ------------------------------
    def _agents(self) -> None:
        f = self.facts
        agent_roots = agent_framework_roots()
        for node in self.nodes:
            if not isinstance(node, ast.Call):
                continue
            name = self.dotted(node.func) or ""
            leaf, root = name.rsplit(".", 1)[-1], name.split(".")[0]
            if leaf not in AGENT_CONSTRUCTORS or root not in agent_roots:
                continue
            fn = self.inner.get(id(node))
            keys = {k for k in (self.targets.get(id(node)), fn.name if fn else None) if k}
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            keys |= {_string(kw[k]) for k in ("name", "agent_name") if k in kw} - {""}
            f.agent_sites.append(AgentSite(keys, self.path, _string(kw["role"]) if "role" in kw else ""))
        if not self.tops & set(MODEL_SDKS):
            return
        module_creds = _keys_read(self.module_nodes)
        file_creds = _keys_read(self.nodes, calls_only=True)  # the reference's "module" keys: the whole file's
        for fn in self.functions:
            # the catalog's "agent scopes": functions of a model-SDK file that call the model
            calls = [n for n in self.fn_nodes[id(fn)] if isinstance(n, ast.Call)]
            if not any(isinstance(c.func, ast.Attribute) and c.func.attr in LLM_CALL_METHODS for c in calls):
                continue
            creds = _keys_read(self.fn_nodes[id(fn)])
            identity = any(k.arg in IDENTITY_KEYS for c in calls for k in c.keywords)
            f.llm_scopes.append(
                LlmScope(
                    self.path,
                    fn.name,
                    identity,
                    creds or module_creds,
                    _keys_read(self.fn_nodes[id(fn)], calls_only=True) or file_creds,
                )
            )


# -- YAML and root files -------------------------------------------------------------------------------------
def _yaml(path: str, doc: object, facts: ProjectFacts, caps: list[Cap]) -> None:
    seen: set[tuple[str, str]] = set()
    is_agents = path.rsplit("/", 1)[-1].startswith("agents.")

    def walk(obj, owner=None):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key == "tools" and isinstance(value, list):
                    names = [t for t in value if isinstance(t, str)]
                    if owner and is_agents:
                        facts.yaml_tool_agents[owner] = names
                    for tool in names:
                        for kind in KNOWN_TOOLS.get(tool, ((), ()))[0]:
                            if (tool, kind) not in seen:
                                seen.add((tool, kind))
                                caps.append(
                                    Cap(
                                        kind,
                                        KNOWN_TOOLS[tool][1][0],
                                        "confirmed",
                                        path,
                                        f"[YAML: {tool}]",
                                        0,
                                        tool=tool,
                                        via="tool",
                                    )
                                )
                else:
                    walk(value, key if obj is doc else owner)
        elif isinstance(obj, list):
            for item in obj:
                walk(item, owner)

    walk(doc)
    if path.rsplit("/", 1)[-1].startswith("tasks.") and isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, dict) and isinstance(value.get("agent"), str):
                facts.yaml_task_agents[str(key)] = value["agent"]
                if value.get("human_input") is True:  # a YAML task that asks a human before it completes
                    facts.guards.append(
                        Guard("hitl", path, "human_input", agent=value["agent"], seen_by_reference=False)
                    )
    if is_agents and isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, dict):
                facts.agent_sites.append(AgentSite({str(key)}, path, str(value.get("role") or "").strip()))


def _root(files: Mapping[str, bytes | str], facts: ProjectFacts) -> None:
    texts = {p: decode(d) for p, d in files.items()}
    for path in sorted(texts):
        name = path.rsplit("/", 1)[-1]
        if "/" not in path and (name == ".env" or name.startswith(".env.")):
            facts.env_files.append(path)
            for line in texts[path].splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    var = line.split("=", 1)[0].strip()
                    if var.startswith("export "):
                        var = var[len("export ") :].strip()
                    if var:
                        facts.env_names.add(var)
    lines = {ln.strip() for ln in texts.get(".gitignore", "").splitlines()}
    facts.env_ignored = bool(lines & {".env", ".env*", ".env.*", "*.env"})
    for path in sorted(texts):
        if not path.endswith(".json") or ("/" in path and path not in MCP_CONFIGS):
            continue
        try:
            data = json.loads(texts[path])
        except (ValueError, RecursionError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
            continue
        for name, config in data["mcpServers"].items():
            if isinstance(config, dict):
                facts.mcp.append(_mcp_server(str(name), path, config))


def _mcp_server(name: str, path: str, config: dict) -> McpServer:
    command = given if isinstance(given := config.get("command"), str) else ""
    args = (
        [str(a) for a in config.get("args", []) if isinstance(a, (str, int, float))]
        if isinstance(config.get("args"), list)
        else []
    )
    env = tuple(str(k) for k in config.get("env", {})) if isinstance(config.get("env"), dict) else ()
    url = config.get("url") if isinstance(config.get("url"), str) else ""
    words = command.split()
    package = version = ""
    if words and words[0].rsplit("/", 1)[-1] in ("npx", "npx.cmd"):
        # the package is the first argument that is not an npx option (-y, --yes, -p …)
        candidates = words[1:] + args
        for word in candidates:
            if not word.startswith("-"):
                package, version = _npm(word)
                break
    first = (words[1:] + args)[:1] if words and words[0] == "npx" else []
    reference_package, reference_version = _npm(first[0]) if first else ("", "")
    remote = bool(url) or any("https://" in a for a in args)
    auth = any(m in e.upper() for e in env for m in MCP_AUTH_MARKERS)
    return McpServer(name, path, package, version, remote, auth, env, reference_package, reference_version)


def _npm(spec: str) -> tuple[str, str]:
    if spec.startswith("@"):
        scope, _, rest = spec[1:].partition("/")
        pkg, _, version = rest.partition("@")
        return f"@{scope}/{pkg}", version
    pkg, _, version = spec.partition("@")
    return pkg, version


# -- small AST helpers -------------------------------------------------------------------------------------------
def _bound_names(statements: list[ast.stmt]) -> set[str]:
    """Names bound by the import statements among ``statements`` (not those nested in their blocks)."""
    bound = set()
    for node in statements:
        if isinstance(node, ast.Import):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            bound |= {a.asname or a.name for a in node.names}
    return bound


def _root_name(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _callee_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _string(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return ""


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [s for s in (_string(e) for e in node.elts) if s]
    return [_string(node)] if _string(node) else []


def _keyword_name(call: ast.Call, key: str) -> str:
    for kw in call.keywords:
        if kw.arg == key:
            return _callee_name(kw.value)
    return ""


def _validates(nodes: list[ast.AST]) -> bool:
    """Input validation in a function body: isinstance, model_validate/TypeAdapter, assert, a comparison, if-raise."""
    for node in nodes:
        if isinstance(node, (ast.Assert, ast.Compare)):
            return True
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id in ("isinstance", "TypeAdapter"))
            or (isinstance(node.func, ast.Attribute) and node.func.attr in ("model_validate", "TypeAdapter"))
        ):
            return True
        if isinstance(node, ast.If) and any(isinstance(c, ast.Raise) for c in ast.walk(node)):
            return True
    return False


def _scoped(call: ast.Call) -> bool:
    for kw in call.keywords:
        if kw.arg in SCOPING_KEYS:
            return True
        if (
            kw.arg == "metadata"
            and isinstance(kw.value, ast.Dict)
            and any(isinstance(k, ast.Constant) and str(k.value) in SCOPING_KEYS for k in kw.value.keys)
        ):
            return True
    return False


def _keys_read(nodes: list[ast.AST], calls_only: bool = False) -> tuple[str, ...]:
    """The API keys read among ``nodes``, in order; ``calls_only``: as the reference reads them, by calls only."""
    return tuple(
        dict.fromkeys(v for n in nodes if (not calls_only or isinstance(n, ast.Call)) and (v := _api_key_read(n)))
    )


def _api_key_read(node: ast.AST) -> str:
    """The env variable an ``os.getenv("X")`` / ``os.environ.get("X")`` / ``os.environ["X"]`` reads, if it is a key."""
    name = ""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("getenv", "get")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        if node.func.attr == "getenv" or _root_name(node.func.value) in ("os", "environ"):
            name = node.args[0].value
    elif (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
        and _root_name(node.value) in ("os", "environ")
    ):
        name = node.slice.value
    return name if any(m in name.upper() for m in API_KEY_MARKERS) else ""


def tool_kinds(facts: ProjectFacts) -> dict[str, set[str]]:
    """Capability kinds per tool name (function, tool class or known tool), before deduplication."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for cap in facts.all_caps:
        for name in {cap.name, cap.function, cap.owner} - {"", "<module>"}:
            kinds[name.strip("[]").removeprefix("YAML: ")].add(cap.kind)
    for tool, (tool_kinds_, _) in KNOWN_TOOLS.items():
        kinds[tool] |= set(tool_kinds_)
    for var, cls in facts.tool_vars.items():  # an agent lists the variable holding the tool instance
        if kinds.get(cls):
            kinds[var] |= kinds[cls]
    return kinds
