"""The built-in scanner on idioms found in real agent repositories (issue 13, item 5).

Each test writes a small synthetic repository into tmp_path that reproduces one idiom seen in the real
corpus (the agreement benchmark's, never read here): several @CrewBase crews in one repository,
dependency pins in every common file format, LLM providers behind OpenAI-compatible clients, densely
connected agent graphs, pathological files, and the frameworks the reference scanner misses.
"""

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanner import dependencies
from stratum_assets.scanner.engine import read_repository, scan_repository
from stratum_assets.scanner.ping import validate_ping
from stratum_assets.scanner.topology import Graph, _longest_chain, metrics


def _repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def _scan(tmp_path, files, name="owner/fixture"):
    ping = scan_repository(_repo(tmp_path, files), name)
    assert validate_ping({**ping, "repo_hash": repo_hash(name)}, repo_hash(name)) == []
    return ping


# -- 1. a crew holds its own agents ------------------------------------------------------------------
def _crewbase(cls: str, agents: list[str], tools: dict[str, str] | None = None) -> str:
    tools = tools or {}
    methods = "".join(
        f"    @agent\n    def {a}(self) -> Agent:\n"
        f'        return Agent(config=self.agents_config["{a}"], tools=[{tools.get(a, "")}], verbose=True)\n\n'
        for a in agents
    )
    return (
        f'@CrewBase\nclass {cls}:\n    agents_config = "config/agents.yaml"\n'
        f'    tasks_config = "config/tasks.yaml"\n\n{methods}'
        f'    @task\n    def work(self) -> Task:\n        return Task(config=self.tasks_config["work"])\n\n'
        f"    @crew\n    def crew(self) -> Crew:\n"
        f"        return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)\n\n\n"
    )


_CREW_IMPORTS = (
    "from crewai import Agent, Crew, Process, Task\n"
    "from crewai.project import CrewBase, agent, crew, task\n"
    "from crewai_tools import FileWriterTool, SerperDevTool\n\n\n"
)


def _yaml_agents(names: list[str]) -> str:
    return "".join(f"{n}:\n  role: {n.title()}\n  goal: Do {n} work\n  backstory: An expert.\n" for n in names)


SEVERAL_CREWBASE = {
    # socratic-sofa's layout (crew.py + config/agents.yaml), three times over, plus two crews in one file
    "crews/research/crew.py": _CREW_IMPORTS
    + _crewbase("ResearchCrew", ["researcher", "analyst"], {"researcher": "SerperDevTool()"}),
    "crews/research/config/agents.yaml": _yaml_agents(["researcher", "analyst"]),
    "crews/research/config/tasks.yaml": "work:\n  description: Research\n  agent: researcher\n",
    "crews/writing/crew.py": _CREW_IMPORTS
    + _crewbase("WritingCrew", ["researcher", "writer", "editor"], {"writer": "FileWriterTool()"}),
    "crews/writing/config/agents.yaml": _yaml_agents(["researcher", "writer", "editor"]),
    "crews/writing/config/tasks.yaml": "work:\n  description: Write\n  agent: writer\n  human_input: true\n",
    "crews/review/crew.py": _CREW_IMPORTS
    + _crewbase("ReviewCrew", ["reviewer"], {"reviewer": "FileWriterTool()"})
    + _crewbase("PublishCrew", ["publisher"]),
    "crews/review/config/agents.yaml": _yaml_agents(["reviewer", "publisher"]),
    "crews/review/config/tasks.yaml": "work:\n  description: Review\n  agent: reviewer\n",
}


def test_each_crewbase_crew_holds_only_the_agents_of_its_own_class(tmp_path):
    p = _scan(tmp_path, SEVERAL_CREWBASE)
    assert p["frameworks"] == ["CrewAI"]
    assert p["detected_agent_count"] == 7, "2 + 3 + 1 + 1 @agent methods; same-named methods of two crews are two"
    assert p["agent_count"] == 6, "the reference merges agents by name across the repository: one researcher"
    assert p["crew_count"] == 4 and p["detected_crew_count"] == 4
    assert p["crew_size_distribution"] == [3, 2, 1, 1], "before: every crew had all 7 agents of the repository"
    assert p["max_path_hops"] == 2, "the longest sequential crew has 3 agents"


def test_crew_human_input_reaches_only_that_crews_agents(tmp_path):
    model, *_ = read_repository(_repo(tmp_path, SEVERAL_CREWBASE))
    by_class = {g.name.split(".")[0]: g for g in model.groups}
    assert by_class["WritingCrew"].human_approval, "its tasks.yaml asks for human input"
    assert not by_class["ResearchCrew"].human_approval and not by_class["ReviewCrew"].human_approval
    approved = sorted(a.name for a in model.agents.values() if a.human_approval)
    assert approved == sorted(by_class["WritingCrew"].members) and len(approved) == 3
    assert all(set(g.members) <= set(model.agents) for g in model.groups), "members are the crew's own agents"


def test_an_agent_method_without_a_direct_agent_call_is_still_a_member(tmp_path):
    p = _scan(
        tmp_path,
        {
            "crew.py": _CREW_IMPORTS
            + """
@CrewBase
class Helpers:
    def _make(self, key):
        return Agent(config=self.agents_config[key])

    @agent
    def planner(self) -> Agent:
        return self._make("planner")

    @agent
    def doer(self) -> Agent:
        return self._make("doer")

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks)
"""
        },
    )
    assert (p["agent_count"], p["crew_count"], p["crew_size_distribution"]) == (2, 1, [2])


def test_plain_crews_in_sibling_recipes_use_their_own_same_named_agents(tmp_path):
    # crewai-recipes: one folder per recipe, each with agents.py and crew.py using the same variable names
    files = {}
    for recipe in ("faq", "leads"):
        files[f"recipes/{recipe}/agents.py"] = (
            "from crewai import Agent\n\n\ndef build_agents():\n"
            "    researcher = Agent(role='R', goal='g', backstory='b')\n"
            "    writer = Agent(role='W', goal='g', backstory='b')\n"
            "    return researcher, writer\n"
        )
        files[f"recipes/{recipe}/crew.py"] = (
            "from crewai import Crew, Process\nfrom agents import build_agents\n\n\n"
            "def build_crew():\n    researcher, writer = build_agents()\n"
            "    return Crew(agents=[researcher, writer], tasks=[], "
            "process=Process.sequential)\n"
        )
    p = _scan(tmp_path, files)
    assert (p["detected_agent_count"], p["detected_crew_count"], p["detected_crew_size_distribution"]) == (4, 2, [2, 2])
    assert (p["agent_count"], p["crew_count"], p["crew_size_distribution"]) == (1, 2, [2, 2]), (
        "the reference: nameless Agent(…) calls are one agent, the Crew(agents=[…]) literals keep their sizes"
    )
    assert p["graph_edge_type_distribution"]["flows_to"] == 2, "each crew's chain links its own two agents"
    assert p["graph_edge_type_distribution"]["member"] == 4 and p["graph_node_type_distribution"]["agent"] == 4


def test_each_state_graph_holds_its_own_nodes(tmp_path):
    # plebchatpipe: one StateGraph per sub-package, node functions with the same names in several graphs
    graph = (
        "from langgraph.graph import StateGraph, START, END\nfrom .nodes import {names}\n\n"
        'graph_builder = StateGraph(dict)\n{adds}graph_builder.add_edge(START, "{first}")\n'
        "graph = graph_builder.compile()\n"
    )
    files = {}
    for pkg, names in (
        ("research", ["handle_command", "router", "search"]),
        ("fren", ["handle_command", "ollama"]),
        ("echo", ["echo"]),
    ):
        adds = "".join(f'graph_builder.add_node("{n}", {n})\n' for n in names)
        files[f"src/graphs/{pkg}/graph.py"] = graph.format(names=", ".join(names), adds=adds, first=names[0])
        files[f"src/graphs/{pkg}/nodes.py"] = "".join(f"def {n}(state):\n    return state\n\n" for n in names)
    p = _scan(tmp_path, files)
    assert p["frameworks"] == ["LangGraph"]
    assert (p["crew_count"], p["crew_size_distribution"]) == (3, [3, 2, 1])
    assert p["agent_count"] == 6, "a node function of one graph is not the same-named function of another"


def test_a_react_graph_has_one_agent_node_and_its_tool_node_is_no_agent(tmp_path):
    # react-agent: builder.add_node(call_model) is named after the function; ToolNode runs tools, it is no agent
    p = _scan(
        tmp_path,
        {
            "graph.py": """
from langgraph.graph import StateGraph
from langgraph.prebuilt import ToolNode

def call_model(state):
    return state

tool_node = ToolNode([])
builder = StateGraph(dict)
builder.add_node(call_model)
builder.add_node("tools", ToolNode([]))
builder.add_node("more_tools", tool_node)
builder.add_edge("__start__", "call_model")
builder.add_edge("tools", "call_model")
graph = builder.compile()
"""
        },
    )
    assert (p["detected_agent_count"], p["detected_crew_count"], p["detected_crew_size_distribution"]) == (1, 1, [1])
    # the reference counts the literal node names, utility nodes included, and skips add_node(call_model)
    assert (p["agent_count"], p["crew_count"], p["crew_size_distribution"]) == (2, 1, [2])


def test_nameless_crewai_agents_stay_distinct_unlike_the_reference(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": "from crewai import Agent, Crew\n"
            "a = Agent(role='A', goal='g', backstory='b')\n"
            "b = Agent(role='B', goal='g', backstory='b')\n"
            "c = Agent(role='C', goal='g', backstory='b')\n"
            "crew = Crew(agents=[a, b, c], tasks=[])\n"
        },
    )
    assert (p["detected_agent_count"], p["detected_crew_size_distribution"]) == (3, [3])
    assert (p["agent_count"], p["crew_size_distribution"]) == (1, [3]), "the reference: one agent named Agent"


# -- 2. dependency pins -------------------------------------------------------------------------------
def _versions(files: dict[str, str], frameworks) -> tuple[dict, int]:
    return dependencies.framework_versions(list(files.items()), frameworks)


def test_requirements_specifiers_are_kept_as_written_and_noise_is_skipped():
    req = (
        "# core\n-r base.txt\n-c constraints.txt\n-e .\n--index-url https://pypi.example/simple\n"
        "git+https://github.com/o/r.git#egg=thing\nhttps://example.com/pkg-1.0.tar.gz\n"
        "langchain>=0.2  # inline comment\nLlama_Index ~= 0.10\n"
        "crewai[tools] >=0.80,<1.0 ; python_version >= '3.10'\nnot a requirement !!\n"
        "smolagents==1.14.0 \\\n    --hash=sha256:abc\n"
    )
    versions, errors = _versions({"requirements.txt": req}, ["LangChain", "LlamaIndex", "CrewAI", "SmolAgents"])
    assert versions == {"CrewAI": ">=0.80,<1.0", "LangChain": ">=0.2", "LlamaIndex": "~=0.10", "SmolAgents": "1.14.0"}
    assert errors == 0


def test_requirements_at_the_root_and_in_a_requirements_folder():
    versions, _ = _versions(
        {
            "requirements-prod.txt": "langgraph>=0.3\n",
            "requirements/base.txt": "agno==1.2.0\n",
            "docs/notes.txt": "crewai==9.9.9\n",
        },
        ["LangGraph", "Agno", "CrewAI"],
    )
    assert versions == {"Agno": "1.2.0", "CrewAI": None, "LangGraph": ">=0.3"}


def test_pyproject_pep621_poetry_and_uv_groups():
    pyproject = """
[project]
dependencies = ["langchain-core>=0.3", "requests"]
[project.optional-dependencies]
agents = ["pydantic-ai-slim[openai]>=0.4"]
[tool.poetry.dependencies]
python = "^3.11"
crewai = {version = "^0.100", extras = ["tools"]}
agno = "1.4.2"
[tool.poetry.group.dev.dependencies]
smolagents = {git = "https://github.com/huggingface/smolagents"}
[tool.uv]
dev-dependencies = ["openai-agents>=0.0.11"]
[dependency-groups]
adk = ["google-adk>=0.2.0", {include-group = "agents"}]
"""
    fws = ["LangChain", "PydanticAI", "CrewAI", "Agno", "SmolAgents", "OpenAI Agents SDK", "Google ADK"]
    versions, errors = _versions({"pyproject.toml": pyproject}, fws)
    assert versions == {
        "Agno": "1.4.2",
        "CrewAI": "^0.100",
        "Google ADK": ">=0.2.0",
        "LangChain": ">=0.3",
        "OpenAI Agents SDK": ">=0.0.11",
        "PydanticAI": ">=0.4",
        "SmolAgents": None,
    }
    assert errors == 0


def test_lock_files_give_exact_versions_that_win_over_manifest_specifiers():
    pipfile_lock = json.dumps(
        {
            "_meta": {},
            "default": {"langchain": {"version": "==0.3.7"}},
            "develop": {"semantic-kernel": {"version": "==1.3.0"}},
        }
    )
    poetry_lock = (
        '[[package]]\nname = "crewai"\nversion = "0.108.0"\n\n[[package]]\nname = "phidata"\nversion = "2.7.10"\n'
    )
    uv_lock = (
        'version = 1\n[[package]]\nname = "llama-index-core"\nversion = "0.12.43"\n'
        '[[package]]\nname = "llama-index"\nversion = "0.12.44"\nsource = { registry = "https://pypi.org" }\n'
    )
    files = {
        "requirements.txt": "langchain>=0.2\ncrewai>=0.80\nllama-index>=0.12\n",
        "Pipfile.lock": pipfile_lock,
        "poetry.lock": poetry_lock,
        "uv.lock": uv_lock,
        "pyproject.toml": '[project]\ndependencies = ["phidata>=2"]\n',
    }
    fws = ["LangChain", "CrewAI", "LlamaIndex", "Semantic Kernel", "Phidata", "AutoGen"]
    versions, errors = _versions(files, fws)
    assert versions == {
        "AutoGen": None,
        "CrewAI": "0.108.0",
        "LangChain": "0.3.7",
        "LlamaIndex": "0.12.44",
        "Phidata": "2.7.10",
        "Semantic Kernel": "1.3.0",
    }
    assert errors == 0


@pytest.mark.parametrize(
    "dist,framework",
    [
        ("LangChain_Community", "LangChain"),
        ("langchain.openai", "LangChain"),
        ("langgraph", "LangGraph"),
        ("crewai", "CrewAI"),
        ("pyautogen", "AutoGen"),
        ("autogen-agentchat", "AutoGen"),
        ("ag2", "AutoGen"),
        ("llama-index-llms-openai", "LlamaIndex"),
        ("agno", "Agno"),
        ("smolagents", "SmolAgents"),
        ("pydantic-ai", "PydanticAI"),
        ("openai-agents", "OpenAI Agents SDK"),
        ("google-adk", "Google ADK"),
        ("semantic-kernel", "Semantic Kernel"),
        ("phidata", "Phidata"),
        ("requests", None),
        ("langchainx", None),
        ("agnostic", None),
    ],
)
def test_distribution_names_are_normalised_and_mapped_to_frameworks(dist, framework):
    assert dependencies.framework_of(dist) == framework
    assert dependencies.normalize("Llama_Index.Core") == "llama-index-core"


def test_scan_reports_specifiers_and_lock_versions(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": "from langchain.agents import AgentExecutor\nfrom llama_index.core.agent import ReActAgent\n"
            "ex = AgentExecutor(agent=a, tools=[])\nag = ReActAgent.from_tools([], llm=None)\n",
            "requirements.txt": "langchain>=0.2\nllama_index~=0.10\n",
            "Pipfile.lock": json.dumps({"default": {"llama-index": {"version": "==0.10.68"}}, "develop": {}}),
        },
    )
    assert p["framework_versions"] == {"LangChain": ">=0.2", "LlamaIndex": "0.10.68"}


# -- 3. LLM providers ---------------------------------------------------------------------------------
_LC_AGENT = "from langchain.agents import AgentExecutor\nexecutor = AgentExecutor(agent=a, tools=[])\n"


def test_groq_client_with_an_open_weights_model_is_groq_not_ollama(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": _LC_AGENT + "from groq import Groq\nclient = Groq()\n"
            'out = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=[])\n'
        },
    )
    assert p["llm_providers"] == ["groq"] and p["llm_models"] == ["llama-3.3-70b-versatile"]


def test_a_bare_open_weights_model_name_claims_no_provider(tmp_path):
    p = _scan(
        tmp_path,
        {
            "crew.py": "from crewai import Agent\n"
            "a = Agent(role='R', goal='g', backstory='b', llm=\"llama3.1:8b\")\n"
            "b = Agent(role='Q', goal='g', backstory='b', llm=\"qwen2.5\")\n"
        },
    )
    assert p["llm_providers"] == [] and p["llm_models"] == ["llama3.1:8b", "qwen2.5"]
    assert p["provider_confidence"] == "none"


def test_base_url_decides_the_provider_of_an_openai_compatible_client(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": _LC_AGENT
            + """
from openai import OpenAI
from langchain_openai import ChatOpenAI
local = OpenAI(base_url="http://localhost:11434/v1", api_key="ollama")
fast = ChatOpenAI(model="llama-3.3-70b-versatile", base_url="https://api.groq.com/openai/v1")
gem = OpenAI(base_url="https://generativelanguage.googleapis.com/v1beta/openai/")
from pydantic_ai.models.openai import OpenAIModel
from pydantic_ai.providers.ollama import OllamaProvider
qwen = OpenAIModel("qwen2.5", provider=OllamaProvider(base_url=OLLAMA_URL))
"""
        },
    )
    assert p["llm_providers"] == ["google", "groq", "ollama"], "no OpenAI endpoint is used"


def test_an_endpoint_from_configuration_leaves_an_openai_compatible_client_unknown(tmp_path):
    # modular-smolagents: OpenAIServerModel(api_base=api_base) for a LiteLLM proxy or OpenRouter
    p = _scan(
        tmp_path,
        {
            "app.py": _LC_AGENT
            + """
import os
from smolagents import OpenAIServerModel
from langchain_ollama import ChatOllama
proxy = OpenAIServerModel(model_id=os.environ["MODEL"], api_base=os.environ["API_BASE"])
local = ChatOllama(model="llama3.1", base_url=OLLAMA_BASE_URL)
"""
        },
    )
    assert p["llm_providers"] == ["ollama"], "a dedicated client keeps its provider whatever its host"


def test_an_openai_compatible_client_with_another_makers_model_is_that_maker(tmp_path):
    # AutoGen's OpenAIChatCompletionClient routes claude-…/gemini-… to their makers' compatible endpoints
    p = _scan(
        tmp_path,
        {
            "team.py": "from autogen_agentchat.agents import AssistantAgent\n"
            "from autogen_ext.models.openai import OpenAIChatCompletionClient\n"
            'client = OpenAIChatCompletionClient(model="claude-3-5-sonnet-latest")\n'
            'a = AssistantAgent("a", model_client=client)\n'
        },
    )
    assert p["llm_providers"] == ["anthropic"]


def test_a_provider_prefixed_default_in_configuration_counts_and_tests_do_not(tmp_path):
    # react-agent: the model is a dataclass field default; its unit tests build contexts with other models
    p = _scan(
        tmp_path,
        {
            "src/app/context.py": "from dataclasses import dataclass, field\n\n\n@dataclass\nclass Context:\n"
            '    model: str = field(default="anthropic/claude-sonnet-4-5-20250929")\n',
            "src/app/graph.py": "from langgraph.prebuilt import create_react_agent\n"
            "agent = create_react_agent(m, tools=[])\n",
            "tests/unit_tests/test_configuration.py": "from app.context import Context\n"
            'c = Context(model="openai/gpt-4o-mini")\n',
        },
    )
    assert p["llm_providers"] == ["anthropic"] and p["llm_models"] == ["claude-sonnet-4-5-20250929"]


def test_provider_prefixes_litellm_and_pydantic_ai_style(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": """
from crewai import Agent, LLM
from google.adk.models.lite_llm import LiteLlm
from langchain.chat_models import init_chat_model
a = Agent(role="R", goal="g", backstory="b", llm=LLM(model="together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"))
m = LiteLlm(model="openai/gpt-4.1-nano")
c = init_chat_model("mixtral-8x22b", model_provider="mistralai")
f = LLM(model="fireworks_ai/accounts/fireworks/models/qwen3-235b")
""",
            "agent2.py": 'from pydantic_ai import Agent\nbot = Agent("groq:llama-3.3-70b-versatile")\n'
            'vis = Agent("google-gla:gemini-1.5-flash")\n',
        },
    )
    assert p["llm_providers"] == ["fireworks", "google", "groq", "mistral", "openai", "together"]
    assert {"gpt-4.1-nano", "llama-3.3-70b-versatile", "gemini-1.5-flash"} <= set(p["llm_models"])


@pytest.mark.parametrize(
    "imports,call,provider",
    [
        ("from langchain_groq import ChatGroq", 'ChatGroq(model="llama-3.1-8b-instant")', "groq"),
        ("from langchain_ollama import ChatOllama", 'ChatOllama(model="qwen2.5")', "ollama"),
        ("from langchain_openai import ChatOpenAI", 'ChatOpenAI(model="gpt-4o")', "openai"),
        (
            "from langchain_anthropic import ChatAnthropic",
            'ChatAnthropic(model="claude-3-5-sonnet-latest")',
            "anthropic",
        ),
        (
            "from langchain_google_genai import ChatGoogleGenerativeAI",
            'ChatGoogleGenerativeAI(model="gemini-2.0-flash")',
            "google",
        ),
        (
            "from langchain_aws import ChatBedrock",
            'ChatBedrock(model_id="anthropic.claude-3-sonnet-20240229-v1:0")',
            "bedrock",
        ),
        ("from langchain_openai import AzureChatOpenAI", 'AzureChatOpenAI(azure_deployment="gpt-4o")', "azure"),
        ("from langchain_mistralai import ChatMistralAI", 'ChatMistralAI(model="mistral-large-latest")', "mistral"),
        (
            "from langchain_together import ChatTogether",
            'ChatTogether(model="meta-llama/Llama-3-70b-chat-hf")',
            "together",
        ),
        (
            "from langchain_fireworks import ChatFireworks",
            'ChatFireworks(model="accounts/fireworks/models/llama-v3")',
            "fireworks",
        ),
        ("from langchain_deepseek import ChatDeepSeek", 'ChatDeepSeek(model="deepseek-chat")', "deepseek"),
        ("from agno.models.groq import Groq", 'Groq(id="llama-3.3-70b-versatile")', "groq"),
        ("from llama_index.llms.ollama import Ollama", 'Ollama(model="llama3.1")', "ollama"),
        (
            "from pydantic_ai.models.anthropic import AnthropicModel",
            'AnthropicModel("claude-3-5-haiku-latest")',
            "anthropic",
        ),
        ("from pydantic_ai.models.gemini import GeminiModel", 'GeminiModel("gemini-1.5-pro")', "google"),
        ("import ollama", 'ollama.chat(model="llama3.1", messages=[])', "ollama"),
    ],
)
def test_the_client_class_names_the_provider(tmp_path, imports, call, provider):
    p = _scan(tmp_path, {"app.py": f"{_LC_AGENT}{imports}\nllm = {call}\n"})
    assert p["llm_providers"] == [provider]


def test_model_names_in_tests_are_not_evidence_but_configured_ones_are(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": _LC_AGENT + 'CONFIG = {"model": "claude-3-5-haiku-20241022"}\n',
            "tests/test_main.py": 'ARGV = ["main.py", "3", "gpt-4"]\n',
        },
    )
    assert p["llm_providers"] == ["anthropic"] and p["llm_models"] == ["claude-3-5-haiku-20241022"]


# -- 4. the longest chain is bounded ------------------------------------------------------------------
def _flows(edges) -> Graph:
    g = Graph()
    for a, b in edges:
        g.add(f"agent:{a}", "agent")
        g.add(f"agent:{b}", "agent")
        g.edges.append((f"agent:{a}", f"agent:{b}", "flows_to"))
    g.edges.sort()
    return g


def _brute_force(edges) -> int:
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)

    def walk(n, seen):
        return max((1 + walk(m, seen | {m}) for m in succ.get(n, []) if m not in seen), default=0)

    return max((walk(n, {n}) for n in succ), default=0)


@pytest.mark.timeout(20)
def test_longest_chain_of_a_fully_connected_30_agent_graph_is_fast_and_sensible():
    names = [f"a{i:02d}" for i in range(30)]
    g = _flows([(a, b) for a in names for b in names if a != b])
    started = time.monotonic()
    chain = _longest_chain(g)
    assert time.monotonic() - started < 0.5, "before: exponential (10 agents took 11.6 s)"
    assert chain == 29, "a Hamiltonian path: every agent once"
    assert metrics(g)["graph_topology_metrics"]["longest_chain"] == 29


@pytest.mark.timeout(60)
def test_longest_chain_on_dense_cyclic_graphs_is_bounded_and_never_overstated():
    import random

    rng = random.Random(5)
    for n in (12, 20, 40):
        names = [f"n{i}" for i in range(n)]
        edges = [(a, b) for a in names for b in names if a != b and rng.random() < 0.6]
        started = time.monotonic()
        chain = _longest_chain(_flows(edges))
        assert time.monotonic() - started < 0.5
        assert 1 <= chain <= n - 1


@pytest.mark.parametrize(
    "edges",
    [
        [],
        [("a", "b")],
        [("a", "b"), ("b", "c"), ("c", "d")],
        [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")],  # diamond
        [("a", "b"), ("x", "y"), ("y", "z")],  # two components
        [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("a", "d")],  # shortcuts
        [("a", "b"), ("b", "a")],
        [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")],  # small cycles: still exact
    ],
)
def test_longest_chain_is_exact_on_small_graphs(edges):
    assert _longest_chain(_flows(edges)) == _brute_force(edges)


def test_longest_chain_is_exact_on_acyclic_graphs_with_exponentially_many_paths():
    # a ladder of 22 layers (2^22 paths of 21 edges) met first, and a later 25-agent chain: only the
    # topological longest path finds 24 without walking every path of the ladder
    ladder = [(f"a{i}{x}", f"a{i + 1}{y}") for i in range(21) for x in "lr" for y in "lr"]
    chain = [(f"z{i:02d}", f"z{i + 1:02d}") for i in range(24)]
    started = time.monotonic()
    assert _longest_chain(_flows(ladder + chain)) == 24
    assert time.monotonic() - started < 0.5


def test_a_long_sequential_crew_does_not_overflow_the_stack():
    names = [f"a{i}" for i in range(3000)]
    assert _longest_chain(_flows(list(itertools.pairwise(names)))) == 2999


@pytest.mark.timeout(60)
def test_a_fully_connected_langgraph_scans_quickly(tmp_path):
    names = [f"agent_{i}" for i in range(12)]
    body = "from langgraph.graph import StateGraph\n\n" + "".join(f"def {n}(s):\n    return s\n\n" for n in names)
    body += "b = StateGraph(dict)\n" + "".join(f'b.add_node("{n}", {n})\n' for n in names)
    body += "".join(f'b.add_edge("{x}", "{y}")\n' for x in names for y in names if x != y)
    started = time.monotonic()
    p = _scan(tmp_path, {"graph.py": body})
    assert time.monotonic() - started < 5
    assert p["agent_count"] == 12 and p["max_path_hops"] == 11


# -- 5. one pathological file is one parser error -----------------------------------------------------
PATHOLOGICAL = {
    "app.py": "from crewai import Agent, Crew\na = Agent(role='A', goal='g', backstory='b')\n"
    "crew = Crew(agents=[a], tasks=[])\n",
    "unary.py": "x = " + "-" * 10_000 + "1\n",
    "pyproject.toml": "a = " + "[" * 50_000 + "]" * 50_000 + "\n",
    "crew/config/agents.yaml": "a: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "crew2/config/agents.yaml": "agents:\n  " + "- " * 50_000 + "x\n",  # 100 kB of nested block lists
    "huge.py": "x = '" + "a" * 5_000_000 + "'\n",
    "crew3/config/tasks.yaml": "t: '" + "b" * 5_000_000 + "'\n",
    "requirements.txt": "crewai" + ">=1" * 1_000_000 + "\n",
}


@pytest.mark.parametrize("name", [k for k in PATHOLOGICAL if k != "app.py"])
def test_one_pathological_file_is_one_parser_error(tmp_path, name):
    p = _scan(tmp_path, {"app.py": PATHOLOGICAL["app.py"], name: PATHOLOGICAL[name]})
    expected = 0 if name == "requirements.txt" else 1  # a line too long to be a requirement is skipped
    assert p["parser_errors"] == expected and p["scan_status"] == ("partial" if expected else "success")
    assert p["agent_count"] == 1 and p["frameworks"] == ["CrewAI"], "the rest of the repository is scanned"


def test_the_cli_prints_one_ping_for_a_repository_of_pathological_files(tmp_path):
    root = _repo(tmp_path / "repo", PATHOLOGICAL)
    out = subprocess.run(
        [sys.executable, "-m", "stratum_assets.cli", "scan", str(root), "--json", "--repo-name", "o/patho"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    ping = json.loads(lines[0])
    assert ping["parser_errors"] == 6 and ping["scan_status"] == "partial" and ping["agent_count"] == 1
    assert validate_ping({**ping, "repo_hash": repo_hash("o/patho")}, repo_hash("o/patho")) == []


# -- 6. framework labels, including the ones the reference misses ------------------------------------
def test_pydantic_ai_agents_with_decorated_tools(tmp_path):
    p = _scan(
        tmp_path,
        {
            "bot.py": """
import subprocess
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIModel
from pydantic_ai.providers.openai import OpenAIProvider

model = OpenAIModel("gpt-4o-mini", provider=OpenAIProvider(api_key=KEY))
agent = Agent(model=model, system_prompt="Be helpful.")
other = Agent("anthropic:claude-3-5-haiku-latest")

@agent.tool_plain
def run(cmd: str) -> str:
    return subprocess.run(cmd, shell=True).stdout
"""
        },
    )
    assert p["frameworks"] == ["PydanticAI"] and p["detected_agent_count"] == 2
    assert p["agent_count"] == 1 and p["agent_tool_count_distribution"] == [0], "nameless `Agent(…)`s: one, no tools"
    assert p["llm_providers"] == ["anthropic", "openai"]


def test_openai_agents_sdk_is_detected_by_its_own_names(tmp_path):
    p = _scan(
        tmp_path,
        {
            "main.py": """
from agents import Agent, Runner, function_tool
from agents.mcp import MCPServerSse

@function_tool
def lookup(q: str) -> str:
    return q

triage = Agent(name="Triage", instructions="Route", handoffs=[])
expert = Agent(name="Expert", instructions="Answer", tools=[lookup], model="gpt-4o-mini")
result = Runner.run_sync(triage, "hi")
"""
        },
    )
    assert p["detected_frameworks"] == ["OpenAI Agents SDK"] and p["detected_agent_count"] == 2
    # the reference labels no framework from `agents` but counts the two named `Agent(…)` calls
    assert (p["frameworks"], p["agent_count"]) == ([], 2)
    assert p["agent_tool_count_distribution"] == [1, 0] and p["llm_providers"] == ["openai"]


@pytest.mark.parametrize(
    "files",
    [
        {
            "agents/__init__.py": "",
            "agents/researcher.py": "class Agent:\n    pass\n",
            "main.py": "from agents import researcher\nfrom agents.researcher import Agent\nbot = Agent()\n",
        },
        {
            "agents.py": "class Agent:\n    def __init__(self, name):\n        self.name = name\n",
            "main.py": "from agents import Agent\nbot = Agent(name='x')\n",
        },
    ],
)
def test_a_local_agents_package_is_not_the_openai_sdk(tmp_path, files):
    p = _scan(tmp_path, files)
    assert p["detected_frameworks"] == [] and p["detected_agent_count"] == 0
    assert (p["frameworks"], p["agent_count"]) == ([], 1), "the reference counts any call written Agent(…)"


def test_google_adk_agents_and_workflow_agents(tmp_path):
    p = _scan(
        tmp_path,
        {
            "agent.py": """
from google.adk.agents import Agent, LlmAgent, SequentialAgent
from google.adk.models.lite_llm import LiteLlm
from google import genai

def get_weather(city: str) -> dict:
    return {"city": city}

root_agent = Agent(name="weather", model=LiteLlm(model="openai/gpt-4.1-nano"), tools=[get_weather])
critic = LlmAgent(name="critic", model="gemini-2.0-flash")
pipeline = SequentialAgent(name="pipeline", sub_agents=[root_agent, critic])
client = genai.Client()
"""
        },
    )
    assert p["detected_frameworks"] == ["Google ADK"] and p["detected_agent_count"] == 2
    assert (p["detected_crew_count"], p["detected_crew_size_distribution"]) == (1, [2])
    # the reference: no ADK label, the `Agent(name=…)` call is an agent, LlmAgent and SequentialAgent are not
    assert (p["frameworks"], p["agent_count"], p["crew_count"]) == ([], 1, 0)
    assert p["llm_providers"] == ["google", "openai"]


def test_google_genai_alone_is_not_adk(tmp_path):
    p = _scan(tmp_path, {"a.py": "from google import genai\nfrom google.cloud import storage\nc = genai.Client()\n"})
    assert p["frameworks"] == []


def test_semantic_kernel_agents(tmp_path):
    p = _scan(
        tmp_path,
        {
            "sk.py": """
from semantic_kernel.agents import ChatCompletionAgent, AgentGroupChat
from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion

writer = ChatCompletionAgent(name="Writer", service=OpenAIChatCompletion(ai_model_id="gpt-4o"), instructions="w")
reviewer = ChatCompletionAgent(name="Reviewer", service=OpenAIChatCompletion(ai_model_id="gpt-4o"))
chat = AgentGroupChat(agents=[writer, reviewer])
"""
        },
    )
    assert p["frameworks"] == ["Semantic Kernel"] and p["detected_agent_count"] == 2
    assert (p["detected_crew_count"], p["detected_crew_size_distribution"]) == (1, [2])
    assert (p["agent_count"], p["crew_count"]) == (0, 0), "ChatCompletionAgent is no name the reference counts"
    assert p["llm_providers"] == ["openai"]


def test_phidata_is_its_own_framework_and_agno_stays_agno(tmp_path):
    p = _scan(
        tmp_path,
        {
            "phi_app.py": "from phi.agent import Agent\nfrom phi.model.openai import OpenAIChat\n"
            "web = Agent(name='Web', model=OpenAIChat(id='gpt-4o'))\n",
            "agno_app.py": "from agno.agent import Agent\nbot = Agent(name='Bot')\n",
            "other.py": "import agnostic\n",
        },
    )
    assert p["detected_frameworks"] == ["Agno", "Phidata"] and p["detected_agent_count"] == 2
    # the reference: `phi` does not start with `phidata`, and `agnostic` starts with `agno`
    assert (p["frameworks"], p["agent_count"]) == (["Agno"], 2)
    model, *_ = read_repository(tmp_path)
    assert sorted(a.framework for a in model.agents.values()) == ["Agno", "Phidata"]


def test_every_langchain_integration_package_is_langchain(tmp_path):
    p = _scan(tmp_path, {"a.py": "from langchain_aws import ChatBedrock\nllm = ChatBedrock(model_id='x')\n"})
    assert p["frameworks"] == ["LangChain"]
