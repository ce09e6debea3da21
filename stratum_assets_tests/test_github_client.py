"""The GitHub client against the loopback emulator: no candidate lost to the cap, faults or crashes."""

import itertools
import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from stratum_assets.github.client import GitHubClient, GitHubError
from stratum_assets.github.enrich import enrich
from stratum_assets.github.governor import RateGovernor
from stratum_assets.github.search import SearchCheckpoint, Window, search_all
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator
from stratum_sandbox.universe import Universe

from .conftest import FakeTime

SECRET = "ghp_ThisIsATestTokenThatMustNeverLeak0001"


def _client(em, **governor):
    return GitHubClient(em.url, SECRET, governor=RateGovernor(search_per_minute=10_000, **governor))


def _expected_ids(em, q):
    return {repo.id for repo, _ in em.index.search(q, None, "desc")}


# -- the retry rule and pacing (pure logic, fake clock) ---------------------------------------


def test_retry_rule_follows_githubs_documented_order():
    t = FakeTime()
    gov = RateGovernor(clock=t.clock, sleep=t.sleep, max_tries=4)
    assert gov.retry_after(1, 403, {"retry-after": "17"}).wait_seconds == 17
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(t.now) + 30)}
    assert gov.retry_after(1, 403, reset).wait_seconds == pytest.approx(31)
    assert gov.retry_after(1, 429, {"x-ratelimit-remaining": "12"}).wait_seconds >= 60
    assert gov.retry_after(2, 429, {}).wait_seconds > gov.retry_after(1, 429, {}).wait_seconds
    assert gov.retry_after(2, 502, {}).wait_seconds == 2 and gov.retry_after(3, None, {}).wait_seconds == 4
    assert gov.retry_after(4, 502, {}) is None, "tries are bounded"
    assert gov.rate_limit_hits == 5


def test_search_is_paced_under_the_per_minute_budget():
    t = FakeTime()
    gov = RateGovernor(search_per_minute=3, clock=t.clock, sleep=t.sleep)
    for _ in range(7):
        gov.before_request("search")
    assert sum(t.slept) == pytest.approx(120)
    assert gov.requests["search"] == 7 and gov.waits["pacing:search"] == 2


@pytest.mark.slow
def test_an_exhausted_budget_is_waited_out_instead_of_hit(universe, tmp_path):
    with GitHubEmulator(universe, tmp_path, budgets={"search": (2, 1.0)}) as em:
        client = _client(em)
        statuses = [client.get("/search/repositories", {"q": "agent"}, resource="search").status_code for _ in range(5)]
        assert statuses == [200] * 5
        assert client.governor.waits["pacing:search"] >= 1
        assert client.governor.rate_limit_hits == 0, "the governor never spent a request on a certain 403"


# -- search past the cap ----------------------------------------------------------------------
def test_windowed_search_returns_every_result_past_the_cap(large_emulator):
    client = _client(large_emulator)
    outcome = search_all(client, "agent")
    expected = _expected_ids(large_emulator, "agent")
    assert len(expected) > 1000
    assert set(outcome.items) == expected
    assert outcome.windows_searched >= 2 and outcome.truncated == []


def test_a_window_that_cannot_be_split_is_reported_not_silently_cut(large_universe, tmp_path):
    burst = datetime(2025, 3, 3, 12, 0, 0, tzinfo=UTC)  # a mass import: 1,100 repos in one second
    repos = [
        replace(r, created_at=burst, description=f"{r.description} burstword") if i < 1100 else r
        for i, r in enumerate(large_universe.repos)
    ]
    with GitHubEmulator(
        Universe(seed=11, size=len(repos), repos=repos), tmp_path, budgets={"search": (100_000, 60.0)}
    ) as em:
        outcome = search_all(_client(em), "burstword")
    assert len(outcome.items) == 1000
    assert outcome.truncated == [
        {
            "query": "burstword",
            "window": ["2025-03-03T12:00:00Z", "2025-03-03T12:00:00Z"],
            "total_count": 1100,
            "fetched": 1000,
            "reason": "cap: window of one second",
        }
    ]


def test_window_split_covers_every_second_once():
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 9, tzinfo=UTC))
    parts = window.split(3)
    assert parts[0].start == window.start and parts[-1].end == window.end
    assert all(a.end.timestamp() + 1 == b.start.timestamp() for a, b in itertools.pairwise(parts))
    assert Window(window.start, window.start).splittable is False


# -- faults -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_result_is_lost_to_rate_limits_and_server_errors(large_emulator, caplog):
    expected = _expected_ids(large_emulator, "agent")
    for fault in (
        Fault("secondary_403", "search", times=2, every=3, retry_after=1),
        Fault("secondary_429", "search", times=1, every=2, retry_after=1),
        Fault("primary_403", "search", times=1, every=4, retry_after=1),
        Fault("server_error", "search", times=2, every=5, status=502),
    ):
        large_emulator.faults.add(fault)
    try:
        with caplog.at_level(logging.DEBUG):
            client = _client(large_emulator)
            outcome = search_all(client, "agent")
    finally:
        large_emulator.faults.clear()
    assert set(outcome.items) == expected
    assert client.governor.rate_limit_hits == 4
    assert client.governor.summary()["waits"].get("server_error") == 2
    assert SECRET not in caplog.text


def test_tries_are_bounded_and_errors_never_carry_the_token(emulator):
    emulator.faults.add(Fault("server_error", "core", times=2, status=503))
    client = GitHubClient(emulator.url, SECRET, governor=RateGovernor(max_tries=2))
    with pytest.raises(GitHubError) as err:
        client.get(f"/repos/{emulator.universe.repos[1].full_name}")
    assert err.value.status == 503 and SECRET not in str(err.value)
    with pytest.raises(GitHubError) as not_found:
        client.get("/repos/nobody/nothing")
    assert not_found.value.status == 404


def test_an_interrupted_search_resumes_from_its_checkpoint(large_emulator, tmp_path):
    checkpoint = SearchCheckpoint(tmp_path / "agent.jsonl")
    # The first fifteen requests succeed (root probe + a finished window or two), then the server breaks.
    large_emulator.faults.add(Fault("server_error", "search", times=1_000, after=15, status=500))
    with pytest.raises(GitHubError):
        search_all(
            GitHubClient(large_emulator.url, SECRET, governor=RateGovernor(max_tries=1)), "agent", checkpoint=checkpoint
        )
    large_emulator.faults.clear()
    saved, pending = checkpoint.load()
    assert saved.items and pending, "finished windows and the windows still to do were saved"
    resumed_client = _client(large_emulator)
    resumed = search_all(resumed_client, "agent", checkpoint=checkpoint)
    fresh_client = _client(large_emulator)
    fresh = search_all(fresh_client, "agent")
    assert set(resumed.items) == set(fresh.items)
    assert resumed_client.governor.requests["search"] < fresh_client.governor.requests["search"]


# -- enrichment -------------------------------------------------------------------------------
def test_enrichment_batches_one_hundred_and_reports_deleted_repositories(emulator, universe):
    client = _client(emulator)
    repos = universe.repos[:250]
    enriched = enrich(client, [r.node_id for r in repos])
    found, gone = enriched.found, enriched.gone
    assert client.governor.requests["graphql"] == 3 and enriched.failed == {}
    assert enriched.batch_sizes == {100: 2, 50: 1}
    assert sorted(gone) == sorted(r.node_id for r in repos if r.deleted)
    for repo in repos:
        if repo.deleted:
            continue
        e = found[repo.node_id]
        assert e.full_name == repo.full_name and e.fork_parent == repo.parent and e.license == repo.license_spdx
        assert e.has_readme is repo.has_readme and e.has_dockerfile is ("dockerfile" in repo.signals)
        assert e.has_ci is ("ci" in repo.signals) and e.has_tests is ("tests" in repo.signals)
        assert e.language_bytes and all(isinstance(v, int) for v in e.language_bytes.values())


def test_graphql_url_for_enterprise_and_github():
    assert GitHubClient("https://ghe.example.com/api/v3").graphql_url == "https://ghe.example.com/api/graphql"
    assert GitHubClient("https://api.github.com").graphql_url == "https://api.github.com/graphql"


@pytest.mark.slow
def test_a_whole_stratum_survives_faults_on_search_and_graphql(emulator):
    from stratum_assets.discovery.candidates import discover_stratum
    from stratum_assets.discovery.strata import strata

    stratum = strata("sample")["crewai"]
    clean = discover_stratum(_client(emulator), stratum)
    for fault in (
        Fault("secondary_403", "search", times=1, retry_after=1),
        Fault("server_error", "search", times=1, status=500),
        Fault("secondary_429", "graphql", times=1, retry_after=1),
        Fault("server_error", "graphql", times=1, status=502),
    ):
        emulator.faults.add(fault)
    client = _client(emulator)
    faulty = discover_stratum(client, stratum)
    assert emulator.faults.fired() == 4
    assert [r["full_name"] for r in faulty.rows] == [r["full_name"] for r in clean.rows]
    assert client.governor.rate_limit_hits == 2
