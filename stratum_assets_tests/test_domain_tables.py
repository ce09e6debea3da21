"""One source of truth per domain fact: the framework table, the gate table, chunk ids, repo_hash.

A fake framework added to the table (and nowhere else) is named by discovery in search results of a
stratum built from a strata file, detected by the scanner in a checkout that imports it, and shown
in the audit's frameworks section and gate G2. The gate table alone words the check descriptions and
the report's gate lines, and the report's advice reads the gate's number, never its text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import textwrap
from dataclasses import replace
from datetime import date

import duckdb
import pytest

from stratum_assets.audit import report
from stratum_assets.audit.gate_measures import GateThresholds, check_descriptions, evaluate
from stratum_assets.audit.report import compute, recommendations, render
from stratum_assets.discovery.candidates import discover_stratum
from stratum_assets.discovery.strata import frameworks_named, load_strata_file, strata
from stratum_assets.domain import chunks, gate_table
from stratum_assets.domain import frameworks as framework_table
from stratum_assets.domain.frameworks import Framework
from stratum_assets.domain.identity import repo_hash
from stratum_assets.github.client import GitHubClient
from stratum_assets.github.governor import RateGovernor
from stratum_assets.scanner.engine import scan_repository
from stratum_assets.scanner.model import EXTRACTORS
from stratum_assets_tests.support import synthetic_pings
from stratum_sandbox import codegen, universe
from stratum_sandbox.server import GitHubEmulator
from stratum_sandbox.universe import Universe, build_universe

FAKE = Framework(
    "FakeAgents",
    imports=("fakeagents", "fakeagents_*"),
    distributions=(("fakeagents", 0), ("fakeagents-core", 1)),
    keywords=("fakeagents",),
    strata=("fakeagents_active",),
    gate_rank=6,
    reference_imports=("fakeagents",),
)


@pytest.fixture
def fake_framework(monkeypatch):
    """The framework table with one more row, and nothing else changed anywhere."""
    monkeypatch.setattr(framework_table, "FRAMEWORKS", (*framework_table.FRAMEWORKS, FAKE))
    return FAKE


# -- (a) discovery ------------------------------------------------------------------------------------------
STRATA_YAML = """
strata:
  fakeagents_active:
    target: 40
    queries: ["fakeagents"]
    pushed_after: "2020-01-01"
  fake_multi:
    target: 40
    queries: ["fakeagents crewai"]
    pushed_after: "2020-01-01"
    min_frameworks: 2
profiles:
  full:
    target_scale: 1.0
"""


@pytest.fixture(scope="module")
def fake_github(tmp_path_factory):
    """A small offline GitHub where three repositories say they use FakeAgents together with CrewAI."""
    base = build_universe(seed=3, size=60)
    picked = [r for r in base.repos if not r.is_fork and not r.deleted and not r.slow and not frameworks_named(r.name)][
        :3
    ]
    names = {r.full_name for r in picked}
    repos = [
        replace(r, description="Research agents built with fakeagents and crewai", topics=("fakeagents", "llm"))
        if r.full_name in names
        else r
        for r in base.repos
    ]
    with GitHubEmulator(Universe(seed=3, size=len(repos), repos=repos), tmp_path_factory.mktemp("fake-git")) as em:
        yield em, sorted(names)


def _discover(em, strata_file, name):
    stratum = strata("full", path=str(strata_file))[name]
    client = GitHubClient(
        em.url, "ghp_FakeFrameworkTestToken000000000000001", governor=RateGovernor(search_per_minute=10_000)
    )
    return stratum, discover_stratum(client, stratum)


def test_a_framework_added_to_the_table_is_named_by_discovery(fake_framework, fake_github, tmp_path):
    em, fake_repos = fake_github
    strata_file = tmp_path / "strata.yaml"
    strata_file.write_text(STRATA_YAML)
    own = strata("full", path=str(strata_file))["fakeagents_active"]
    assert own.frameworks == ("FakeAgents",), "the stratum that searches for it is the table's"
    assert [own.search_query(q) for q in own.queries] == ["fakeagents pushed:>2020-01-01"]
    assert frameworks_named("my-fakeagents-bot") == {"FakeAgents"}

    _stratum, found = _discover(em, strata_file, "fake_multi")
    rows = {r["full_name"]: r for r in found.rows}
    assert sorted(rows) == fake_repos, (found.dropped, found.search_hits)
    for row in rows.values():
        assert row["discovery_query"] == "fakeagents crewai pushed:>2020-01-01"
        assert row["frameworks_named"] == ["CrewAI", "FakeAgents"], "two frameworks named: kept by min_frameworks"


def test_without_the_row_the_same_search_drops_them_as_naming_one_framework(fake_github, tmp_path):
    em, fake_repos = fake_github
    strata_file = tmp_path / "strata.yaml"
    strata_file.write_text(STRATA_YAML)
    _, found = _discover(em, strata_file, "fake_multi")
    assert found.search_hits == len(fake_repos) and found.rows == []
    assert found.dropped["too_few_frameworks"] == len(fake_repos)


# -- (b) scanner -------------------------------------------------------------------------------------------
def _fake_checkout(root):
    (root / "app").mkdir(parents=True)
    (root / "app" / "crew.py").write_text(
        textwrap.dedent("""\
        from fakeagents import Agent
        from fakeagents_tools import SearchTool

        researcher = Agent(name="researcher", role="Finds sources", tools=[SearchTool()])
        """)
    )
    (root / "requirements.txt").write_text("fakeagents==1.4.2\nfakeagents-core>=1.0\nrequests==2.32.3\n")
    return root


def test_the_scanner_detects_a_framework_added_to_the_table(fake_framework, tmp_path):
    ping = scan_repository(_fake_checkout(tmp_path / "repo"), "someone/fake-crew")
    assert ping["frameworks"] == ping["detected_frameworks"] == ["FakeAgents"]
    assert ping["framework_versions"] == {"FakeAgents": "1.4.2"}, "its own distribution's pin wins over its part's"


def test_every_framework_row_has_one_extractor_of_its_agents_and_groups():
    """A framework is one row plus one extractor (scanner/model.py), registered under the row's label."""
    assert set(EXTRACTORS) == set(framework_table.labels())


def test_without_the_row_the_scanner_sees_no_framework(tmp_path):
    ping = scan_repository(_fake_checkout(tmp_path / "repo"), "someone/fake-crew")
    assert ping["frameworks"] == ping["detected_frameworks"] == [] and ping["framework_versions"] == {}


# -- (c) audit ---------------------------------------------------------------------------------------------
def _scan_dataset(rows: list[tuple[str, list[str]]]) -> duckdb.DuckDBPyConnection:
    """A ``scan_dataset`` of usable stored pings: (stratum, frameworks) per repository."""
    conn = duckdb.connect()
    conn.execute("""CREATE TABLE scan_dataset (repo_hash VARCHAR, outcome VARCHAR, scan_status VARCHAR,
        failure_reason VARCHAR, frameworks VARCHAR[], risk_score BIGINT, finding_rules VARCHAR[],
        deployment_signals STRUCT(deployment_score BIGINT), topology_key VARCHAR, files_scanned BIGINT,
        files_total BIGINT, fork_parent VARCHAR, language_bytes VARCHAR, selection_stratum VARCHAR, scanner VARCHAR,
        scanner_version VARCHAR)""")
    for i, (stratum, fws) in enumerate(rows):
        conn.execute(
            "INSERT INTO scan_dataset VALUES (?, 'stored', 'success', NULL, ?, 40, ['EVAL-002'], "
            "{'deployment_score': 3}, ?, 9, 10, NULL, '{\"Python\": 100}', ?, 'builtin', '1')",
            [repo_hash(f"o/r{i}"), fws, f"{i:016x}", stratum],
        )
    return conn


def test_the_audit_shows_a_framework_added_to_the_table(fake_framework):
    conn = _scan_dataset([("fakeagents_active", ["FakeAgents"])] * 3 + [("crewai", ["CrewAI"])] * 5)
    thresholds = GateThresholds.for_profile("sample", 8)
    data = compute(conn, {"fakeagents_active": 7, "crewai": 6}, thresholds)
    assert data.framework_targets["FakeAgents"] == 7, "its target: the sum of its strata's"
    text = render(data, 1, "sample")
    assert "| FakeAgents | 3 | 7 | 4 short |" in text
    assert "| CrewAI | 5 | 6 | 1 short |" in text
    g2 = {g.name: g for g in data.gates}["G2"]
    assert g2.title == (
        "repos per framework (LangChain, CrewAI, LangGraph, AutoGen, LlamaIndex, FakeAgents); weakest shown"
    )
    assert "G2: add discovery queries for LangChain, LangGraph, AutoGen, LlamaIndex." in recommendations(data)
    assert "FakeAgents" in check_descriptions()["G2"]


def test_the_synthetic_generator_and_the_offline_github_read_the_table():
    assert synthetic_pings.FRAMEWORK_OF_STRATUM["llamaindex"] == "LlamaIndex"
    assert (
        list(synthetic_pings._FRAMEWORKS)
        == list(universe.FRAMEWORKS)
        == [f.label for f in framework_table.FRAMEWORKS if f.offline_weight]
    )
    assert set(codegen._RENDERERS) == set(universe.FRAMEWORKS), "each offline framework renders idiomatic code"
    assert {fw: pin for fw, (pin, _) in codegen._PACKAGES.items()} == {
        f.label: f.own_distribution for f in framework_table.offline()
    }
    every_stratum = set(load_strata_file().strata)
    assert set(framework_table.framework_of_stratum()) <= every_stratum, "the table names strata that exist"
    assert set(synthetic_pings.FRAMEWORK_OF_STRATUM) == every_stratum


# -- gates -------------------------------------------------------------------------------------------------
SECTIONS = {
    "volume": {"usable": 100, "stored": 100, "quarantined": 0, "by_status": {"success": 100}},
    "frameworks": {"counts": {"LangChain": 30, "CrewAI": 12, "LangGraph": 25, "AutoGen": 19, "LlamaIndex": 20}},
    "maturity": {"mature": 30},
    "findings": {"prevalence": {"R01": {"repos": 10}}},
    "duplicates": {"repos_in_groups_share": 0.0},
    "coverage": {"median_ratio": 0.9},
}


def test_a_default_changed_in_the_gate_table_changes_the_check_description(monkeypatch):
    g1 = gate_table.by_id("G1")
    bigger = replace(g1, thresholds=(replace(g1.thresholds[0], default=45_000),))
    monkeypatch.setattr(gate_table, "GATES", tuple(bigger if g.id == "G1" else g for g in gate_table.GATES))
    assert check_descriptions()["G1"] == (
        "success + partial >= 45,000 (full profile; the sample profile scales the counts to the manifest size)"
    )
    assert gate_table.defaults()["g1_min_usable"] == 45_000


def test_the_report_line_and_the_advice_follow_the_threshold_not_its_text():
    gates = evaluate(SECTIONS, GateThresholds.for_profile("full", 100, g2_min_per_framework=20, g1_min_usable=101))
    by_name = {g.name: g for g in gates}
    assert (by_name["G1"].threshold, by_name["G1"].limit, by_name["G1"].passed) == (">= 101", 101, False)
    assert (by_name["G2"].threshold, by_name["G2"].limit, by_name["G2"].measured) == (">= 20 each", 20, "CrewAI 12")
    worded = [replace(g, threshold="at least twenty apiece") if g.name == "G2" else g for g in gates]
    advice = recommendations(
        report.AuditResults(
            volume={"pending": 0},
            frameworks=SECTIONS["frameworks"],
            scores={},
            findings={"rare_rules": []},
            maturity={},
            duplicates={},
            coverage={},
            strata={},
            scanners={},
            framework_targets={},
            gates=worded,
            exclusions=None,
            duplicate_groups=None,
            discovery={},
        )
    )
    assert advice[:2] == [gate_table.by_id("G1").advice, "G2: add discovery queries for CrewAI, AutoGen."], (
        "the gate's number decides, not its text"
    )
    assert not hasattr(report, "_min_fw")


def test_every_threshold_of_the_gate_table_is_a_threshold_of_the_config_with_its_default():
    assert list(GateThresholds.model_fields) == [t.key for t in gate_table.thresholds()]
    assert GateThresholds().model_dump() == gate_table.defaults()
    sample = GateThresholds.for_profile("sample", 178)
    for t in gate_table.thresholds():
        expected = gate_table.scale_count(t.default, 178) if t.scaled else t.default
        assert getattr(sample, t.key) == expected, t.key
    assert [f.name for f in dataclasses.fields(gate_table.GateSpec)][:4] == [
        "id",
        "thresholds",
        "compares",
        "comparison",
    ]


# -- chunk ids and repo_hash -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "version, index, text", [(1, 0, "v1-c0000"), (1, 17, "v1-c0017"), (12, 9999, "v12-c9999"), (3, 12345, "v3-c12345")]
)
def test_chunk_ids_round_trip(version, index, text):
    assert chunks.chunk_id(version, index) == text
    assert chunks.parse(text) == (version, index)
    assert chunks.version_of(text) == version
    assert chunks.PATTERN.fullmatch(text)


@pytest.mark.parametrize(
    "text",
    [
        "v1-c000",
        "v0-c0000",
        "v01-c0000",
        "v1-c00001",
        "1-c0000",
        "v1c0000",
        "v1-c0000x",
        ".v1-c0000.new-ab12",
        "",
        "v-c0000",
    ],
)
def test_what_is_not_a_chunk_id_is_refused(text):
    with pytest.raises(ValueError, match="is not a chunk id"):
        chunks.parse(text)


def test_a_partition_folder_glob_matches_chunk_ids_and_never_a_staging_copy(tmp_path):
    for name in ("v1-c0000", "v1-c0001", ".v1-c0000.new-x1"):
        (tmp_path / name).mkdir()
    assert sorted(p.name for p in tmp_path.glob(chunks.GLOB)) == ["v1-c0000", "v1-c0001"]


def test_repo_hash_is_the_lowercased_full_name_digest_and_one_function():
    from stratum_assets.manifest import build
    from stratum_assets.scanner import ping_file

    assert repo_hash("Priya-AI/Tutor-Agents") == hashlib.sha256(b"priya-ai/tutor-agents").hexdigest()[:16]
    assert build.repo_hash is repo_hash and ping_file.repo_hash is repo_hash
    assert build.chunk_id is chunks.chunk_id


@pytest.mark.parametrize("version, index", [(0, 0), (0, 5), (1, -1), (-2, -1)])
def test_no_chunk_id_for_a_version_below_one_or_a_negative_index(version, index):
    with pytest.raises(ValueError, match=re.escape(f"no chunk id for version {version}, index {index}")):
        chunks.chunk_id(version, index)


@pytest.mark.parametrize("value", [None, 1, b"v1-c0000", ("v1-c0000",)])
def test_a_chunk_id_that_is_not_text_is_refused_like_any_other(value):
    with pytest.raises(ValueError, match="is not a chunk id"):
        chunks.parse(value)


# -- the tables' lookups -------------------------------------------------------------------------------
GATED_LABELS = ["LangChain", "CrewAI"]


def test_a_check_description_names_the_frameworks_and_only_a_scaled_gate_carries_the_scaling_note():
    values = gate_table.defaults()
    assert gate_table.by_id("G2").describe(values, GATED_LABELS) == (
        "each of LangChain, CrewAI >= 1,000 repos" + gate_table.SCALED_NOTE
    )
    assert gate_table.by_id("G6").describe(values, GATED_LABELS) == "empty <= 20%"
    assert gate_table.by_id("G5").describe(values, GATED_LABELS) == (
        "<= 5% of repos share a topology_signature_hash with 10+ others"
    )


def test_an_unknown_gate_is_refused_with_the_gates_there_are():
    assert gate_table.by_id("G4").compares == "g4_min_rules"
    with pytest.raises(KeyError, match=re.escape("no gate 'G9'; the gates are G1, G2, G3, G4, G5, G6, G7, G8")):
        gate_table.by_id("G9")


def test_the_gate_table_helpers_build_a_count_and_a_share():
    Threshold = gate_table.Threshold
    assert gate_table._count("k", 7) == Threshold("k", 7, share=False, maximum=10_000_000, scaled=False)
    assert gate_table._count("k", 7, scaled=True, maximum=99) == Threshold("k", 7, share=False, maximum=99, scaled=True)
    assert gate_table._share("s", 0.25) == Threshold("s", 0.25, share=True, maximum=10_000_000, scaled=False)


ALL_LABELS = (
    "LangChain",
    "LangGraph",
    "CrewAI",
    "AutoGen",
    "LlamaIndex",
    "Agno",
    "SmolAgents",
    "PydanticAI",
    "Semantic Kernel",
    "Phidata",
    "Google ADK",
    "OpenAI Agents SDK",
)


def test_the_table_lists_the_frameworks_and_discovery_names_the_first_seven():
    assert framework_table.labels() == ALL_LABELS
    assert [f.label for f in framework_table.FRAMEWORKS if f.keywords] == list(ALL_LABELS[:7])
    assert framework_table.FRAMEWORKS[-1].own_distribution == "openai-agents"


def test_a_framework_built_offline_even_rarely_is_in_the_offline_draw(monkeypatch):
    rare = Framework(
        "RareAgents",
        ("rareagents",),
        (("rareagents", 0),),
        released=date(2025, 1, 1),
        offline_weight=1,
        offline_version="1.{}.0",
    )
    monkeypatch.setattr(framework_table, "FRAMEWORKS", (*framework_table.FRAMEWORKS, rare))
    assert [f.label for f in framework_table.offline()] == [*ALL_LABELS[:7], "RareAgents"]


def test_a_row_built_offline_without_its_release_version_or_distribution_is_refused_at_the_table():
    """universe.py and codegen.py read these three of every row with an offline weight when they load."""
    with pytest.raises(ValueError) as refused:
        Framework("RareAgents", ("rareagents",), offline_weight=1)
    assert str(refused.value) == (
        "framework 'RareAgents' has offline_weight > 0 but no released, offline_version, its own distribution (rank 0)"
    )
    with pytest.raises(ValueError, match=r"but no offline_version$"):
        Framework("RareAgents", ("rareagents",), (("rareagents", 0),), released=date(2025, 1, 1), offline_weight=1)
    assert Framework("Unbuilt", ("unbuilt",)).offline_weight == 0, "a row the offline GitHub never builds needs none"


def test_a_derived_index_is_built_once_per_table_and_again_for_a_replaced_table(monkeypatch):
    built = []

    def build(table):
        built.append(table)
        return {f.label for f in table}

    index = framework_table.derived(build)
    assert index() == set(ALL_LABELS) and index() is index()
    assert built == [framework_table.FRAMEWORKS] and index.__name__ == "build"
    monkeypatch.setattr(framework_table, "FRAMEWORKS", (*framework_table.FRAMEWORKS, FAKE))
    assert index() == {*ALL_LABELS, "FakeAgents"} and index() is index()
    assert built == [built[0], framework_table.FRAMEWORKS], "built again for the new table, once"
