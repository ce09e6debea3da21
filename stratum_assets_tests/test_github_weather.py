"""GitHub as its documentation says it answers: no candidate lost to search timeouts, partial GraphQL answers,
secondary limits or blocked and renamed repositories.

Each behaviour is a switchable fault of the loopback emulator (``stratum_sandbox.limits.WEATHER_KINDS``, each
named there with the documentation it follows); each test arms one and checks that discovery either finds
everything a clear-weather search finds or lists what it could not get, with the reason.
"""

import json
from datetime import datetime, timezone

from stratum_assets.github.client import GitHubClient
from stratum_assets.github.governor import RateGovernor
from stratum_assets.github.search import GAP_REASONS, SearchCheckpoint, search_all
from stratum_sandbox.limits import Fault

from .conftest import FakeTime

SECRET = "ghp_ThisIsATestTokenThatMustNeverLeak0002"
UTC = timezone.utc


def _client(em, **governor):
    return GitHubClient(em.url, SECRET, governor=RateGovernor(search_per_minute=10_000, **governor))


def _expected(em, q):
    return {repo.id for repo, _ in em.index.search(q, None, "desc")}


# -- 1. search windows: complete or accounted for ---------------------------------------------------------------
def test_a_window_whose_pages_all_time_out_is_split_until_complete(large_emulator, tmp_path):
    """604 matches, every search over 150 times out at 40%: 241 found "of 241" is not a finished window."""
    expected = _expected(large_emulator, "crewai")
    assert len(expected) == 604
    large_emulator.faults.add(Fault("search_incomplete", "search", times=100_000, above=150, fraction=0.4))
    try:
        checkpoint = SearchCheckpoint(tmp_path / "crewai.jsonl")
        outcome = search_all(_client(large_emulator), "crewai", checkpoint=checkpoint)
    finally:
        fired = large_emulator.faults.fired()
        large_emulator.faults.clear()
    assert fired >= 2
    assert set(outcome.items) == expected and outcome.truncated == []
    # every window the checkpoint calls done holds all its matches: none was recorded while incomplete
    for line in checkpoint.path.read_text().splitlines():
        entry = json.loads(line)
        window = "created:{}..{}".format(*entry["window"])
        assert {item["id"] for item in entry["items"]} == _expected(large_emulator, f"crewai {window}")


def test_a_broad_window_that_times_out_below_the_cap_is_still_split(large_emulator):
    """2,018 matches answered as "706 of 706, incomplete": below the cap, yet the window must be split."""
    expected = _expected(large_emulator, "agent")
    assert len(expected) == 2018
    large_emulator.faults.add(Fault("search_incomplete", "search", times=100_000, above=400, fraction=0.35))
    try:
        outcome = search_all(_client(large_emulator), "agent")
    finally:
        large_emulator.faults.clear()
    assert set(outcome.items) == expected and outcome.truncated == []


def test_counts_that_move_between_pages_are_judged_by_the_largest(large_emulator):
    """total_count 971 on page 1, 1,171 on the later pages: the window holds more than the cap and is split."""
    expected = _expected(large_emulator, "langchain")
    assert len(expected) == 1171
    large_emulator.faults.add(Fault("search_count_drift", "search", times=1, drift=200))
    try:
        outcome = search_all(_client(large_emulator), "langchain")
    finally:
        fired = large_emulator.faults.fired()
        large_emulator.faults.clear()
    assert fired == 1
    assert set(outcome.items) == expected and outcome.truncated == []


def test_a_one_second_window_that_keeps_timing_out_is_recorded_with_its_reason(large_emulator, tmp_path):
    """A window that cannot be split and never answers complete is listed as `incomplete`, never as done."""
    repo = next(r for r, _ in large_emulator.index.search("crewai", None, "desc"))
    second = repo.created_at.astimezone(UTC)
    large_emulator.faults.add(Fault("search_incomplete", "search", times=100_000, fraction=0.0))
    try:
        checkpoint = SearchCheckpoint(tmp_path / "one.jsonl")
        outcome = search_all(_client(large_emulator), "crewai", start=second, end=second, checkpoint=checkpoint)
    finally:
        large_emulator.faults.clear()
    when = second.strftime("%Y-%m-%dT%H:%M:%SZ")
    gap = {"query": "crewai", "window": [when, when], "total_count": 0, "fetched": 0,
           "reason": GAP_REASONS["incomplete"]}
    assert outcome.items == {} and outcome.truncated == [gap]
    assert json.loads(checkpoint.path.read_text())["truncated"] == [gap]
