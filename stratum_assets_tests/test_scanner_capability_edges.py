"""The capability layer (scanner/capabilities.py) at its edges: the cases no whole repository of the suite reached.

The rules are checked on whole repositories (test_scanner_catalog.py); a fact the layer misreads in one rare shape
only shows when a repository happens to have that shape. Mutation testing (docs/TESTING.md) named the shapes no
test reached: MCP configs of odd types, npm aliases, CrewAI YAML tool lists, CrewBase tasks, project boundaries and
the per-file readings of guards, capabilities, agents, memory and governance. Each is here, read through the
module's public functions (``extract`` as the scanner calls it, ``same_project``, ``tool_kinds``, ``is_root_file``;
``_npm`` directly, for the specs no config reaches), with the whole value it must give.
"""

import json

import pytest

from stratum_assets.scanner.capabilities import (
    KNOWN_TOOLS,
    AgentSite,
    Cap,
    Guard,
    LlmScope,
    McpServer,
    _npm,
    extract,
    is_root_file,
    same_project,
    tool_kinds,
)


def _servers(config: object, path: str = "mcp.json") -> list[McpServer]:
    """The MCP servers the layer reads from one root config holding the server ``s``."""
    return extract([], root_files={path: json.dumps({"mcpServers": {"s": config}})}).mcp


def _server(package="", version="", remote=False, auth=False, env=(), reference=("", "")) -> McpServer:
    return McpServer("s", "mcp.json", package, version, remote, auth, env, *reference)


# -- MCP servers: which command is npx, and where its package is ----------------------------------------------
@pytest.mark.parametrize(
    "command",
    ["/usr/local/bin/npx", "/opt/node/bin/npx.cmd", "npx.cmd"],
)
def test_an_npx_given_by_its_path_or_as_npx_cmd_is_still_npx_but_the_reference_wants_the_bare_word(command):
    got = _servers({"command": command, "args": ["-y", "@acme/server@1.0.0"]})
    assert got == [_server("@acme/server", "1.0.0")]


def test_the_package_may_be_given_in_the_command_itself():
    got = _servers({"command": "npx -y @acme/server@2.1.0", "args": ["--port", "3000"]})
    assert got == [_server("@acme/server", "2.1.0", reference=("-y", ""))]
    got = _servers({"command": "npx mcp-remote@0.1.7"})
    assert got == [_server("mcp-remote", "0.1.7", reference=("mcp-remote", "0.1.7"))]


def test_a_command_that_is_not_npx_has_no_package_in_either_reading():
    got = _servers({"command": "uvx", "args": ["mcp-server-git@1.0"]})
    assert got == [_server()]
    got = _servers({"command": "node", "args": ["npx", "server.js"]})
    assert got == [_server()], "npx as an argument is not the command"


def test_a_command_of_the_wrong_json_type_is_no_command():
    assert _servers({"command": ["npx", "mcp-remote"], "args": ["mcp-remote"]}) == [_server()]
    assert _servers({"command": 7}) == [_server()]


# -- MCP servers: args, env and url of the wrong JSON type ------------------------------------------------------
def test_args_that_are_not_a_list_are_no_args():
    assert _servers({"command": "npx", "args": "mcp-remote"}) == [_server()]
    assert _servers({"command": "npx", "args": {"mcp-remote": "https://x.example"}}) == [_server()]


def test_args_keep_their_strings_and_numbers_as_text_and_drop_the_rest():
    got = _servers({"command": "npx", "args": [None, {"a": 1}, ["b"], 3, "https://x.example/mcp"]})
    assert got == [_server("3", "", remote=True, reference=("3", ""))]


def test_env_that_is_not_a_mapping_names_no_variables():
    assert _servers({"command": "uvx", "env": ["GITHUB_TOKEN"]}) == [_server()]
    assert _servers({"command": "uvx", "env": "GITHUB_TOKEN=x"}) == [_server()]


def test_a_url_that_is_not_a_string_is_no_url():
    assert _servers({"url": ["https://x.example/mcp"]}) == [_server()]
    assert _servers({"url": {"href": "https://x.example/mcp"}}) == [_server()]


def test_a_server_is_remote_by_its_url_or_an_https_argument_only():
    assert _servers({"command": "uvx", "args": ["mcp-server-time", "http://x.example"]}) == [_server()]
    assert _servers({"command": "uvx", "args": ["--url=https://x.example"]}) == [_server(remote=True)]
    assert _servers({"url": "https://x.example/sse"}) == [_server(remote=True)]


def test_auth_is_an_env_name_with_an_auth_marker_in_any_case():
    env = {"REGION": "eu", "PORT": "1"}
    assert _servers({"command": "uvx", "env": env}) == [_server(env=("REGION", "PORT"))]
    env = {"REGION": "eu", "github_oauth": "x"}
    assert _servers({"command": "uvx", "env": env}) == [_server(auth=True, env=("REGION", "github_oauth"))]


def test_the_server_keeps_its_name_and_config_file():
    root = {".cursor/mcp.json": json.dumps({"mcpServers": {"pg": {"command": "npx", "args": ["pg-mcp@1.2"]}}})}
    assert extract([], root_files=root).mcp == [
        McpServer("pg", ".cursor/mcp.json", "pg-mcp", "1.2", False, False, (), "pg-mcp", "1.2")
    ]


# -- npm package specs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("@acme/server@npm:@other/server@1.0.0", ("@acme/server", "npm:@other/server@1.0.0")),
        ("server@npm:other@1.0.0", ("server", "npm:other@1.0.0")),
        ("@acme/server", ("@acme/server", "")),
        ("@acme/server@^2", ("@acme/server", "^2")),
        ("@acme/tools/sub@1", ("@acme/tools/sub", "1")),
        ("mcp-remote@0.1.9", ("mcp-remote", "0.1.9")),
        ("mcp-remote", ("mcp-remote", "")),
        ("a@b@c", ("a", "b@c")),
    ],
)
def test_an_npm_spec_is_the_package_up_to_its_first_version_at(spec, parsed):
    """An alias ``name@npm:other@v`` installs under ``name``: the rest is its version spec (not a second package)."""
    assert _npm(spec) == parsed


# -- CrewAI YAML: agents.* and tasks.* files, and their tools: lists -------------------------------------------
def _yaml_cap(path: str, tool: str, kind: str, library: str = "crewai_tools") -> Cap:
    return Cap(kind, library, "confirmed", path, f"[YAML: {tool}]", 0, tool=tool, via="tool")


@pytest.mark.parametrize("path", ["agents.yaml", "config/agents.yml", "src/crew/config/agents.yaml"])
def test_an_agents_file_is_named_agents_dot_anything_at_any_depth(path):
    doc = {
        "researcher": {"role": "  Senior Researcher\n", "tools": ["SerperDevTool", "my_search", 5]},
        "writer": {"role": None, "tools": ["SerperDevTool", "GithubSearchTool", "ZapierToolkit"]},
        "editor": {"goal": "edit"},
        "defaults": "plain",
    }
    facts = extract([], [(path, doc)])
    assert facts.yaml_tool_agents == {
        "researcher": ["SerperDevTool", "my_search"],
        "writer": ["SerperDevTool", "GithubSearchTool", "ZapierToolkit"],
    }
    assert facts.all_caps == [
        _yaml_cap(path, "SerperDevTool", "outbound"),  # once per (tool, kind) in a file, however many list it
        _yaml_cap(path, "GithubSearchTool", "outbound"),
        _yaml_cap(path, "GithubSearchTool", "data_access"),
        _yaml_cap(path, "ZapierToolkit", "outbound", "langchain_community"),  # the first package it comes from
        _yaml_cap(path, "ZapierToolkit", "data_access", "langchain_community"),
        _yaml_cap(path, "ZapierToolkit", "destructive", "langchain_community"),
    ]
    assert facts.agent_sites == [
        AgentSite({"researcher"}, path, "Senior Researcher"),
        AgentSite({"writer"}, path, ""),
        AgentSite({"editor"}, path, ""),
    ]


@pytest.mark.parametrize("path", ["crew.yaml", "config/my_agents.yaml", "agents/crew.yaml", "config/tasks.yaml"])
def test_tools_in_another_file_are_capabilities_but_name_no_agent(path):
    facts = extract([], [(path, {"researcher": {"role": "Researcher", "tools": ["FileWriterTool"]}})])
    assert facts.yaml_tool_agents == {} and facts.agent_sites == []
    assert facts.all_caps == [_yaml_cap(path, "FileWriterTool", "destructive")]


def test_a_tools_list_belongs_to_the_top_level_key_above_it_however_deep():
    doc = {
        "researcher": {"config": {"tools": ["SerperDevTool"]}},
        "writer": [{"tools": ["FileReadTool"]}],
        "tools": ["ShellTool"],  # at the top: nobody's
    }
    facts = extract([], [("agents.yaml", doc)])
    assert facts.yaml_tool_agents == {"researcher": ["SerperDevTool"], "writer": ["FileReadTool"]}
    assert [c.tool for c in facts.all_caps] == ["SerperDevTool", "FileReadTool", "ShellTool"]


def test_only_a_list_under_the_key_tools_is_a_tools_list():
    doc = {
        "researcher": {"tools": "SerperDevTool", "tags": ["FileWriterTool"], "Tools": ["ShellTool"]},
        "writer": {"tools": []},
    }
    facts = extract([], [("agents.yaml", doc)])
    assert facts.yaml_tool_agents == {"writer": []}
    assert facts.all_caps == []


def test_a_list_document_has_no_owner_for_its_tools():
    facts = extract([], [("agents.yaml", [{"tools": ["SerperDevTool"]}])])
    assert facts.yaml_tool_agents == {} and facts.agent_sites == []
    assert facts.all_caps == [_yaml_cap("agents.yaml", "SerperDevTool", "outbound")]


@pytest.mark.parametrize("path", ["tasks.yaml", "src/crew/config/tasks.yml"])
def test_a_tasks_file_names_each_tasks_agent_and_its_human_gate(path):
    doc = {
        "research_task": {"agent": "researcher", "human_input": True},
        "write_task": {"agent": "writer", "human_input": "yes"},  # not the YAML boolean
        "review_task": {"agent": 7, "human_input": True},  # no agent named
        "notes": "free text",
    }
    facts = extract([], [(path, doc)])
    assert facts.yaml_task_agents == {"research_task": "researcher", "write_task": "writer"}
    assert facts.guards == [Guard("hitl", path, "human_input", agent="researcher", seen_by_reference=False)]
    assert facts.agent_sites == [] and facts.all_caps == []


@pytest.mark.parametrize("path", ["config/agents.yaml", "crew.yaml", "tasks/crew.yaml", "tasks_v2.yaml"])
def test_tasks_in_another_file_are_not_tasks(path):
    facts = extract([], [(path, {"research_task": {"agent": "researcher", "human_input": True}})])
    assert facts.yaml_task_agents == {} and facts.guards == []


# -- CrewBase tasks: the guard on a task names the task's agent --------------------------------------------------
def _facts(text: str, path: str = "crew.py"):
    return extract([(path, text)])


CREW_BASE = """\
from crewai import Task
from crewai.project import CrewBase, task


@CrewBase
class Crew:
    @task
    def review_task(self) -> Task:
        return Task(config=self.tasks_config["review_task"], human_input=True, output_pydantic=Verdict)

    @task
    def write_task(self) -> Task:
        return Task(agent=self.writer(), human_input=True)


standalone = Task(description="d", human_input=True, output_json=Report)
"""


def test_a_task_built_in_a_method_is_guarded_for_that_methods_yaml_task_and_elsewhere_for_nobody():
    assert _facts(CREW_BASE).guards == [  # breadth-first: module level first
        Guard("hitl", "crew.py", "human_input"),
        Guard("validation", "crew.py", "output_json"),
        Guard("hitl", "crew.py", "human_input", agent="<task:review_task>"),
        Guard("validation", "crew.py", "output_pydantic", agent="<task:review_task>"),
        Guard("hitl", "crew.py", "human_input", agent="writer"),  # its own agent= wins
    ]


# -- one project or two ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "a, b, built_in, reference",
    [
        ("a.py", "b.py", True, False),  # root files: one project; the reference compares file names too
        ("x/a.py", "x/b.py", True, False),
        ("x/y/a.py", "x/y/b.py", True, True),
        ("x/y/z/a.py", "x/y/w/b.py", True, True),  # the first two folders decide
        ("x/y/a.py", "x/z/a.py", False, False),
        ("x/a.py", "a.py", False, False),
    ],
)
def test_two_files_are_one_project_when_their_first_two_folders_agree(a, b, built_in, reference):
    assert same_project(a, b) is built_in and same_project(b, a) is built_in
    assert same_project(a, b, "reference") is reference and same_project(b, a, "reference") is reference


# -- root files: .env names, .gitignore, and which JSON files are MCP configs ------------------------------------
ENV = """\
# OPENAI_API_KEY=commented out
#HIDDEN=1

OPENAI_API_KEY=sk-test
  export  DATABASE_URL = postgres://x
REGION=eu=west
=no-name
NOEQUALS
"""


def test_env_names_are_the_assigned_names_of_root_env_files_only():
    files = {
        ".env": ENV,
        ".env.local": b"CAF\xc3\x89_KEY=1\n",  # UTF-8
        ".env.prod": b"NA\xefVE_KEY=1\n",  # not UTF-8: read as Latin-1
        "config/.env": "NESTED=1\n",
        "prod.env": "OTHER=1\n",
        "old .env": "SPACED=1\n",
    }
    facts = extract([], root_files=files)
    assert facts.env_files == [".env", ".env.local", ".env.prod"]
    assert facts.env_names == {"OPENAI_API_KEY", "DATABASE_URL", "REGION", "CAF\u00c9_KEY", "NA\u00efVE_KEY"}


@pytest.mark.parametrize("line", [".env", ".env*", ".env.*", "*.env", "  .env  "])
def test_a_gitignore_ignores_env_files_by_one_of_four_exact_lines(line):
    assert extract([], root_files={".gitignore": f"node_modules/\n{line}\n"}).env_ignored is True


@pytest.mark.parametrize("gitignore", [".env.local\n*.env.bak\n.env/\n", "", None])
def test_other_gitignore_lines_or_none_ignore_nothing(gitignore):
    files = {".env": "A=1\n"} if gitignore is None else {".gitignore": gitignore, "sub/.gitignore": ".env\n"}
    assert extract([], root_files=files).env_ignored is False


def _config(**servers) -> str:
    return json.dumps({"mcpServers": servers})


def test_mcp_configs_are_root_json_files_and_the_known_config_paths():
    files = {
        ".cursor/mcp.json": _config(cursor={"command": "uvx"}),
        ".env": "A=1\n",  # sorted among them: not JSON, skipped
        "a_broken.json": "{not json",
        "b_list.json": "[1, 2]",
        "c_servers_list.json": json.dumps({"mcpServers": [{"command": "npx"}]}),
        "mcp.json.bak": _config(backup={"command": "uvx"}),
        "servers.json": _config(root={"command": "uvx"}, bad="npx", also=["x"]),
        "sub/mcp.json": _config(nested={"command": "uvx"}),
        "zz.json": _config(last={"url": "https://x.example"}),
    }
    facts = extract([], root_files=files)
    assert [(m.file, m.name) for m in facts.mcp] == [
        (".cursor/mcp.json", "cursor"),
        ("servers.json", "root"),
        ("zz.json", "last"),
    ]


@pytest.mark.parametrize(
    "path, read",
    [
        (".gitignore", True),
        (".env", True),
        (".env.example", True),
        ("package.json", True),
        (".cursor/mcp.json", True),
        (".vscode/mcp.json", True),
        ("README.md", False),
        (".envrc", False),
        ("x.gitignore", False),
        ("sub/.env", False),
        ("sub/.gitignore", False),
        ("sub/package.json", False),
        ("sub/.cursor/mcp.json", False),
        ("package.json.bak", False),
        ("old .gitignore", False),  # a name is the whole last path component, spaces included
    ],
)
def test_the_root_files_the_layer_reads(path, read):
    assert is_root_file(path) is read


# -- agents: where they are built, and the model calls with their identity and credentials ----------------------
AGENTS = """\
import os
from os import environ

import langchain.agents
import openai
from autogen import AssistantAgent
from crewai import Agent

MODULE_KEY = os.environ["OPENAI_API_KEY"]
researcher = Agent(role="Market Researcher", name="res")
helper = AssistantAgent("helper", name=pick_name(), role=chosen_role)
executor = langchain.agents.AgentExecutor(agent=a)
other = mylib.Agent(role="Not an agent")
Agent(role="Anonymous")


def build_writer(topic):
    return Agent(role=f"Writer of {topic}", agent_name="scribe")


def by_getenv():
    key = os.getenv("ANTHROPIC_API_KEY")
    return openai.chat.completions.create(model="m", api_key=key)


def by_environ_get():
    return client.chat.completions.create(api_key=environ.get("groq_secret_key"), name="bot")


def by_other_reads():
    cfg.get("SERVICE_API_KEY")
    settings.getenv("X_ACCESS_TOKEN")
    backup = os.environ.get("BACKUP_API_KEY")
    return client.complete(prompt=os.environ.get("MODEL_NAME"), user_id="u")


def by_subscript():
    token = environ["SLACK_AUTH_TOKEN"]
    other = config["DB_API_KEY"]
    return llm.invoke(token, id=os.environ["GH_AUTH_TOKEN"])


def no_keys():
    return model.generate(os.environ.get(key_name))


def not_a_model_call():
    return os.getenv("STRIPE_SECRET_KEY")
"""


def test_an_agent_site_is_a_framework_constructor_named_by_its_variable_function_and_name_argument():
    assert extract([("app/agents.py", AGENTS)]).agent_sites == [
        AgentSite({"researcher", "res"}, "app/agents.py", "Market Researcher"),
        AgentSite({"helper"}, "app/agents.py", ""),  # name= and role= that are not text say nothing
        AgentSite({"executor"}, "app/agents.py", ""),  # langchain.agents.AgentExecutor by its dotted name
        AgentSite(set(), "app/agents.py", "Anonymous"),
        AgentSite({"build_writer", "scribe"}, "app/agents.py", "Writer of "),  # an f-string: its literal text
    ]


def test_a_model_calling_function_reads_its_own_api_keys_else_the_modules_or_for_the_reference_the_files():
    file_keys = (
        "ANTHROPIC_API_KEY",
        "X_ACCESS_TOKEN",
        "BACKUP_API_KEY",
        "STRIPE_SECRET_KEY",
        "groq_secret_key",
    )  # calls, walk order
    other_keys = ("X_ACCESS_TOKEN", "BACKUP_API_KEY")
    assert extract([("app/agents.py", AGENTS)]).llm_scopes == [
        LlmScope("app/agents.py", "by_getenv", False, ("ANTHROPIC_API_KEY",), ("ANTHROPIC_API_KEY",)),
        LlmScope("app/agents.py", "by_environ_get", True, ("groq_secret_key",), ("groq_secret_key",)),
        LlmScope("app/agents.py", "by_other_reads", False, other_keys, other_keys),  # getenv on anything counts
        LlmScope("app/agents.py", "by_subscript", True, ("SLACK_AUTH_TOKEN", "GH_AUTH_TOKEN"), file_keys),
        LlmScope("app/agents.py", "no_keys", False, ("OPENAI_API_KEY",), file_keys),
    ]


def test_a_file_without_a_model_sdk_has_no_model_scopes():
    text = AGENTS.replace("import openai\n", "")
    assert extract([("app/agents.py", text)]).llm_scopes == []


# -- human gates: which graph nodes an interrupt covers ----------------------------------------------------------
def test_an_interrupt_covers_the_node_names_given_as_text():
    text = """\
app = graph.compile(interrupt_before=["send_email", "", 3, f"pay_{kind}_node"], interrupt_after="approve")
later = graph.compile(interrupt_before=nodes, interrupt_after=("review",))
"""
    assert _facts(text).guards == [
        Guard("hitl", "crew.py", "interrupt_before", covers=("send_email", "pay__node")),
        Guard("hitl", "crew.py", "interrupt_after", covers=("approve",)),
        Guard("hitl", "crew.py", "interrupt_before"),
        Guard("hitl", "crew.py", "interrupt_after", covers=("review",)),
    ]


# -- known tool classes: imported, listed in tools=, and AutoGen code execution ----------------------------------
TOOLS = """\
import autogen
from crewai import Agent
from crewai_tools import FileWriterTool as Writer
from crewai_tools import SerperDevTool
from langchain_community.tools.shell.tool import ShellTool
from mylib.tools import FileReadTool

search = SerperDevTool()
agent = Agent(role="r", tools=[SerperDevTool(), search, PythonREPLTool], other=[ShellTool()])
crew = Crew(agents=[agent], tools=(ShellTool(),))
pick = tools[0]()
shell: ShellTool = ShellTool()
holder.reader = FileReadTool()
proxy = autogen.UserProxyAgent("p", code_execution_config=False, extra={"a": 1}, tools=known_tools)


def build():
    return autogen.UserProxyAgent("u", code_execution_config={"work_dir": "w"})
"""


def _tool(tool: str, kind: str, library: str, line: int = 0, function: str = "") -> Cap:
    return Cap(kind, library, "confirmed", "crew/tools.py", function or f"[{tool}]", line, tool=tool, via="tool")


def test_a_known_tool_class_counts_when_imported_from_its_package_and_when_listed_in_tools():
    assert extract([("crew/tools.py", TOOLS)]).all_caps == [
        _tool("FileWriterTool", "destructive", "crewai_tools"),  # imported under another name: still the class
        _tool("SerperDevTool", "outbound", "crewai_tools"),
        _tool("ShellTool", "code_exec", "langchain_community.tools.shell.tool"),  # the module it is imported from
        # (mylib's FileReadTool is another class of the same name)
        _tool("SerperDevTool", "outbound", "crewai_tools", 9),  # listed: its first package
        _tool("PythonREPLTool", "code_exec", "langchain_community", 9),  # listed as the class itself
        _tool("ShellTool", "code_exec", "langchain_community", 10),  # a tuple; other=[...] is no tool list
        _tool("code_execution_config", "code_exec", "autogen", 18, function="build"),  # a dict, not False
    ]


def test_a_variable_assigned_an_instance_of_a_capitalised_class_names_the_class():
    assert extract([("crew/tools.py", TOOLS)]).tool_vars == {
        "search": "SerperDevTool",
        "agent": "Agent",
        "crew": "Crew",
        "shell": "ShellTool",  # annotated
        "reader": "FileReadTool",  # an attribute
        "proxy": "UserProxyAgent",
    }


def test_a_tools_kinds_are_those_of_its_function_class_and_known_class_and_of_the_class_a_variable_holds():
    text = """\
import requests
import sqlite3

requests.post("https://example.com/boot")


def post_update(text):
    return requests.post("https://example.com/hook", json={"t": text})


class OrdersTool(BaseTool):
    def _run(self, q):
        return sqlite3.connect("orders.db").execute(q)


class FileReadTool:  # a local class that shadows a known one
    def _run(self, url):
        return requests.get(url)


def orders():
    return requests.get("https://example.com/orders")


search = SerperDevTool()
orders = OrdersTool()
"""
    facts = extract(
        [("tools.py", text)], [("agents.yaml", {"a": {"tools": ["ShellTool", "XMLSearchTool", "my_tool"]}})]
    )
    kinds = tool_kinds(facts)
    assert {name: kinds[name] for name in kinds if name not in KNOWN_TOOLS or name == "FileReadTool"} == {
        "post_update": {"outbound"},
        "OrdersTool": {"data_access"},
        "_run": {"data_access", "outbound"},
        "FileReadTool": {"outbound", "data_access"},  # its own calls and the known class's kinds
        "search": {"outbound"},
        "orders": {"outbound", "data_access"},  # a function and a variable of one name: both
    }
    assert kinds["ShellTool"] == {"code_exec"} and kinds["PythonREPLTool"] == {"code_exec"}


# -- memory: stores, reads and writes per scope, collections and their limits -------------------------------------
MEMORY = """\
import chromadb

client = chromadb.Client()
docs = client.get_or_create_collection("docs", metadata={"hnsw:space": "cosine"})
notes = client.create_collection("notes", ttl=3600)
scoped = client.create_collection("scoped", metadata={"namespace": "team"})
loose = client.get_collection("loose", metadata=meta)
keyed = client.Collection("keyed", metadata={key: 1}, other={"ttl": 1})
named = client.get_collection(name_var)
docs.add(documents=["x"], metadata={"source": "web"})


class Memory:
    def remember(self, text):
        docs.upsert(ids=["1"], documents=[text])

    def recall(self, q):
        return docs.query(query_texts=[q])


def latest():
    return docs.get()
"""


def test_memory_reads_writes_and_collections_are_read_per_outermost_scope():
    facts = extract([("mem/store.py", MEMORY), ("mem/other.py", "import json\njson.get(x)\n")])
    assert facts.store_files == {"mem/store.py"}
    assert facts.writes == [("mem/store.py", "<module>", True), ("mem/store.py", "Memory", False)]
    # breadth-first: the shallower call first
    assert facts.reads == [("mem/store.py", "latest"), ("mem/store.py", "Memory"), ("mem/other.py", "<module>")]
    assert facts.collections == [
        ("mem/store.py", "<module>", "docs", False),  # metadata without a limit
        ("mem/store.py", "<module>", "notes", True),
        ("mem/store.py", "<module>", "scoped", True),  # a limit inside metadata
        ("mem/store.py", "<module>", "loose", False),
        ("mem/store.py", "<module>", "keyed", False),  # a limit outside metadata is not the store's
    ]


@pytest.mark.parametrize(
    "text, flag, expected",
    [
        ("from openai.fine_tuning import jobs\n", "fine_tuning", True),
        ("import openai.fine_tuning\n", "fine_tuning", True),
        ("from trl import PPOTrainer\n", "fine_tuning", True),
        ("from langchain_community.vectorstores import Chroma\n", "store_files", {"learn.py"}),
        ("from json import loads\n", "store_files", set()),
        ("from trl import DPOTrainer\n", "fine_tuning", True),
        ("from trl import SFTTrainer\nimport openai\n", "fine_tuning", False),
        ("import langsmith\nclient.create_example(x)\n", "distillation", True),
        ("import mlflow\nmlflow.log_model(m)\n", "distillation", True),
        ("import wandb\nwandb.save(path)\n", "distillation", True),
        ("import wandb\nrun.log_artifact(x)\n", "distillation", False),  # mlflow's method, not wandb's
        ("client.create_dataset(x)\n", "distillation", False),  # no langsmith import
        ("store.snapshot(x)\n", "rollback", True),
        ("def rollback(state):\n    pass\n", "rollback", True),
        ("shutil.copytree(a, b)\n", "rollback", True),
        ("restore(state)\n", "rollback", False),
        ("from langgraph.checkpoint.postgres import PostgresSaver\n", "durable_checkpoint", True),
        ("import langgraph.checkpoint.sqlite\nsaver = SqliteSaver(c)\n", "durable_checkpoint", True),
        ("from langgraph.checkpoint.redis import RedisSaver\n", "durable_checkpoint", True),
        ("from langgraph.checkpoint.memory import MemorySaver\n", "durable_checkpoint", False),
        ("saver = PostgresSaver(conn)\n", "durable_checkpoint", False),
    ],
)
def test_learning_and_rollback_flags_need_their_import_and_their_call(text, flag, expected):
    assert getattr(extract([("learn.py", text)]), flag) == expected


def test_secrets_are_one_per_pattern_per_file_in_both_readings():
    one = 'KEY = "sk-abcdefghijklmnopqrstuvwx"\nDSN = "postgresql+psycopg2://app:pw@db/x"\n'
    two = 'TOKEN = "xsk-abcdefghijklmnopqrstuvwx"\n'
    facts = extract([("one.py", one), ("two.py", two)])
    assert facts.secrets == [("one.py", "openai_key"), ("one.py", "postgres_url")]
    assert facts.reference_secrets == [("one.py", "openai_key"), ("two.py", "openai_key")]  # sk- inside a word


# -- capabilities: what a call resolves to, and how -----------------------------------------------------------------
CALLS = """\
import os
import sqlite3
import subprocess
from subprocess import check_output

import httpx
import requests as r
import stripe

client = httpx.Client()
subprocess.run(["make"])


def fetch(url):
    try:
        resp = r.get(url, timeout=5)
        r.get(url)
    except ValueError:
        resp = None
    client.post(url)
    check_output(["ls"])
    os.system("ls")
    eval("1")
    with sqlite3.connect("x.db") as conn:
        conn.execute("DELETE FROM users")
    return resp


def nested():
    if True:
        import requests
    requests.post("u")
    session = requests.Session()
    session.get("u")


def pay(amount):
    if amount <= 0:
        raise ValueError(amount)
    stripe.Refund.refund(amount)
    stripe.Charge.create(amount=amount)


def pay_unchecked(amount):
    stripe.PaymentIntent.capture(amount)


class Orders:
    def drop(self, db):
        cursor.execute("select 1")
        db.delete_many({})
        sqlite3.connect("a").drop()
"""

MORE = """\
import pydantic
import psycopg2
import stripe
from pydantic import TypeAdapter

QUERY = "TRUNCATE audit"


async def load(dsn):
    handle = await psycopg2.pool(dsn)
    handle.fetchall()
    other = psycopg2.pool(dsn)
    other = make()  # no longer a database handle
    other.delete("x")
    return "sep".join(rows)


def pay_isinstance(x):
    isinstance(x, int)
    stripe.Charge.create(amount=x)


def pay_adapter(x):
    TypeAdapter(int).validate_python(x)
    stripe.Charge.create(amount=x)


def pay_model(x):
    Model.model_validate(x)
    stripe.Charge.create(amount=x)


def pay_pydantic_adapter(x):
    pydantic.TypeAdapter(int)
    stripe.Charge.create(amount=x)


def pay_assert(x):
    assert x
    stripe.Charge.create(amount=x)


def pay_unvalidated(x):
    if x:
        log(x)
    stripe.Charge.create(amount=x)
"""


def _read(caps: list[Cap]) -> list[tuple]:
    """kind, library, confidence, function, line, owner, in_try, timeout, validated, via, seen_by_reference."""
    return [
        (
            c.kind,
            c.library,
            c.confidence,
            c.function,
            c.line,
            c.owner,
            c.in_try,
            c.timeout,
            c.validated,
            c.via,
            c.seen_by_reference,
        )
        for c in caps
    ]


def test_calls_resolve_through_aliases_variables_with_bindings_cursors_and_nested_imports():
    facts = extract([("app.py", CALLS)])
    assert all(c.file == "app.py" and c.tool == "" for c in facts.all_caps)
    assert _read(facts.all_caps) == [
        # functions first, each breadth-first: the first call per (kind, library, seen by the reference)
        ("outbound", "httpx", "confirmed", "fetch", 20, "", False, False, False, "module-variable", False),
        ("code_exec", "subprocess", "confirmed", "fetch", 21, "", False, False, False, "from-import-call", False),
        ("code_exec", "os", "confirmed", "fetch", 22, "", False, False, False, "import", True),
        ("code_exec", "eval", "confirmed", "fetch", 23, "", False, False, False, "builtin", True),
        ("outbound", "requests", "confirmed", "fetch", 16, "", True, True, False, "alias", False),
        ("data_access", "sqlite3", "confirmed", "fetch", 24, "", False, False, False, "import", True),
        ("destructive", "sqlite3", "confirmed", "fetch", 25, "", False, False, False, "with", False),
        ("outbound", "requests", "confirmed", "nested", 32, "", False, False, False, "nested-import", False),
        ("financial", "stripe", "confirmed", "pay", 40, "", False, False, True, "import", False),  # refund: no verb
        ("financial", "stripe", "confirmed", "pay", 41, "", False, False, True, "import", True),
        ("financial", "stripe", "confirmed", "pay_unchecked", 45, "", False, False, False, "import", False),
        ("data_access", "sqlite3", "confirmed", "drop", 50, "Orders", False, False, False, "cursor", True),
        ("destructive", "sqlite3", "confirmed", "drop", 51, "Orders", False, False, False, "cursor", True),
        ("code_exec", "subprocess", "confirmed", "<module>", 11, "", False, False, False, "import", False),
    ]
    assert [(c.kind, c.library, c.function) for c in facts.caps] == [
        ("outbound", "httpx", "fetch"),
        ("code_exec", "subprocess", "fetch"),
        ("code_exec", "os", "fetch"),
        ("code_exec", "eval", "fetch"),
        ("outbound", "requests", "fetch"),
        ("data_access", "sqlite3", "fetch"),
        ("destructive", "sqlite3", "fetch"),
        ("financial", "stripe", "pay"),
    ]


def test_a_payment_is_validated_by_its_functions_checks_and_sql_text_alone_is_a_probable_deletion():
    assert _read(extract([("more.py", MORE)]).all_caps) == [
        ("data_access", "psycopg2", "confirmed", "load", 11, "", False, False, False, "variable", True),  # awaited
        ("financial", "stripe", "confirmed", "pay_isinstance", 20, "", False, False, True, "import", True),
        ("financial", "stripe", "confirmed", "pay_adapter", 25, "", False, False, True, "import", True),
        ("financial", "stripe", "confirmed", "pay_model", 30, "", False, False, True, "import", True),
        ("financial", "stripe", "confirmed", "pay_pydantic_adapter", 35, "", False, False, True, "import", True),
        ("financial", "stripe", "confirmed", "pay_assert", 40, "", False, False, True, "import", True),
        ("financial", "stripe", "confirmed", "pay_unvalidated", 46, "", False, False, False, "import", True),
        ("destructive", "psycopg2", "probable", "<module>", 6, "", False, False, False, "sql-text", False),
    ]


EDGES = """\
import os.path
import sqlite3
import subprocess
from subprocess import check_output

from stripe import Charge

print("starting")
handlers[0]("boot")
if __name__ == "__main__":
    Charge.create(amount=1)


def run_job(cmd):
    handlers[0](cmd)
    print(cmd)
    try:
        os.system(cmd)
    except OSError:
        pass
    subprocess.run(cmd, timeout=30)


def compile_all(cmd):
    check_output(cmd, timeout=30)


def charge(amount):
    Charge.create(amount=amount, timeout=10)


def query(primary, replica):
    cursor = (primary or replica).cursor()
    try:
        rows = list(
            cursor.execute("select 1", timeout=5),
        )
    except sqlite3.Error:
        rows = []
    if len(rows) > 1:
        print(rows)
    return rows


def purge_text():
    return "DELETE FROM jobs"


def purge(path):
    sqlite3.connect(path).execute("DELETE FROM jobs")
"""


def test_timeouts_try_blocks_from_imports_and_the_most_confident_representative():
    facts = extract([("edges.py", EDGES), ("nodb.py", "def f(cursor):\n    cursor.execute('DELETE FROM x')\n")])
    assert _read(facts.all_caps) == [
        # a bare or subscripted call before them does not end the function's reading
        ("code_exec", "subprocess", "confirmed", "run_job", 21, "", False, True, False, "import", True),
        ("code_exec", "os", "confirmed", "run_job", 18, "", True, False, False, "import", True),  # `import os.path`
        ("code_exec", "subprocess", "confirmed", "compile_all", 25, "", False, True, False, "from-import-call", False),
        ("financial", "stripe", "confirmed", "charge", 29, "", False, True, False, "from-import", True),
        # a cursor from an expression; a call on a later line of the try body's last statement is in the try
        ("data_access", "sqlite3", "confirmed", "query", 36, "", True, True, False, "cursor", True),
        ("destructive", "sqlite3", "probable", "purge_text", 46, "", False, False, False, "sql-text", True),
        ("data_access", "sqlite3", "confirmed", "purge", 50, "", False, False, False, "import", True),
        ("destructive", "sqlite3", "confirmed", "purge", 50, "", False, False, False, "import", True),
        # module level: validated by no function, even under a comparison
        ("financial", "stripe", "confirmed", "<module>", 11, "", False, False, False, "from-import", False),
    ]  # nodb.py: a cursor name without a database library is nothing
    assert [(c.kind, c.function) for c in facts.caps] == [
        ("code_exec", "run_job"),
        ("code_exec", "run_job"),
        ("financial", "charge"),
        ("data_access", "query"),
        ("destructive", "purge"),  # the confirmed one replaces the probable one found first
    ]


def test_one_capability_per_file_kind_and_top_level_package():
    caps = extract([("crew/tools.py", TOOLS)]).caps
    assert [(c.kind, c.library, c.line) for c in caps] == [
        ("destructive", "crewai_tools", 0),
        ("outbound", "crewai_tools", 0),
        ("code_exec", "langchain_community.tools.shell.tool", 0),  # PythonREPLTool and ShellTool listed: the same
        ("code_exec", "autogen", 18),
    ]


# -- guards: filters by vendor and use, rate limits, human modes, validation ----------------------------------------
def _g(kind: str, detail: str, **kw) -> Guard:
    return Guard(kind, "g.py", detail, **kw)


NEMO, GAI = {"vendor": "NVIDIA"}, {"vendor": "Guardrails AI"}


@pytest.mark.parametrize(
    "text, guards",
    [
        (
            "from nemoguardrails import LLMRails\nrails = LLMRails(config)\n",
            {_g("input_filter", "nemoguardrails", **NEMO)},
        ),
        (
            "from nemoguardrails import RailsConfig\nc = RailsConfig.from_path(p)\n",
            {_g("input_filter", "nemoguardrails", **NEMO)},
        ),
        ("import nemoguardrails\n", {_g("input_filter", "nemoguardrails", active=False, **NEMO)}),
        ("import guardrails as gd\ng = gd.Guard()\n", {_g("output_filter", "guardrails-ai", **GAI)}),
        ("import guardrails\nx.use(ToxicLanguage)\n", {_g("output_filter", "guardrails-ai", **GAI)}),
        ("import guardrails\nguard.validate(text)\n", {_g("output_filter", "guardrails-ai", **GAI)}),
        ("import guardrails\nguard(text)\n", {_g("output_filter", "guardrails-ai", **GAI)}),
        ("from guardrails.hub import ToxicLanguage\n", {_g("output_filter", "guardrails-ai", active=False, **GAI)}),
        ("from llm_guard.output_scanners import Toxicity\n", {_g("output_filter", "llm_guard")}),
        ("import Guardrails_Kit\n", set()),  # named like it: only the reference takes it for Guardrails AI
        (
            "from agents.guardrail import InputGuardrail, OutputGuardrail as Out\nchecker = InputGuardrail(check)\n",
            {
                _g("input_filter", "InputGuardrail", vendor="OpenAI"),
                _g("output_filter", "OutputGuardrail", active=False, vendor="OpenAI"),  # imported, never used
            },
        ),
        ("from agents import Agent\n", set()),
    ],
)
def test_a_filter_is_known_by_its_vendors_module_and_active_when_used(text, guards):
    assert set(extract([("g.py", text)]).guards) == guards


@pytest.mark.parametrize(
    "text, reference_guards",
    [
        (
            "from my_guardrails_lib import check\nimport app.guardrails\n",
            [_g("output_filter", "guardrails", active=False, **GAI)],
        ),
        ("import Guardrails_Kit\n", [_g("output_filter", "guardrails", active=False, **GAI)]),
        ("import guardrails\nimport nemoguardrails\nimport llm_guard\n", []),
    ],
)
def test_the_reference_takes_any_module_named_like_guardrails_for_guardrails_ai_once_per_file(text, reference_guards):
    assert extract([("g.py", text)]).reference_guards == reference_guards


def test_limits_human_modes_structured_outputs_and_validator_decorators_are_guards():
    text = """\
crew = Crew(max_rpm=10)
llm = Model(rate_limit=5, max_requests_per_minute=60, timeout=3)
a = UserProxyAgent("a", human_input_mode="ALWAYS")
b = UserProxyAgent("b", human_input_mode="TERMINATE")
c = UserProxyAgent("c", human_input_mode="NEVER")
d = Task(human_input=False)
e = Task(human_input="yes")
isinstance(x, int)
Model.model_validate(y)
agent = Agent(model, output_type=Report, result_type=R, output_json=J)
task = Task(agent=writer, output_pydantic=Report, response_format=F)


@agent.output_validator
def check_output(ctx, out):
    return out


@agent.result_validator
async def check_result(ctx, out):
    return out


@validator
@other.validate
def plain():
    pass
"""
    assert extract([("g.py", text)]).guards == [  # breadth-first: the decorated definitions first
        _g("output_filter", "output_validator"),
        _g("output_filter", "result_validator"),
        _g("rate_limit", "max_rpm"),
        _g("rate_limit", "rate_limit"),
        _g("rate_limit", "max_requests_per_minute"),
        _g("hitl", "human_input_mode"),
        _g("hitl", "human_input_mode"),  # ALWAYS and TERMINATE ask a human; NEVER does not
        _g("validation", "isinstance/model_validate"),  # once per file
        _g("validation", "output_type"),
        _g("validation", "result_type"),
        _g("validation", "output_json"),
        _g("validation", "output_pydantic", agent="writer"),
        _g("validation", "response_format", agent="writer"),
    ]


@pytest.mark.parametrize(
    "text, guards",
    [
        ("# max_turns in a comment counts\n", [_g("rate_limit", "recursion/iteration limit")]),
        ("agent = AgentExecutor(max_iterations=3)\n", [_g("rate_limit", "recursion/iteration limit")]),
        ("app.invoke(x, {'recursion_limit': 5})\n", [_g("rate_limit", "recursion/iteration limit")]),
        ("pydantic.TypeAdapter(int)\n", [_g("validation", "isinstance/model_validate")]),
        ("isinstance(x, int)\n", [_g("validation", "isinstance/model_validate")]),
        ("Model.model_validate(y)\n", [_g("validation", "isinstance/model_validate")]),
        ("print(max_tokens)\n", []),
    ],
)
def test_limits_by_their_text_and_validation_by_its_call(text, guards):
    assert extract([("g.py", text)]).guards == guards


# -- governance: telemetry, model SDKs, evals, abstraction, proprietary formats -------------------------------------
@pytest.mark.parametrize(
    "text, fact, value",
    [
        ("import langsmith\n", "telemetry", {"LangSmith"}),
        ('key = os.getenv("LANGFUSE_SECRET_KEY")\n', "telemetry", {"Langfuse"}),  # its env key, quoted
        ("key = os.getenv('WANDB_API_KEY')\n", "telemetry", {"Weights & Biases"}),
        ("LANGFUSE_HOST = 1\n", "telemetry", set()),  # a bare name is no env read
        ("import ddtrace\n", "telemetry", {"Datadog"}),
        ("from opentelemetry.sdk import trace\n", "telemetry", {"OpenTelemetry"}),
        ("import anthropic\nfrom google import genai\n", "model_sdks", {"Anthropic", "Google"}),
        ("import openai_helpers\n", "model_sdks", set()),
        ("import openai\nopenai.evals.run(x)\n", "evals", {"openai.evals"}),
        ("from openai.evals import runner\n", "evals", {"openai.evals"}),
        ("import openai\nfrom openai import evals\n", "evals", {"openai.evals"}),
        ("x = 'openai.evals'\n", "evals", set()),  # no openai import
        ("import ragas\nimport trulens.core\nimport langsmith\n", "evals", {"ragas", "trulens", "langsmith"}),
        ("import langchain.agents\n", "langchain_imported", True),
        ("import langchain_community\n", "langchain_imported", False),
        ("import litellm\n", "abstraction", True),
        ("from llama_index.core import VectorStoreIndex\n", "abstraction", True),
        ("import openai\n", "abstraction", False),
        ("from openai.beta.assistants import Assistant\n", "proprietary_format", True),
        ("import openai.beta.assistants\nfrom . import local\nfrom os import path\n", "proprietary_format", False),
    ],
)
def test_governance_facts_come_from_imports_and_quoted_env_keys(text, fact, value):
    assert getattr(extract([("gov.py", text)]), fact) == value


# -- the reference's reading of the same facts ------------------------------------------------------------------
REFERENCE_APP = """\
import os
import openai
import requests as r
import requests
from my_guardrails import check

TOKEN = "xsk-abcdefghijklmnopqrstuvwx"


def post(u):
    r.post(u)
    requests.get(u)


def ask():
    key = os.environ["OPENAI_API_KEY"]
    return openai.chat.completions.create(model="m", api_key=os.getenv("OTHER_API_KEY"))
"""


def test_the_reference_reading_keeps_what_the_reference_sees_and_swaps_in_its_own_readings():
    facts = extract(
        [("app.py", REFERENCE_APP)],
        [("tasks.yaml", {"t": {"agent": "a", "human_input": True}})],
        {"mcp.json": json.dumps({"mcpServers": {"s": {"command": "npx", "args": ["-y", "mcp-remote@0.1.7"]}}})},
    )
    ref = facts.as_reference_reads()
    requests_get = Cap("outbound", "requests", "confirmed", "app.py", "post", 12)
    assert ref.reading == "reference" and facts.reading == "built-in"
    assert ref.all_caps == [requests_get] and ref.caps == [requests_get]  # not the aliased r.post
    assert ref.guards == [Guard("output_filter", "app.py", "guardrails", active=False, vendor="Guardrails AI")]
    assert ref.mcp == [McpServer("s", "mcp.json", "-y", "", False, False, (), "-y", "")]
    assert ref.llm_scopes == [LlmScope("app.py", "ask", False, ("OTHER_API_KEY",), ("OTHER_API_KEY",))]
    assert ref.secrets == [("app.py", "openai_key")]
    assert ref.reference_guards == [] and ref.reference_secrets == []
    # the built-in reading is left as it was
    assert facts.mcp == [McpServer("s", "mcp.json", "mcp-remote", "0.1.7", False, False, (), "-y", "")]
    assert facts.llm_scopes == [
        LlmScope("app.py", "ask", False, ("OPENAI_API_KEY", "OTHER_API_KEY"), ("OTHER_API_KEY",))
    ]
    assert facts.guards == [Guard("hitl", "tasks.yaml", "human_input", agent="a", seen_by_reference=False)]
    assert facts.secrets == [] and facts.reference_secrets == [("app.py", "openai_key")]
    assert len(facts.all_caps) == 2 and len(facts.reference_guards) == 1


# -- files the layer cannot read ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "unreadable",
    [
        "def broken(:\n",  # does not parse
        "import crewai\nx = " + "a." * 2500 + "b()\n",  # parses, but too deep to walk
    ],
)
def test_an_unreadable_file_is_skipped_and_the_files_after_it_are_still_read(unreadable):
    facts = extract([("bad.py", unreadable), ("ok.py", "import os\nos.system('make')\n")])
    assert [(c.file, c.kind, c.library) for c in facts.all_caps] == [("ok.py", "code_exec", "os")]


@pytest.mark.parametrize(
    "text",
    [
        "import importlib\ncrewai = importlib.import_module('crewai')\nwriter = crewai.Agent(role='Writer')\n",
        "import crewai as cr\nwriter = cr.Agent(role='Writer')\n",
    ],
)
def test_an_agent_constructor_is_known_through_a_module_bound_by_assignment_or_by_an_alias(text):
    assert extract([("crew.py", text)]).agent_sites == [AgentSite({"writer"}, "crew.py", "Writer")]
