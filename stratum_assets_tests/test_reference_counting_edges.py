"""The reference CLI's counting rules (scanner/reference_counting.py), each checked at its edges.

test_reference_counting.py scans whole idioms and compares the ping's counts; a count can come out right
while one piece of the reading is wrong (a tool named by its variable, a role taken from the wrong call, a
crew of the wrong kind). Mutation testing (docs/TESTING.md) named the cases no idiom reached: each is here,
read on one module's syntax tree (``count_module``) or on the repository's merge (``inventory``), with the
whole value it must give. The expected values are the reference ``stratum`` 0.3.1 definitions (the module's
docstring, docs/RULES.md).
"""

import ast
from textwrap import dedent

import pytest

from stratum_assets.scanner.reference_counting import (
    Agent,
    Crew,
    Inventory,
    ModuleCount,
    _labels,
    _written_name,
    count_module,
    inventory,
    is_read_by_reference,
    may_define_agents,
    yaml_agents,
)


def _count(source: str) -> ModuleCount:
    return count_module(ast.parse(dedent(source)))


def _expression(source: str) -> ast.AST:
    return ast.parse(source, mode="eval").body


# -- frameworks: the import records of the top-level statements -------------------------------------------------
def test_every_top_level_import_is_recorded_in_order_as_written():
    """``import x`` records x, ``import x as y`` records y only, ``from m import …`` records m; statements add up."""
    count = _count(
        """
        import crewai, langchain as lc
        from langgraph.graph import StateGraph
        x = 1
        import autogen
        from . import local
        """
    )
    assert count.imports == ["crewai", "lc", "langgraph.graph", "autogen"]


def test_imports_below_the_top_level_are_no_records():
    count = _count(
        """
        if True:
            import crewai
        def f():
            from langgraph.graph import StateGraph
        """
    )
    assert count.imports == []


@pytest.mark.parametrize(
    "records, labels",
    [
        ({"crewai_tools"}, {"CrewAI"}),  # starts with both of CrewAI's prefixes: still one label
        ({"langchain_core.prompts", "langgraph.graph"}, {"LangChain", "LangGraph"}),
        ({"llama_index.core", "pydantic_ai", "smolagents"}, {"LlamaIndex", "PydanticAI", "SmolAgents"}),
        ({"my_crewai", "lc", "phi.agent"}, set()),  # a prefix must start the record; `phi` is not the reference's
        (set(), set()),
    ],
)
def test_a_label_fires_when_a_record_starts_with_one_of_its_prefixes(records, labels):
    assert _labels(records) == labels


# -- the name a call or decorator is written with ----------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, written",
    [("Agent", "Agent"), ("crewai.agent.Agent", "Agent"), ("factory()", ""), ("tools[0]", ""), ("'Agent'", "")],
)
def test_the_written_name_is_the_last_identifier_or_nothing(expression, written):
    assert _written_name(_expression(expression)) == written


def test_a_variable_built_by_a_call_without_a_written_name_keeps_its_own_name_as_a_tool():
    """``t = make()()`` names no class: the tool is ``t``, as a variable nothing built."""
    count = _count(
        """
        from crewai import Agent
        t = make()()
        u = SerperDevTool()
        a = b = FileReadTool()
        self.w = WebTool()
        writer = Agent(name="writer", tools=[t, u, a, w, SearchTool(), make()(), "literal", self.tool])
        """
    )
    assert count.agents == [Agent("writer", "CrewAI", ("t", "SerperDevTool", "a", "w", "SearchTool"))]


# -- Python agents: @agent functions, else the constructor calls ---------------------------------------------------
def test_agent_functions_take_tools_of_every_inner_agent_call_and_the_first_role_given():
    """Only the bare decorator, by name or attribute, makes an agent function; ``@agent()`` does not."""
    count = _count(
        """
        from crewai import Agent, Task
        from crewai.project import agent

        @agent
        def researcher(self):
            search = SerperDevTool()
            first = Agent(config=self.agents_config["researcher"], tools=[search])
            task = Task(description="d", tools=[Ignored()])
            return Agent(role="Researcher", tools=[FileReadTool(), scraper])

        @crewai.project.agent
        async def writer(self):
            return Agent(role=ROLE)

        @agent()
        def called(self):
            return Agent(role="Called")

        @tool
        def helper():
            return Agent(role="Helper")
        """
    )
    assert count.agents == [
        Agent("researcher", "CrewAI", ("SerperDevTool", "FileReadTool", "scraper"), "Researcher"),
        Agent("writer", "CrewAI", (), ""),
    ]


def test_a_file_with_agent_functions_counts_no_constructor_calls_and_one_without_counts_them_all():
    with_functions = _count(
        """
        helper = Agent(name="helper")
        @agent
        def lead(self):
            return Agent(name="lead")
        """
    )
    assert [a.name for a in with_functions.agents] == ["lead"]
    without = _count("helper = Agent(name='helper')\nlead = Agent(name='lead')\n")
    assert [a.name for a in without.agents] == ["helper", "lead"]


def test_constructor_calls_are_named_by_a_name_constant_else_by_the_callee_and_labelled_by_it():
    count = _count(
        """
        search = SerperDevTool()
        a = Agent(name="scout", role="Researcher", tools=[search, ScrapeTool()])
        b = crewai.Agent(name=None, role=3)
        c = AssistantAgent(name=agent_name, tools=(search,))
        d = UserProxyAgent(name=7)
        e = AgentExecutor(agent=a, tools=[search])
        f = ConversableAgent(name="helper")
        g = Agent("positional", **options)
        """
    )
    assert count.agents == [
        Agent("scout", "CrewAI", ("SerperDevTool", "ScrapeTool"), "Researcher"),
        Agent("Agent", "CrewAI", (), ""),
        Agent("AssistantAgent", "AutoGen", (), ""),
        Agent("7", "AutoGen", (), ""),
        Agent("AgentExecutor", "LangChain", ("SerperDevTool",), ""),
        Agent("Agent", "CrewAI", (), ""),
    ]


# -- CrewAI crews -------------------------------------------------------------------------------------------------
def test_crew_calls_with_a_non_empty_agent_list_are_crews_named_as_written_and_a_manager_makes_them_hierarchical():
    count = _count(
        """
        from crewai import Crew, Process
        plain = Crew(agents=[writer, self.editor, reviewer(), "text"], tasks=[])
        by_llm = Crew(agents=[writer], manager_llm="gpt-4o")
        by_agent = crewai.Crew(agents=[writer], manager_agent=boss)
        by_process = Crew(agents=[writer], process=Process.hierarchical)
        by_string = Crew(agents=[writer], process="hierarchical")
        sequential = Crew(agents=[writer], process=Process.sequential, verbose=True)
        empty = Crew(agents=[], manager_llm="gpt-4o")
        computed = Crew(agents=self.agents)
        none = Crew(tasks=[])
        """
    )
    assert count.crewai_crews == [
        Crew("Crew", ("writer", "editor", "reviewer", ""), "sequential"),
        Crew("Crew", ("writer",), "hierarchical"),
        Crew("Crew", ("writer",), "hierarchical"),
        Crew("Crew", ("writer",), "hierarchical"),
        Crew("Crew", ("writer",), "hierarchical"),
        Crew("Crew", ("writer",), "sequential"),
    ]


def test_crewbase_classes_are_crews_of_their_agent_methods_in_either_decorator_form():
    count = _count(
        """
        @CrewBase
        class Research:
            @agent
            def scout(self): ...
            @agent()
            async def analyst(self): ...
            @task
            def report(self): ...
            def helper(self):
                @agent
                def nested(): ...

        @crewai.project.CrewBase()
        class Writing:
            @crewai.project.agent
            def writer(self): ...

        @CrewBase
        class NoAgents:
            @task
            def report(self): ...

        @dataclass
        class NotACrew:
            @agent
            def lone(self): ...
        """
    )
    assert count.crewai_crews == [Crew("CrewBase", ("scout", "analyst")), Crew("CrewBase", ("writer",))]


# -- LangGraph: one node list per StateGraph assignment ------------------------------------------------------------
def test_each_state_graph_assignment_lists_the_string_literals_added_to_its_variable():
    count = _count(
        """
        from langgraph.graph import StateGraph
        research = StateGraph(State)
        research.add_node("search", search)
        kept = research.add_node("summarise", summarise)
        research.add_node(name, step)
        research.add_node(3, step)
        research.add_node(node="keyword", action=step)
        other.add_node("elsewhere", step)
        self.builder.add_node("attribute", step)
        review = langgraph.graph.StateGraph(State)
        review.add_node("check", check)
        empty = StateGraph(State)
        self.graph = StateGraph(State)
        research.add_node("late", late)
        """
    )
    assert count.graphs == [["search", "summarise", "late"], ["check"], [], []]


# -- LangChain: assignments of executors and agent factories -------------------------------------------------------
def test_langchain_agents_are_the_assigned_variables_of_executors_and_factories():
    count = _count(
        """
        from langchain.agents import AgentExecutor, create_react_agent
        search = SearchTool()
        react = create_react_agent(llm, [search, WikiTool()])
        tools_by_keyword = create_tool_calling_agent(llm, tools=[search], prompt=prompt)
        by_variable = create_openai_tools_agent(llm, toolbox, prompt)
        one_argument = create_xml_agent(llm)
        executor = AgentExecutor(agent=react, tools=toolbox)
        self.executor = AgentExecutor(agent=react, tools=[search])
        self.planner = initialize_agent(tools=[search], llm=llm)
        create_react_agent(llm, [search])
        chain = make_chain(llm, [search])
        """
    )
    assert count.langchain_agents == [
        Agent("react", "LangChain", ("search", "WikiTool")),
        Agent("tools_by_keyword", "LangChain", ("search",)),
        Agent("by_variable", "LangChain", ("$toolbox",)),
        Agent("one_argument", "LangChain", ()),
        Agent("executor", "LangChain", ("$toolbox",)),
        Agent("agent", "LangChain", ("search",)),
        Agent("initialize_agent", "LangChain", ("search",)),
    ]


# -- YAML agents ---------------------------------------------------------------------------------------------------
def test_yaml_agents_are_top_level_keys_whose_mapping_has_an_agent_key():
    document = {
        "researcher": {"role": "  Senior Researcher \n", "goal": "g", "tools": ["search", 3]},
        "writer": {"goal": "write", "tools": "search"},
        "editor": {"backstory": "b", "role": 42},
        7: {"tools": []},
        "llm": {"model": "gpt-4o"},
        "version": 3,
        "names": ["role", "goal"],
    }
    assert yaml_agents(document) == [
        Agent("researcher", "CrewAI", ("search", "3"), "Senior Researcher"),
        Agent("writer", "CrewAI", (), ""),
        Agent("editor", "CrewAI", (), ""),
        Agent("7", "CrewAI", (), ""),
    ]


@pytest.mark.parametrize("document", [None, "role: x", ["role", {"role": "r"}], 3])
def test_a_yaml_document_that_is_no_mapping_defines_no_agents(document):
    assert yaml_agents(document) == []


@pytest.mark.parametrize(
    "data, may",
    [
        (b"a:\n  role: r\n", True),
        (b"a:\n  goal: g\n", True),
        (b"a:\n  backstory: b\n", True),
        (b"a:\n  tools: []\n", True),
        (b"services:\n  web:\n    image: x\n", False),
        (b"", False),
    ],
)
def test_only_yaml_that_writes_an_agent_key_is_parsed(data, may):
    assert may_define_agents(data) is may


@pytest.mark.parametrize(
    "path, read",
    [
        ("app.py", True),
        ("src/app/crew.py", True),
        ("node_modules/x/agents.yaml", False),
        ("a/b/.venv/lib/crewai/agent.py", False),
        ("pkg/__pycache__/m.py", False),
        (".git/hooks/x.py", False),
        ("deep/.stratum/agents.yaml", False),
        ("src/node_modules", True),  # a file named like a skipped folder is still read
        ("my.venv/app.py", True),
    ],
)
def test_files_under_a_skipped_folder_at_any_depth_are_not_read(path, read):
    assert is_read_by_reference(path) is read


# -- the repository: merging agents, and which crews count ---------------------------------------------------------
def _module(path: str, imports: list[str], **parts) -> ModuleCount:
    return ModuleCount(imports=imports, path=path, **parts)


def test_agents_merge_on_name_and_label_keeping_the_first_place_and_role_and_all_tools_once():
    yaml_defined = [Agent("writer", "CrewAI", ("search",), ""), Agent("editor", "CrewAI", (), "Editor")]
    modules = [
        _module(
            "a.py",
            ["crewai"],
            agents=[
                Agent("writer", "CrewAI", ("scrape", "search"), "Writer"),
                Agent("Agent", "CrewAI", ("t1",), "First"),
                Agent("writer", "AutoGen", (), "Other"),
            ],
        ),
        _module("b.py", [], agents=[Agent("Agent", "CrewAI", ("t2", "t1"), "Second"), Agent("editor", "CrewAI")]),
    ]
    assert inventory(modules, yaml_defined).agents == [
        Agent("writer", "CrewAI", ("search", "scrape"), "Writer", ""),
        Agent("editor", "CrewAI", (), "Editor", ""),
        Agent("Agent", "CrewAI", ("t1", "t2"), "First", "a.py"),
        Agent("writer", "AutoGen", (), "Other", "a.py"),
    ]


def test_crews_and_appended_agents_count_only_with_their_framework_among_the_labels():
    crew = Crew("Crew", ("a", "b"))
    executor = Agent("executor", "LangChain", ("$tools",))
    modules = [
        _module("crew.py", ["crewai.project"], crewai_crews=[crew]),
        _module("graph.py", ["langgraph.graph"], graphs=[["plan", "act"], []]),
        _module("one.py", ["langchain.agents"], langchain_agents=[executor]),
        _module("two.py", [], langchain_agents=[Agent("react", "LangChain"), Agent("agent", "LangChain")]),
        _module("none.py", [], langchain_agents=[]),
    ]
    found = inventory(modules, [])
    assert found == Inventory(
        ["CrewAI", "LangChain", "LangGraph"],
        [
            Agent("plan", "LangGraph", file="graph.py"),
            Agent("act", "LangGraph", file="graph.py"),
            Agent("executor", "LangChain", ("$tools",), file="one.py"),
            Agent("react", "LangChain", file="two.py"),
            Agent("agent", "LangChain", file="two.py"),
        ],
        [
            crew,
            Crew("StateGraph", ("plan", "act"), "graph"),
            Crew("StateGraph", (), "graph"),
            Crew("LangChain file", ("executor",), "single"),
            Crew("LangChain file", ("react", "agent"), "sequential"),
        ],
    )
    assert (found.agent_count, found.crew_count, found.crew_size_distribution) == (5, 5, [2, 2, 2, 1, 0])
    assert found.agent_tool_count_distribution == [1, 0, 0, 0, 0]
    assert found.primary_framework == "LangChain"


def test_without_their_framework_label_crews_graphs_and_langchain_agents_are_not_counted():
    modules = [
        _module(
            "app.py",
            ["autogen"],
            agents=[Agent("AssistantAgent", "AutoGen")],
            crewai_crews=[Crew("Crew", ("a",))],
            graphs=[["plan"]],
            langchain_agents=[Agent("executor", "LangChain")],
        )
    ]
    assert inventory(modules, []) == Inventory(["AutoGen"], [Agent("AssistantAgent", "AutoGen", file="app.py")], [])


@pytest.mark.parametrize(
    "frameworks, labels, primary",
    [
        ([], [], ""),
        (["AutoGen", "CrewAI"], ["CrewAI", "AutoGen", "CrewAI"], "CrewAI"),
        (["AutoGen", "CrewAI"], ["CrewAI", "AutoGen"], "AutoGen"),  # a tie: the first by name
        (["AutoGen", "CrewAI"], [], "AutoGen"),
        (["CrewAI", "LangGraph"], ["LangGraph"], "LangGraph"),
    ],
)
def test_the_primary_framework_has_most_agents_and_ties_go_to_the_first_name(frameworks, labels, primary):
    agents = [Agent(f"a{i}", label) for i, label in enumerate(labels)]
    assert Inventory(frameworks, agents, []).primary_framework == primary


def test_distributions_are_sorted_descending():
    found = Inventory(
        ["CrewAI"],
        [Agent("a", "CrewAI", ("x",)), Agent("b", "CrewAI", ("x", "y", "z")), Agent("c", "CrewAI", ("x", "y"))],
        [Crew("Crew", ("a",)), Crew("Crew", ("a", "b", "c")), Crew("Crew", ("a", "b"))],
    )
    assert (found.agent_tool_count_distribution, found.crew_size_distribution) == ([3, 2, 1], [3, 2, 1])
    assert (found.agent_count, found.crew_count, Crew("Crew", ("a", "b")).size) == (3, 3, 2)


def test_count_module_puts_each_part_where_the_repository_reads_it():
    count = _count(
        """
        import crewai
        from langgraph.graph import StateGraph
        g = StateGraph(S)
        g.add_node("plan", plan)
        executor = AgentExecutor(agent=a, tools=[t])
        crew = Crew(agents=[executor])
        """
    )
    assert count == ModuleCount(
        imports=["crewai", "langgraph.graph"],
        agents=[Agent("AgentExecutor", "LangChain", ("t",))],
        crewai_crews=[Crew("Crew", ("executor",))],
        graphs=[["plan"]],
        langchain_agents=[Agent("executor", "LangChain", ("t",))],
    )
