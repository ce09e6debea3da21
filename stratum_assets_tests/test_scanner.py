"""The built-in scanner on small fixture repositories (exact counts) and over the whole offline universe."""

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanner.engine import scan_repository
from stratum_assets.scanner.ping import REQUIRED_FIELDS, validate_ping
from stratum_assets.scanner.rules import RULES
from stratum_assets_tests.support.checkouts import reference_counts_agents, write_checkout
from stratum_sandbox.codegen import REFERENCE_UNSEEN, has_counted_companion

from .conftest import fixture_json


def _repo(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for path, content in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def _scan(tmp_path, files, name="owner/fixture"):
    ping = scan_repository(_repo(tmp_path, files), name)
    assert validate_ping({**ping, "repo_hash": repo_hash(name)}, repo_hash(name)) == []
    return ping


LANGCHAIN = {
    "agent.py": '''
import requests
from langchain.agents import AgentExecutor, create_tool_calling_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langchain_community.tools import ShellTool

@tool
def fetch(url: str) -> str:
    """Fetch a page."""
    return requests.get(url).text

llm = ChatOpenAI(model="gpt-4o")
tools = [fetch, ShellTool()]
agent = create_tool_calling_agent(llm, tools, prompt)
executor = AgentExecutor(agent=agent, tools=tools, max_iterations=5)
''',
    "requirements.txt": "langchain==0.3.7\nrequests\n",
}


def test_langchain_agent_with_shell_and_untimed_http(tmp_path):
    search = "import httpx\n\ndef search(q):\n    return httpx.get(q)\n"
    p = _scan(tmp_path, {**LANGCHAIN, "search.py": search})
    assert p["frameworks"] == ["LangChain"] and p["framework_versions"] == {"LangChain": "0.3.7"}
    # The reference's count: the factory and the executor assigned (one file crew of 2, each with `$tools`) and the
    # AgentExecutor call itself; the built-in sees one agent (the executor wrapping its factory) with two tools.
    assert (p["agent_count"], p["crew_count"]) == (3, 1)
    assert p["agent_tool_count_distribution"] == [1, 1, 0] and p["crew_size_distribution"] == [2]
    assert (p["detected_agent_count"], p["detected_crew_count"]) == (1, 0)
    assert p["llm_providers"] == ["openai"] and p["llm_models"] == ["gpt-4o"]
    # Catalog meanings: ShellTool is host code execution (003); two HTTP calls without a timeout (009).
    assert {"STRATUM-003", "STRATUM-009"} <= set(p["finding_rules"])
    assert "STRATUM-001" not in p["finding_rules"], "no data access, so nothing to exfiltrate"
    assert p["finding_instance_counts"]["STRATUM-003"] == 1


def test_langgraph_state_graph_with_checkpointer_and_interrupt(tmp_path):
    p = _scan(
        tmp_path,
        {
            "graph.py": """
from langgraph.graph import StateGraph, START, END
from langgraph.prebuilt import create_react_agent
from langgraph.checkpoint.memory import MemorySaver
from langchain_anthropic import ChatAnthropic
import tools as impl

llm = ChatAnthropic(model="claude-3-5-sonnet-latest")
researcher = create_react_agent(llm, tools=[impl.search])
writer = create_react_agent(llm, tools=[])
builder = StateGraph(dict)
builder.add_node("researcher", researcher)
builder.add_node("writer", writer)
builder.add_edge(START, "researcher")
builder.add_edge("researcher", "writer")
builder.add_edge("writer", END)
graph = builder.compile(checkpointer=MemorySaver(), interrupt_before=["writer"])
""",
            "tools.py": "def search(q):\n    return q\n",
        },
    )
    assert sorted(p["frameworks"]) == ["LangChain", "LangGraph"]
    # The reference: two literal nodes of the graph plus the two create_react_agent assignments (a LangChain file
    # crew of 2; `tools=[impl.search]` holds an attribute, which it does not read as a tool).
    assert (p["agent_count"], p["crew_count"]) == (4, 2)
    assert p["agent_tool_count_distribution"] == [0, 0, 0, 0] and p["crew_size_distribution"] == [2, 2]
    assert (p["detected_agent_count"], p["detected_crew_count"], p["detected_crew_size_distribution"]) == (2, 1, [2])
    assert p["checkpoint_type"] == "memory" and p["has_hitl_anywhere"] is True
    assert p["graph_topology_metrics"]["longest_chain"] == 1
    assert p["llm_providers"] == ["anthropic"] and "STRATUM-010" not in p["finding_rules"], "no capabilities"


CREW_PROJECT = {
    "src/app/config/agents.yaml": "researcher:\n  role: Researcher\n  llm: groq/llama-3.3-70b-versatile\n"
    "writer:\n  role: Writer\n",
    "src/app/config/tasks.yaml": "research:\n  agent: researcher\nwrite:\n  agent: writer\n  human_input: true\n",
    "src/app/crew.py": """
from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task
from crewai_tools import SerperDevTool, FileWriterTool

@CrewBase
class Project:
    agents_config = "config/agents.yaml"

    @agent
    def researcher(self) -> Agent:
        return Agent(config=self.agents_config["researcher"], tools=[SerperDevTool()])

    @agent
    def writer(self) -> Agent:
        return Agent(config=self.agents_config["writer"], tools=[FileWriterTool()])

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
""",
    "Dockerfile": "FROM python:3.12\n",
    ".github/workflows/ci.yml": "on: push\n",
    "tests/test_crew.py": "def test(): pass\n",
}


def test_crewai_yaml_project(tmp_path):
    p = _scan(tmp_path, CREW_PROJECT)
    assert p["frameworks"] == ["CrewAI"]
    assert (p["agent_count"], p["crew_count"]) == (2, 1) and p["crew_size_distribution"] == [2]
    assert p["agent_tool_count_distribution"] == [1, 1]
    assert (p["detected_agent_count"], p["detected_crew_count"]) == (2, 1)
    assert p["repo_metadata"]["yaml_config_count"] == 2 and p["files_scanned"] == 4  # 2 .py + 2 YAML
    assert p["has_hitl_anywhere"] is True and "STRATUM-002" not in p["detected_finding_rules"], (
        "the built-in's reading: the YAML task's human_input approves writes"
    )
    assert "STRATUM-002" in p["finding_rules"], "the reference sees human_input=True in Python only"
    assert p["llm_providers"] == ["groq"] and p["llm_models"] == ["llama-3.3-70b-versatile"]
    assert p["deployment_signals"] == {
        "has_dockerfile": True,
        "has_ci_config": True,
        "has_tests": True,
        "has_lockfile": False,
        "has_env_example": False,
        "deployment_score": 3,
    }


def test_autogen_group_chat_that_executes_code(tmp_path):
    p = _scan(
        tmp_path,
        {
            "app.py": """
from autogen import AssistantAgent, UserProxyAgent, GroupChat, GroupChatManager
config = {"config_list": [{"model": "gpt-4"}]}
coder = AssistantAgent("coder", llm_config=config)
critic = AssistantAgent("critic", llm_config=config)
user_proxy = UserProxyAgent("user", human_input_mode="NEVER",
                            code_execution_config={"work_dir": "coding", "use_docker": False})
chat = GroupChat(agents=[user_proxy, coder, critic], messages=[], max_round=10)
manager = GroupChatManager(groupchat=chat, llm_config=config)
"""
        },
    )
    assert p["frameworks"] == ["AutoGen"]
    # The reference names AutoGen agents by `name=` only: the two positional names are one "AssistantAgent"; its
    # group chats are no crews. The built-in reads the positional names and the chat.
    assert (p["agent_count"], p["crew_count"]) == (2, 0) and p["crew_size_distribution"] == []
    assert (p["detected_agent_count"], p["detected_crew_count"], p["detected_crew_size_distribution"]) == (3, 1, [3])
    assert p["finding_instance_counts"]["STRATUM-003"] == 1, "code_execution_config: host code execution"


def test_llamaindex_react_agent(tmp_path):
    p = _scan(
        tmp_path,
        {
            "rag.py": """
from llama_index.core.agent import ReActAgent
from llama_index.core.tools import FunctionTool, QueryEngineTool
from llama_index.llms.openai import OpenAI

def multiply(a: int, b: int) -> int:
    return a * b

docs_tool = QueryEngineTool.from_defaults(engine, name="docs")
agent = ReActAgent.from_tools([FunctionTool.from_defaults(fn=multiply), docs_tool], llm=OpenAI(model="gpt-4o-mini"))
"""
        },
    )
    assert p["frameworks"] == ["LlamaIndex"]
    assert (p["agent_count"], p["crew_count"]) == (0, 0), "the reference does not count LlamaIndex agents"
    assert (p["detected_agent_count"], p["detected_crew_count"]) == (1, 0)
    assert p["llm_models"] == ["gpt-4o-mini"]


def test_agno_team_delegates(tmp_path):
    p = _scan(
        tmp_path,
        {
            "team.py": """
from agno.agent import Agent
from agno.team import Team
from agno.models.openai import OpenAIChat
from agno.tools.duckduckgo import DuckDuckGoTools
a = Agent(name="A", model=OpenAIChat(id="gpt-4o"), tools=[DuckDuckGoTools()])
b = Agent(name="B", model=OpenAIChat(id="gpt-4o"))
team = Team(name="t", mode="coordinate", members=[a, b])
"""
        },
    )
    assert p["frameworks"] == ["Agno"]
    assert (p["agent_count"], p["crew_count"]) == (2, 0) and p["agent_tool_count_distribution"] == [1, 0]
    assert (p["detected_agent_count"], p["detected_crew_count"]) == (2, 1), "the built-in reads the Team as a group"
    assert "STRATUM-CR05" not in p["finding_rules"], "no tool is shared inside the team"


def test_smolagents_code_agent_executes_code(tmp_path):
    p = _scan(
        tmp_path,
        {
            "smol.py": """
from smolagents import CodeAgent, DuckDuckGoSearchTool, InferenceClientModel
agent = CodeAgent(tools=[DuckDuckGoSearchTool()], model=InferenceClientModel())
"""
        },
    )
    assert p["frameworks"] == ["SmolAgents"] and p["agent_count"] == 0, "the reference does not count a CodeAgent"
    assert p["detected_agent_count"] == 1
    assert p["llm_providers"] == ["huggingface"]
    # The catalog counts code execution by calls and tool classes; a CodeAgent's own interpreter is neither.
    assert "STRATUM-003" not in p["finding_rules"]


def test_names_alone_are_not_frameworks(tmp_path):
    p = _scan(tmp_path, {"notes.py": "class Agent:\n    pass\n\ncrew = Agent()\nlangchain = 'not imported'\n"})
    assert p["detected_frameworks"] == [] and p["detected_agent_count"] == 0
    assert p["topology_signature_hash"] == p["detected_topology_signature_hash"] == "", "no agent graph"
    # The reference counts any call written `Agent(…)`, whatever it is, but labels only imported frameworks.
    assert (p["frameworks"], p["agent_count"]) == ([], 1)


def test_broken_files_count_as_parser_errors_and_legacy_encodings_parse(tmp_path):
    p = _scan(
        tmp_path,
        {
            **LANGCHAIN,
            "legacy/broken.py": "def nope(:\n",
            "legacy/latin1.py": "# caf\xe9\nX = 1\n".encode("latin-1"),
            "huge.py": b"x = 1\n" * 300_000,
        },
    )
    assert p["parser_errors"] == 2 and p["scan_status"] == "partial"
    assert p["files_scanned"] == 2 and p["files_total"] == 4, "broken and huge files count in total only"


def test_files_total_counts_every_scannable_file_of_the_tree_files_scanned_only_parsed(tmp_path):
    root = _repo(tmp_path, LANGCHAIN)
    listing = [
        "agent.py",
        "requirements.txt",
        "docs/a.png",
        "data/x.csv",
        "Dockerfile",
        "tests/test_a.py",
        "src/config/agents.yaml",
    ]
    p = scan_repository(root, "o/r", all_files=listing)
    assert (p["files_total"], p["files_scanned"]) == (3, 1), "two listed sources are not in the checkout"
    assert p["deployment_signals"]["has_dockerfile"] and p["deployment_signals"]["has_tests"]


def test_symlinks_out_of_the_checkout_are_never_followed(tmp_path):
    outside = tmp_path / "outside"
    _repo(outside, {"secret.py": 'from crewai import Agent\nAPI_KEY = "sk-proj-OUTSIDEOUTSIDEOUTSIDEOUTSIDE0000"\n'})
    repo = _repo(tmp_path / "repo", LANGCHAIN)
    (repo / "linked.py").symlink_to(outside / "secret.py")
    (repo / "vendor").symlink_to(outside)
    p = scan_repository(repo, "o/r")
    assert p["frameworks"] == ["LangChain"] and "ENV-002" not in p["finding_rules"]


def test_hard_coded_secrets_are_found_but_never_emitted(tmp_path):
    secret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    p = _scan(tmp_path, {**LANGCHAIN, "config.py": f'OPENAI_API_KEY = "{secret}"\n'})
    assert p["finding_instance_counts"]["ENV-002"] == 1, "hard-coded secret"
    text = json.dumps(p)
    assert secret not in text and "agent.py" not in text and "requests.get" not in text


def test_rule_set_is_documented_and_large_enough():
    assert len(RULES) >= 20 and len({r.id for r in RULES}) == len(RULES)
    severities = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
    assert {s for r in RULES for s in severities if s in r.severity} == set(severities)
    assert all(r.title and r.owasp and r.klass and r.trigger for r in RULES)


def test_real_reference_ping_has_exactly_our_fields():
    reference = fixture_json("pings/crewAIInc__crewAI-examples.json")
    assert set(reference) == set(REQUIRED_FIELDS)


def test_cli_prints_one_json_ping(tmp_path):
    root = _repo(tmp_path, CREW_PROJECT)
    out = subprocess.run(
        [sys.executable, "-m", "stratum_assets.cli", "scan", str(root), "--json", "--repo-name", "o/crew"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    ping = json.loads(out.stdout)
    assert ping["repo_full_name"] == "o/crew" and ping["agent_count"] == 2


# -- over the whole offline universe -----------------------------------------------------------------
def _checkout(repo, root: Path) -> Path:
    write_checkout(repo, root)
    return root


@pytest.fixture(scope="module")
def universe_pings(universe, tmp_path_factory):
    base = tmp_path_factory.mktemp("universe-checkouts")
    pings = {}
    for repo in universe.repos:
        if repo.is_fork:
            continue  # same code as their parent
        pings[repo.full_name] = (repo, scan_repository(_checkout(repo, base / str(repo.id)), repo.full_name))
    return pings


def test_every_universe_ping_validates(universe_pings):
    for name, (_, ping) in universe_pings.items():
        errors = validate_ping({**ping, "repo_hash": repo_hash(name)}, repo_hash(name))
        assert errors == [], (name, errors)


def test_detected_frameworks_match_what_the_universe_planted(universe_pings):
    for name, (repo, ping) in universe_pings.items():
        if repo.archetype in ("single", "multi", "clone"):
            assert set(repo.frameworks) <= set(ping["frameworks"]), name
            assert ping["detected_agent_count"] >= 1, name
            # the reference's count: zero exactly for projects whose only agents are ones it does not see
            assert (ping["agent_count"] >= 1) == reference_counts_agents(repo), name
        if repo.archetype == "no_agents":
            assert ping["agent_count"] == 0 and ping["detected_agent_count"] == 0, name
            assert ping["detected_topology_signature_hash"] == "", name


def test_about_half_the_projects_the_reference_cannot_see_into_have_a_counted_companion(universe_pings):
    unseen = [
        repo
        for repo, _ in universe_pings.values()
        if repo.archetype in ("single", "multi", "clone") and set(repo.frameworks) <= REFERENCE_UNSEEN
    ]
    with_companion = sum(map(has_counted_companion, unseen))
    assert len(unseen) >= 20 and 0.3 <= with_companion / len(unseen) <= 0.7, (with_companion, len(unseen))


def test_topology_hash_is_shared_by_copies_and_differs_between_architectures(universe_pings):
    """The built-in's hash (detected_*); the ping's field is empty, as the reference CLI prints it offline."""
    assert {ping["topology_signature_hash"] for _, ping in universe_pings.values()} == {""}
    by_seed = defaultdict(set)
    for repo, ping in universe_pings.values():
        if ping["agent_count"] and "symlink_escape" not in repo.quirks:
            by_seed[repo.code_seed].add(ping["detected_topology_signature_hash"])
    assert all(len(hashes) == 1 for hashes in by_seed.values()), "copy-paste clones hash alike"
    distinct = {next(iter(h)) for h in by_seed.values()}
    assert len(distinct) >= 0.6 * len(by_seed), "different architectures mostly hash apart"


def test_docs_rules_page_matches_the_rule_set():
    from stratum_assets.scanner.rules import rules_markdown

    page = Path(__file__).resolve().parents[1] / "docs" / "RULES.md"
    assert page.read_text() == rules_markdown(), "regenerate with: stratum-assets rules > docs/RULES.md"


def test_observability_and_evals_come_from_the_rules_lists(tmp_path):
    """has_observability, telemetry_destination_count and has_eval_framework read the providers TELEMETRY-* and
    the frameworks EVAL-* read (one list each), one destination per provider as the reference counts them."""
    traced = _scan(tmp_path / "traced", {"app.py": "import langfuse\nimport mlflow\nimport ragas\n"})
    assert (traced["has_observability"], traced["telemetry_destination_count"], traced["has_eval_framework"]) == (
        True,
        2,
        True,
    )
    assert {"TELEMETRY-001", "TELEMETRY-003"} & set(traced["finding_rules"]) == {"TELEMETRY-001"}
    plain = _scan(tmp_path / "plain", {"app.py": "import agentops\nimport requests\n"})
    assert (plain["has_observability"], plain["telemetry_destination_count"], plain["has_eval_framework"]) == (
        False,
        0,
        False,
    ), "a library outside the catalog's telemetry list is no destination"
    assert "TELEMETRY-003" in plain["finding_rules"] and "EVAL-002" in plain["finding_rules"]
