"""The project model (scanner/model.py) at the edges of each of its rules: providers, tools, agents, crews.

The catalog tests read whole repositories; a rule of the model that misreads one case only shows there when a
repository happens to need it. Mutation testing (docs/TESTING.md) named the cases no repository of the suite
reached: each is here, read by the scanner from a small checkout as it reads any, with the value it must give.
"""

from pathlib import Path
from textwrap import dedent

import pytest

from stratum_assets.scanner import rules
from stratum_assets.scanner.engine import read_repository
from stratum_assets.scanner.model import RepoModel, Tool, build_model
from stratum_assets.scanner.python_facts import parse_module
from stratum_assets_tests.support.checkouts import write_files


def _read(tmp_path: Path, files: dict[str, str]) -> RepoModel:
    """The model of a checkout holding ``files`` (path → text), read by the scanner."""
    write_files(tmp_path, {name: dedent(text) for name, text in files.items()})
    model, *_ = read_repository(tmp_path)
    return model


def _llm(tmp_path: Path, source: str, path: str = "app.py") -> tuple[set[str], set[str]]:
    model = _read(tmp_path, {path: source})
    return model.providers, model.models


# -- providers: a literal endpoint names the provider by its host ----------------------------------------
OPENAI = "from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(model='gpt-4o', base_url={})\n"


@pytest.mark.parametrize(
    "base_url, providers",
    [
        ("'api.groq.com/openai/v1'", {"groq"}),  # no scheme: still a host
        ("'http://localhost:11434/v1'", {"ollama"}),  # Ollama's port names it
        ("'https://api.groq.com:443/openai/v1'", {"groq"}),  # a host with a port is still that host
        ("'https://llm.example.com/v1'", set()),  # an unknown host names none
        ("os.environ['BASE']", set()),  # an endpoint from configuration names none
        ("'http://[::1'", set()),  # a URL urlparse refuses names none
        ("1234", set()),  # an endpoint that is no string names none
    ],
)
def test_an_openai_compatible_client_sent_elsewhere_names_the_provider_of_its_host(tmp_path, base_url, providers):
    assert _llm(tmp_path, "import os\n" + OPENAI.format(base_url)) == (providers, {"gpt-4o"})


def test_a_dedicated_client_keeps_its_class_provider_whatever_its_endpoint(tmp_path):
    source = "from langchain_ollama import ChatOllama\nllm = ChatOllama(model='llama3', base_url='http://gpu:8000')\n"
    assert _llm(tmp_path, source) == ({"ollama"}, {"llama3"})


# -- providers: routers, prefixes, families ---------------------------------------------------------------
@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "from litellm import completion\ncompletion(model='groq/llama-3.3-70b-versatile')\n",
            ({"groq"}, {"llama-3.3-70b-versatile"}),
        ),
        ("from litellm import completion\ncompletion(model='GPT-4o')\n", ({"openai"}, {"GPT-4o"})),
        ("from litellm import completion\ncompletion(model='gpt-oss:20b')\n", (set(), {"gpt-oss:20b"})),
        ("from litellm import completion\ncompletion(model='llama3.1')\n", (set(), {"llama3.1"})),
        ("from pydantic_ai import Agent\nagent = Agent('openai:gpt-4o')\n", ({"openai"}, {"gpt-4o"})),
        (
            "from langchain.chat_models import init_chat_model\n"
            "llm = init_chat_model('llama3', model_provider='Groq')\n",
            ({"groq"}, {"llama3"}),
        ),
        (
            "from crewai import Agent\na = Agent(role='r', goal='g', backstory='b', llm='groq/mixtral-8x7b')\n",
            ({"groq"}, {"mixtral-8x7b"}),
        ),
        (
            "from crewai import Agent\na = Agent(role='r', goal='g', backstory='b', llm='google/gemini-2.0-flash')\n",
            ({"google"}, {"gemini-2.0-flash"}),
        ),
        (
            "from crewai import Agent\na = Agent(role='r', goal='g', backstory='b', llm='google/gemma-2-9b')\n",
            (set(), {"google/gemma-2-9b"}),
        ),
        ("from crewai import Agent\na = Agent(role='r', goal='g', backstory='b', llm='my-model')\n", (set(), set())),
        ("from crewai import Agent\na = Agent(role='r', goal='g', backstory='b', llm={'k': 1})\n", (set(), set())),
        ("import client\nclient.create(model='claude-3-5-sonnet')\n", ({"anthropic"}, {"claude-3-5-sonnet"})),
        ("import client\nclient.create(model_name='')\n", (set(), set())),
        (
            "from autogen_ext.models.openai import OpenAIChatCompletionClient\n"
            "c = OpenAIChatCompletionClient(model='gemini-1.5-flash')\n",
            ({"google"}, {"gemini-1.5-flash"}),
        ),
        (
            "from pydantic_ai.models.openai import OpenAIModel\n"
            "from pydantic_ai.providers.ollama import OllamaProvider\n"
            "m = OpenAIModel('llama3', provider=OllamaProvider())\n",
            ({"ollama"}, {"llama3"}),
        ),
        ("import ollama\nollama.chat(model='llama3')\n", ({"ollama"}, {"llama3"})),
        ("from litellm import completion\ncompletion(model='acme-7b')\n", (set(), {"acme-7b"})),  # a router's own word
        ("from mylib import completion\ncompletion(model='acme-7b')\n", (set(), set())),  # a project's own function
        (
            "from litellm import completion\ncompletion(model='llama-3', api_base='https://api.groq.com/openai/v1')\n",
            ({"groq"}, {"llama-3"}),
        ),
        (
            "from litellm import completion\ncompletion(model='llama-3', provider='together')\n",
            ({"together"}, {"llama-3"}),
        ),
        ("from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(model='my-model')\n", ({"openai"}, {"my-model"})),
        ("from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(model='my model')\n", ({"openai"}, set())),
        (
            "from langchain_openai import AzureChatOpenAI\nllm = AzureChatOpenAI(deployment_name='o1-mini')\n",
            ({"azure"}, {"o1-mini"}),  # only an OpenAI client is sent to a family's maker
        ),
        (
            "from crewai import Agent\n"
            "Agent(llm='gemini-1.5-pro')\nAgent(model='deepseek-chat')\nAgent(model_name='grok-2')\n",
            ({"google", "deepseek", "xai"}, {"gemini-1.5-pro", "deepseek-chat", "grok-2"}),
        ),
        (
            "import helpers\n"
            "helpers.a(llm='gemini-1.5-pro')\nhelpers.b(model='deepseek-chat')\nhelpers.c(model_name='grok-2')\n",
            ({"google", "deepseek", "xai"}, {"gemini-1.5-pro", "deepseek-chat", "grok-2"}),
        ),
        (
            "from litellm import completion\nfrom langchain_groq import ChatGroq\n"
            "completion(model='groq/llama-3')\nllm = ChatGroq(model='mixtral')\n",
            ({"groq"}, {"llama-3", "mixtral"}),
        ),
    ],
)
def test_the_provider_comes_from_the_strongest_evidence(tmp_path, source, expected):
    assert _llm(tmp_path, source) == expected


@pytest.mark.parametrize(
    "strings, expected",
    [
        ("MODEL = 'gpt-4o-mini'\n", ({"openai"}, {"gpt-4o-mini"})),
        ("MODEL = 'claude-3-5-sonnet'\n", ({"anthropic"}, {"claude-3-5-sonnet"})),
        ("MODEL = 'anthropic/claude-3-haiku'\n", ({"anthropic"}, {"claude-3-haiku"})),
        ("MODEL = 'google/gemini-2.0-flash'\n", ({"google"}, {"gemini-2.0-flash"})),
        ("MODEL = 'google/gemma-2-9b'\n", (set(), set())),  # open weights: no provider, not counted
        ("MODEL = 'llama3.1'\n", (set(), set())),
        ("MODEL = 'openai/my-finetune'\n", (set(), set())),  # no family this project knows
    ],
)
def test_configuration_strings_count_only_a_maker_family_or_a_provider_path(tmp_path, strings, expected):
    assert _llm(tmp_path, strings) == expected


CLAUDE = "from langchain_anthropic import ChatAnthropic\nllm = ChatAnthropic(model='claude-3-haiku')\nX = 'gpt-4o'\n"


@pytest.mark.parametrize(
    "path, is_test",
    [
        ("tests/app.py", True),
        ("src/tests/app.py", True),
        ("Test/app.py", True),
        ("src/testing/app.py", True),
        ("unit_tests/app.py", True),
        ("integration_tests/app.py", True),
        ("test_app.py", True),
        ("app_test.py", True),
        ("conftest.py", True),
        ("tests.py", False),
        ("contest/app.py", False),
        ("latest.py", False),
        ("src/app.py", False),
    ],
)
def test_a_model_named_in_a_test_is_no_evidence_of_use(tmp_path, path, is_test):
    expected = (set(), set()) if is_test else ({"anthropic", "openai"}, {"claude-3-haiku", "gpt-4o"})
    assert _llm(tmp_path, CLAUDE, path) == expected


def test_a_test_module_read_first_hides_nothing_of_the_modules_after_it(tmp_path):
    source = "from langchain_mistralai import ChatMistralAI\nllm = ChatMistralAI(model='mistral-large-latest')\n"
    source += "X = 'gpt-4o'\n"
    model = _read(tmp_path, {"a_test.py": source, "b.py": source})
    assert (model.providers, model.models) == ({"mistral", "openai"}, {"mistral-large-latest", "gpt-4o"})


def test_a_yaml_agent_names_its_model(tmp_path):
    model = _read(
        tmp_path,
        {
            "main.py": "from crewai import Crew\n",
            "config/agents.yaml": "writer:\n  role: Writer\n  llm: anthropic/claude-3-haiku\n",
        },
    )
    assert (model.providers, model.models) == ({"anthropic"}, {"claude-3-haiku"})


# -- tools -----------------------------------------------------------------------------------------------
def test_a_tool_is_what_a_framework_makes_one_with_the_ops_of_its_body(tmp_path):
    model = _read(
        tmp_path,
        {
            "tools.py": """\
            import subprocess
            import requests
            from crewai.tools import tool, BaseTool
            from llama_index.core.tools import FunctionTool
            from semantic_kernel.functions import kernel_function
            from helpers import tool as not_a_framework
            from autogen import register_function
            from smolagents import Tool
            from langchain_core.tools import StructuredTool


            @tool("run")
            def run(cmd: str) -> str:
                try:
                    return subprocess.run(cmd, shell=True).stdout
                except OSError:
                    return ""


            @kernel_function
            def fetch(url: str) -> str:
                return requests.get(url).text


            @not_a_framework
            def plain() -> str:
                return open("x", "w").write("y")


            def lookup(q: str) -> str:
                return open("db.txt").read()


            def post(q: str) -> str:
                return requests.post(q, timeout=3).text


            class Writer(BaseTool):
                def _run(self, text: str) -> str:
                    try:
                        return open("out.txt", "w").write(text)
                    except OSError:
                        return ""


            class Runner(BaseTool):
                def forward(self, text: str) -> str:
                    return eval(text)


            class Search(Tool):
                def forward(self, q: str) -> str:
                    return requests.get(q).text


            class Structured(StructuredTool):
                def _run(self, q: str) -> str:
                    return open(q).read()


            class Empty(BaseTool):
                name = "empty"


            class ShellTool(BaseTool):
                def _run(self, command: str) -> str:
                    return command


            lookup_tool = FunctionTool.from_defaults(fn=lookup)
            FunctionTool.from_defaults(post)
            FunctionTool.from_defaults(fn=imported)
            register_function(register_me, caller=assistant, executor=user)
            """,
        },
    )
    assert model.tools == {
        "run": Tool("run", {"shell"}, True),
        "fetch": Tool("fetch", {"http_no_timeout"}, False),
        "Writer": Tool("Writer", {"file_write"}, True),
        "Runner": Tool("Runner", {"exec"}, False),
        "lookup": Tool("lookup", {"file_read"}, False),
        "post": Tool("post", {"http", "http_write"}, False),
        "Search": Tool("Search", {"http_no_timeout"}, False),
        "Structured": Tool("Structured", {"file_read"}, False),
        "Empty": Tool("Empty", set(), False),
        "ShellTool": Tool("ShellTool", {"shell"}, False),  # a library tool's name says what it does
        "imported": Tool("imported", set(), False),
        "register_me": Tool("register_me", set(), False),
    }


@pytest.mark.parametrize(
    "imports, tools",
    [
        ("from agents import Agent, Runner, function_tool\n", {"search"}),  # the SDK: its decorator makes a tool
        ("from agents import function_tool\n", {"search"}),
        ("from agents import Agent, function_tool, helper\n", set()),  # a local `agents` package: no tool
        ("from agents import Agent, function_tool as function_tool\nimport agents.mcp\n", {"search"}),
    ],
)
def test_the_agents_sdk_decorator_makes_a_tool_only_when_the_sdk_is_used(tmp_path, imports, tools):
    source = imports + "\n\n@function_tool\ndef search(q: str) -> str:\n    return q\n"
    assert set(_read(tmp_path, {"app.py": source}).tools) == tools


@pytest.mark.parametrize(
    "files, sdk",
    [
        ({"app.py": "from agents import Agent, Runner\n"}, True),
        ({"app.py": "from agents import Agent\n"}, False),  # generic names only: any local package
        ({"app.py": "from agents import Runner, helper\n"}, False),  # a name the SDK lacks: a local package
        ({"app.py": "import agents.mcp\n"}, True),
        ({"app.py": "from agents.tracing import x\n"}, True),
        ({"app.py": "import agents\n"}, False),
        ({"app.py": "import agents.mcp\n", "agents/mcp.py": "X = 1\n"}, False),  # the project's own agents.mcp
        ({"app.py": "import agents.mcp\n", "agents/mcp/__init__.py": "X = 1\n"}, False),
        ({"app.py": "import agents.mcp\n", "agents/mcp.py": "X = 1\n", "zz/other.py": "X = 1\n"}, False),
        ({"app.py": "from agents import Agent\nfrom tasks import Runner\n"}, False),  # Runner of another module
        ({"app.py": "import agents.mcp\n", "src/agents/mcp.py": "X = 1\n"}, False),
        ({"app.py": "import agents.mcp\n", "agents/mcp.txt": "x\n"}, True),
        ({"app.py": "import agents.crew\n"}, False),  # not an SDK submodule
        ({"app.py": "import agents.mcp.server\n", "agents/mcp.py": "X = 1\n"}, False),
        ({"app.py": "from agents.extensions.models import LitellmModel\n"}, True),
    ],
)
def test_the_openai_agents_sdk_is_detected_by_its_own_names_only(tmp_path, files, sdk):
    assert ("OpenAI Agents SDK" in _read(tmp_path, files).frameworks) is sdk


def test_an_agent_tool_list_is_read_from_a_literal_a_variable_or_positional_arguments(tmp_path):
    model = _read(
        tmp_path,
        {
            "app.py": """\
            from crewai import Agent
            from crewai_tools import FileReadTool
            from langgraph.prebuilt import create_react_agent

            toolset = [search, calc]
            a = Agent(role="a", goal="g", backstory="b", tools=[search, search, FileReadTool])
            b = Agent(role="b", goal="g", backstory="b", tools=toolset)
            c = Agent(role="c", goal="g", backstory="b", tools=unknown)
            f = Agent(role="f", goal="g", backstory="b", tools=None)
            d = create_react_agent(model, toolset, prompt)
            e = create_react_agent(llm, [calc, fetch])
            """,
        },
    )
    assert {n: a.tools for n, a in model.agents.items()} == {
        "a": ["search", "FileReadTool"],
        "b": ["search", "calc"],
        "c": [],
        "f": [],
        "d": ["search", "calc"],
        "e": ["calc", "fetch"],
    }
    assert model.tools["FileReadTool"] == Tool("FileReadTool", {"file_read"})
    assert model.tools["search"] == Tool("search")


def test_semantic_kernel_agents_take_their_tools_from_plugins(tmp_path):
    source = """\
    from semantic_kernel.agents import ChatCompletionAgent
    plugins = [Weather]
    a = ChatCompletionAgent(name="a", plugins=[Search])
    b = ChatCompletionAgent(name="b", plugins=plugins)
    """
    model = _read(tmp_path, {"app.py": source})
    assert {n: a.tools for n, a in model.agents.items()} == {"a": ["Search"], "b": ["Weather"]}


def test_a_plain_function_given_as_a_tool_keeps_the_ops_of_its_body_and_its_callees(tmp_path):
    source = """\
    import subprocess
    from crewai import Agent


    def shell(cmd):
        try:
            return subprocess.run(cmd, shell=True)
        except OSError:
            return None


    def deploy(x):
        return shell(x)


    def guarded(x):
        try:
            return x.upper()
        except AttributeError:
            return ""


    class Mailer:
        def _run(self, to):
            return eval(to)


    a = Agent(role="a", goal="g", backstory="b", tools=[deploy, guarded, Mailer])
    """
    model = _read(tmp_path, {"app.py": source})
    assert model.tools == {
        "deploy": Tool("deploy", {"shell"}, False),
        "guarded": Tool("guarded", set(), True),
        "Mailer": Tool("Mailer", {"exec"}, False),
    }


# -- agents: one name each, resolved where it is used -------------------------------------------------------
def test_agents_with_one_name_in_three_places_are_three_agents(tmp_path):
    agent = "from crewai import Agent\nwriter = Agent(role='w', goal='g', backstory='b')\n"
    model = _read(tmp_path, {"a.py": agent, "b.py": agent, "c.py": agent})
    assert list(model.agents) == ["writer", "writer#2", "writer#3"]
    assert [a.name for a in model.agents.values()] == ["writer", "writer#2", "writer#3"]


def test_a_team_member_is_the_agent_of_its_own_framework_in_its_own_module(tmp_path):
    model = _read(
        tmp_path,
        {
            "a.py": "from agno.agent import Agent\nhelper = Agent(name='h')\nwriter = Agent(name='w')\n",
            "b.py": """\
            from crewai import Agent as CrewAgent
            from agno.agent import Agent
            from agno.team import Team
            writer = CrewAgent(role="w", goal="g", backstory="b")
            writer = Agent(name="w")
            helper = Agent(name="h")
            team = Team(members=[writer, helper, nobody])
            """,
        },
    )
    assert [(g.name, g.members) for g in model.groups] == [("team", ["writer#3", "helper#2"])]


def test_a_member_list_is_looked_up_in_the_same_folder_before_anywhere(tmp_path):
    agent = "from agno.agent import Agent\nhelper = Agent(name='h')\n"
    team = "from agno.team import Team\nfrom .agent import helper\nteam = Team(members=[helper])\n"
    model = _read(tmp_path, {"x/agent.py": agent, "y/agent.py": agent, "y/team.py": team})
    assert [(g.name, g.members) for g in model.groups] == [("team", ["helper#2"])]


def test_a_member_defined_in_another_folder_is_found_anywhere_among_its_own_framework(tmp_path):
    model = _read(
        tmp_path,
        {
            "a/crew.py": "from crewai import Agent\nwriter = Agent(role='w', goal='g', backstory='b')\n",
            "b/agents.py": "from agno.agent import Agent\nwriter = Agent(name='w')\n",
            "c/team.py": "from agno.team import Team\nfrom b.agents import writer\nteam = Team(members=[writer])\n",
        },
    )
    assert [(g.name, g.members) for g in model.groups] == [("team", ["writer#2"])]


def test_autogen_group_chat_members_resolve_to_their_agents(tmp_path):
    agent = "from autogen import AssistantAgent\nbot = AssistantAgent(name='bot')\n"
    chat = """\
    from autogen import AssistantAgent, GroupChat
    bot = AssistantAgent(name="bot")
    user = AssistantAgent(name="u")
    chat = GroupChat(agents=[bot, user])
    """
    model = _read(tmp_path, {"a.py": agent, "b.py": chat})
    assert [(g.name, g.members, g.flows) for g in model.groups] == [
        ("chat", ["bot#2", "user"], [("bot#2", "user"), ("user", "bot#2")])
    ]


# -- crews: their members and their human input ---------------------------------------------------------------
def test_a_crew_list_variable_is_read_from_its_own_module_first(tmp_path):
    crew = """\
    from crewai import Agent, Crew
    a = Agent(role="a", goal="g", backstory="b")
    b = Agent(role="b", goal="g", backstory="b")
    team = [b]
    crew = Crew(agents=team, tasks=[])
    """
    other = "team = [z]\n"
    model = _read(tmp_path, {"a_crew.py": crew, "b_other.py": other})
    assert [(g.name, g.members) for g in model.groups] == [("crew", ["b"])]


def test_a_crew_holds_the_agents_its_list_names_not_all_of_its_module(tmp_path):
    crew = """\
    from crewai import Agent, Crew
    a = Agent(role="a", goal="g", backstory="b")
    b = Agent(role="b", goal="g", backstory="b")


    class Builder:
        def build(self):
            return Crew(agents=[b], tasks=[])
    """
    model = _read(tmp_path, {"crew.py": crew})
    assert [(g.name, g.members) for g in model.groups] == [("Builder.build", ["b"])]


def test_a_crew_member_is_the_crewai_agent_of_that_name_not_another_framework_s(tmp_path):
    crew = """\
    from crewai import Agent, Crew
    from langgraph.prebuilt import create_react_agent
    writer = create_react_agent(model, [search])
    writer = Agent(role="w", goal="g", backstory="b")
    editor = Agent(role="e", goal="g", backstory="b")
    crew = Crew(agents=[writer, editor, ghost], tasks=[])
    """
    model = _read(tmp_path, {"crew.py": crew})
    assert list(model.agents) == ["writer", "writer#2", "editor"]
    assert [(g.name, g.members, g.flows) for g in model.groups] == [
        ("crew", ["writer#2", "editor", "ghost"], [("writer#2", "editor"), ("editor", "ghost")])
    ]


def test_a_crew_list_variable_of_another_module_is_used_when_its_own_has_none(tmp_path):
    crew = "from crewai import Crew\nfrom .team import team\ncrew = Crew(agents=team, tasks=[])\n"
    team = "from crewai import Agent\na = Agent(role='a', goal='g', backstory='b')\n"
    team += "b = Agent(role='b', goal='g', backstory='b')\nteam = [a]\n"
    model = _read(tmp_path, {"crew.py": crew, "team.py": team})
    assert [(g.name, g.members) for g in model.groups] == [("crew", ["a"])]


def test_a_crew_without_an_agent_list_holds_the_agents_of_its_module_else_of_its_folder(tmp_path):
    model = _read(
        tmp_path,
        {
            "x/agents.py": "from crewai import Agent\na = Agent(role='a', goal='g', backstory='b')\n",
            "x/crew.py": "from crewai import Crew\ncrew = Crew(tasks=[])\n",
            "y/crew.py": """\
            from crewai import Agent, Crew
            b = Agent(role="b", goal="g", backstory="b")
            crew = Crew(tasks=[])
            """,
            "y/other.py": "from crewai import Agent\nd = Agent(role='d', goal='g', backstory='b')\n",
            "z/agents.py": "from crewai import Agent\nc = Agent(role='c', goal='g', backstory='b')\n",
        },
    )
    assert [(g.name, g.members) for g in model.groups] == [("crew", ["a"]), ("crew", ["b"])]


HUMAN_CREW = """\
from crewai import Agent, Crew, Task
writer = Agent(role="w", goal="g", backstory="b")
crew = Crew(agents=[writer], tasks=[])
"""


@pytest.mark.parametrize(
    "files, human",
    [
        ({"crew.py": HUMAN_CREW + "t = Task(description='d', agent=writer, human_input=True)\n"}, True),
        ({"crew.py": HUMAN_CREW + "t = Task(description='d', agent=writer, human_input=False)\n"}, False),
        (
            {
                "crew.py": HUMAN_CREW,
                "tasks_mod.py": "from crewai import Task\nfrom crew import writer\n"
                "t = Task(agent=writer, human_input=True)\n",
            },
            True,
        ),
        (
            {
                "crew.py": HUMAN_CREW,
                "tasks_mod.py": "from crewai import Task\nt = Task(agent=other, human_input=True)\n",
            },
            False,
        ),
        ({"crew.py": HUMAN_CREW, "config/tasks.yaml": "t:\n  description: d\n  human_input: true\n"}, True),
        ({"crew.py": HUMAN_CREW, "config/tasks.yaml": "t:\n  description: d\n  human_input: false\n"}, False),
        ({"crew.py": HUMAN_CREW, "config/agents.yaml": "t:\n  role: r\n  human_input: true\n"}, False),
        ({"crew.py": HUMAN_CREW, "tasks.yaml": "t:\n  description: d\n  human_input: true\n"}, True),
        ({"x/crew.py": HUMAN_CREW, "y/tasks.yaml": "t:\n  description: d\n  human_input: true\n"}, False),
        ({"x/crew.py": HUMAN_CREW, "x/config/tasks.yaml": "t:\n  description: d\n  human_input: true\n"}, True),
        ({"x/crew.py": HUMAN_CREW, "xy/tasks.yaml": "t:\n  description: d\n  human_input: true\n"}, False),
    ],
)
def test_a_crew_asks_a_human_when_one_of_its_tasks_does(tmp_path, files, human):
    model = _read(tmp_path, files)
    assert [g.human_approval for g in model.groups] == [human]
    assert model.agents["writer"].human_approval is human
    assert model.guardrails == (["human_input"] if human else [])


def test_a_crewbase_crew_asks_a_human_only_for_its_own_class_tasks(tmp_path):
    source = """\
    from crewai import Agent, Crew, Task
    from crewai.project import CrewBase, agent, crew


    @CrewBase
    class One:
        @agent
        def writer(self) -> Agent:
            return Agent(role="w", goal="g", backstory="b")

        def review(self) -> Task:
            return Task(description="d", human_input=True)

        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=[])


    @CrewBase
    class Two:
        @agent
        def editor(self) -> Agent:
            return Agent(role="e", goal="g", backstory="b")

        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=[])
    """
    model = _read(tmp_path, {"crew.py": source})
    assert [(g.members, g.human_approval) for g in model.groups] == [(["writer"], True), (["editor"], False)]


def test_without_yaml_files_any_yaml_task_asking_a_human_counts(tmp_path):
    facts = parse_module(HUMAN_CREW.encode())
    facts.path = "crew.py"
    tasks = {"t": {"description": "d", "human_input": True}}
    model = build_model([facts], {}, tasks)
    assert [g.human_approval for g in model.groups] == [True]
    assert [g.human_approval for g in build_model([parse_module(HUMAN_CREW.encode())], {}, {}).groups] == [False]


# -- the whole-project counts ---------------------------------------------------------------------------------
def test_http_calls_mcp_servers_secrets_and_environment_are_counted_over_all_modules(tmp_path):
    model = _read(
        tmp_path,
        {
            "a.py": """\
            import os
            import requests
            import httpx
            from agents.mcp import MCPServerStdio
            from mcp.server.fastmcp import FastMCP
            requests.get("https://x", timeout=5)
            requests.post("https://x")
            requests.put("https://x", timeout=5)
            httpx.delete("https://x")
            httpx.patch("https://x", timeout=1)
            TOKEN = "sk-abcdefghijklmnopqrstuvwxyz012345"
            requests.head("https://x")
            requests.Session()
            httpx.Client()
            httpx.AsyncClient()
            requests.api.get("https://x")
            server = MCPServerStdio(params={})
            app = FastMCP("x")
            KEY = os.environ["API_KEY"]
            """,
            "b.py": """\
            import os
            import httpx
            from mcp import server
            httpx.request("GET", "https://x")
            TOKEN = "sk-zyxwvutsrqponmlkjihgfedcba543210"
            server.run()
            HOST = os.getenv("HOST")
            """,
        },
    )
    assert (model.http_calls, model.http_calls_with_timeout) == (7, 3)
    assert model.secrets == 2
    assert model.mcp_servers == 2
    assert model.env_vars == {"API_KEY", "HOST"}


def test_an_empty_project_is_an_empty_model():
    assert build_model([], {}, {}) == RepoModel()


# -- frameworks, functions of one name, agents made without a call of their own ------------------------------
def test_a_framework_is_named_by_its_package_or_its_prefix_never_by_a_longer_word(tmp_path):
    model = _read(
        tmp_path,
        {
            "a.py": "import langchain_openai\nimport langchainx\nimport llama_index.core\nimport agnostic\n"
            "import google.cloud\nimport agents\n",
            "b.py": "from google.adk.agents import Agent\n",
        },
    )
    assert model.frameworks == {"LangChain", "LlamaIndex", "Google ADK"}


def test_functions_of_one_name_pool_their_ops_and_a_call_through_a_module_reaches_them(tmp_path):
    model = _read(
        tmp_path,
        {
            "a.py": "import subprocess\n\n\ndef deploy(x):\n    return subprocess.run(x, shell=True)\n",
            "b.py": """\
            import a
            from crewai import Agent


            def deploy(x):
                return x


            def release(x):
                return a.deploy(x)


            agent = Agent(role="a", goal="g", backstory="b", tools=[deploy, release])
            """,
        },
    )
    assert model.tools == {"deploy": Tool("deploy", {"shell"}, False), "release": Tool("release", {"shell"}, False)}


def test_graph_nodes_and_crewbase_agents_built_elsewhere_are_agents_of_their_module(tmp_path):
    model = _read(
        tmp_path,
        {
            "crew.py": """\
            from crewai import Agent, Crew
            from crewai.project import CrewBase, agent, crew


            @CrewBase
            class Team:
                @agent
                def scout(self) -> Agent:
                    return self._make("scout")

                @crew
                def crew(self) -> Crew:
                    return Crew(agents=self.agents, tasks=[])
            """,
            "graph.py": """\
            from langgraph.graph import StateGraph

            graph = StateGraph(dict)
            graph.add_node("research", research)
            graph.add_node("write", write)
            graph.add_edge("research", "write")
            """,
        },
    )
    assert [(g.name, g.kind, g.members, g.flows) for g in model.groups] == [
        ("graph", "graph", ["research", "write"], [("research", "write")]),
        ("Team.crew", "crew", ["scout"], []),
    ]


# -- trust crossings: agents that read the web and can also act ----------------------------------------------
def _crew_agents(*tool_lists: str) -> str:
    agents = "".join(
        f"a{i} = Agent(role='r{i}', goal='g', backstory='b', tools=[{tools}])\n" for i, tools in enumerate(tool_lists)
    )
    return (
        "from crewai import Agent\n"
        "from crewai_tools import FileWriterTool, ScrapeWebsiteTool, SerperDevTool, FileReadTool\n"
        "from langchain_community.tools import ShellTool\n"
        "from crewai.tools import tool\n"
        "import requests, subprocess\n\n"
        "@tool\ndef fetch(url):\n    return requests.get(url, timeout=5).text\n\n"
        "@tool\ndef fetch_unbounded(url):\n    return requests.get(url).text\n\n"
        "@tool\ndef run(cmd):\n    return subprocess.run(cmd)\n\n" + agents
    )


@pytest.mark.parametrize(
    "tool_lists, crossings",
    [
        (["ScrapeWebsiteTool(), FileWriterTool()"], 1),  # scrape, then write a file
        (["SerperDevTool(), ShellTool()"], 1),  # search, then run a shell
        (["fetch, run"], 1),  # the repository's own tools: an HTTP read and a subprocess
        (["fetch_unbounded, run"], 1),  # an HTTP read without a timeout reads the web too
        (["SerperDevTool(), FileWriterTool()", "ScrapeWebsiteTool(), ShellTool()"], 2),  # counted per agent
        (["SerperDevTool()", "FileWriterTool()"], 0),  # reading and acting are on different agents
        (["SerperDevTool(), ScrapeWebsiteTool()"], 0),  # reads only
        (["FileWriterTool(), ShellTool()"], 0),  # acts only
        (["FileReadTool(), FileWriterTool()"], 0),  # reading a file is not reading the web
        ([""], 0),  # no tools
    ],
)
def test_external_to_action_counts_agents_whose_own_tools_both_read_the_web_and_act(tmp_path, tool_lists, crossings):
    model = _read(tmp_path, {"crew.py": _crew_agents(*tool_lists)})
    assert len(model.agents) == len(tool_lists)
    assert rules.external_to_action(model) == crossings
