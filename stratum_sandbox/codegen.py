"""Render the files of a synthetic repository from its ``code_seed``.

The code is what a scanner will meet on real GitHub: idiomatic agent code for
each framework (imports, constructors, decorators, YAML configs), custom tools
that shell out, write files, scrape the web or call APIs without timeouts,
sometimes a human-approval step, sometimes a hard-coded (fake) key, plus the
deployment signals (Dockerfile, CI, tests, lockfile, ``.env.example``) and the
noise around them: READMEs, notebooks, data files, images, broken syntax and
non-UTF-8 bytes. Copy-paste clones share a ``code_seed`` and so render the same
architecture under another name; lightly edited clones render their source's code
(``Repo.source_seed``) and then apply their edits (a renamed function or variable,
a comment, a docstring, a changed prompt, a file added or removed), drawn from a
random stream of their own so that no other repository renders differently. Drift
(:func:`_drift_files`, :func:`template_files`): an evolving source gains a module a
step and a snapshot renders the steps up to its own; a copy that grew adds modules
of its own; a template-started project carries the template's boilerplate beside
its own code.

Nothing here is ever executed; it is text that only has to look real.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from stratum_assets.domain import frameworks as framework_table

from .bulk import bulk_files, python_module, python_unit
from .universe import Repo, SizeProfile

FILE_MODE = "100644"
SYMLINK_MODE = "120000"

_PROVIDERS = {
    "openai": ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"),
    "anthropic": ("claude-3-5-sonnet-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-0"),
    "ollama": ("llama3.1", "qwen2.5", "mistral"),
    "groq": ("llama-3.3-70b-versatile", "mixtral-8x7b-32768"),
    "google": ("gemini-1.5-pro", "gemini-2.0-flash"),
}

# A tool is (key, python function body); the key says what risk it carries.
_TOOL_KEYS = (
    "web_search",
    "web_scrape",
    "shell",
    "python_exec",
    "file_write",
    "file_read",
    "sql_query",
    "http_post",
    "send_email",
    "calculator",
    "vector_search",
    "payment",
)
_SAFE_TOOLS = ("web_search", "calculator", "vector_search", "file_read")


@dataclass(frozen=True)
class RepoFile:
    """One entry of a repository tree: a regular file or a symlink (data = target)."""

    path: str
    data: bytes
    mode: str = FILE_MODE


@dataclass(frozen=True)
class _Agent:
    name: str
    role: str
    tools: tuple[str, ...]


@dataclass(frozen=True)
class _Plan:
    """The architecture of one project, drawn from its ``code_seed``."""

    domain: str
    provider: str
    model: str
    agents: tuple[_Agent, ...]
    human_approval: bool
    hardcoded_key: bool
    timeouts: bool
    memory: bool
    hierarchical: bool
    crewai_project_layout: bool
    autogen_new_api: bool


def render_files(repo: Repo) -> list[RepoFile]:
    """All files of ``repo``'s default branch, in a stable order."""
    files = _code_files(repo)
    files.update(_noise_files(repo, random.Random(repo.code_seed ^ 0x5EED)))
    entries = [RepoFile(p, d if isinstance(d, bytes) else d.encode()) for p, d in sorted(files.items())]
    if "symlink_escape" in repo.quirks:
        entries.append(RepoFile("config/secrets.py", b"/etc/passwd", SYMLINK_MODE))
        entries.append(RepoFile("vendor_link", b"../../../../../etc", SYMLINK_MODE))
    return entries


@lru_cache(maxsize=8192)
def file_sizes(repo: Repo) -> dict[str, int]:
    """Path → size of every regular file; what tree lookups need without keeping the bytes."""
    return {f.path: len(f.data) for f in render_files(repo) if f.mode == FILE_MODE}


@lru_cache(maxsize=65536)
def language_bytes(repo: Repo) -> dict[str, int]:
    """Bytes per language, as GitHub's linguist counts them (data and images are not languages)."""
    sizes: dict[str, int] = {}
    for path, data in _code_files(repo).items():
        language = _language_of(path)
        if language:
            sizes[language] = sizes.get(language, 0) + len(data)
    return dict(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))


def _language_of(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name == "Dockerfile":
        return "Dockerfile"
    return _EXTENSION_LANGUAGES.get(name.rsplit(".", 1)[-1] if "." in name else "")


_EXTENSION_LANGUAGES = {
    "py": "Python",
    "ts": "TypeScript",
    "js": "JavaScript",
    "ipynb": "Jupyter Notebook",
    "sh": "Shell",
}


def _code_files(repo: Repo) -> dict[str, bytes | str]:
    """Source, configuration and README: everything that does not depend on the noise stream."""
    rng = random.Random(repo.code_origin)
    plan = _plan(rng, repo)
    files: dict[str, bytes | str] = {}
    if repo.archetype == "non_python":
        files.update(_typescript_project(plan, repo))
    elif repo.archetype == "no_agents":
        files.update(_no_agent_project(plan, repo, rng))
    elif repo.archetype == "template":  # boilerplate only (below): no project of its own
        files.update(_dependency_files(repo, rng))
    else:
        files["tools.py"] = _tools_module(plan, _tool_style(repo.code_origin))
        for fw in repo.frameworks:
            files.update(_RENDERERS[fw](plan, repo))
        if has_counted_companion(repo):
            files.update(_pydantic_ai_companion(plan))
        files.update(_dependency_files(repo, rng))
    files.update(_signal_files(repo, plan))
    if repo.has_readme:
        files["README.md"] = _readme(repo, plan)
    if repo.template is not None:
        files.update(template_files(repo.template))
    if repo.size_profile == SizeProfile.real:
        files.update(bulk_files(repo.code_origin, len(files), python=repo.archetype != "non_python"))
    files.update(_drift_files(repo, files))
    if repo.edits:
        _apply_edits(files, repo, random.Random(f"stratum-edit:{repo.code_seed}:{repo.id}"))
    return files


# -- drift: history, a copy's own modules, a template's boilerplate ----------------------------
def _drift_files(repo: Repo, code: dict[str, bytes | str]) -> dict[str, str]:
    """The modules an evolving source gained up to ``repo.version`` and those a copy added of its own.

    Step ``s`` of a source's history adds one module (drawn from the code origin and ``s``) and grows the
    previous step's module by one unit, so a snapshot holds the modules of its steps, the last one as it
    was then. A copy's own modules are drawn from its own ``code_seed``: no other repository has them.
    Each module is a fifth to four fifths of the size the Python code had before the drift: projects
    grow in proportion to what they are.
    """
    files: dict[str, str] = {}
    base = sum(len(d) for p, d in code.items() if p.endswith(".py"))
    steps = repo.version or 0
    for step in range(1, steps + 1):
        rng = random.Random(f"stratum-history:{repo.code_origin}:{step}")
        word = f"{rng.choice(_MODULE_WORDS)}_{rng.choice(_MODULE_WORDS)}"
        text = python_module(rng, word, base * rng.uniform(0.2, 0.8))
        if step < steps:  # the next step grew it
            text += python_unit(rng, f"{word}_v{step + 1}")
        files[f"features/{word}.py"] = text
    for index in range(repo.own_modules):
        rng = random.Random(f"stratum-own-module:{repo.code_seed}:{index}")
        word = f"{rng.choice(_MODULE_WORDS)}_{rng.choice(_MODULE_WORDS)}"
        files[f"{rng.choice(['custom', 'extensions', 'app'])}/{word}.py"] = python_module(
            rng, word, base * rng.uniform(0.2, 0.8)
        )
    return files


_MODULE_WORDS = (
    "orders",
    "leads",
    "tickets",
    "claims",
    "papers",
    "quotes",
    "events",
    "reviews",
    "invoices",
    "contracts",
    "listings",
    "trades",
    "notes",
    "alerts",
    "budgets",
    "routes",
    "drafts",
    "sources",
    "ranker",
    "digest",
    "cleaner",
    "exporter",
    "matcher",
    "monitor",
    "reporter",
    "scheduler",
)


@lru_cache(maxsize=256)
def template_files(template_seed: int) -> dict[str, str]:
    """A project template's boilerplate: a configuration, a state and a one-node graph, plus a tests conftest.

    What every project started from the template keeps while writing its own code beside it, like
    the real starter templates (a ``graph.py``, a ``configuration.py``, a conftest). Its names and
    defaults are drawn from ``template_seed``, so two templates differ; the files are small against a
    project's own code.
    """
    rng = random.Random(f"stratum-template:{template_seed}")
    package = rng.choice(["agent", "app", "project", "starter"])
    fields = rng.sample(
        [
            "model",
            "temperature",
            "max_steps",
            "system_prompt",
            "thread_id",
            "user_id",
            "max_tokens",
            "recursion_limit",
            "timeout",
        ],
        4,
    )
    defaults = {
        "model": '"openai:gpt-4o-mini"',
        "temperature": "0.0",
        "max_steps": str(rng.randint(5, 25)),
        "system_prompt": '"You are a helpful assistant."',
        "thread_id": '"default"',
        "user_id": '"anonymous"',
        "max_tokens": str(rng.choice([1024, 2048, 4096])),
        "recursion_limit": str(rng.randint(10, 50)),
        "timeout": f"{rng.randint(10, 120)}.0",
    }
    kinds = {
        "temperature": "float",
        "timeout": "float",
        "max_steps": "int",
        "max_tokens": "int",
        "recursion_limit": "int",
    }
    config = [
        '"""Define the configurable parameters for the agent."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, fields",
        "from typing import Any, Optional",
        "",
        "",
        "@dataclass(kw_only=True)",
        "class Configuration:",
        '    """The configuration for the agent."""',
        "",
    ]
    config += [f"    {f}: {kinds.get(f, 'str')} = {defaults[f]}" for f in fields]
    config += [
        "",
        "    @classmethod",
        "    def from_mapping(cls, config: Optional[dict[str, Any]] = None) -> Configuration:",
        '        """Create a Configuration instance from a configuration mapping."""',
        '        values = (config or {}).get("configurable", {})',
        "        known = {f.name for f in fields(cls) if f.init}",
        "        return cls(**{k: v for k, v in values.items() if k in known})",
        "",
    ]
    state_fields = rng.sample(["messages", "changeme", "notes", "steps", "result", "context"], 3)
    state = [
        '"""Define the state structures for the agent."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, field",
        "",
        "",
        "@dataclass",
        "class State:",
        '    """Defines the input state for the agent."""',
        "",
    ]
    state += [f"    {f}: list = field(default_factory=list)" for f in state_fields]
    state += [
        "",
        "    def last(self):",
        f"        return self.{state_fields[0]}[-1] if self.{state_fields[0]} else None",
        "",
    ]
    node = rng.choice(["call_model", "my_node", "respond", "step"])
    graph = [
        '"""A one-node graph to start from."""',
        "",
        "from typing import Any",
        "",
        f"from {package}.configuration import Configuration",
        f"from {package}.state import State",
        "",
        "",
        f"async def {node}(state: State, config: dict) -> dict[str, Any]:",
        '    """Process input and return output."""',
        "    configuration = Configuration.from_mapping(config)",
        f'    return {{"{state_fields[0]}": [f"configured with {{configuration.{fields[0]}}}"]}}',
        "",
        "",
        "def build(workflow_cls):",
        '    """Wire the workflow."""',
        "    workflow = workflow_cls(State)",
        f'    workflow.add_node("{node}", {node})',
        f'    workflow.set_entry_point("{node}")',
        "    return workflow.compile()",
        "",
    ]
    conftest = [
        "import pytest",
        "",
        "",
        '@pytest.fixture(scope="session")',
        "def anyio_backend():",
        '    return "asyncio"',
        "",
    ]
    return {
        f"src/{package}/__init__.py": (
            f'"""A starter project."""\nfrom {package}.graph import build\n\n__all__ = ["build"]\n'
        ),
        f"src/{package}/configuration.py": "\n".join(config),
        f"src/{package}/state.py": "\n".join(state),
        f"src/{package}/graph.py": "\n".join(graph),
        "tests/conftest.py": "\n".join(conftest),
    }


# -- light edits of a copy-paste clone ------------------------------------------------
_HELPERS = (
    "import logging\nimport os\n\nlogger = logging.getLogger(__name__)\n\n\n"
    'def env(name: str, default: str = "") -> str:\n    value = os.environ.get(name, default)\n'
    '    if not value:\n        logger.warning("%s is not set", name)\n    return value\n',
    "import time\n\n\ndef retry(fn, attempts: int = 3, delay: float = 1.0):\n    for attempt in range(attempts):\n"
    "        try:\n            return fn()\n        except Exception:\n            if attempt == attempts - 1:\n"
    "                raise\n            time.sleep(delay * (attempt + 1))\n",
    "import json\nfrom pathlib import Path\n\n\ndef save_result(name: str, result) -> Path:\n"
    '    path = Path("outputs") / f"{name}.json"\n    path.parent.mkdir(exist_ok=True)\n'
    "    path.write_text(json.dumps(result, indent=2, default=str))\n    return path\n",
)
_PROMPT_EDITS = (
    ("You are the ", "You act as the "),
    ("Start the ", "Kick off the "),
    ("Handle the ", "Take care of the "),
    ("Do the ", "Complete the "),
)
_DEFINED = re.compile(r"^(?:def|class) ([A-Za-z_]\w*)|^([A-Za-z_]\w*) = ", re.M)


def _apply_edits(files: dict[str, bytes | str], repo: Repo, rng: random.Random) -> None:
    """Edit the rendered Python files of a lightly edited clone in place, one edit after the other."""
    for edit in repo.edits:
        python = sorted(p for p, d in files.items() if p.endswith(".py") and isinstance(d, str) and d.strip())
        if python:
            _EDITORS[edit](files, python, rng)


def _rename(files: dict, python: list[str], rng: random.Random) -> None:
    """Rename one function, class or module-level variable everywhere it is written (strings too)."""
    names = sorted({a or b for p in python for a, b in _DEFINED.findall(files[p])} - {"__all__", "__version__"})
    if not names:
        return _add_file(files, python, rng)
    old = rng.choice(names)
    new = rng.choice(["my_", "custom_", "team_"]) + old if old[0].islower() else "My" + old
    pattern = re.compile(rf"\b{re.escape(old)}\b")
    for path in python:
        files[path] = pattern.sub(new, files[path])


def _add_file(files: dict, python: list[str], rng: random.Random) -> None:
    """A small helper module the clone's author added."""
    name = rng.choice(["utils.py", "helpers.py", "common.py"])
    files[name if name not in files else f"extra_{name}"] = rng.choice(_HELPERS)


def _drop_file(files: dict, python: list[str], rng: random.Random) -> None:
    """Delete the smallest Python file when it holds at most a fifth of the code; else add one instead."""
    smallest = min(python, key=lambda p: (len(files[p]), p))
    if len(python) < 2 or 5 * len(files[smallest]) > sum(len(files[p]) for p in python):
        return _add_file(files, python, rng)
    del files[smallest]


def _docstring(files: dict, python: list[str], rng: random.Random) -> None:
    """A docstring under the first function of one file (or at the top of the file if it has none)."""
    path = rng.choice(python)
    text = rng.choice(["Adapted for our team.", "Entry point of this step.", "TODO: document."])
    lines = files[path].split("\n")
    for i, line in enumerate(lines):
        match = re.match(r"(\s*)(?:async )?def .*:$", line)
        if match:
            lines.insert(i + 1, f'{match.group(1)}    """{text}"""')
            files[path] = "\n".join(lines)
            return
    files[path] = f'"""{text}"""\n' + files[path]


def _comment(files: dict, python: list[str], rng: random.Random) -> None:
    """A header comment in every Python file, and one after the first import of one file."""
    header = rng.choice(["# Based on an example from GitHub.\n", "# Copied and adapted for our use case.\n"])
    for path in python:
        files[path] = header + files[path]
    path = rng.choice(python)
    files[path] = re.sub(r"^((?:import|from) .*)$", r"\1  # pinned in requirements", files[path], count=1, flags=re.M)


def _prompt(files: dict, python: list[str], rng: random.Random) -> None:
    """Reword the prompts (or, in code without one, the first docstring of each file)."""
    old, new = rng.choice(_PROMPT_EDITS)
    count = -1  # every prompt
    if not any(old in files[p] for p in python):
        old, new, count = '"""', '"""Our version. ', 1
    for path in python:
        files[path] = files[path].replace(old, new, count)


_EDITORS = {
    "rename": _rename,
    "add_file": _add_file,
    "drop_file": _drop_file,
    "docstring": _docstring,
    "comment": _comment,
    "prompt": _prompt,
}


def _plan(rng: random.Random, repo: Repo) -> _Plan:
    provider = rng.choices(list(_PROVIDERS), [55, 18, 12, 8, 7])[0]
    n_agents = rng.choices([1, 2, 3, 4, 5, 7], [18, 26, 26, 15, 10, 5])[0]
    roles = ["researcher", "writer", "analyst", "reviewer", "planner", "executor", "critic"]
    agents = []
    for i in range(n_agents):
        k = rng.choices([0, 1, 2, 3, 4], [12, 30, 30, 18, 10])[0]
        pool = _TOOL_KEYS if rng.random() < 0.55 else _SAFE_TOOLS
        tools = tuple(sorted(set(rng.sample(pool, min(k, len(pool))))))
        agents.append(_Agent(name=f"{roles[i]}", role=roles[i].title(), tools=tools))
    return _Plan(
        domain=repo.name.split("/")[-1].replace("-", " ").replace("_", " "),
        provider=provider,
        model=rng.choice(_PROVIDERS[provider]),
        agents=tuple(agents),
        human_approval=rng.random() < 0.2,
        hardcoded_key=rng.random() < 0.08,
        timeouts=rng.random() < 0.35,
        memory=rng.random() < 0.3,
        hierarchical=rng.random() < 0.25,
        crewai_project_layout=rng.random() < 0.5,
        autogen_new_api=rng.random() < 0.5,
    )


def _all_tools(plan: _Plan) -> list[str]:
    return sorted({t for a in plan.agents for t in a.tools})


# -- custom tools ------------------------------------------------------------------
def _tool_body(key: str, timeouts: bool, style: tuple[int, int, int] = (30, 2000, 4)) -> tuple[str, str]:
    """Docstring and body of a plain Python tool function; ``style``: its project's :func:`_tool_style`."""
    seconds, limit, hits = style
    to = f", timeout={seconds}" if timeouts else ""
    return {
        "web_search": (
            "Search the web and return the top results.",
            f'resp = requests.get("https://duckduckgo.com/html/", params={{"q": query}}{to})\n'
            f"    return resp.text[:{limit}]",
        ),
        "web_scrape": (
            "Download a web page and return its text.",
            f"html = requests.get(query{to}).text\n"
            f'    return BeautifulSoup(html, "html.parser").get_text()[:{limit * 5 // 2}]',
        ),
        "shell": (
            "Run a shell command and return its output.",
            "result = subprocess.run(query, shell=True, capture_output=True, text=True)\n"
            "    return result.stdout + result.stderr",
        ),
        "python_exec": (
            "Execute Python code and return what it printed.",
            "buffer = io.StringIO()\n    with contextlib.redirect_stdout(buffer):\n"
            "        exec(query, {})\n    return buffer.getvalue()",
        ),
        "file_write": (
            "Write text to a file in the workspace.",
            'path, _, content = query.partition("\\n")\n    with open(path, "w") as fh:\n'
            '        fh.write(content)\n    return f"wrote {len(content)} chars"',
        ),
        "file_read": (
            "Read a text file from the workspace.",
            f"with open(query) as fh:\n        return fh.read()[:{limit * 2}]",
        ),
        "sql_query": (
            "Run a SQL query against the local database.",
            'conn = sqlite3.connect("app.db")\n    rows = conn.execute(query).fetchall()\n    return json.dumps(rows)',
        ),
        "http_post": (
            "Post a message to the team webhook.",
            f'resp = requests.post(os.environ["WEBHOOK_URL"], json={{"text": query}}{to})\n'
            "    return str(resp.status_code)",
        ),
        "send_email": (
            "Send an email to a customer.",
            'msg = EmailMessage()\n    msg["To"], _, body = query.partition(":")\n    msg.set_content(body)\n'
            '    with smtplib.SMTP(os.environ.get("SMTP_HOST", "localhost")) as smtp:\n'
            '        smtp.send_message(msg)\n    return "sent"',
        ),
        "calculator": (
            "Evaluate a simple arithmetic expression.",
            'allowed = set("0123456789+-*/(). ")\n    if not set(query) <= allowed:\n        return "invalid"\n'
            '    return str(eval(query, {"__builtins__": {}}))',
        ),
        "vector_search": (
            "Look up relevant passages in the knowledge base.",
            f'hits = INDEX.similarity_search(query, k={hits})\n    return "\\n".join(h.page_content for h in hits)',
        ),
        "payment": (
            "Refund or charge a customer through Stripe.",
            'stripe.api_key = os.environ["STRIPE_API_KEY"]\n    charge = stripe.Refund.create(charge=query)\n'
            "    return charge.status",
        ),
    }[key]


def _tool_style(code_origin: int) -> tuple[int, int, int]:
    """The timeout (seconds), text limit (characters) and search hits a project's tools use.

    Each project picks its own, as real ones do: two unrelated projects with the same tools never
    render one tools module byte for byte, which the near-duplicate detector would rightly read as
    a copy (issue 29: most of its false pairs at 10,000 repositories were such twins). Copies share
    their source's. Drawn from a stream of its own, so no other draw of the project moved.
    """
    rng = random.Random(f"stratum-tool-style:{code_origin}")
    return (
        rng.choice((10, 15, 20, 30, 45, 60, 90, 120)),
        rng.choice((1000, 1500, 2000, 2500, 3000, 4000, 5000, 8000)),
        rng.randint(2, 8),
    )


_TOOL_IMPORTS = (
    "import contextlib\nimport io\nimport json\nimport os\nimport smtplib\nimport sqlite3\n"
    "import subprocess\nfrom email.message import EmailMessage\n\nimport requests\nimport stripe\n"
    "from bs4 import BeautifulSoup\n\nINDEX = None  # set by the app at start-up\n"
)


def _tools_module(plan: _Plan, style: tuple[int, int, int]) -> str:
    parts = ['"""Tools the agents can call."""\n', _TOOL_IMPORTS]
    if plan.hardcoded_key:
        parts.append('\nOPENAI_API_KEY = "sk-proj-Sandbox0000000000000000000000000000000000000000"\n')
    for key in _all_tools(plan):
        doc, body = _tool_body(key, plan.timeouts, style)
        parts.append(f'\n\ndef {key}(query: str) -> str:\n    """{doc}"""\n    {body}\n')
    return "".join(parts)


# -- one renderer per framework -----------------------------------------------
def _langchain(plan: _Plan, repo: Repo) -> dict[str, str]:
    llm = {
        "openai": 'from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(model="{m}", temperature=0)',
        "anthropic": 'from langchain_anthropic import ChatAnthropic\nllm = ChatAnthropic(model="{m}")',
        "ollama": 'from langchain_ollama import ChatOllama\nllm = ChatOllama(model="{m}")',
        "groq": 'from langchain_groq import ChatGroq\nllm = ChatGroq(model="{m}")',
        "google": (
            'from langchain_google_genai import ChatGoogleGenerativeAI\nllm = ChatGoogleGenerativeAI(model="{m}")'
        ),
    }[plan.provider].format(m=plan.model)
    lines = [
        f'"""LangChain agents for {plan.domain}."""',
        "from langchain.agents import AgentExecutor, create_tool_calling_agent",
        "from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder",
        "from langchain_core.tools import tool",
        "",
        "import tools as impl",
        "",
        llm,
        "",
    ]
    for key in _all_tools(plan):
        doc, _ = _tool_body(key, plan.timeouts)
        lines += ["@tool", f"def {key}(query: str) -> str:", f'    """{doc}"""', f"    return impl.{key}(query)", ""]
    if plan.memory:
        lines += [
            "from langchain.memory import ConversationBufferMemory",
            'memory = ConversationBufferMemory(memory_key="chat_history", return_messages=True)',
            "",
        ]
    for a in plan.agents:
        tl = ", ".join(a.tools)
        lines += [
            f"{a.name}_prompt = ChatPromptTemplate.from_messages([",
            f'    ("system", "You are the {a.role} of a {plan.domain} team."),',
            '    ("human", "{input}"),',
            '    MessagesPlaceholder("agent_scratchpad"),',
            "])",
            f"{a.name}_tools = [{tl}]",
            f"{a.name}_agent = create_tool_calling_agent(llm, {a.name}_tools, {a.name}_prompt)",
            f"{a.name}_executor = AgentExecutor(agent={a.name}_agent, tools={a.name}_tools, verbose=True"
            + (", max_iterations=8" if plan.timeouts else "")
            + ")",
            "",
        ]
    lines += [
        "",
        'if __name__ == "__main__":',
        f'    print({plan.agents[0].name}_executor.invoke({{"input": "Start the {plan.domain} job"}}))',
        "",
    ]
    return {"agents/langchain_agents.py": "\n".join(lines)}


def _langgraph(plan: _Plan, repo: Repo) -> dict[str, str]:
    names = [a.name for a in plan.agents]
    lines = [
        f'"""A LangGraph state machine for {plan.domain}."""',
        "from typing import Annotated, TypedDict",
        "",
        "from langgraph.graph import END, START, StateGraph",
        "from langgraph.graph.message import add_messages",
        "from langgraph.prebuilt import ToolNode, create_react_agent",
    ]
    if plan.memory:
        lines.append("from langgraph.checkpoint.memory import MemorySaver")
    lines += [
        "from langchain_openai import ChatOpenAI"
        if plan.provider != "anthropic"
        else "from langchain_anthropic import ChatAnthropic",
        "",
        "import tools as impl",
        "",
        "",
        "class State(TypedDict):",
        "    messages: Annotated[list, add_messages]",
        "    next: str",
        "",
        f'llm = {"ChatAnthropic" if plan.provider == "anthropic" else "ChatOpenAI"}(model="{plan.model}")',
        "",
    ]
    for a in plan.agents:
        tl = ", ".join(f"impl.{t}" for t in a.tools)
        lines.append(f'{a.name} = create_react_agent(llm, tools=[{tl}], prompt="You are the {a.role}.")')
    lines += [
        "",
        "",
        "def route(state: State) -> str:",
        '    return state.get("next") or END',
        "",
        "builder = StateGraph(State)",
    ]
    for n in names:
        lines.append(f'builder.add_node("{n}", {n})')
    lines.append(f'builder.add_edge(START, "{names[0]}")')
    for src, dst in itertools.pairwise(names):
        lines.append(f'builder.add_edge("{src}", "{dst}")')
    if plan.hierarchical and len(names) > 2:
        lines.append(f'builder.add_conditional_edges("{names[-1]}", route, {{"{names[0]}": "{names[0]}", END: END}})')
    else:
        lines.append(f'builder.add_edge("{names[-1]}", END)')
    compile_args = []
    if plan.memory:
        compile_args.append("checkpointer=MemorySaver()")
    if plan.human_approval:
        compile_args.append(f'interrupt_before=["{names[-1]}"]')
    lines += [f"graph = builder.compile({', '.join(compile_args)})", ""]
    return {"graph/workflow.py": "\n".join(lines)}


def _crewai_tool_class(key: str, plan: _Plan) -> str:
    doc, _ = _tool_body(key, plan.timeouts)
    cls = "".join(p.title() for p in key.split("_")) + "Tool"
    return (
        f'class {cls}(BaseTool):\n    name: str = "{key}"\n    description: str = "{doc}"\n\n'
        f"    def _run(self, query: str) -> str:\n        return impl.{key}(query)\n"
    )


def _crewai(plan: _Plan, repo: Repo) -> dict[str, str]:
    llm_name = f"{plan.provider}/{plan.model}" if plan.provider != "openai" else plan.model
    tool_classes = "\n\n".join(_crewai_tool_class(k, plan) for k in _all_tools(plan))
    tools_file = '"""CrewAI tools."""\nfrom crewai.tools import BaseTool\n\nimport tools as impl\n\n\n' + tool_classes
    cls = lambda k: "".join(p.title() for p in k.split("_")) + "Tool"  # noqa: E731
    process = "Process.hierarchical" if plan.hierarchical else "Process.sequential"
    if plan.crewai_project_layout:
        agents_yaml = "".join(
            f"{a.name}:\n  role: >\n    {a.role}\n  goal: >\n    Deliver the best {plan.domain} results\n"
            f"  backstory: >\n    A seasoned {a.role.lower()} who knows {plan.domain}.\n  llm: {llm_name}\n"
            for a in plan.agents
        )
        tasks_yaml = "".join(
            f"{a.name}_task:\n  description: >\n    Do the {a.name} part of the {plan.domain} job for {{topic}}.\n"
            f"  expected_output: >\n    A short report.\n  agent: {a.name}\n"
            + ("  human_input: true\n" if plan.human_approval and i == len(plan.agents) - 1 else "")
            for i, a in enumerate(plan.agents)
        )
        body = [
            '"""The crew, wired from config/agents.yaml and config/tasks.yaml."""',
            "from crewai import Agent, Crew, Process, Task",
            "from crewai.project import CrewBase, agent, crew, task",
            "",
            f"from .custom_tools import {', '.join(cls(k) for k in _all_tools(plan)) or 'BaseTool'}",
            "",
            "",
            "@CrewBase",
            "class ProjectCrew:",
            '    agents_config = "config/agents.yaml"',
            '    tasks_config = "config/tasks.yaml"',
            "",
        ]
        for a in plan.agents:
            tl = ", ".join(f"{cls(t)}()" for t in a.tools)
            body += [
                "    @agent",
                f"    def {a.name}(self) -> Agent:",
                f'        return Agent(config=self.agents_config["{a.name}"], tools=[{tl}], verbose=True)',
                "",
            ]
        for a in plan.agents:
            body += [
                "    @task",
                f"    def {a.name}_task(self) -> Task:",
                f'        return Task(config=self.tasks_config["{a.name}_task"])',
                "",
            ]
        body += [
            "    @crew",
            "    def crew(self) -> Crew:",
            f"        return Crew(agents=self.agents, tasks=self.tasks, process={process}"
            + (", memory=True" if plan.memory else "")
            + ", verbose=True)",
            "",
        ]
        return {
            "src/crew_app/crew.py": "\n".join(body),
            "src/crew_app/custom_tools.py": tools_file,
            "src/crew_app/__init__.py": "",
            "src/crew_app/config/agents.yaml": agents_yaml,
            "src/crew_app/config/tasks.yaml": tasks_yaml,
            "src/crew_app/main.py": "from .crew import ProjectCrew\n\n\ndef run():\n"
            f'    ProjectCrew().crew().kickoff(inputs={{"topic": "{plan.domain}"}})\n',
        }
    body = [
        f'"""A CrewAI crew for {plan.domain}."""',
        "from crewai import Agent, Crew, Process, Task",
        "",
        f"from custom_tools import {', '.join(cls(k) for k in _all_tools(plan)) or 'BaseTool'}",
        "",
    ]
    for a in plan.agents:
        tl = ", ".join(f"{cls(t)}()" for t in a.tools)
        body += [
            f"{a.name} = Agent(",
            f'    role="{a.role}",',
            f'    goal="Deliver the best {plan.domain} results",',
            f'    backstory="A seasoned {a.role.lower()}.",',
            f"    tools=[{tl}],",
            f'    llm="{llm_name}",',
            f"    allow_delegation={plan.hierarchical},",
            ")",
            "",
        ]
    for i, a in enumerate(plan.agents):
        hi = ", human_input=True" if plan.human_approval and i == len(plan.agents) - 1 else ""
        body += [
            f'{a.name}_task = Task(description="Do the {a.name} part.", expected_output="A report.", '
            f"agent={a.name}{hi})"
        ]
    agents = ", ".join(a.name for a in plan.agents)
    tasks = ", ".join(f"{a.name}_task" for a in plan.agents)
    body += [
        "",
        f"crew = Crew(agents=[{agents}], tasks=[{tasks}], process={process})",
        "",
        'if __name__ == "__main__":',
        "    print(crew.kickoff())",
        "",
    ]
    return {"crew.py": "\n".join(body), "custom_tools.py": tools_file}


def _autogen(plan: _Plan, repo: Repo) -> dict[str, str]:
    if plan.autogen_new_api:
        lines = [
            f'"""An AutoGen AgentChat team for {plan.domain}."""',
            "import asyncio",
            "",
            "from autogen_agentchat.agents import AssistantAgent, UserProxyAgent",
            "from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination",
            "from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat",
            "from autogen_ext.models.openai import OpenAIChatCompletionClient",
            "",
            "import tools as impl",
            "",
            f'model_client = OpenAIChatCompletionClient(model="{plan.model}")',
            "",
        ]
        for a in plan.agents:
            tl = ", ".join(f"impl.{t}" for t in a.tools)
            lines.append(
                f'{a.name} = AssistantAgent("{a.name}", model_client=model_client, tools=[{tl}], '
                f'system_message="You are the {a.role}.")'
            )
        members = [a.name for a in plan.agents]
        if plan.human_approval:
            lines.append('approver = UserProxyAgent("approver", input_func=input)')
            members.append("approver")
        team = "SelectorGroupChat" if plan.hierarchical else "RoundRobinGroupChat"
        extra = ", model_client=model_client" if plan.hierarchical else ""
        lines += [
            "",
            'termination = TextMentionTermination("TERMINATE") | MaxMessageTermination(20)',
            f"team = {team}([{', '.join(members)}]{extra}, termination_condition=termination)",
            "",
            "",
            "async def main() -> None:",
            f'    await team.run(task="Handle the {plan.domain} request")',
            "",
            'if __name__ == "__main__":',
            "    asyncio.run(main())",
            "",
        ]
        return {"team.py": "\n".join(lines)}
    human = '"ALWAYS"' if plan.human_approval else '"NEVER"'
    executes = any("python_exec" in a.tools or "shell" in a.tools for a in plan.agents)
    code_exec = '{"work_dir": "coding", "use_docker": False}' if executes else "False"
    lines = [
        f'"""AutoGen group chat for {plan.domain}."""',
        "import os",
        "",
        "from autogen import AssistantAgent, GroupChat, GroupChatManager, UserProxyAgent, register_function",
        "",
        "import tools as impl",
        "",
        f'config_list = [{{"model": "{plan.model}", "api_key": os.environ.get("OPENAI_API_KEY")}}]',
        'llm_config = {"config_list": config_list' + (', "timeout": 60' if plan.timeouts else "") + "}",
        "",
        f'user_proxy = UserProxyAgent("user_proxy", human_input_mode={human}, code_execution_config={code_exec})',
    ]
    for a in plan.agents:
        lines.append(
            f'{a.name} = AssistantAgent("{a.name}", system_message="You are the {a.role}.", llm_config=llm_config)'
        )
        for t in a.tools:
            lines.append(
                f'register_function(impl.{t}, caller={a.name}, executor=user_proxy, name="{t}", '
                f'description="{_tool_body(t, False)[0]}")'
            )
    chat_members = ", ".join(["user_proxy", *(a.name for a in plan.agents)])
    lines += [
        "",
        f"groupchat = GroupChat(agents=[{chat_members}], messages=[], max_round=12)",
        "manager = GroupChatManager(groupchat=groupchat, llm_config=llm_config)",
        "",
        'if __name__ == "__main__":',
        f'    user_proxy.initiate_chat(manager, message="Start the {plan.domain} job")',
        "",
    ]
    return {"app.py": "\n".join(lines)}


def _llamaindex(plan: _Plan, repo: Repo) -> dict[str, str]:
    llm = {
        "anthropic": f'from llama_index.llms.anthropic import Anthropic\nllm = Anthropic(model="{plan.model}")',
        "ollama": (
            f'from llama_index.llms.ollama import Ollama\nllm = Ollama(model="{plan.model}", request_timeout=120.0)'
        ),
    }.get(plan.provider, f'from llama_index.llms.openai import OpenAI\nllm = OpenAI(model="{plan.model}")')
    lines = [
        f'"""LlamaIndex agents for {plan.domain}."""',
        "from llama_index.core import SimpleDirectoryReader, VectorStoreIndex",
        "from llama_index.core.agent import ReActAgent",
        "from llama_index.core.tools import FunctionTool, QueryEngineTool",
        "",
        "import tools as impl",
        "",
        llm,
        "",
        'documents = SimpleDirectoryReader("data").load_data()',
        "index = VectorStoreIndex.from_documents(documents)",
        "docs_tool = QueryEngineTool.from_defaults("
        'index.as_query_engine(), name="docs", description="Project documents")',
        "",
    ]
    for a in plan.agents:
        tl = ", ".join(["docs_tool", *(f"FunctionTool.from_defaults(fn=impl.{t})" for t in a.tools)])
        lines.append(f"{a.name} = ReActAgent.from_tools([{tl}], llm=llm, verbose=True)")
    lines += [
        "",
        'if __name__ == "__main__":',
        f'    print({plan.agents[0].name}.chat("Summarise the {plan.domain} docs"))',
        "",
    ]
    return {"llama_agents.py": "\n".join(lines)}


def _agno(plan: _Plan, repo: Repo) -> dict[str, str]:
    model = {
        "anthropic": ("from agno.models.anthropic import Claude", f'Claude(id="{plan.model}")'),
        "ollama": ("from agno.models.ollama import Ollama", f'Ollama(id="{plan.model}")'),
        "groq": ("from agno.models.groq import Groq", f'Groq(id="{plan.model}")'),
    }.get(plan.provider, ("from agno.models.openai import OpenAIChat", f'OpenAIChat(id="{plan.model}")'))
    lines = [
        f'"""Agno agents for {plan.domain}."""',
        "from agno.agent import Agent",
        model[0],
        "from agno.team import Team",
        "from agno.tools.duckduckgo import DuckDuckGoTools",
        "",
        "import tools as impl",
        "",
    ]
    for a in plan.agents:
        tl = ", ".join(["DuckDuckGoTools()", *(f"impl.{t}" for t in a.tools if t != "web_search")])
        lines.append(
            f'{a.name} = Agent(name="{a.role}", model={model[1]}, tools=[{tl}], '
            f'instructions=["You are the {a.role}."], markdown=True)'
        )
    members = ", ".join(a.name for a in plan.agents)
    lines += [
        "",
        f'team = Team(name="{plan.domain} team", mode="coordinate", model={model[1]}, members=[{members}])',
        "",
        'if __name__ == "__main__":',
        f'    team.print_response("Handle the {plan.domain} request")',
        "",
    ]
    return {"agno_team.py": "\n".join(lines)}


def _smolagents(plan: _Plan, repo: Repo) -> dict[str, str]:
    lines = [
        f'"""smolagents for {plan.domain}."""',
        "from smolagents import CodeAgent, DuckDuckGoSearchTool, InferenceClientModel, ToolCallingAgent, tool",
        "",
        "import tools as impl",
        "",
        'model = InferenceClientModel(model_id="Qwen/Qwen2.5-Coder-32B-Instruct")',
        "",
    ]
    for key in _all_tools(plan):
        doc, _ = _tool_body(key, plan.timeouts)
        lines += [
            "@tool",
            f"def {key}_tool(query: str) -> str:",
            f'    """{doc}',
            "",
            "    Args:",
            "        query: what to act on.",
            '    """',
            f"    return impl.{key}(query)",
            "",
        ]
    for i, a in enumerate(plan.agents):
        tl = ", ".join(["DuckDuckGoSearchTool()", *(f"{t}_tool" for t in a.tools)])
        kind = "CodeAgent" if i == 0 else "ToolCallingAgent"
        extra = ', additional_authorized_imports=["requests", "pandas"]' if kind == "CodeAgent" else ""
        lines.append(f'{a.name} = {kind}(tools=[{tl}], model=model, name="{a.name}"{extra})')
    lines += [
        "",
        'if __name__ == "__main__":',
        f'    {plan.agents[0].name}.run("Handle the {plan.domain} request")',
        "",
    ]
    return {"smol_agents.py": "\n".join(lines)}


# Frameworks whose idioms (above) are agents the reference `stratum` CLI does not count: LlamaIndex's ReActAgent and
# SmolAgents' CodeAgent/ToolCallingAgent are not constructor names it knows (scanner/reference_counting.py).
REFERENCE_UNSEEN = frozenset({"LlamaIndex", "SmolAgents"})
# How often a project built only on them also writes an agent the reference counts, as real ones do: of the real
# LlamaIndex and SmolAgents projects in the reference corpora, about half hold one (a PydanticAI `Agent`, an
# AutoGen `AssistantAgent`…); the others are empty to the reference, and so to the dataset.
COMPANION_SHARE = 0.5
COMPANION_FILE = "drafting.py"


def has_counted_companion(repo: Repo) -> bool:
    """Whether a project built only on :data:`REFERENCE_UNSEEN` frameworks also has a PydanticAI helper agent.

    Drawn from a stream of its own (copies share their source's ``code_origin``, so they draw the same), so adding
    it moved no other draw of the universe."""
    if repo.archetype in ("no_agents", "non_python") or not set(repo.frameworks) <= REFERENCE_UNSEEN:
        return False
    return random.Random(f"stratum-companion:{repo.code_origin}").random() < COMPANION_SHARE


def _pydantic_ai_companion(plan: _Plan) -> dict[str, str]:
    lines = [
        '"""A small PydanticAI helper that drafts the final answer."""',
        "from pydantic_ai import Agent",
        "",
        f'drafter = Agent("openai:{_PROVIDERS["openai"][0]}", name="drafter",',
        f'                system_prompt="Draft a short answer about {plan.domain} from the notes you are given.")',
        "",
        "",
        "def draft(notes: str) -> str:",
        "    return drafter.run_sync(notes).output",
        "",
    ]
    return {COMPANION_FILE: "\n".join(lines)}


_RENDERERS = {
    "LangChain": _langchain,
    "LangGraph": _langgraph,
    "CrewAI": _crewai,
    "AutoGen": _autogen,
    "LlamaIndex": _llamaindex,
    "Agno": _agno,
    "SmolAgents": _smolagents,
}

# The distribution each framework's repositories pin and its version pattern: the framework table's (every row
# with an offline weight has an offline_version).
_PACKAGES: dict[str, tuple[str, str]] = {
    f.label: cast(tuple[str, str], (f.own_distribution, f.offline_version)) for f in framework_table.offline()
}


def _dependency_files(repo: Repo, rng: random.Random) -> dict[str, str]:
    pins = [(_PACKAGES[f][0], _PACKAGES[f][1].format(rng.randint(1, 30))) for f in repo.frameworks]
    pins += [("requests", "2.32.3"), ("beautifulsoup4", "4.12.3"), ("python-dotenv", "1.0.1")]
    exact = rng.random() < 0.5
    if rng.random() < 0.6:
        req = "".join(f"{n}{'==' if exact else '>='}{v}\n" for n, v in pins)
        return {"requirements.txt": req}
    deps = ",\n".join(f'    "{n}>={v}"' for n, v in pins)
    return {
        "pyproject.toml": f'[project]\nname = "{repo.name.lower()}"\nversion = "0.1.0"\n'
        f'requires-python = ">=3.10"\ndependencies = [\n{deps},\n]\n'
    }


def _signal_files(repo: Repo, plan: _Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    if "dockerfile" in repo.signals:
        files["Dockerfile"] = (
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
            'RUN pip install --no-cache-dir -r requirements.txt || pip install .\nCMD ["python", "-m", "app"]\n'
        )
    if "ci" in repo.signals:
        files[".github/workflows/ci.yml"] = (
            "name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n"
            "        with:\n          python-version: '3.12'\n      - run: pip install -r requirements.txt pytest\n"
            "      - run: pytest -q\n"
        )
    if "tests" in repo.signals:
        files["tests/test_tools.py"] = (
            "import tools\n\n\ndef test_tools_module_has_functions():\n"
            "    assert callable(getattr(tools, 'calculator', print))\n"
        )
    if "lockfile" in repo.signals:
        name = "uv.lock" if len(repo.name) % 2 else "poetry.lock"
        files[name] = "".join(f'[[package]]\nname = "{f.lower()}"\nversion = "1.0.0"\n\n' for f in repo.frameworks)
    if "env_example" in repo.signals:
        files[".env.example"] = f"{plan.provider.upper()}_API_KEY=\nSERPER_API_KEY=\n"
    gitignore = "__pycache__/\n.venv/\n" + (".env\n" if "env_example" in repo.signals else "")
    files[".gitignore"] = gitignore
    return files


def _noise_files(repo: Repo, rng: random.Random) -> dict[str, bytes | str]:
    """Files a scanner does not read but a plain clone downloads anyway."""
    files: dict[str, bytes | str] = {}
    files["docs/architecture.png"] = rng.randbytes(rng.randint(20_000, 80_000))
    files["data/sample.csv"] = "id,text\n" + "".join(f"{i},example row {i}\n" for i in range(rng.randint(200, 2000)))
    if rng.random() < 0.3:
        files["notebooks/demo.ipynb"] = json.dumps(
            {"cells": [{"cell_type": "code", "source": ["print('demo')"]}], "nbformat": 4, "nbformat_minor": 5}
        )
    if "syntax_error" in repo.quirks:
        files["legacy/old_agent.py"] = "def broken(:\n    return agent.run(\n"
    if "non_utf8" in repo.quirks:
        files["legacy/notes_latin1.py"] = "# R\xe9sum\xe9 des agents \xe0 faire\nVALUE = 1\n".encode("latin-1")
    if "oversized" in repo.quirks:
        for i in range(300):
            files[f"datasets/shard_{i:03d}.bin"] = rng.randbytes(20_000)
        for i in range(60):
            files[f"pkg/module_{i:02d}.py"] = f"def handler_{i}(event):\n    return event\n"
    return files


def _no_agent_project(plan: _Plan, repo: Repo, rng: random.Random) -> dict[str, str]:
    fw = repo.frameworks[0]
    imports = {
        "LlamaIndex": (
            "from llama_index.core.node_parser import SentenceSplitter\nsplitter = SentenceSplitter(chunk_size=512)"
        ),
    }.get(
        fw,
        "from langchain_text_splitters import RecursiveCharacterTextSplitter\n"
        "splitter = RecursiveCharacterTextSplitter(chunk_size=800, chunk_overlap=80)",
    )
    code = (
        f'"""Split {plan.domain} documents into chunks for retrieval experiments."""\nimport pathlib\n\n{imports}\n\n\n'
        "def chunks(folder: str) -> list[str]:\n    out = []\n    for path in pathlib.Path(folder).glob('*.txt'):\n"
        "        out.extend(splitter.split_text(path.read_text()))\n    return out\n"
    )
    return {"ingest.py": code, **_dependency_files(repo, rng)}


def _typescript_project(plan: _Plan, repo: Repo) -> dict[str, str]:
    pkg = {
        "name": repo.name.lower(),
        "version": "0.1.0",
        "type": "module",
        "dependencies": {"langchain": "^0.3.0", "@langchain/openai": "^0.3.0", "@langchain/langgraph": "^0.2.0"},
    }
    ts = (
        'import { ChatOpenAI } from "@langchain/openai";\n'
        'import { createReactAgent } from "@langchain/langgraph/prebuilt";\n\n'
        f'const llm = new ChatOpenAI({{ model: "{plan.model}" }});\n'
        "export const agent = createReactAgent({ llm, tools: [] });\n"
    )
    return {
        "package.json": json.dumps(pkg, indent=2) + "\n",
        "src/agent.ts": ts,
        "scripts/setup.py": "# helper used once to seed the vector store\nprint('seed')\n",
    }


def _readme(repo: Repo, plan: _Plan) -> str:
    return (
        f"# {repo.name}\n\n{repo.description or ''}\n\n## Setup\n\n```bash\npip install -r requirements.txt\n"
        f"cp .env.example .env\n```\n\nUses {', '.join(repo.frameworks)} with {plan.provider} ({plan.model}).\n"
    )
