"""The synthetic universe mirrors the shapes of real GitHub that the methodology must cope with."""

import ast
from collections import Counter
from datetime import UTC, datetime
from statistics import median

import pytest

from stratum_sandbox.codegen import SYMLINK_MODE, language_bytes, render_files
from stratum_sandbox.universe import FRAMEWORKS, SIGNALS, build_universe, repo_id_from_node_id


def test_same_seed_same_universe_other_seed_other_universe(universe):
    again = build_universe(seed=7, size=400)
    assert again.repos == universe.repos
    assert build_universe(seed=8, size=400).repos != universe.repos


def test_names_and_ids_are_unique_and_node_ids_round_trip(universe):
    # 400 repositories, then the lightly edited clones on top (2% of 400) and the drifted copies (19): the
    # near-duplicate ground truth
    assert sum(r.archetype == "edited_clone" for r in universe.repos) == 8
    assert len({r.full_name.lower() for r in universe.repos}) == len(universe.repos) == 427
    assert len({r.id for r in universe.repos}) == 427
    assert all(repo_id_from_node_id(r.node_id) == r.id for r in universe.repos)
    assert repo_id_from_node_id("not-a-node-id") is None


def test_stars_follow_a_power_law(universe):
    stars = sorted((r.stars for r in universe.repos if not r.is_fork), reverse=True)
    assert median(stars) <= 15
    assert stars[0] >= 1000
    top = stars[: len(stars) // 100 + 1]
    assert sum(top) > 0.3 * sum(stars)


def test_one_example_repository_has_thirty_forks_and_forks_share_its_code(universe):
    parents = Counter(r.parent for r in universe.repos if r.is_fork)
    parent_name, n = parents.most_common(1)[0]
    assert n >= 30
    parent = universe.get(parent_name)
    assert parent.forks_count >= n
    forks = universe.forks_of(parent_name)
    assert {f.code_seed for f in forks} == {parent.code_seed}


def test_copy_paste_clones_are_not_forks_but_carry_the_same_code(universe):
    clones = [r for r in universe.repos if r.archetype == "clone"]
    assert len(clones) >= 6
    sources = {r.code_seed: r for r in universe.repos if r.archetype != "clone" and not r.is_fork}
    for clone in clones:
        assert not clone.is_fork
        source = sources[clone.code_seed]
        assert source.full_name != clone.full_name
        assert _python_structure(clone) == _python_structure(source)


def _python_structure(repo) -> dict[str, str]:
    """Each Python file's syntax tree with string literals blanked: what a copy-paste keeps."""
    out = {}
    for f in render_files(repo):
        if f.path.endswith(".py") and "syntax_error" not in repo.quirks:
            tree = ast.parse(f.data)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    node.value = ""
            out[f.path] = ast.dump(tree)
    return out


def test_every_rare_archetype_is_present(universe):
    repos = universe.repos
    floor = datetime(2024, 6, 1, tzinfo=UTC)
    assert sum(r.pushed_at < floor for r in repos) >= 20, "stale repositories below every recency floor"
    assert sum(r.archetype == "non_python" for r in repos) >= 5
    assert sum(r.archetype == "no_agents" for r in repos) >= 5
    assert sum(r.archetype == "multi" and len(r.frameworks) >= 2 for r in repos) >= 10
    assert sum(r.deleted for r in repos) >= 2
    assert sum(r.slow for r in repos) >= 1
    quirks = Counter(q for r in repos for q in r.quirks)
    for quirk in ("syntax_error", "non_utf8", "oversized", "symlink_escape"):
        assert quirks[quirk] >= 1, quirk
    single = Counter(r.frameworks[0] for r in repos if r.archetype == "single")
    assert set(single) == set(FRAMEWORKS)
    assert all(any(s in r.signals for r in repos) for s in SIGNALS)
    assert all(r.created_at <= r.pushed_at for r in repos)


def test_generated_python_parses_except_the_planted_syntax_errors(universe):
    broken = []
    for repo in universe.repos:
        for f in render_files(repo):
            if f.path.endswith(".py") and f.mode != SYMLINK_MODE:
                try:
                    ast.parse(f.data)
                except (SyntaxError, ValueError):
                    broken.append((repo, f.path))
    assert broken, "some repositories must carry files with syntax errors"
    assert all("syntax_error" in repo.quirks and path.startswith("legacy/") for repo, path in broken)


def test_each_framework_is_written_the_way_its_users_write_it(universe):
    idioms = {
        "LangChain": b"create_tool_calling_agent",
        "LangGraph": b"StateGraph(",
        "CrewAI": b"from crewai import",
        "AutoGen": b"autogen",
        "LlamaIndex": b"ReActAgent",
        "Agno": b"from agno.agent import Agent",
        "SmolAgents": b"from smolagents import",
    }
    for fw, marker in idioms.items():
        repo = next(r for r in universe.repos if r.archetype == "single" and r.frameworks[0] == fw)
        code = b"".join(f.data for f in render_files(repo) if f.path.endswith(".py"))
        assert marker in code, fw
    crew_yaml = [
        f
        for r in universe.repos
        if "CrewAI" in r.frameworks
        for f in render_files(r)
        if f.path.endswith("config/agents.yaml")
    ]
    assert crew_yaml and b"role:" in crew_yaml[0].data


def test_language_bytes_reflect_the_code(universe):
    ts = next(r for r in universe.repos if r.archetype == "non_python")
    assert next(iter(language_bytes(ts))) == "TypeScript"
    py = next(r for r in universe.repos if r.archetype == "single")
    assert next(iter(language_bytes(py))) == "Python"
    assert all(isinstance(v, int) and v > 0 for v in language_bytes(py).values())


@pytest.mark.slow
def test_sixty_thousand_metadata_only_repositories():
    big = build_universe(seed=3, size=60_000)
    # 60,000, 2% edited clones on top, then the drifted copies (~4.7%: 300 evolving sources with their snapshots,
    # 600 copies that grew, 150 templates with their started projects)
    assert len(big.repos) == 64_049
    assert len(big.by_full_name) == 64_049
    assert sum(r.is_fork for r in big.repos) > 5_000
    assert sum(r.deleted for r in big.repos) >= 20


def test_unrelated_projects_with_the_same_tools_rarely_render_one_tools_module(universe):
    """Each project picks its own timeout, text limit and search hits, as real ones do: unrelated projects that
    drew the same tools do not share a tools module byte for byte (a copy, to the near-duplicate detector).
    Measured: 6 of 270 projects with two tools or more (3 pairs), against 70 with one fixed style."""
    holders: dict[bytes, set[int]] = {}
    for repo in universe.repos:
        if repo.archetype in ("single", "multi") and not repo.is_fork:
            data = {f.path: f.data for f in render_files(repo)}.get("tools.py")
            if data and data.count(b"\ndef ") >= 2:
                holders.setdefault(data, set()).add(repo.code_origin)
    assert sum(map(len, holders.values())) > 250
    assert sum(len(h) for h in holders.values() if len(h) > 1) <= 10
