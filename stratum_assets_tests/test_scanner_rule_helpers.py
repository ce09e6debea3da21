"""The small pieces every rule of scanner/rules.py is built from, each checked at its edges.

The rules themselves are checked on whole repositories (test_scanner_catalog.py); a helper that misreads one
case there only shows when a repository happens to need that case. Mutation testing (docs/TESTING.md) named
the cases no repository of the suite reached: each is here, with the value it must give.
"""

import pytest

from stratum_assets.scanner.capabilities import Cap
from stratum_assets.scanner.rules import (
    Context,
    Instance,
    _confirmed_tool,
    _first,
    _human_facing,
    _one,
    _stores,
    _target,
    _version_below,
    _weakest,
    gate,
)
from stratum_assets_tests.support.checkouts import rules_context, write_files

# A crew with a custom web tool, a custom database tool and a tool class, written as people write them.
CREW = {
    "agents.py": """\
import requests
import sqlite3
from crewai import Agent
from crewai.tools import tool
from crewai_tools import FileReadTool


@tool("post_update")
def post_update(text: str) -> str:
    \"\"\"Post an update.\"\"\"
    return requests.post("https://example.com/hook", json={"t": text}).text


@tool("read_orders")
def read_orders(q: str) -> str:
    \"\"\"Read orders.\"\"\"
    return str(sqlite3.connect("orders.db").execute(q).fetchall())


researcher = Agent(role="Market Researcher", goal="g", backstory="b", tools=[post_update, read_orders])
archivist = Agent(role="Archivist", goal="g", backstory="b", tools=[FileReadTool()])
writer = Agent(role="Writer", goal="g", backstory="b")
""",
    "config/tasks.yaml": """\
research_task:
  description: Research the market.
  expected_output: A report.
  agent: researcher
""",
}


@pytest.fixture(scope="module")
def crew(tmp_path_factory) -> Context:
    """The rules' view of CREW, read by the scanner as it reads any checkout."""
    return rules_context(write_files(tmp_path_factory.mktemp("crew"), CREW))


def _cap(kind: str = "outbound", library: str = "requests", tool: str = "") -> Cap:
    return Cap(kind=kind, library=library, confidence="confirmed", file="a.py", function="f", line=1, tool=tool)


# -- the catalog's confidence gate and the weakest confidence ---------------------------------------------
@pytest.mark.parametrize(
    "severity, confidence, gated",
    [
        ("CRITICAL", "heuristic", "MEDIUM"),
        ("HIGH", "heuristic", "MEDIUM"),
        ("MEDIUM", "heuristic", "MEDIUM"),
        ("LOW", "heuristic", "LOW"),
        ("CRITICAL", "probable", "HIGH"),
        ("HIGH", "probable", "HIGH"),
        ("CRITICAL", "confirmed", "CRITICAL"),
    ],
)
def test_heuristic_findings_are_at_most_medium_and_probable_ones_at_most_high(severity, confidence, gated):
    assert gate(severity, confidence) == gated


def test_the_weakest_confidence_is_by_the_catalogs_order_not_the_alphabets():
    assert _weakest("heuristic", "probable") == "heuristic"  # alphabetically "probable" is the larger
    assert _weakest("confirmed", "probable") == "probable"
    assert _weakest("confirmed") == "confirmed"


# -- one instance, and the first of a rule's instances ----------------------------------------------------
def test_an_instance_is_gated_and_keeps_its_tags():
    made = _one("STRATUM-001", "CRITICAL", "probable", ("researcher", "writer"))
    tags = frozenset({"researcher", "writer"})
    assert made == Instance("STRATUM-001", "HIGH", "probable", tags)


def test_the_first_instance_is_the_most_severe_and_carries_every_instances_tags():
    low = Instance("STRATUM-BR01", "LOW", "confirmed", frozenset({"a"}))
    high = Instance("STRATUM-BR01", "HIGH", "probable", frozenset({"b"}))
    assert _first([low, high]) == [Instance("STRATUM-BR01", "HIGH", "probable", frozenset({"a", "b"}))]
    assert _first([]) == []


# -- versions ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "version, below",
    [
        ("0.1.9", True),
        ("0.2.0", False),
        ("^0.1.9", True),
        ("~=0.2.0", False),
        ("v0.1.0", True),
        (" v0.3 ", False),
        ("0.2.0v", True),  # not a version: a trailing letter is not stripped, so it is not known to be fixed
        ("latest", True),
    ],
)
def test_a_version_is_below_the_fix_unless_it_is_known_to_be_at_or_above_it(version, below):
    assert _version_below(version, (0, 2, 0)) is below


# -- who a capability reaches ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cap, human",
    [
        (_cap(library="smtplib.SMTP"), True),  # the library's top package
        (_cap(library="sendgrid"), True),
        (_cap(library="sendgrid.helpers"), True),  # a dotted package: its top package decides
        (_cap(library="requests", tool="GmailSendMessage"), True),  # a tool class that messages people
        (_cap(library="acme_slack"), True),  # a word in the library's name, in any case
        (_cap(library="My_Gmail_Client"), True),
        (_cap(library="acme_smtp"), True),
        (_cap(library="acme_twilio"), True),
        (_cap(library="requests"), False),
        (_cap(library="sendgrid_helpers"), False),  # only the top package is matched whole
        (_cap(kind="data_access", library="slack_sdk"), False),  # reading Slack sends nothing to anyone
    ],
)
def test_a_human_facing_capability_sends_to_people(cap, human):
    assert _human_facing(cap) is human


@pytest.mark.parametrize(
    "library, tool, target",
    [
        ("acme", "GmailSendMessage", "gmail"),
        ("Slack_SDK", "", "slack"),
        ("smtplib", "", "smtp"),
        ("twilio.rest", "", "twilio"),
        ("gmail_and_slack", "", "gmail"),  # the first of the table's words found
        ("requests", "", ""),
    ],
)
def test_a_capability_names_its_human_facing_target(library, tool, target):
    assert _target(_cap(library=library, tool=tool)) == target


# -- the crew as the rules see it --------------------------------------------------------------------------
def test_a_yaml_task_names_its_agent_and_an_agent_names_itself(crew):
    assert crew.task_agent("<task:research_task>") == "researcher"
    assert crew.task_agent("<task:unknown_task>") == ""
    assert crew.task_agent("writer") == "writer"


def test_a_confirmed_tool_of_the_agent_must_have_the_kind(crew):
    assert _confirmed_tool(crew, "researcher", {"outbound"}) is True
    assert _confirmed_tool(crew, "researcher", {"data_access"}) is True
    assert _confirmed_tool(crew, "researcher", {"destructive", "code_exec"}) is False
    assert _confirmed_tool(crew, "writer", {"outbound"}) is False, "an agent without tools"
    assert _confirmed_tool(crew, "nobody", {"outbound"}) is False, "an agent the model does not have"


def test_an_agents_stores_are_the_databases_its_tools_read_or_the_tool_classes_themselves(crew):
    assert _stores(crew, "researcher") == {"sqlite3"}, "a custom tool: the libraries it reads, not itself"
    assert _stores(crew, "archivist") == {"FileReadTool"}, "a tool class: itself"
    assert _stores(crew, "writer") == set()
    assert _stores(crew, "nobody") == set()


def test_an_agents_text_is_its_name_and_its_role_in_lower_case(crew):
    assert crew.text("researcher") == "researcher market researcher"
    assert crew.text("writer") == "writer writer"
    assert crew.text("nobody") == "nobody "
