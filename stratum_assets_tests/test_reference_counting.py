"""Frameworks, agents, crews and deployment signals counted the reference CLI's way, idiom by idiom.

Each snippet is one idiom as projects write it (written here, not copied from any repository), scanned
by the built-in scanner as a checkout; the expected numbers are what `stratum` 0.3.1 reports for it
(catalog §3/§4; bench/scanner_agreement.py checks the same definitions on 24 real repositories and their
reference pings).
"""

from pathlib import Path
from textwrap import dedent

import pytest

from stratum_assets.scanner.engine import scan_repository
from stratum_assets_tests.support.checkouts import write_files


def _scan(tmp_path: Path, files: dict[str, str]) -> dict:
    write_files(tmp_path, {name: dedent(text) for name, text in files.items()})
    return scan_repository(tmp_path, "team/idiom")


def _counts(ping: dict) -> tuple:
    return ping["frameworks"], ping["agent_count"], ping["crew_count"], ping["crew_size_distribution"]


CREW_OF_NAMELESS_AGENTS = """
    from crewai import Agent, Crew, Task

    researcher = Agent(role="Researcher", goal="find", backstory="b")
    writer = Agent(role="Writer", goal="write", backstory="b")
    editor = Agent(role="Editor", goal="edit", backstory="b")
    crew = Crew(agents=[researcher, writer, editor], tasks=[])
"""


def test_nameless_crewai_agents_are_one_agent_named_agent_and_the_crew_keeps_its_three(tmp_path):
    ping = _scan(tmp_path, {"crew.py": CREW_OF_NAMELESS_AGENTS})
    assert _counts(ping) == (["CrewAI"], 1, 1, [3])
    assert ping["detected_agent_count"] == 3, "the built-in's own reading stays in its extra field"


def test_named_agents_of_any_framework_count_as_crewai_and_merge_by_name(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "team.py": """
        from agno.agent import Agent
        from agno.team import Team

        a = Agent(name="Finance Agent", tools=[YFinanceTools()])
        b = Agent(name="Web Agent")
        c = Agent(name="Finance Agent")
        team = Team(members=[a, b])
    """
        },
    )
    assert _counts(ping) == (["Agno"], 2, 0, []), "Agno's Team is never a crew"
    assert ping["agent_tool_count_distribution"] == [1, 0]
    assert ping["repo_metadata"]["primary_framework"] == "Agno"


def test_crewbase_with_yaml_agents_merges_keys_and_methods_of_the_same_name(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "src/app/config/agents.yaml": """
            analyst:
              role: Analyst
              goal: analyse
            reporter:
              role: Reporter
              goal: report
        """,
            "src/app/crew.py": """
            from crewai import Agent, Crew, Task
            from crewai.project import CrewBase, agent, crew, task

            @CrewBase
            class Project:
                @agent
                def analyst(self) -> Agent:
                    return Agent(config=self.agents_config["analyst"], tools=[SerperDevTool()])

                @agent
                def reporter(self) -> Agent:
                    return Agent(config=self.agents_config["reporter"])

                @crew
                def crew(self) -> Crew:
                    return Crew(agents=self.agents, tasks=self.tasks)
        """,
        },
    )
    assert _counts(ping) == (["CrewAI"], 2, 1, [2]), "Crew(agents=self.agents) is no crew; the @CrewBase class is"
    assert ping["agent_tool_count_distribution"] == [1, 0]


def test_any_yaml_file_with_agent_keys_defines_agents(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "settings/team.yml": "planner:\n  goal: plan\nversion: 3\nlimits:\n  max: 2\n",
            "main.py": "from crewai import Crew\n",
        },
    )
    assert ping["agent_count"] == 1


def test_an_agent_decorated_file_skips_the_constructor_pass_and_the_call_form_is_no_agent(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "crew.py": """
        from crewai import Agent
        from crewai.project import CrewBase, agent

        helper = Agent(role="Helper", goal="g", backstory="b")

        @CrewBase
        class Project:
            @agent
            def lead(self) -> Agent:
                return Agent(role="Lead", goal="g", backstory="b")

            @agent()
            def second(self) -> Agent:
                return Agent(role="Second", goal="g", backstory="b")
    """
        },
    )
    assert _counts(ping) == (["CrewAI"], 1, 1, [2]), "only `lead` is an agent; the class has two @agent methods"


def test_autogen_agents_are_named_by_keyword_only_and_group_chats_are_no_crews(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "chat.py": """
        from autogen import AssistantAgent, ConversableAgent, GroupChat, GroupChatManager, UserProxyAgent

        planner = AssistantAgent("planner", llm_config={})
        coder = AssistantAgent("coder", llm_config={})
        critic = AssistantAgent(name="critic", llm_config={})
        user = UserProxyAgent(name="user")
        helper = ConversableAgent(name="helper")
        chat = GroupChat(agents=[planner, coder, critic, user], messages=[])
        manager = GroupChatManager(groupchat=chat)
    """
        },
    )
    # planner and coder both become "AssistantAgent"; ConversableAgent is not a name the reference counts
    assert _counts(ping) == (["AutoGen"], 3, 0, [])
    assert ping["detected_crew_count"] == 1


def test_langchain_executor_and_factory_count_three_agents_in_one_file_crew(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "agent.py": """
        from langchain.agents import AgentExecutor, create_openai_tools_agent

        tools = [search]
        agent = create_openai_tools_agent(llm, tools, prompt)
        executor = AgentExecutor(agent=agent, tools=tools)
    """
        },
    )
    # the executor is counted by the constructor pass and again as an assignment; the file is a crew of 2
    assert _counts(ping) == (["LangChain"], 3, 1, [2])
    assert ping["agent_tool_count_distribution"] == [1, 1, 0], "`tools` given as a variable is one tool, $tools"


def test_langchain_create_agent_and_chains_are_no_agents(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "app.py": """
        from langchain.agents import create_agent
        from langchain_core.prompts import ChatPromptTemplate

        agent = create_agent(model, tools=[search])
        chain = ChatPromptTemplate.from_template("{q}") | model
    """
        },
    )
    assert _counts(ping) == (["LangChain"], 0, 0, [])


def test_langgraph_counts_literal_nodes_including_utility_nodes_and_a_graph_without_them(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "graph.py": """
            from langgraph.graph import StateGraph
            from langgraph.prebuilt import ToolNode

            builder = StateGraph(State)
            builder.add_node("agent", call_model)
            builder.add_node("tools", ToolNode(tools))
            builder.add_edge("agent", "tools")
        """,
            "dynamic.py": """
            from langgraph.graph import StateGraph

            workflow = StateGraph(State)
            for name, step in STEPS.items():
                workflow.add_node(name, step)
        """,
        },
    )
    assert _counts(ping) == (["LangGraph"], 2, 2, [2, 0])


def test_frameworks_come_from_top_level_imports_as_written(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "aliased.py": "import langchain as lc\n",  # records `lc`: no label
            "guarded.py": "try:\n    import crewai\nexcept ImportError:\n    crewai = None\n",  # not top level
            "local.py": "def load():\n    from llama_index.core import VectorStoreIndex\n    return VectorStoreIndex\n",
            "prefix.py": "from langgraph_sdk import get_client\n",  # starts with `langgraph`
        },
    )
    assert ping["frameworks"] == ["LangGraph"]
    assert set(ping["detected_frameworks"]) >= {"LangGraph", "LlamaIndex"}, "the built-in reads imports anywhere"


@pytest.mark.parametrize(
    "idiom",
    [
        "from llama_index.core.agent.workflow import FunctionAgent\nagent = FunctionAgent(tools=[t], llm=llm)\n",
        "from smolagents import CodeAgent\nagent = CodeAgent(tools=[], model=model)\n",
        "from llama_index.core.agent import ReActAgent\nagent = ReActAgent.from_tools([t], llm=llm)\n",
    ],
)
def test_agents_the_reference_does_not_see_leave_agent_count_at_zero(tmp_path, idiom):
    ping = _scan(tmp_path, {"agent.py": idiom})
    assert ping["agent_count"] == 0 and ping["detected_agent_count"] == 1


def test_vendored_folders_are_not_read(tmp_path):
    ping = _scan(
        tmp_path,
        {
            ".venv/lib/crewai/agent.py": CREW_OF_NAMELESS_AGENTS,
            "node_modules/x/agents.yaml": "a:\n  role: r\n",
            "app.py": "import os\n",
        },
    )
    assert _counts(ping) == ([], 0, 0, [])


def test_deployment_signals_are_names_at_the_root(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "requirements.txt": "crewai\n",
            "services/api/Dockerfile": "FROM python\n",
            "test/test_app.py": "def test_x():\n    pass\n",
            ".github/CODEOWNERS": "* @team\n",
            "deploy/.env.example": "KEY=\n",
        },
    )
    assert ping["deployment_signals"] == {
        "has_dockerfile": False,
        "has_ci_config": True,
        "has_tests": True,
        "has_lockfile": True,
        "has_env_example": False,
        "deployment_score": 3,
    }
    detected = ping["detected_deployment_signals"]
    assert (detected["has_dockerfile"], detected["has_lockfile"], detected["has_ci_config"]) == (True, False, False)


def test_agents_merge_on_name_and_label_together(tmp_path):
    ping = _scan(
        tmp_path,
        {
            "crew.py": "from crewai import Agent\nwriter = Agent(role='Writer', goal='g')\n",
            "chat.py": "from autogen import AssistantAgent\nhelper = AssistantAgent(name='Agent')\n",
        },
    )
    assert ping["agent_count"] == 2, "a CrewAI 'Agent' and an AutoGen agent named 'Agent' are two agents"


# -- the rules about agents and crews read the reference's agents and crews ----------------------------------------
def test_a_langchain_file_crew_whose_agents_share_the_tools_variable_is_a_blast_radius(tmp_path):
    """The file's two LangChain agents (the factory's and the executor's variables) are one synthetic crew and
    both hold ``$tools``: CR05 for the reference, while the built-in sees one executor and no crew."""
    ping = _scan(
        tmp_path,
        {
            "app.py": """
        from langchain.agents import AgentExecutor, create_openai_tools_agent

        tools = [search]
        agent = create_openai_tools_agent(llm, tools, prompt)
        executor = AgentExecutor(agent=agent, tools=tools)
    """
        },
    )
    assert ping["finding_instance_counts"]["STRATUM-CR05"] == 1
    assert "STRATUM-CR05" not in ping["detected_finding_rules"]


def test_merged_nameless_agents_keep_the_first_role_for_the_decision_rule(tmp_path):
    """All nameless ``Agent(role=…)`` are one "Agent" with the first role seen: a later approver does not make it a
    decision agent (BR04), the built-in's own agents do."""
    crew = """
        from crewai import Agent, Crew
        writer = Agent(role="{first}", goal="g", backstory="b")
        approver = Agent(role="{second}", goal="g", backstory="b")
        crew = Crew(agents=[writer, approver], tasks=[])
    """
    later = _scan(tmp_path / "later", {"crew.py": crew.format(first="Writer", second="Loan Approver")})
    assert "STRATUM-BR04" not in later["finding_rules"] and "STRATUM-BR04" in later["detected_finding_rules"]
    first = _scan(tmp_path / "first", {"crew.py": crew.format(first="Loan Approver", second="Writer")})
    assert "STRATUM-BR04" in first["finding_rules"]


def test_crew_members_are_the_names_written_in_the_list_and_a_manager_makes_it_hierarchical(tmp_path):
    """Members are the list's names (``self.scout`` → scout, ``analyst()`` → analyst): agents named so are in the
    crew (their shared tool is a blast radius, CR05); a manager makes the crew hierarchical, which is no long
    chain (CR02)."""
    crew = """
        from crewai import Agent, Crew, Process
        from crewai_tools import SerperDevTool
        a = Agent(name="scout", role="Researcher", goal="g", backstory="b", tools=[SerperDevTool()])
        b = Agent(name="analyst", role="Analyst", goal="g", backstory="b", tools=[SerperDevTool()])
        c = Agent(name="writer", role="Writer", goal="g", backstory="b")
        crew = Crew(agents=[self.scout, analyst(), writer], tasks=[]{extra})
    """
    chain = _scan(tmp_path / "chain", {"crew.py": crew.format(extra="")})
    assert chain["finding_instance_counts"]["STRATUM-CR02"] == 1
    assert chain["finding_instance_counts"]["STRATUM-CR05"] == 1, "scout and analyst share SerperDevTool"
    managed = _scan(tmp_path / "managed", {"crew.py": crew.format(extra=", manager_llm='gpt-4o'")})
    assert "STRATUM-CR02" not in managed["finding_rules"]
    by_process = _scan(tmp_path / "process", {"crew.py": crew.format(extra=", process=Process.hierarchical")})
    assert "STRATUM-CR02" not in by_process["finding_rules"]
