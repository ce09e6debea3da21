"""Each rule's exact instances on small projects: the severity after the gate, the confidence, and the agents and
crews it tags (the ping's topology counts findings per crew by these tags).

test_scanner_catalog.py checks that every rule fires on a repository that should fire it and stays quiet on a near
miss, by the ping's counts. Mutation testing (docs/TESTING.md) found conditions inside the rules that no count
there could tell apart: which agents of a shared tool pair up, when crews keep two agents apart, when a finding
is confirmed rather than probable, which store two agents share. Each case here is one of those, with the whole
list of instances it must give.
"""

import json

import pytest

from stratum_assets.scanner import rules
from stratum_assets.scanner.rules import Context, Instance
from stratum_assets_tests.support.checkouts import rules_context, write_files

from .test_scanner_catalog import FIVE_CALLS, MEMORY, SCOPES

TOOLS = '''
import requests
import sqlite3
from crewai import Agent, Crew, Process, Task
from crewai.tools import tool


@tool("inbox")
def inbox(q: str) -> str:
    """A tool that does nothing a scanner can name."""
    return q


@tool("lookup")
def lookup(q: str) -> str:
    """Reads a database."""
    return str(sqlite3.connect("app.db").execute(q).fetchall())


@tool("post")
def post(text: str) -> str:
    """Sends to the outside."""
    return requests.post("https://hooks.example/post", json={"t": text}, timeout=5).text
'''


@pytest.fixture
def context(tmp_path):
    """context(agents source, other files, base=TOOLS) -> the rules' view of crew.py (base plus those lines) and the
    other files, read as the scanner reads a checkout."""
    n = iter(range(1000))

    def read(body: str, extra: dict[str, str] | None = None, base: str = TOOLS) -> Context:
        files = {"crew.py": base + body, **(extra or {})}
        return rules_context(write_files(tmp_path / f"project{next(n)}", files))

    return read


def _agent(var: str, role: str, tools: str) -> str:
    return f'{var} = Agent(role="{role}", goal="g", backstory="b", tools=[{tools}])\n'


def _found(rule: str, severity: str, confidence: str, *tags: str) -> list[Instance]:
    return [Instance(rule, severity, confidence, frozenset(tags))]


# -- CR01: a shared tool links an agent that takes input to one that acts --------------------------------------
def test_cr01_pairs_an_input_agent_and_an_acting_agent_by_their_words(context):
    c = context(_agent("reader", "Inbox Reader", "inbox") + _agent("sender", "Reply Sender", "inbox"))
    assert rules.cr01(c) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "sender")


def test_cr01_reads_input_and_action_from_the_agents_tools_too_and_is_confirmed_when_both_tools_are(context):
    c = context(_agent("historian", "Historian", "inbox, lookup") + _agent("poet", "Poet", "inbox, post"))
    assert rules.cr01(c) == _found("STRATUM-CR01", "HIGH", "confirmed", "historian", "poet")


def test_cr01_is_probable_when_only_one_side_holds_a_confirmed_tool(context):
    reads_by_tool = _agent("historian", "Historian", "inbox, lookup") + _agent("sender", "Reply Sender", "inbox")
    assert rules.cr01(context(reads_by_tool)) == _found("STRATUM-CR01", "HIGH", "probable", "historian", "sender")
    acts_by_tool = _agent("reader", "Inbox Reader", "inbox") + _agent("poet", "Poet", "inbox, post")
    assert rules.cr01(context(acts_by_tool)) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "poet")


def test_cr01_tags_every_agent_of_every_pair(context):
    three = (
        _agent("reader", "Inbox Reader", "inbox")
        + _agent("sender", "Reply Sender", "inbox")
        + _agent("watcher", "Watcher who will Notify", "inbox")
    )
    assert rules.cr01(context(three)) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "sender", "watcher")


def test_cr01_needs_two_holders_of_one_tool_and_never_pairs_an_agent_with_itself(context):
    alone = _agent("clerk", "Reader and Sender", "inbox, inbox") + _agent("other", "Poet", "post")
    assert rules.cr01(context(alone)) == []
    neither_acts = _agent("reader", "Inbox Reader", "inbox") + _agent("scout", "Feed Scanner", "inbox")
    assert rules.cr01(context(neither_acts)) == []


def test_cr01_crews_keep_agents_apart_only_when_both_have_crews_and_share_none(context):
    pair = _agent("reader", "Inbox Reader", "inbox") + _agent("sender", "Reply Sender", "inbox")
    apart = pair + "c1 = Crew(agents=[reader], tasks=[])\nc2 = Crew(agents=[sender], tasks=[])\n"
    assert rules.cr01(context(apart)) == []
    one_crewless = pair + "c1 = Crew(agents=[reader], tasks=[])\n"
    assert rules.cr01(context(one_crewless)) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "sender")
    other_crewless = pair + "c1 = Crew(agents=[sender], tasks=[])\n"
    assert rules.cr01(context(other_crewless)) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "sender")
    overlapping = pair + "c1 = Crew(agents=[reader], tasks=[])\nc2 = Crew(agents=[reader, sender], tasks=[])\n"
    assert rules.cr01(context(overlapping)) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "sender")


# -- CR03: an agent with no more than read/send power feeds one that can destroy or pay --------------------------
CLASSES = "from crewai_tools import SerperDevTool, FileWriterTool, PGSearchTool, CSVSearchTool\n"
PAY = '''
import stripe


@tool("refund")
def refund(charge: str) -> str:
    """Moves money."""
    return str(stripe.Refund.create(charge=charge))
'''


def _crew(*agents: str, process: str = "Process.sequential") -> str:
    return f"crew = Crew(agents=[{', '.join(agents)}], tasks=[], process={process})\n"


def test_cr03_follows_the_crews_order_and_tags_both_ends(context):
    c = context(
        CLASSES
        + _agent("scout", "Scout", "SerperDevTool()")
        + _agent("scribe", "Scribe", "FileWriterTool()")
        + _agent("idle", "Idle", "")
        + _crew("scout", "scribe", "idle")
    )
    assert rules.cr03(c) == _found("STRATUM-CR03", "HIGH", "probable", "scout", "scribe")


def test_cr03_a_delegating_agent_reaches_every_other_member_against_the_order(context):
    body = _agent("scribe", "Scribe", "FileWriterTool()") + "boss = Agent(role='Boss', goal='g', backstory='b'"
    delegating = body + ", allow_delegation=True)\n" + _crew("scribe", "boss")
    assert rules.cr03(context(CLASSES + delegating)) == _found("STRATUM-CR03", "HIGH", "probable", "boss", "scribe")
    assert rules.cr03(context(CLASSES + body + ")\n" + _crew("scribe", "boss"))) == []


def test_cr03_a_reader_and_sender_at_once_is_still_low_privilege_and_a_payer_is_powerful(context):
    c = context(
        CLASSES
        + PAY
        + _agent("scout", "Scout", "SerperDevTool(), PGSearchTool()")
        + _agent("payer", "Payer", "refund")
        + _crew("scout", "payer")
    )
    assert rules.cr03(c) == _found("STRATUM-CR03", "HIGH", "probable", "scout", "payer")


def test_cr03_a_powerful_agent_feeding_another_is_not_this_finding(context):
    c = context(
        CLASSES
        + _agent("scribe", "Scribe", "FileWriterTool()")
        + _agent("editor", "Editor", "FileWriterTool()")
        + _crew("scribe", "editor")
    )
    assert rules.cr03(c) == []


def test_cr03_tags_the_agents_of_every_edge(context):
    c = context(
        CLASSES
        + _agent("scout", "Scout", "SerperDevTool()")
        + _agent("scribe", "Scribe", "FileWriterTool()")
        + _agent("clerk", "Clerk", "CSVSearchTool()")
        + _agent("keeper", "Keeper", "FileWriterTool()")
        + _crew("scout", "scribe")
        + "other = Crew(agents=[clerk, keeper], tasks=[])\n"
    )
    assert rules.cr03(c) == _found("STRATUM-CR03", "HIGH", "probable", "scout", "scribe", "clerk", "keeper")


# -- CR05: one tool in the hands of several agents of a crew -----------------------------------------------------
def test_cr05_is_critical_for_three_holders_of_an_outside_sink_and_high_below(context):
    three = [_agent(v, v.title(), "SerperDevTool()") for v in ("a", "b", "c")]
    c = context(CLASSES + "".join(three) + _crew("a", "b", "c"))
    assert rules.cr05(c) == _found("STRATUM-CR05", "CRITICAL", "confirmed", "crew", "a", "b", "c")
    c = context(CLASSES + "".join(three[:2]) + _crew("a", "b"))
    assert rules.cr05(c) == _found("STRATUM-CR05", "HIGH", "confirmed", "crew", "a", "b")


def test_cr05_money_is_an_outside_sink_and_a_member_listed_twice_holds_once(context):
    payers = [_agent(v, v.title(), "refund") for v in ("a", "b", "c")]
    c = context(CLASSES + PAY + "".join(payers) + _crew("a", "b", "c"))
    assert rules.cr05(c) == _found("STRATUM-CR05", "CRITICAL", "confirmed", "crew", "a", "b", "c")
    c = context(CLASSES + "".join(_agent(v, v.title(), "SerperDevTool()") for v in ("a", "b")) + _crew("a", "a", "b"))
    assert rules.cr05(c) == _found("STRATUM-CR05", "HIGH", "confirmed", "crew", "a", "b")


# -- CR06: a later agent of a sequential crew reads the store an earlier one fed ----------------------------------
def test_cr06_two_tools_reading_the_same_database_are_one_store(context):
    second = '''

@tool("archive")
def archive(q: str) -> str:
    """Reads the same database."""
    return str(sqlite3.connect("app.db").execute(q).fetchall())
'''
    c = context(
        second
        + _agent("early", "Filter", "lookup")
        + _agent("middle", "Middle", "")
        + _agent("late", "Answerer", "archive")
        + _crew("early", "middle", "late")
    )
    assert rules.cr06(c) == _found("STRATUM-CR06", "HIGH", "probable", "crew", "early", "late")


def test_cr06_pairs_an_agent_only_with_later_ones_in_a_sequential_crew_of_three(context):
    one_reader = _agent("early", "Filter", "lookup") + _agent("middle", "Middle", "") + _agent("late", "Late", "")
    assert rules.cr06(context(one_reader + _crew("early", "middle", "late"))) == []
    two = _agent("early", "Filter", "lookup") + _agent("late", "Answerer", "lookup")
    assert rules.cr06(context(two + _crew("early", "late"))) == []
    three = two + _agent("middle", "Middle", "")
    managed = _crew("early", "middle", "late", process="Process.hierarchical, manager_llm='gpt-4o'")
    assert rules.cr06(context(three + managed)) == []


# -- BR01: an agent messages people and nobody reviews it ----------------------------------------------------------
MAIL = "import smtplib\n\n\ndef notify(to):\n    smtplib.SMTP('mail').sendmail('me', to, 'hi')\n"
MESSAGES_PEOPLE = _found("STRATUM-BR01", "HIGH", "confirmed")


@pytest.mark.parametrize(
    "path, text, reviewed",
    [
        ("other/x/graph.py", "g = builder.compile(interrupt_before=['notify'])\n", True),  # names it, anywhere
        ("other/x/graph.py", "g = builder.compile(interrupt_before=['draft'])\n", False),  # names another tool
        ("app/tools/guard.py", "from guardrails import Guard\nguard = Guard()\n", True),  # a filter of its project
        ("other/x/guard.py", "from guardrails import Guard\nguard = Guard()\n", False),  # another project's filter
        ("app/tools/check.py", "def ok(x):\n    return isinstance(x, str)\n", False),  # validation is no review
    ],
)
def test_br01_a_review_names_the_sender_or_sits_in_its_project(context, path, text, reviewed):
    c = context("", {"app/tools/mail.py": MAIL, path: text})
    assert rules.br01(c) == ([] if reviewed else MESSAGES_PEOPLE)


# -- A human gate on a task covers what the task's agent holds (STRATUM-002 shows it) -----------------------------
WRITER = "writer = Agent(role='Writer', goal='g', backstory='b', tools=[FileWriterTool()])\n"
UNGATED_WRITE = _found("STRATUM-002", "HIGH", "confirmed")  # HIGH: a guard exists, it does not cover the write


@pytest.mark.parametrize(
    "agents, gated_agent, gated",
    [
        ("", "writer", True),  # the writer's own task asks a human
        (_agent("scout", "Scout", "SerperDevTool()"), "scout", False),  # another agent's task: its tools only
        (_agent("idle", "Idle", ""), "idle", True),  # an agent with no tools: the gate names nothing, covers all
        ("", "ghost", True),  # an agent the scanner does not know: likewise
    ],
)
def test_a_human_gate_on_a_task_covers_the_tools_of_the_tasks_agent(context, agents, gated_agent, gated):
    task = f"t = Task(description='d', expected_output='e', agent={gated_agent}, human_input=True)\n"
    c = context(CLASSES + WRITER + agents + task)
    assert rules.r002(c) == ([] if gated else UNGATED_WRITE)


CREWBASE = """
from crewai.project import CrewBase, agent, task


@CrewBase
class Newsroom:
    @agent
    def writer(self) -> Agent:
        return Agent(config=self.agents_config["writer"])

    @agent
    def scout(self) -> Agent:
        return Agent(config=self.agents_config["scout"])

    @task
    def write_task(self) -> Task:
        return Task(config=self.tasks_config["write_task"], human_input=True)
"""
AGENTS_YAML = """\
writer:
  role: Writer
  goal: g
  backstory: b
  tools:
    - FileWriterTool
scout:
  role: Scout
  goal: g
  backstory: b
  tools:
    - SerperDevTool
"""


@pytest.mark.parametrize("task_agent, gated", [("writer", True), ("scout", False)])
def test_a_human_gate_on_a_yaml_task_covers_the_yaml_tools_of_its_agent(context, task_agent, gated):
    tasks = f"write_task:\n  description: d\n  expected_output: e\n  agent: {task_agent}\n"
    c = context(CLASSES + CREWBASE, {"config/agents.yaml": AGENTS_YAML, "config/tasks.yaml": tasks})
    # FileWriterTool is held twice: imported in crew.py and listed in agents.yaml
    assert rules.r002(c) == ([] if gated else UNGATED_WRITE * 2)


def test_cr06_an_agents_stores_are_those_of_all_its_tools(context):
    c = context(
        CLASSES
        + _agent("early", "Filter", "lookup, PGSearchTool()")
        + _agent("middle", "Middle", "")
        + _agent("late", "Answerer", "inbox, lookup")
        + _crew("early", "middle", "late")
    )
    assert rules.cr06(c) == _found("STRATUM-CR06", "HIGH", "probable", "crew", "early", "late")


# -- BR04: an agent that decides answers in free text ---------------------------------------------------------------
DECIDERS = """\
from crewai import Agent, Task
approver = Agent(role="Loan Approver", goal="g", backstory="b")
ranker = Agent(role="Ranker", goal="g", backstory="b")
writer = Agent(role="Writer", goal="g", backstory="b")
"""
STRUCTURED = "from crewai import Task\nt = Task(description='d', expected_output='e', output_{}=Decision)\n"


@pytest.mark.parametrize(
    "path, text, free_text",
    [
        ("loans/crew/tasks.py", STRUCTURED.format("pydantic"), False),  # a structured answer in their project
        ("other/x/tasks.py", STRUCTURED.format("pydantic"), True),  # in another project
        ("loans/crew/tasks.py", STRUCTURED.format("json"), True),  # JSON text is not a checked structure
    ],
)
def test_br04_tags_every_deciding_agent_unless_their_project_answers_in_a_structure(context, path, text, free_text):
    c = context("", {"loans/crew/crew.py": DECIDERS, path: text})
    assert rules.br04(c) == (_found("STRATUM-BR04", "MEDIUM", "probable", "approver", "ranker") if free_text else [])


REPEATED = {
    "loans/crew/a.py": 'from crewai import Agent\napprover = Agent(role="Loan Officer", goal="g", backstory="b")\n',
    "loans/crew/b.py": 'from crewai import Agent\napprover = Agent(role="Credit Officer", goal="g", backstory="b")\n',
    "loans/crew/c.py": "from crewai import Agent\n\n\ndef ranker():\n    return Agent(config=cfg)\n",
    "other/x/tasks.py": STRUCTURED.format("pydantic"),
}


def test_a_repeated_agent_name_reads_the_text_and_site_of_its_name(context):
    c = context("", REPEATED)
    assert list(c.model.agents) == ["approver", "approver#2", "ranker"]
    assert c.text("approver#2") == c.text("approver") == "approver loan officer credit officer"
    assert c.site("approver#2") == c.site("approver")
    assert c.site("approver#2").file == "loans/crew/a.py"


def test_br04_an_agent_defined_without_a_role_is_still_sited_where_it_is_defined(context):
    c = context("", REPEATED)  # the structured answer is another project's: none of these three is checked
    assert rules.br04(c) == _found("STRATUM-BR04", "MEDIUM", "probable", "approver", "approver#2", "ranker")


# -- STRATUM-004/005/006: MCP servers, each read on its own ---------------------------------------------------------
MCP = {
    "mcpServers": {
        "fs": {"command": "npx", "args": ["@modelcontextprotocol/server-filesystem"]},  # trusted: never checked
        "acme": {
            "command": "npx",
            "args": ["-y", "@acme/server", "https://acme.example/mcp"],
            "env": {"DATABASE_URL": "x"},
        },
        "remote": {"command": "npx", "args": ["mcp-remote@0.1.5", "https://r.example/sse"], "env": {"R_TOKEN": "t"}},
    }
}


def test_mcp_rules_check_every_untrusted_server_after_a_trusted_one(context):
    c = context("", {"mcp.json": json.dumps(MCP)})
    assert rules.r004(c) == _found("STRATUM-004", "CRITICAL", "confirmed")  # mcp-remote below 0.1.9
    assert rules.r005(c) == _found("STRATUM-005", "HIGH", "confirmed")  # acme gets a database URL
    assert rules.r006(c) == _found("STRATUM-006", "HIGH", "confirmed") * 2  # acme: unpinned, and remote without auth


# -- STRATUM-001: data reaches an outside sink unless a filter is active --------------------------------------------
@pytest.mark.parametrize(
    "guard, filtered",
    [
        ("from nemoguardrails import LLMRails, RailsConfig\nrails = LLMRails(RailsConfig.from_path('c'))\n", True),
        ("import nemoguardrails\n", False),  # imported, never used: not active
        ("from guardrails import Guard\nguard = Guard()\n", True),
    ],
)
def test_001_an_active_input_or_output_filter_stops_the_path(context, guard, filtered):
    c = context("", {"rails.py": guard})  # TOOLS: lookup reads a database, post sends out
    assert rules.r001(c) == ([] if filtered else _found("STRATUM-001", "HIGH", "confirmed"))


def test_cr01_acting_is_holding_a_destructive_or_paying_tool_too_and_a_destructive_one_confirms(context):
    scribe = _agent("historian", "Historian", "inbox, lookup") + _agent("scribe", "Scribe", "inbox, FileWriterTool()")
    assert rules.cr01(context(CLASSES + scribe)) == _found("STRATUM-CR01", "HIGH", "confirmed", "historian", "scribe")
    payer = _agent("historian", "Historian", "inbox, lookup") + _agent("payer", "Payer", "inbox, refund")
    assert rules.cr01(context(PAY + payer)) == _found("STRATUM-CR01", "HIGH", "probable", "historian", "payer")


def test_cr01_two_agents_that_only_act_are_no_path(context):
    c = context(_agent("sender", "Reply Sender", "inbox") + _agent("poet", "Poet", "inbox, post"))
    assert rules.cr01(c) == []


def test_cr01_looks_past_a_tool_held_once_and_past_pairing_an_agent_with_itself(context):
    c = context(
        CLASSES
        + _agent("reader", "Inbox Reader and Sender", "CSVSearchTool(), inbox")
        + _agent("sender", "Reply Sender", "inbox")
    )
    assert rules.cr01(c) == _found("STRATUM-CR01", "HIGH", "probable", "reader", "sender")


def test_cr03_delegation_adds_edges_to_the_crews_order(context):
    c = context(
        CLASSES
        + _agent("scout", "Scout", "SerperDevTool()")
        + _agent("scribe", "Scribe", "FileWriterTool()")
        + "boss = Agent(role='Boss', goal='g', backstory='b', allow_delegation=True)\n"
        + _crew("scout", "scribe", "boss")
    )
    assert rules.cr03(c) == _found("STRATUM-CR03", "HIGH", "probable", "scout", "scribe", "boss")


def test_cr05_looks_past_a_tool_held_once_and_a_tool_without_capabilities_is_no_outside_sink(context):
    c = context(
        CLASSES
        + _agent("a", "A", "SerperDevTool(), inbox")
        + _agent("b", "B", "inbox")
        + _agent("c", "C", "inbox")
        + _crew("a", "b", "c")
    )
    assert rules.cr05(c) == _found("STRATUM-CR05", "HIGH", "confirmed", "crew", "a", "b", "c")


def test_cr06_neighbours_in_the_crew_share_a_store_too(context):
    c = context(
        _agent("early", "Filter", "lookup")
        + _agent("next", "Checker", "lookup")
        + _agent("last", "Answerer", "")
        + _crew("early", "next", "last")
    )
    assert rules.cr06(c) == _found("STRATUM-CR06", "HIGH", "probable", "crew", "early", "next")


# -- BR03: two consequential actions and nothing that traces them ---------------------------------------------------
@pytest.mark.parametrize(
    "extra, untraced",
    [
        ("", False),  # TOOLS alone: post sends out, one action is not enough
        ("from crewai_tools import FileWriterTool\n", True),  # writing files is the second action
        (PAY, True),  # so is paying
    ],
)
def test_br03_counts_destructive_paying_and_sending_actions(context, extra, untraced):
    assert rules.br03(context(extra)) == (_found("STRATUM-BR03", "MEDIUM", "confirmed") if untraced else [])


# -- STRATUM-007/008: payments and external calls -------------------------------------------------------------------
def test_007_only_payments_count_and_a_human_gate_must_name_them(context):
    assert rules.r007(context("")) == [], "TOOLS' post sends out but moves no money"
    assert rules.r007(context(PAY)) == _found("STRATUM-007", "HIGH", "confirmed")
    gated_elsewhere = context(PAY, {"graph.py": "g = builder.compile(interrupt_before=['post'])\n"})
    assert rules.r007(gated_elsewhere) == _found("STRATUM-007", "MEDIUM", "confirmed"), "a guard exists: MEDIUM"
    assert rules.r007(context(PAY, {"graph.py": "g = builder.compile(interrupt_before=['refund'])\n"})) == []


@pytest.mark.parametrize(
    "base, unhandled",
    [
        (TOOLS, True),  # a database read and a post
        ("import requests\n\n\ndef f():\n    return requests.get('u', timeout=1)\n", False),  # one call
        ("import requests\n\n\ndef f():\n    return requests.get('u', timeout=1)\n" + PAY, True),  # and a payment
    ],
)
def test_008_reads_sends_and_payments_count_as_external_calls(context, base, unhandled):
    assert rules.r008(context("", base=base)) == (_found("STRATUM-008", "MEDIUM", "confirmed") if unhandled else [])


# -- CR04: several agents message the same people on their own ------------------------------------------------------
SENDERS = '''
import smtplib


@tool("notify")
def notify(to: str) -> str:
    """Mails someone."""
    smtplib.SMTP("mail").sendmail("me", to, "x")


@tool("alert")
def alert(to: str) -> str:
    """Mails someone else."""
    smtplib.SMTP("mail").sendmail("me", to, "y")
'''


def test_cr04_tags_every_agent_sending_through_the_same_channel(context):
    c = context(SENDERS + _agent("support", "Support", "notify") + _agent("ops", "Ops", "alert"))
    assert rules.cr04(c) == _found("STRATUM-CR04", "MEDIUM", "probable", "support", "ops")


def test_cr04_reading_a_mailbox_is_not_messaging(context):
    readers = "from langchain_community.tools.gmail import GmailSearch\n"
    readers += _agent("a", "A", "GmailSearch()") + _agent("b", "B", "GmailSearch()")
    assert rules.cr04(context(readers)) == []


# -- BR02 and CR02 ----------------------------------------------------------------------------------------------------
def test_br02_a_payment_with_no_human_approval_is_high_and_confirmed(context):
    assert rules.br02(context(PAY)) == _found("STRATUM-BR02", "HIGH", "confirmed")
    assert rules.br02(context(PAY, {"graph.py": "g = builder.compile(interrupt_before=['refund'])\n"})) == []


def test_cr02_tags_the_crew_and_every_member_of_an_unchecked_chain(context):
    chain = _agent("a", "Researcher", "") + _agent("b", "Analyst", "") + _agent("c", "Writer", "")
    assert rules.cr02(context(chain + _crew("a", "b", "c"))) == _found(
        "STRATUM-CR02", "MEDIUM", "probable", "crew", "a", "b", "c"
    )


def test_br04_looks_past_an_agent_that_decides_nothing_and_one_whose_project_is_checked(context):
    first_writes = 'from crewai import Agent\nwriter = Agent(role="Writer", goal="g", backstory="b")\n'
    first_writes += 'approver = Agent(role="Loan Approver", goal="g", backstory="b")\n'
    assert rules.br04(context("", {"loans/crew/crew.py": first_writes})) == _found(
        "STRATUM-BR04", "MEDIUM", "probable", "approver"
    )
    checked_first = {
        "loans/crew/a.py": first_writes.replace('writer = Agent(role="Writer", goal="g", backstory="b")\n', ""),
        "loans/crew/tasks.py": STRUCTURED.format("pydantic"),
        "ranks/crew/b.py": 'from crewai import Agent\nranker = Agent(role="Ranker", goal="g", backstory="b")\n',
    }
    assert rules.br04(context("", checked_first)) == _found("STRATUM-BR04", "MEDIUM", "probable", "ranker")


# -- LEARNING-001: a memory loop read and written in different functions --------------------------------------------
SPLIT_LOOP = """\
import chromadb


def save(col, text):
    col.add(documents=[text], ids=["1"])


def recall(col, q):
    return col.query(query_texts=[q])
"""


def test_learning001_a_loop_split_across_functions_is_one_probable_instance_per_loop_file(context):
    assert rules.learning001(context("", {"mem.py": SPLIT_LOOP}, base="")) == _found(
        "LEARNING-001", "MEDIUM", "probable"
    )
    others = {
        "mem.py": SPLIT_LOOP,
        "store_only.py": "import chromadb\nclient = chromadb.Client()\n",  # a store, neither read nor written
        "reader.py": "def r(c):\n    return c.query(query_texts=['x'])\n",  # reads, no store, no write
    }
    assert rules.learning001(context("", others, base="")) == _found("LEARNING-001", "MEDIUM", "probable")


def test_learning001_a_function_that_reads_and_writes_the_store_is_a_confirmed_instance(context):
    one_scope = "import chromadb\n\n\ndef remember(col, t):\n    col.add(documents=[t], ids=['1'])\n"
    one_scope += "    return col.query(query_texts=[t])\n"
    assert rules.learning001(context("", {"mem.py": one_scope}, base="")) == _found(
        "LEARNING-001", "MEDIUM", "confirmed"
    )


# -- every other rule: the catalog's severity and confidence on a project that fires it ------------------------------
LOOP = MEMORY.format(scoping="", provenance="")
SHARED = LOOP + "\ndef recall(q):\n    return client.get_collection('memories').query(query_texts=[q])\n"
SHARED_KEY = SCOPES.format(k1="OPENAI_API_KEY", k2="OPENAI_API_KEY", n1="", n2="")
PERSONAL = SCOPES.format(k1="MY_OPENAI_API_KEY", k2="CRITIC_API_KEY", n1="", n2="")
SCOPE_NAMES = ("agents.py:planner", "agents.py:critic")
NO_TIMEOUT = "import requests\n\n\ndef f():\n    return requests.get('https://a.example')\n"


@pytest.mark.parametrize(
    "check, files, expected",
    [
        (rules.env001, {".env": "OPENAI_API_KEY=x\n"}, _found("ENV-001", "MEDIUM", "confirmed")),
        (rules.env002, {"keys.py": "KEY = 'sk-" + "a" * 24 + "'\n"}, _found("ENV-002", "MEDIUM", "confirmed")),
        (rules.r009, {"a.py": NO_TIMEOUT, "b.py": NO_TIMEOUT}, _found("STRATUM-009", "MEDIUM", "confirmed")),
        (rules.r010, {"pay.py": TOOLS + PAY}, _found("STRATUM-010", "MEDIUM", "confirmed")),
        (rules.op01, {".env": "OPENAI_API_KEY=x\n"}, _found("STRATUM-OP01", "MEDIUM", "confirmed")),
        (rules.op02, FIVE_CALLS, _found("STRATUM-OP02", "MEDIUM", "confirmed")),
        (rules.op02, {**FIVE_CALLS, "c.py": "crew = make(rate_limit=10)\n"}, []),
        (rules.op02, {**FIVE_CALLS, "c.py": "crew = make(max_requests_per_minute=10)\n"}, []),
        (rules.learning002, {"mem.py": LOOP}, _found("LEARNING-002", "HIGH", "confirmed")),
        (rules.learning003, {"mem.py": SHARED}, _found("LEARNING-003", "HIGH", "probable")),
        (rules.learning004, {"ft.py": "from trl import PPOTrainer\n"}, _found("LEARNING-004", "CRITICAL", "confirmed")),
        (rules.context001, {"mem.py": LOOP}, _found("CONTEXT-001", "MEDIUM", "probable")),
        (rules.context002, {"mem.py": LOOP}, _found("CONTEXT-002", "MEDIUM", "probable")),
        (rules.context003, {"mem.py": SHARED}, _found("CONTEXT-003", "HIGH", "probable")),
        (rules.telemetry001, {"t.py": "import langfuse\n"}, _found("TELEMETRY-001", "MEDIUM", "confirmed")),
        (
            rules.telemetry002,
            {"t.py": "import langsmith\nimport openai\n"},
            _found("TELEMETRY-002", "HIGH", "confirmed"),
        ),
        (
            rules.telemetry002,
            {"t.py": "import langsmith\nimport anthropic\n"},
            _found("TELEMETRY-002", "HIGH", "confirmed"),
        ),
        (rules.telemetry003, {"t.py": "x = 1\n"}, _found("TELEMETRY-003", "LOW", "probable")),
        (rules.eval001, {"e.py": "import openai\nrun = openai.evals\n"}, _found("EVAL-001", "MEDIUM", "confirmed")),
        (rules.eval002, {"e.py": "x = 1\n"}, _found("EVAL-002", "MEDIUM", "probable")),
        (rules.identity001, {"agents.py": SHARED_KEY}, _found("IDENTITY-001", "HIGH", "confirmed", *SCOPE_NAMES)),
        (rules.identity002, {"agents.py": SHARED_KEY}, _found("IDENTITY-002", "MEDIUM", "probable", *SCOPE_NAMES)),
        (
            rules.identity003,
            {"agents.py": PERSONAL},
            _found("IDENTITY-003", "MEDIUM", "heuristic", "agents.py:planner"),
        ),
        (rules.portability001, {"p.py": "import anthropic\n"}, _found("PORTABILITY-001", "LOW", "confirmed")),
        (
            rules.portability002,
            {"g.py": "from guardrails import Guard\n"},
            _found("PORTABILITY-002", "MEDIUM", "confirmed"),
        ),
        (
            rules.portability003,
            {"a.py": "from openai.beta.assistants import Assistant\n"},
            _found("PORTABILITY-003", "LOW", "confirmed"),
        ),
    ],
)
def test_a_rule_that_fires_gives_the_catalogs_severity_and_confidence(context, check, files, expected):
    assert check(context("", files, base="")) == expected
