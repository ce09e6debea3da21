"""Repository names are strangers' input: only a GitHub owner/name ever becomes a candidate."""

from dataclasses import replace

import pytest

from stratum_assets.discovery.candidates import discover_stratum
from stratum_assets.discovery.strata import strata
from stratum_assets.github.client import GitHubClient
from stratum_assets.github.governor import RateGovernor
from stratum_assets.github.names import full_name_problem
from stratum_sandbox.server import GitHubEmulator
from stratum_sandbox.universe import Universe


@pytest.mark.parametrize(
    "name",
    ["a/b", "crewAIInc/crewAI-examples", "a-b-c/x.y_z-1", "a" * 39 + "/r", "o/" + "n" * 100, "o/.github", "o/..."],
)
def test_github_names_are_accepted(name):
    assert full_name_problem(name) is None


@pytest.mark.parametrize(
    "name, problem",
    [
        ("attacker/../o/benign", "name '../o/benign'"),
        ("o/r/extra", "name 'r/extra'"),
        ("o/.", "name '.'"),
        ("o/..", "name '..'"),
        ("o/a b", "name 'a b'"),
        ("o/", "name ''"),
        ("o/" + "n" * 101, "name 'nnn"),
        ("-o/r", "owner '-o'"),
        ("o-/r", "owner 'o-'"),
        ("o--p/r", "owner 'o--p'"),
        ("a" * 40 + "/r", "owner 'aaa"),
        ("/r", "owner ''"),
        ("https://evil.example/x", "owner 'https:'"),
        ("o_p/r", "owner 'o_p'"),
        ("o\nx/r", "owner 'o\\nx'"),
        ("noslash", "no '/' between owner and name"),
        (None, "not a string: NoneType"),
    ],
)
def test_anything_else_is_refused_with_the_reason(name, problem):
    assert problem in (full_name_problem(name) or "accepted")


def test_a_hostile_name_in_a_search_answer_is_dropped_with_its_reason_and_never_becomes_a_candidate(universe, tmp_path):
    stratum = strata("sample")["crewai"]
    victim = next(
        r
        for r in universe.repos
        if "CrewAI" in r.frameworks and not r.deleted and not r.is_fork and r.pushed_at.date() > stratum.pushed_after
    )
    hostile = replace(victim, name="../o/benign")
    poisoned = Universe(universe.seed, universe.size, [hostile if r is victim else r for r in universe.repos])
    with GitHubEmulator(poisoned, tmp_path / "git") as em:
        clean_client = GitHubClient(em.url, "t", governor=RateGovernor(search_per_minute=10_000))
        result = discover_stratum(clean_client, stratum)
    names = [r["full_name"] for r in result.rows]
    assert hostile.full_name not in names and victim.full_name not in names
    assert result.dropped["invalid_full_name"] == 1
    assert result.invalid_names == [
        {
            "full_name": f"{victim.owner}/../o/benign",
            "problem": "name '../o/benign' is not 1-100 letters, digits, '.', '-' or '_' (nor '.' or '..')",
        }
    ]
