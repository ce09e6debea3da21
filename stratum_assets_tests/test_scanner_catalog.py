"""The built-in scanner speaks the reference catalog: every rule on a tiny repository that fires it and on a
near miss that does not; the score formula at its edges; suffix numbering; fix impact by severity."""

import json
from fractions import Fraction
from pathlib import Path

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanner import scoring
from stratum_assets.scanner.capabilities import extract, is_root_file, same_project
from stratum_assets.scanner.engine import scan_repository
from stratum_assets.scanner.ping import validate_ping
from stratum_assets.scanner.rules import DIFFERENCES, READINGS, RULES, RULES_BY_ID, Findings, Instance, rules_markdown
from stratum_assets_tests.support.checkouts import write_files


def scan(tmp_path: Path, files: dict[str, str]) -> dict:
    ping = scan_repository(write_files(tmp_path, files), "o/r")
    assert validate_ping({**ping, "repo_hash": repo_hash("o/r")}, repo_hash("o/r")) == []
    return ping


def counts(tmp_path: Path, files: dict[str, str]) -> dict[str, int]:
    return scan(tmp_path, files)["finding_instance_counts"]


def severity_of(ping: dict, rule: str) -> str:
    """The severity the ping counts for a rule that fired alone at its severity (by fix impact)."""
    return {v: k for k, v in scoring.FIX_IMPACT.items()}[ping["fix_impact_estimates"][rule]]


@pytest.fixture
def fires(tmp_path):
    """fires(files) -> instance counts of a fresh repository (each call its own folder)."""
    n = iter(range(1000))
    return lambda files: counts(tmp_path / f"fires{next(n)}", files)


@pytest.fixture
def detects(tmp_path):
    """detects(files) -> the built-in's own reading: instance counts of the rules on every call it resolves."""
    n = iter(range(1000))
    return lambda files: scan(tmp_path / f"detects{next(n)}", files)["detected_finding_instance_counts"]


@pytest.fixture
def ping_of(tmp_path):
    n = iter(range(1000))
    return lambda files: scan(tmp_path / f"ping{next(n)}", files)


EXFIL = """
import sqlite3, requests

def lookup(q):
    conn = sqlite3.connect("app.db")
    return conn.execute("SELECT * FROM t WHERE q = ?", (q,)).fetchall()

def send(url, body):
    return requests.post(url, json=body, timeout=5)
"""


# -- the capability-path rules (STRATUM-001 … 010) -------------------------------------------------------------------
def test_001_data_reaches_an_outside_sink(ping_of):
    p = ping_of({"tools.py": EXFIL})
    assert p["finding_instance_counts"]["STRATUM-001"] == 1 and severity_of(p, "STRATUM-001") == "CRITICAL"
    guarded = ping_of({"tools.py": EXFIL, "check.py": "def ok(x):\n    return isinstance(x, str)\n"})
    assert severity_of(guarded, "STRATUM-001") == "HIGH", "some guard exists, none covers the pair"
    named = ping_of({"tools.py": EXFIL, "graph.py": "g = builder.compile(interrupt_before=['send'])\n"})
    assert "STRATUM-001" not in named["finding_rules"], "a human gate naming the outbound tool"
    filtered = ping_of({"tools.py": EXFIL, "guard.py": "from guardrails import Guard\nguard = Guard()\n"})
    assert "STRATUM-001" not in filtered["finding_rules"], "an active output filter"
    imported = ping_of({"tools.py": EXFIL, "g.py": "from agents import OutputGuardrail\n"})
    assert "STRATUM-001" in imported["finding_rules"], "a filter that is only imported is not active"
    used = ping_of({"tools.py": EXFIL, "g.py": "from agents import OutputGuardrail\nguards = [OutputGuardrail(f)]\n"})
    assert "STRATUM-001" not in used["finding_rules"]
    assert "STRATUM-001" not in ping_of({"tools.py": EXFIL.replace("requests.post", "print")})["finding_rules"]


def test_002_destructive_action_without_a_human_gate(fires, ping_of):
    p = ping_of({"crew.py": "from crewai_tools import FileWriterTool\n"})
    assert p["finding_instance_counts"]["STRATUM-002"] == 1 and severity_of(p, "STRATUM-002") == "CRITICAL"
    sql = ping_of({"db.py": "import psycopg2\n\ndef purge():\n    q = 'DELETE FROM users'\n    return q\n"})
    assert severity_of(sql, "STRATUM-002") == "HIGH", "SQL text not visibly executed is probable: at most HIGH"
    assert "STRATUM-002" not in fires(
        {
            "crew.py": "from crewai_tools import FileWriterTool\nfrom crewai import Task\n"
            "t = Task(description='d', human_input=True)\n"
        }
    )
    assert "STRATUM-002" not in fires({"crew.py": "from crewai_tools import FileReadTool\n"})
    draft = "def draft():\n    return 'DROP TABLE t'\n"
    purge = "def purge():\n    conn = psycopg2.connect('db')\n    conn.cursor().execute('DELETE FROM t')\n"
    for order in ((draft, purge), (purge, draft)):
        both = ping_of({"db.py": "import psycopg2\n\n" + "\n".join(order)})
        assert severity_of(both, "STRATUM-002") == "CRITICAL", (
            "per (file, kind, library) the confirmed capability is kept over the probable one, in any order"
        )


def test_003_host_code_execution_including_module_level_and_from_imports(fires, detects):
    assert fires({"a.py": "import subprocess\n\ndef run(c):\n    subprocess.run(c)\n"})["STRATUM-003"] == 1
    module_level = {"a.py": "import os\nos.system('ls')\n"}
    assert "STRATUM-003" not in fires(module_level), "the reference classifies calls inside functions only"
    assert detects(module_level)["STRATUM-003"] == 1, "the built-in's reading: module level counts"
    from_import = {"a.py": "from subprocess import run as r\n\ndef go():\n    r(['ls'])\n"}
    assert "STRATUM-003" not in fires(from_import) and detects(from_import)["STRATUM-003"] == 1
    two = {"a.py": "def f(s):\n    return eval(s)\n", "b.py": "import subprocess\nsubprocess.call('x')\n"}
    assert fires(two)["STRATUM-003"] == 1 and detects(two)["STRATUM-003"] == 2
    assert "STRATUM-003" not in fires(
        {"a.py": "import torch\n\ndef f(model):\n    model.eval()\n    return subprocess.run\n"}
    )


def _mcp(servers: dict) -> str:
    return json.dumps({"mcpServers": servers})


def test_004_mcp_remote_with_a_known_cve(fires, detects):
    vulnerable = _mcp({"hf": {"command": "npx", "args": ["-y", "mcp-remote", "https://x.example/mcp"]}})
    assert "STRATUM-004" not in fires({"mcp.json": vulnerable}), "the reference reads -y as the package"
    assert detects({"mcp.json": vulnerable})["STRATUM-004"] == 1, "the built-in: -y is an npx option"
    assert fires({"mcp.json": _mcp({"hf": {"command": "npx", "args": ["mcp-remote", "x"]}})})["STRATUM-004"] == 1
    assert "STRATUM-004" not in fires({"mcp.json": _mcp({"hf": {"command": "npx", "args": ["mcp-remote@0.1.9"]}})})
    assert fires({"mcp.json": _mcp({"hf": {"command": "npx", "args": ["mcp-remote@0.1.8"]}})})["STRATUM-004"] == 1
    assert "STRATUM-004" not in fires({"sub/mcp.json": vulnerable}), "MCP configs are read at the root only"


def test_005_mcp_server_receives_secrets(fires, detects):
    env = {"DATABASE_URL": "x"}
    assert fires({"mcp.json": _mcp({"db": {"command": "uvx", "args": ["pg-mcp"], "env": env}})})["STRATUM-005"] == 1
    trusted = _mcp({"db": {"command": "npx", "args": ["@modelcontextprotocol/server-postgres"], "env": env}})
    assert "STRATUM-005" not in fires({"mcp.json": trusted})
    behind_y = _mcp({"db": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-postgres"], "env": env}})
    assert fires({"mcp.json": behind_y})["STRATUM-005"] == 1, "the reference's package is -y: not trusted"
    assert "STRATUM-005" not in detects({"mcp.json": behind_y})
    assert "STRATUM-005" not in fires({"mcp.json": _mcp({"db": {"command": "uvx", "env": {"REGION": "eu"}}})})


def test_006_mcp_supply_chain_fires_per_condition(fires):
    both = _mcp({"s": {"command": "npx", "args": ["-y", "@acme/server", "https://acme.example/mcp"]}})
    assert fires({"mcp.json": both})["STRATUM-006"] == 2, "unpinned and remote without auth fire separately"
    pinned_auth = _mcp(
        {
            "s": {
                "command": "npx",
                "args": ["@acme/server@1.2.0", "https://acme.example/mcp"],
                "env": {"ACME_API_KEY": "x"},
            }
        }
    )
    assert "STRATUM-006" not in fires({"mcp.json": pinned_auth})
    assert fires({"claude_desktop_config.json": _mcp({"r": {"url": "https://r.example/sse"}})})["STRATUM-006"] == 1


PAY = "import stripe\n\ndef refund(amount):\n    return stripe.Refund.create(amount=amount)\n"


def test_007_payment_without_validation(ping_of, fires):
    p = ping_of({"pay.py": PAY})
    assert p["finding_instance_counts"]["STRATUM-007"] == 1 and severity_of(p, "STRATUM-007") == "HIGH"
    checked = PAY.replace("    return", "    if amount > 100:\n        raise ValueError(amount)\n    return")
    assert "STRATUM-007" not in fires({"pay.py": checked}), "the function validates its input"
    assert "STRATUM-007" not in fires({"pay.py": PAY, "v.py": "def v(x):\n    return isinstance(x, int)\n"})
    compared = PAY.replace("    return", "    if amount > 100:\n        return None\n    return")
    asserted = PAY.replace("    return", "    assert amount < 100\n    return")
    assert "STRATUM-007" not in fires({"pay.py": compared}) and "STRATUM-007" not in fires({"pay.py": asserted})


def test_008_external_calls_without_error_handling(fires):
    two = {
        "a.py": "import requests\n\ndef a():\n    requests.get('u', timeout=1)\n",
        "b.py": "import httpx\n\ndef b():\n    httpx.get('u', timeout=1)\n",
    }
    assert fires(two)["STRATUM-008"] == 1
    handled = {
        **two,
        "b.py": "import httpx\n\ndef b():\n    try:\n        httpx.get('u', timeout=1)\n"
        "    except Exception:\n        pass\n",
    }
    assert "STRATUM-008" not in fires(handled)


def test_009_http_calls_without_timeout_need_two_files_or_libraries(fires, detects):
    one_file = {"a.py": "import requests\n\ndef a():\n    requests.get('u')\n\ndef b():\n    requests.post('u')\n"}
    assert "STRATUM-009" not in fires(one_file), "deduplicated per (file, kind, library)"
    two = {
        "a.py": "import requests\n\ndef a():\n    requests.get('u')\n",
        "b.py": "import aiohttp\n\nasync def b(s):\n    async with aiohttp.ClientSession() as s:\n"
        "        await s.get('u')\n",
    }
    assert "STRATUM-009" not in fires(two), "the reference does not resolve a with-bound session"
    assert detects(two)["STRATUM-009"] == 1, "the built-in: a with-bound session resolves to its library"
    assigned = {
        **two,
        "b.py": "import aiohttp\n\nasync def b():\n    s = aiohttp.ClientSession()\n    await s.get('u')\n",
    }
    assert fires(assigned)["STRATUM-009"] == 1, "a variable assigned from the library resolves in both readings"
    assert "STRATUM-009" not in fires({**two, "b.py": "import httpx\n\ndef b():\n    httpx.get('u', timeout=3)\n"})


def test_010_no_durable_checkpointing(fires):
    three = {
        "a.py": "import requests, subprocess, sqlite3\n\ndef a():\n    requests.get('u', timeout=1)\n"
        "    subprocess.run('x')\n    sqlite3.connect('d')\n"
    }
    assert fires(three)["STRATUM-010"] == 1
    durable = {**three, "g.py": "from langgraph.checkpoint.postgres import PostgresSaver\n"}
    assert "STRATUM-010" not in fires(durable)
    memory = {**three, "g.py": "from langgraph.checkpoint.memory import MemorySaver\n"}
    assert fires(memory)["STRATUM-010"] == 1, "an in-memory saver is not durable"


# -- business, operational and compounding rules ---------------------------------------------------------------------
MAIL = (
    "import smtplib\n\ndef notify(to, body):\n    server = smtplib.SMTP('mail')\n    server.sendmail('me', to, body)\n"
)


def test_br01_agent_messages_people_with_no_review(ping_of, fires):
    p = ping_of({"app/tools/mail.py": MAIL})
    assert p["finding_instance_counts"]["STRATUM-BR01"] == 1 and severity_of(p, "STRATUM-BR01") == "HIGH"
    reviewed = {
        "app/tools/mail.py": MAIL,
        "app/tools/crew.py": "from crewai import Task\nt = Task(description='d', human_input=True)\n",
    }
    assert "STRATUM-BR01" not in fires(reviewed), "a human gate in the same project"
    elsewhere = {
        "app/tools/mail.py": MAIL,
        "other/x/crew.py": "from crewai import Task\nt = Task(description='d', human_input=True)\n",
    }
    assert fires(elsewhere)["STRATUM-BR01"] == 1, "a gate in another project does not review it"


def test_br02_money_moves_with_no_approval(fires):
    assert fires({"pay/x/pay.py": PAY})["STRATUM-BR02"] == 1
    gated = {"pay/x/pay.py": PAY, "pay/x/flow.py": "g = builder.compile(interrupt_before=['refund'])\n"}
    assert "STRATUM-BR02" not in fires(gated)


def test_br03_no_audit_trail(fires, detects):
    two = {
        "a.py": "import requests\n\ndef a():\n    requests.post('u', timeout=1)\n",
        "b.py": "import smtplib\n\ndef b():\n    smtplib.SMTP('h').sendmail('a', 'b', 'c')\n",
    }
    assert fires(two)["STRATUM-BR03"] == 1
    assert "STRATUM-BR03" not in fires({**two, ".env": "LANGFUSE_SECRET_KEY=x\n", ".gitignore": ".env\n"})
    traced = {**two, "obs.py": "import langfuse\n"}
    assert fires(traced)["STRATUM-BR03"] == 1, "the reference does not see an imported SDK"
    assert "STRATUM-BR03" not in detects(traced), "the built-in: an imported SDK traces"
    assert "STRATUM-BR03" not in fires({"a.py": two["a.py"]}), "one consequential action is not enough"


DECIDER = """
from crewai import Agent, Crew, Task
approver = Agent(role="Loan Approver", goal="g", backstory="b")
t = Task(description="d", expected_output="e", agent=approver{extra})
crew = Crew(agents=[approver], tasks=[t])
"""


def test_br04_decision_agent_with_free_text_output(fires):
    assert fires({"loans/crew/crew.py": DECIDER.format(extra="")})["STRATUM-BR04"] == 1
    structured = DECIDER.format(extra=", output_pydantic=Decision")
    assert "STRATUM-BR04" not in fires({"loans/crew/crew.py": structured})
    writer = DECIDER.format(extra="").replace("Loan Approver", "Writer").replace("approver", "writer")
    assert "STRATUM-BR04" not in fires({"loans/crew/crew.py": writer})


def _crew(
    agents: list[tuple[str, str, str]],
    process: str = "Process.sequential",
    extra: str = "",
    tools: str = "",
    named: bool = True,
) -> str:
    """A CrewAI script: agents as (variable, role, tools list source), each ``name=`` its variable (the reference
    then counts them apart and finds them in the crew's list; nameless, it merges them into one "Agent")."""
    lines = [
        "from crewai import Agent, Crew, Task, Process",
        "from crewai_tools import SerperDevTool, FileWriterTool, PGSearchTool, CSVSearchTool",
        tools,
    ]
    for var, role, tool_list in agents:
        name = f'name="{var}", ' if named else ""
        lines.append(f'{var} = Agent({name}role="{role}", goal="g", backstory="b", tools=[{tool_list}])')
    lines.append(extra)
    lines.append(f"crew = Crew(agents=[{', '.join(a[0] for a in agents)}], tasks=[], process={process})")
    return "\n".join(lines) + "\n"


def test_cr01_shared_tool_links_input_and_action(fires):
    tool = "from crewai.tools import tool\n\n@tool\ndef inbox(q: str) -> str:\n    '''Inbox.'''\n    return q\n"
    shared = _crew([("reader", "Inbox Reader", "inbox"), ("sender", "Reply Sender", "inbox")], tools=tool)
    assert fires({"crew.py": shared})["STRATUM-CR01"] == 1
    neutral = _crew([("a", "Historian", "inbox"), ("b", "Poet", "inbox")], tools=tool)
    assert "STRATUM-CR01" not in fires({"crew.py": neutral})
    apart = _crew([("reader", "Inbox Reader", "inbox"), ("sender", "Reply Sender", "inbox")], tools=tool)
    apart = (
        apart.replace("crew = Crew(agents=[reader, sender]", "c1 = Crew(agents=[reader]")
        + "c2 = Crew(agents=[sender], tasks=[])\n"
    )
    assert "STRATUM-CR01" not in fires({"crew.py": apart}), "agents in different crews"


def test_cr02_long_chain_without_checks(fires):
    chain = [("a", "Researcher", ""), ("b", "Analyst", ""), ("c", "Writer", "")]
    assert fires({"crew.py": _crew(chain)})["STRATUM-CR02"] == 1
    checked = _crew(chain, extra="t = Task(description='d', expected_output='e', agent=b, output_pydantic=M)")
    assert "STRATUM-CR02" not in fires({"crew.py": checked}), "the middle agent's output is validated"
    assert "STRATUM-CR02" not in fires({"crew.py": _crew(chain[:2])}), "two agents are not a long chain"
    managed = _crew(chain, process="Process.hierarchical, manager_llm='gpt-4o'")
    assert "STRATUM-CR02" not in fires({"crew.py": managed}), "a manager makes the crew hierarchical"


def test_cr03_low_privilege_agent_feeds_a_powerful_one(fires):
    flow = [("scout", "Scout", "SerperDevTool()"), ("scribe", "Scribe", "FileWriterTool()")]
    assert fires({"crew.py": _crew(flow)})["STRATUM-CR03"] == 1
    assert "STRATUM-CR03" not in fires({"crew.py": _crew(flow[::-1])}), "the powerful agent feeds the reader"
    readers = [("scout", "Scout", "SerperDevTool()"), ("clerk", "Clerk", "CSVSearchTool()")]
    assert "STRATUM-CR03" not in fires({"crew.py": _crew(readers)}), "nobody downstream holds power"


def test_cr04_uncoordinated_messaging(fires):
    tools = (
        MAIL.replace("def notify", "from crewai.tools import tool\n\n@tool\ndef notify")
        + "\n@tool\ndef alert(to: str) -> str:\n    '''Alert.'''\n    smtplib.SMTP('mail').sendmail('me', to, 'x')\n"
    )
    two = _crew([("a", "Support", "notify"), ("b", "Ops", "alert")], tools=tools)
    assert fires({"crew.py": two})["STRATUM-CR04"] == 1
    one = _crew([("a", "Support", "notify, alert"), ("b", "Ops", "")], tools=tools)
    assert "STRATUM-CR04" not in fires({"crew.py": one})


def test_cr05_blast_radius_suffixes_and_severity_order(ping_of):
    two = ping_of({"crew.py": _crew([("a", "A", "SerperDevTool()"), ("b", "B", "SerperDevTool()")])})
    assert two["finding_instance_counts"]["STRATUM-CR05"] == 1 and severity_of(two, "STRATUM-CR05") == "HIGH"
    nameless = ping_of({"crew.py": _crew([("a", "A", "SerperDevTool()"), ("b", "B", "SerperDevTool()")], named=False)})
    assert "STRATUM-CR05" not in nameless["finding_rules"], (
        "the reference merges nameless agents into one 'Agent', which is not in the crew's list [a, b]"
    )
    assert nameless["detected_finding_instance_counts"]["STRATUM-CR05"] == 1, "the built-in: a and b share it"
    three = ping_of({"crew.py": _crew([(v, v.upper(), "SerperDevTool()") for v in ("a", "b", "c")])})
    assert severity_of(three, "STRATUM-CR05") == "CRITICAL", "3 agents and an external sink"
    local = ping_of({"crew.py": _crew([(v, v.upper(), "CSVSearchTool()") for v in ("a", "b", "c")])})
    assert severity_of(local, "STRATUM-CR05") == "HIGH", "3 agents but no external sink"
    tools = ", ".join(["CSVSearchTool()", "PGSearchTool()", "FileWriterTool()", "SerperDevTool()"])
    many = ping_of({"crew.py": _crew([("a", "A", tools), ("b", "B", tools), ("c", "C", "SerperDevTool()")])})
    cr05 = [r for r in many["finding_rules"] if r.startswith("STRATUM-CR05")]
    assert cr05 == ["STRATUM-CR05", "STRATUM-CR05.1", "STRATUM-CR05.2"], "four shared tools: at most three ids"
    assert severity_of(many, "STRATUM-CR05") == "CRITICAL", "the CRITICAL one is numbered first"
    assert all(severity_of(many, r) == "HIGH" for r in cr05[1:])
    assert (
        "STRATUM-CR05"
        not in ping_of({"crew.py": _crew([("a", "A", "SerperDevTool()"), ("b", "B", "")])})["finding_rules"]
    )


def test_cr06_later_agent_reads_the_same_store(fires):
    crew = _crew([("a", "Filter", "PGSearchTool()"), ("b", "Middle", ""), ("c", "Answerer", "PGSearchTool()")])
    assert fires({"crew.py": crew})["STRATUM-CR06"] == 1
    other = _crew([("a", "Filter", "PGSearchTool()"), ("b", "Middle", ""), ("c", "Answerer", "CSVSearchTool()")])
    assert "STRATUM-CR06" not in fires({"crew.py": other})


def test_op01_single_llm_provider(fires):
    assert fires({".env": "OPENAI_API_KEY=x\n", ".gitignore": ".env\n"})["STRATUM-OP01"] == 1
    assert "STRATUM-OP01" not in fires({".env": "OPENAI_API_KEY=x\nANTHROPIC_API_KEY=y\n", ".gitignore": ".env\n"})


FIVE_CALLS = {  # five capabilities in five files
    f"m{i}.py": f"import {lib}\n\ndef f():\n    {lib}.{call}\n"
    for i, (lib, call) in enumerate(
        [
            ("requests", "get('u', timeout=1)"),
            ("httpx", "get('u', timeout=1)"),
            ("subprocess", "run('x')"),
            ("sqlite3", "connect('d')"),
        ]
    )
} | {"m4.py": "import smtplib\n\ndef f():\n    s = smtplib.SMTP('h')\n    s.sendmail('a', 'b', 'c')\n"}


def test_op02_no_cost_controls(fires):
    five = FIVE_CALLS
    assert fires(five)["STRATUM-OP02"] == 1
    capped = {**five, "crew.py": "from crewai import Agent\na = Agent(role='r', max_rpm=10)\n"}
    assert "STRATUM-OP02" not in fires(capped)
    assert fires({**five, "g.py": "config = {'recursion_limit': 5}\n"})["STRATUM-OP02"] == 1, (
        "recursion_limit is not a cost control in the catalog"
    )


# -- hygiene: env, secrets -------------------------------------------------------------------------------------------
def test_env001_env_file_not_ignored(fires):
    assert fires({".env.example": "A=1\n"})["ENV-001"] == 1
    assert "ENV-001" not in fires({".env.example": "A=1\n", ".gitignore": "venv/\n.env*\n"})
    assert "ENV-001" not in fires({"sub/.env": "A=1\n"}), "root only"


def test_env002_hard_coded_secrets_one_per_pattern_per_file(fires, detects):
    key = "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    two = {"a.py": f'KEY = "{key}"\nOTHER = "{key}X"\nDB = "postgresql://u:pw@h/db"\n'}
    assert fires(two)["ENV-002"] == 2 and detects(two)["ENV-002"] == 2
    short_scheme = {"a.py": f'KEY = "{key}"\nDB = "postgres://u:pw@h/db"\n'}
    assert fires(short_scheme)["ENV-002"] == 1, "the reference knows postgresql:// only"
    assert detects(short_scheme)["ENV-002"] == 2
    word = {"a.py": 'S = "task-description-that-is-long-enough-here"\n'}
    assert fires(word)["ENV-002"] == 1, "the reference finds sk- inside a word"
    assert "ENV-002" not in detects(word)


# -- learning and context --------------------------------------------------------------------------------------------
MEMORY = """
import chromadb
client = chromadb.Client()

def remember(text):
    col = client.get_or_create_collection("memories"{scoping})
    col.add(documents=[text]{provenance})
    return col.query(query_texts=[text])
"""


def test_learning001_and_context_rules_on_a_memory_loop(fires):
    found = fires({"mem.py": MEMORY.format(scoping="", provenance="")})
    assert found["LEARNING-001"] == 1 and found["LEARNING-002"] == 1
    assert found["CONTEXT-001"] == 1 and found["CONTEXT-002"] == 1
    careful = fires(
        {
            "mem.py": MEMORY.format(scoping=", metadata={'ttl': 3600}", provenance=", metadatas=[{}], source='agent'")
            + "\ndef backup():\n    pass\n"
        }
    )
    assert {"LEARNING-002", "CONTEXT-001", "CONTEXT-002"}.isdisjoint(careful) and careful["LEARNING-001"] == 1
    no_store = fires({"mem.py": MEMORY.format(scoping="", provenance="").replace("import chromadb", "import json")})
    assert {"LEARNING-001", "CONTEXT-001", "CONTEXT-002"}.isdisjoint(no_store)


def test_learning001_counts_every_scope_of_the_repository_that_reads_and_writes_once_a_loop_exists(fires):
    # The reference's instances: with a memory loop somewhere, each (file, function) anywhere that calls a read-style
    # and a write-style method is one, also in a file that imports no store (a cache, a settings dict).
    cache = (
        "def refresh(cache, key):\n    cache.add(key)\n    return cache.get(key)\n\n\ndef peek(cache, key):\n"
        "    return cache.get(key)\n"
    )
    found = fires({"mem.py": MEMORY.format(scoping="", provenance=""), "util/cache.py": cache})
    assert found["LEARNING-001"] == 2, "remember() in mem.py and refresh() in util/cache.py; peek() only reads"
    assert "LEARNING-001" not in fires({"util/cache.py": cache}), "no memory store anywhere: no loop, no instance"


def test_learning003_and_context003_shared_collection(fires):
    shared = (
        MEMORY.format(scoping="", provenance="")
        + "\ndef recall(q):\n    return client.get_collection('memories').query(query_texts=[q])\n"
    )
    found = fires({"mem.py": shared})
    assert found["LEARNING-003"] == 1 and found["CONTEXT-003"] == 1
    apart = shared.replace("get_collection('memories')", "get_collection('other')")
    assert {"LEARNING-003", "CONTEXT-003"}.isdisjoint(fires({"mem.py": apart}))


def test_learning001_severity_follows_the_learning_type(ping_of):
    loop = MEMORY.format(scoping="", provenance="")
    assert severity_of(ping_of({"mem.py": loop}), "LEARNING-001") == "MEDIUM"
    distilled = ping_of({"mem.py": loop, "d.py": "import langsmith\nlangsmith.Client().create_dataset('x')\n"})
    assert severity_of(distilled, "LEARNING-001") == "HIGH"
    tuned = ping_of({"mem.py": loop, "ft.py": "from trl import DPOTrainer\n"})
    assert severity_of(tuned, "LEARNING-001") == "CRITICAL"


def test_learning004_fine_tuning(ping_of, fires):
    p = ping_of({"ft.py": "from trl import PPOTrainer\n"})
    assert p["finding_instance_counts"]["LEARNING-004"] == 1 and severity_of(p, "LEARNING-004") == "CRITICAL"
    assert fires({"ft.py": "from openai.fine_tuning import jobs\n"})["LEARNING-004"] == 1
    assert "LEARNING-004" not in fires({"ft.py": "from trl import SFTTrainer\n"})


# -- telemetry, evals, identity, portability -------------------------------------------------------------------------
def test_telemetry_rules(fires):
    vendor = fires({"t.py": "import langfuse\nimport mlflow\n"})
    assert vendor["TELEMETRY-001"] == 2 and "TELEMETRY-003" not in vendor, "one per provider"
    assert fires({"t.py": "import langsmith\nimport openai\n"})["TELEMETRY-002"] == 1
    assert "TELEMETRY-002" not in fires({"t.py": "import langsmith\nimport mistralai\n"})
    nothing = fires({"t.py": "x = 1\n"})
    assert nothing["TELEMETRY-003"] == 1 and "TELEMETRY-001" not in nothing
    assert "TELEMETRY-003" not in fires({".env": "LANGFUSE_PUBLIC_KEY=x\n", ".gitignore": ".env\n"})


def test_eval_rules(fires):
    assert fires({"e.py": "import openai\nrun = openai.evals\n"})["EVAL-001"] == 1
    assert "EVAL-001" not in fires({"e.py": "import openai\n"})
    assert fires({"e.py": "x = 1\n"})["EVAL-002"] == 1
    assert "EVAL-002" not in fires({"e.py": "import ragas\n"})
    assert "EVAL-002" not in fires({"e.py": "from langchain.agents import AgentExecutor\n"}), "langchain counts"


SCOPES = """
import os
import openai

def planner(q):
    key = os.getenv("{k1}")
    return openai.OpenAI(api_key=key).chat.completions.create(model="gpt-4o", messages=q{n1})

def critic(q):
    key = os.environ["{k2}"]
    return openai.OpenAI(api_key=key).chat.completions.create(model="gpt-4o", messages=q{n2})
"""


def test_identity_rules_on_model_sdk_scopes(ping_of, fires, detects):
    shared = fires({"agents.py": SCOPES.format(k1="OPENAI_API_KEY", k2="OPENAI_API_KEY", n1="", n2="")})
    assert shared["IDENTITY-001"] == 1 and shared["IDENTITY-002"] == 1
    named = {"agents.py": SCOPES.format(k1="PLANNER_API_KEY", k2="CRITIC_API_KEY", n1=", name='p'", n2=", name='c'")}
    assert {"IDENTITY-001", "IDENTITY-002", "IDENTITY-003"}.isdisjoint(detects(named))
    assert fires(named)["IDENTITY-001"] == 1, (
        "the reference reads no subscript: critic has no key of its own and shares the file's (PLANNER_API_KEY)"
    )
    by_calls = {"agents.py": named["agents.py"].replace('os.environ["CRITIC_API_KEY"]', 'os.getenv("CRITIC_API_KEY")')}
    assert {"IDENTITY-001", "IDENTITY-002", "IDENTITY-003"}.isdisjoint(fires(by_calls))
    personal = ping_of({"agents.py": SCOPES.format(k1="MY_OPENAI_API_KEY", k2="CRITIC_API_KEY", n1="", n2="")})
    assert personal["finding_instance_counts"]["IDENTITY-003"] == 1
    assert severity_of(personal, "IDENTITY-003") == "MEDIUM" and personal["finding_confidences"]["heuristic"] == 1
    one = SCOPES.format(k1="MY_OPENAI_API_KEY", k2="X", n1="", n2="").split("def critic")[0]
    assert {"IDENTITY-001", "IDENTITY-002", "IDENTITY-003"}.isdisjoint(fires({"agents.py": one})), "one scope"
    quiet = one + "\ndef critic(q):\n    key = os.getenv('MY_OPENAI_API_KEY')\n    return key\n"
    assert {"IDENTITY-001", "IDENTITY-003"}.isdisjoint(fires({"agents.py": quiet})), "a scope calls the model"


def test_portability_rules(fires):
    assert fires({"p.py": "import anthropic\n"})["PORTABILITY-001"] == 1
    assert "PORTABILITY-001" not in fires({"p.py": "import anthropic\nimport litellm\n"})
    assert "PORTABILITY-001" not in fires({"p.py": "import anthropic\nimport openai\n"})
    assert fires({"g.py": "from guardrails import Guard\n"})["PORTABILITY-002"] == 1
    assert "PORTABILITY-002" not in fires({"g.py": "from guardrails import Guard\nimport nemoguardrails\n"})
    assert fires({"a.py": "from openai.beta.assistants import Assistant\n"})["PORTABILITY-003"] == 1
    assert "PORTABILITY-003" not in fires({"a.py": "import openai\n"})


# -- the reference's reading: what the ping's finding fields see, and what only detected_* sees ------------------------
def test_an_import_nested_in_a_block_resolves_nothing_for_the_reference(fires, detects):
    """The reference resolves names bound by the module's top-level imports and by the direct statements of the
    function's body; an import inside an ``if``/``try`` (of the module or the function) is invisible to it."""
    direct = "def probe():\n    import subprocess\n    subprocess.run(['ls'])\n"
    assert fires({"a.py": direct})["STRATUM-003"] == 1, "a direct statement of the function's body"
    nested = (
        "def probe():\n    try:\n        import subprocess\n        subprocess.run(['ls'])\n    except OSError:\n"
        "        pass\n"
    )
    assert "STRATUM-003" not in fires({"a.py": nested}) and detects({"a.py": nested})["STRATUM-003"] == 1
    guarded = (
        "try:\n    import subprocess\nexcept ImportError:\n    subprocess = None\n\n"
        "def probe():\n    subprocess.run(['ls'])\n"
    )
    assert "STRATUM-003" not in fires({"a.py": guarded}) and detects({"a.py": guarded})["STRATUM-003"] == 1
    variable = (
        "def probe(u):\n    if u:\n        import requests\n        s = requests.Session()\n        s.get(u)\n"
        "        s.post(u)\n"
    )
    caps = extract([("v.py", variable)]).caps
    assert [(c.kind, c.via, c.seen_by_reference) for c in caps] == [("outbound", "nested-import", False)], (
        "a client built from a nested import is invisible too"
    )
    late = "import requests as r\nimport requests\n\ndef f(u):\n    r.get(u)\n    requests.post(u)\n"
    reference_caps = extract([("w.py", late)]).as_reference_reads().caps
    assert [(c.kind, c.line, c.via) for c in reference_caps] == [("outbound", 6, "import")], (
        "after an alias the reference still sees the plainly imported call of the same library"
    )


def test_payment_verbs_beyond_the_outbound_ones_are_the_builtins_reading(fires, detects):
    charge = {"pay.py": "import stripe\n\ndef pay(a):\n    return stripe.Charge.charge(amount=a)\n"}
    assert "STRATUM-007" not in fires(charge) and detects(charge)["STRATUM-007"] == 1


def test_same_project_as_the_reference_compares_paths(fires, detects):
    """The reference compares the first two path components, file names included: root files never agree."""
    assert same_project("a.py", "b.py") and not same_project("a.py", "b.py", "reference")
    assert same_project("src/app/a.py", "src/app/b.py", "reference") and same_project("a.py", "a.py", "reference")
    assert not same_project("src/a.py", "src/b.py", "reference") and same_project("src/a.py", "src/b.py")
    gated = {"mail.py": MAIL, "crew.py": "from crewai import Task\nt = Task(description='d', human_input=True)\n"}
    assert fires(gated)["STRATUM-BR01"] == 1 and "STRATUM-BR01" not in detects(gated)


def test_a_module_named_like_guardrails_is_guardrails_ai_for_the_reference(fires, detects):
    local = {"app/guardrails.py": "def check(x):\n    return x\n", "app/main.py": "from app.guardrails import check\n"}
    assert fires(local)["PORTABILITY-002"] == 1 and "PORTABILITY-002" not in detects(local)
    assert "PORTABILITY-002" not in fires({"app/main.py": "from app.checks import check\n"})


SHARED_KEY = """
import os
import openai

class Writer:
    def __init__(self):
        self.client = openai.OpenAI(api_key=os.getenv("OPENAI_API_KEY"))

    def outline(self, q):
        return self.client.chat.completions.create(model="m", messages=q, name="outline")

    def draft(self, q):
        return self.client.chat.completions.create(model="m", messages=q, name="draft")
"""


def test_the_reference_shares_a_key_read_anywhere_in_the_file(fires, detects):
    """A scope that reads no key by a call of its own uses the file's: a key read in ``__init__`` is shared by
    every method that calls the model."""
    assert fires({"w.py": SHARED_KEY})["IDENTITY-001"] == 1, "both scopes share the key read in __init__"
    assert "IDENTITY-001" not in detects({"w.py": SHARED_KEY}), "the built-in: only keys read outside functions"


# -- the ping's finding fields ---------------------------------------------------------------------------------------
def test_finding_fields_follow_catalog_section_2(ping_of):
    p = ping_of(
        {
            "tools.py": EXFIL,
            "crew.py": "from crewai_tools import FileWriterTool\n",
            "x.py": "import subprocess\n\ndef f():\n    subprocess.run('a')\n    subprocess.run('b')\n",
            "y.py": "def g():\n    exec('1')\n",
        }
    )
    rules = p["finding_rules"]
    assert rules == sorted(set(rules)) and p["finding_rule_count"] == len(rules)
    assert p["finding_instance_counts"]["STRATUM-003"] == 2, "one per (file, kind, library)"
    assert sum(p["finding_severities"].values()) == len(rules) == sum(p["finding_confidences"].values())
    assert p["total_finding_instances"] == sum(p["finding_instance_counts"].values())
    assert p["fix_impact_estimates"]["STRATUM-001"] == -25 and p["fix_impact_estimates"]["STRATUM-003"] == -15
    assert p["fix_impact_estimates"]["EVAL-002"] == -8 and p["fix_impact_estimates"]["TELEMETRY-003"] == -3
    raw = sum(scoring.weight(r, severity_of(p, r)) * n for r, n in p["finding_instance_counts"].items())
    assert p["risk_score"] == scoring.score_from_raw(raw, p["total_finding_instances"])
    assert p["findings_by_category"]["ASI02"] == 1


def test_findings_severity_and_confidence_come_from_the_first_instance():
    f = Findings(
        [
            Instance("STRATUM-006", "HIGH", "confirmed"),
            Instance("STRATUM-006", "MEDIUM", "probable"),
            Instance("EVAL-002", "MEDIUM", "probable"),
        ]
    )
    assert f.severity_counts() == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 1, "LOW": 0}
    assert f.confidence_counts() == {"confirmed": 1, "probable": 1}
    assert f.instance_counts() == {"EVAL-002": 1, "STRATUM-006": 2}
    assert f.fix_impact == {"EVAL-002": -8, "STRATUM-006": -15}
    assert f.risk_score == scoring.score_from_raw(8 + 5 + 0, 3)


# -- scoring at its edges --------------------------------------------------------------------------------------------
def test_score_edges():
    assert scoring.score_from_raw(0, 0) == 0, "no findings: 0"
    assert scoring.score_from_raw(0, 1) == 8, "findings that weigh nothing still score the floor"
    assert scoring.score_from_raw(1, 1) == 8  # 1.96 → floor 8
    assert scoring.score_from_raw(5, 6) == 12, "2 × instances beats both the formula (9.1) and 8"
    assert scoring.score_from_raw(50, 1) == 50
    assert scoring.score_from_raw(0, 50) == 100 and scoring.score_from_raw(10, 73) == 100, "50+ instances → 100"
    assert scoring.score_from_raw(10_000, 1) == 100 and scoring.score_from_raw(10**9, 1) <= 100
    assert scoring.score_from_raw(30, 1) == 38, "37.5 rounds to the even 38"
    assert scoring.score_from_raw(Fraction(50, 7), 1) == 12, "12.5 rounds to the even 12, not 13"
    assert scoring.score_from_raw(Fraction(150, 11), 1) == 21, "21.43 rounds down"


def test_class_table_and_weights_match_the_catalog():
    assert scoring.CLASS_WEIGHTS["architecture"] == {"CRITICAL": 12, "HIGH": 8, "MEDIUM": 5, "LOW": 2}
    assert scoring.CLASS_WEIGHTS["operational"] == {"CRITICAL": 8, "HIGH": 5, "MEDIUM": 3, "LOW": 1}
    assert scoring.CLASS_WEIGHTS["hygiene"] == {"CRITICAL": 3, "HIGH": 2, "MEDIUM": 1, "LOW": 0}
    assert set(scoring.CLASS_WEIGHTS["meta"].values()) == set(scoring.CLASS_WEIGHTS["none"].values()) == {0}
    classes = {r.id: r.klass for r in RULES}
    assert [i for i, k in classes.items() if k == "architecture"] == [
        "STRATUM-001",
        "STRATUM-002",
        "STRATUM-003",
        "STRATUM-004",
        "STRATUM-005",
        "STRATUM-006",
        "STRATUM-BR01",
        "STRATUM-BR02",
        "STRATUM-CR01",
        "STRATUM-CR02",
        "STRATUM-CR03",
        "STRATUM-CR04",
        "STRATUM-CR05",
        "STRATUM-CR06",
    ]
    assert [i for i, k in classes.items() if k == "operational"] == [
        "STRATUM-007",
        "STRATUM-008",
        "STRATUM-009",
        "STRATUM-010",
        "STRATUM-BR03",
        "STRATUM-BR04",
        "STRATUM-OP01",
        "STRATUM-OP02",
    ]
    assert {i for i, k in classes.items() if k == "hygiene"} == {
        "ENV-001",
        "ENV-002",
        "CONTEXT-001",
        "CONTEXT-002",
        "TELEMETRY-003",
        "IDENTITY-001",
        "IDENTITY-002",
    }
    assert {i for i, k in classes.items() if k == "meta"} == {"EVAL-001", "EVAL-002", "LEARNING-001", "PORTABILITY-001"}
    assert {i for i, k in classes.items() if k == "none"} == {
        "LEARNING-002",
        "LEARNING-003",
        "LEARNING-004",
        "CONTEXT-003",
        "TELEMETRY-001",
        "TELEMETRY-002",
        "IDENTITY-003",
        "PORTABILITY-002",
        "PORTABILITY-003",
    }
    assert (
        scoring.rule_class("STRATUM-CR05.2") == "architecture" and scoring.base_id("STRATUM-CR06.1") == "STRATUM-CR06"
    )
    assert scoring.weight("SA-999", "CRITICAL") == 0, "ids outside the catalog weigh nothing"


def test_no_weight_rules_score_only_the_floor():
    heavy = [("LEARNING-004", "CRITICAL"), ("TELEMETRY-002", "HIGH"), ("IDENTITY-003", "MEDIUM")]
    assert scoring.raw_score(heavy) == 0 and scoring.risk_score(heavy) == 8
    assert scoring.risk_score([("STRATUM-004", "CRITICAL")]) == 19  # 12 / 62


def test_fix_impact_by_severity():
    assert scoring.fix_impact({"A": "CRITICAL", "B": "HIGH", "C": "MEDIUM", "D": "LOW"}) == {
        "A": -25,
        "B": -15,
        "C": -8,
        "D": -3,
    }


# -- the rule set and its documentation ------------------------------------------------------------------------------
def test_rule_set_is_the_catalog_and_never_tc():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) == 42 and not any("TC-" in i for i in ids)
    assert {r.owasp for r in RULES} <= {f"ASI{n:02d}" for n in range(1, 11)} | {"none"}
    assert RULES_BY_ID["STRATUM-001"].owasp == "ASI01" and RULES_BY_ID["STRATUM-002"].owasp == "ASI09"
    assert RULES_BY_ID["STRATUM-003"].owasp == "ASI02" and RULES_BY_ID["STRATUM-004"].owasp == "ASI06"
    assert RULES_BY_ID["STRATUM-010"].owasp == "ASI05" and RULES_BY_ID["PORTABILITY-003"].owasp == "none"
    page = rules_markdown()
    assert all(f"| {i} |" in page for i in ids) and "differs from the reference" in page
    assert all(topic in page for topic, _, _ in DIFFERENCES + READINGS)


def test_capability_layer_resolves_names_and_dedupes():
    facts = extract(
        [
            (
                "a.py",
                "import requests as rq\nimport sqlite3\nclient = rq.Session()\n\ndef f():\n"
                "    client.get('u')\n    conn = sqlite3.connect('x')\n    cursor = conn.cursor()\n"
                "    cursor.execute('DROP TABLE t')\n    rq.post('v')\n",
            )
        ]
    )
    kinds = {(c.kind, c.library) for c in facts.caps}
    assert kinds == {("outbound", "requests"), ("data_access", "sqlite3"), ("destructive", "sqlite3")}
    outbound = next(c for c in facts.caps if c.kind == "outbound")
    assert outbound.via == "module-variable" and not outbound.timeout
    assert extract([("b.py", "def broken(:\n")]).caps == [], "a file that does not parse is skipped"
    rebound = "import requests\n\ndef f():\n    s = make()\n    s = requests.Session()\n    s.get('u')\n"
    assert [c.kind for c in extract([("c.py", rebound)]).caps] == ["outbound"], "the last binding counts"
    unbound = "import requests\n\ndef f():\n    s = requests.Session()\n    s = make()\n    s.get('u')\n"
    assert extract([("d.py", unbound)]).caps == []
    env = extract([], root_files={"sub/.env": "A=1\n", ".env.local": "B=2\n", ".gitignore": "*.env\n"})
    assert env.env_files == [".env.local"] and env.env_names == {"B"} and env.env_ignored
    assert is_root_file(".env.example") and is_root_file(".cursor/mcp.json") and is_root_file("x.json")
    assert not is_root_file("sub/.env") and not is_root_file("sub/x.json") and not is_root_file("a.py")
    assert same_project("src/app/a.py", "src/app/tools/b.py") and same_project("a.py", "b.py")
    assert not same_project("recipes/one/a.py", "recipes/two/a.py")
