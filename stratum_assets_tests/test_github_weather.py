"""GitHub as its documentation says it answers: no candidate lost to search timeouts, partial GraphQL answers,
secondary limits or blocked and renamed repositories.

Each behaviour is a switchable fault of the loopback emulator (``stratum_sandbox.limits.WEATHER_KINDS``, each
named there with the documentation it follows); each test arms one and checks that discovery either finds
everything a clear-weather search finds or lists what it could not get, with the reason.
"""

import json
import time
from datetime import UTC

import pytest
import requests

from stratum_assets.github.client import GitHubClient
from stratum_assets.github.enrich import enrich
from stratum_assets.github.governor import RateGovernor
from stratum_assets.github.search import GAP_REASONS, SearchCheckpoint, search_all
from stratum_sandbox.limits import Fault

from .conftest import FakeTime

SECRET = "ghp_ThisIsATestTokenThatMustNeverLeak0002"
UTC = UTC


def _fake_time() -> FakeTime:
    """A clock that starts now (so the emulator's real reset times mean what they say) and never really sleeps."""
    return FakeTime(now=time.time())


def _client(em, **governor):
    return GitHubClient(em.url, SECRET, governor=RateGovernor(search_per_minute=10_000, **governor))


def _expected(em, q):
    return {repo.id for repo, _ in em.index.search(q, None, "desc")}


# -- 1. search windows: complete or accounted for ---------------------------------------------------------------
def test_a_window_whose_pages_all_time_out_is_split_until_complete(large_emulator, tmp_path):
    """637 matches, every search over 150 times out at 40%: 254 found "of 254" is not a finished window."""
    expected = _expected(large_emulator, "crewai")
    assert len(expected) == 637
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
    """2,122 matches answered as "742 of 742, incomplete": below the cap, yet the window must be split."""
    expected = _expected(large_emulator, "agent")
    assert len(expected) == 2122
    large_emulator.faults.add(Fault("search_incomplete", "search", times=100_000, above=400, fraction=0.35))
    try:
        outcome = search_all(_client(large_emulator), "agent")
    finally:
        large_emulator.faults.clear()
    assert set(outcome.items) == expected and outcome.truncated == []


def test_counts_that_move_between_pages_are_judged_by_the_largest(large_emulator):
    """total_count 971 on page 1, 1,229 on the later pages: the window holds more than the cap and is split."""
    expected = _expected(large_emulator, "langchain")
    assert len(expected) == 1229
    large_emulator.faults.add(Fault("search_count_drift", "search", times=1, drift=258))
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
    gap = {
        "query": "crewai",
        "window": [when, when],
        "total_count": 0,
        "fetched": 0,
        "reason": GAP_REASONS["incomplete"],
    }
    assert outcome.items == {} and outcome.truncated == [gap]
    assert json.loads(checkpoint.path.read_text())["truncated"] == [gap]


# -- 2. enrichment node by node -------------------------------------------------------------------------------------
def _enriched(em, ids, t=None):
    t = t or _fake_time()
    client = _client(em, clock=t.clock, sleep=t.sleep)
    return enrich(client, ids), client, t


def test_only_not_found_means_deleted_other_nulls_are_asked_again(emulator, universe):
    """10 of 100 nodes fail with SERVICE_UNAVAILABLE once: none is counted deleted, all are enriched."""
    repos = universe.repos[:100]
    emulator.faults.add(Fault("graphql_node_errors", "graphql", times=1, nodes_every=10))
    enriched, _, _ = _enriched(emulator, [r.node_id for r in repos])
    assert emulator.faults.fired() == 1
    assert sorted(enriched.gone) == sorted(r.node_id for r in repos if r.deleted)
    assert set(enriched.found) == {r.node_id for r in repos if not r.deleted} and enriched.failed == {}
    assert enriched.batch_sizes == {100: 1, 10: 1}  # the ten failed nodes, asked again in a batch of their own


def test_a_node_that_keeps_failing_is_listed_with_its_error_never_counted_deleted(emulator, universe):
    repos = universe.repos[:100]
    emulator.faults.add(Fault("graphql_node_errors", "graphql", times=1_000, nodes_every=1, error_type="FORBIDDEN"))
    enriched, _, _ = _enriched(emulator, [r.node_id for r in repos[:3]])
    live = [r.node_id for r in repos[:3] if not r.deleted]
    assert enriched.found == {} and enriched.failed == dict.fromkeys(live, "FORBIDDEN")
    assert sorted(enriched.gone) == sorted(r.node_id for r in repos[:3] if r.deleted)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("graphql_timeout", "graphql", times=1_000, above=50),  # 200, data null, "may be a timeout"
        Fault("server_error", "graphql", times=1_000, above=50, status=502),
        Fault("server_error", "graphql", times=1_000, above=25, status=504),
    ],
    ids=["timeout-200", "502", "504"],
)
def test_a_batch_that_times_out_is_halved_until_github_answers(emulator, universe, fault):
    """A server that serves 50 (or 25) ids but not 100: every repository is still enriched."""
    repos = universe.repos[:250]
    emulator.faults.add(fault)
    enriched, _, t = _enriched(emulator, [r.node_id for r in repos])
    assert emulator.faults.fired() >= 1
    assert set(enriched.found) == {r.node_id for r in repos if not r.deleted} and enriched.failed == {}
    assert max(size for size in enriched.batch_sizes if size <= fault.above) <= fault.above
    assert t.slept == [], "a timeout is answered by asking less, not by waiting to ask the same again"


def test_the_batch_grows_back_after_answers_in_a_row(emulator, universe):
    repos = [r for r in universe.repos if not r.deleted][:350]
    emulator.faults.add(Fault("graphql_timeout", "graphql", times=1))
    enriched, _, _ = _enriched(emulator, [r.node_id for r in repos])
    assert len(enriched.found) == 350
    # 100 timed out; 50 x3 answered, then 100 again: 350 = 50*3 + 100*2
    assert enriched.batch_sizes == {100: 3, 50: 3}


def test_a_single_node_that_always_times_out_is_listed_as_failed(emulator, universe):
    repo = next(r for r in universe.repos if not r.deleted)
    emulator.faults.add(Fault("graphql_timeout", "graphql", times=1_000))
    enriched, _, _ = _enriched(emulator, [repo.node_id])
    assert enriched.failed == {repo.node_id: "timeout"} and enriched.found == {}


# -- secondary limits as documented: at least a minute, or retry-after, then exponential ------------------------
@pytest.mark.parametrize(
    "fault, waits",
    [
        (Fault("graphql_secondary_200", "graphql", times=1, retry_after=None), [60.0]),
        (Fault("graphql_secondary_200", "graphql", times=2, retry_after=None), [60.0, 120.0]),
        (Fault("graphql_secondary_200", "graphql", times=1, retry_after=7), [7.0]),
        (Fault("secondary_403", "graphql", times=1, retry_after=None), [60.0]),
        (Fault("abuse_403", "graphql", times=1, retry_after=None), [60.0]),
        (Fault("abuse_403", "graphql", times=1, retry_after=5), [5.0]),
    ],
    ids=["200", "200-twice", "200-retry-after", "403", "abuse-403", "abuse-403-retry-after"],
)
def test_graphql_secondary_limits_are_waited_as_documented(emulator, universe, fault, waits):
    repos = universe.repos[:20]
    emulator.faults.add(fault)
    enriched, client, t = _enriched(emulator, [r.node_id for r in repos])
    assert t.slept == waits and client.governor.rate_limit_hits == len(waits)
    assert len(enriched.found) + len(enriched.gone) == 20


def test_the_older_abuse_wording_on_search_is_waited_like_a_secondary_limit(large_emulator):
    t = _fake_time()
    large_emulator.faults.add(Fault("abuse_403", "search", times=1, retry_after=None))
    try:
        outcome = search_all(_client(large_emulator, clock=t.clock, sleep=t.sleep), "crewai")
    finally:
        large_emulator.faults.clear()
    assert len(outcome.items) == 637 and t.slept == [60.0]


def test_a_stratum_lists_and_counts_the_candidates_whose_enrichment_failed(emulator):
    from stratum_assets.discovery.candidates import discover_stratum
    from stratum_assets.discovery.strata import strata

    stratum = strata("sample")["crewai"]
    clear = discover_stratum(_client(emulator), stratum)
    emulator.faults.add(Fault("graphql_node_errors", "graphql", times=10_000, nodes_every=1, error_type="FORBIDDEN"))
    stormy = discover_stratum(_client(emulator), stratum)
    failed = {f["full_name"] for f in stormy.enrichment_failed}
    assert failed and stormy.dropped["enrichment_failed"] == len(failed)
    assert {f["reason"] for f in stormy.enrichment_failed} == {"FORBIDDEN"}
    assert stormy.dropped["deleted_since_indexed"] == clear.dropped["deleted_since_indexed"]
    lost = {r["full_name"] for r in clear.rows} - {r["full_name"] for r in stormy.rows}
    assert lost and lost <= failed, "every candidate the storm cost is listed as enrichment_failed"
    assert clear.dropped["enrichment_failed"] == 0 and clear.enrichment_failed == []


# -- 3. clone outcomes: blocked repositories are permanent, renamed ones keep GitHub's current name ------------------
@pytest.mark.parametrize("reason, said", [("legal", "451"), ("dmca", "dmca takedown")])
def test_a_blocked_repository_is_clone_blocked_and_never_retried(emulator, universe, tmp_path, reason, said):
    from stratum_assets.scanning.clone import clone

    repo = next(r for r in universe.repos if not r.deleted)
    emulator.block(repo.full_name, reason)
    try:
        slept = []
        result = clone(emulator.clone_url(repo.full_name), tmp_path / "c", timeout=60, attempts=3, sleep=slept.append)
    finally:
        emulator.blocked.clear()
    assert (result.failure, result.attempts, slept) == ("clone_blocked", 1, [])
    assert said in result.detail.lower() and "://" not in result.detail
    assert emulator.url not in result.detail


def test_a_repository_renamed_after_search_keeps_githubs_current_name_and_url(emulator):
    from stratum_assets.discovery.candidates import discover_stratum
    from stratum_assets.discovery.strata import strata

    stratum = strata("sample")["crewai"]
    clear = discover_stratum(_client(emulator), stratum)
    old = clear.rows[0]
    new_name = f"{old['full_name'].split('/')[0]}/renamed-{old['full_name'].split('/')[1]}"
    emulator.rename(old["full_name"], new_name)
    try:
        moved = discover_stratum(_client(emulator), stratum)
    finally:
        emulator.renamed.clear()
    row = next(r for r in moved.rows if r["repo_id"] == old["repo_id"])
    assert row["full_name"] == new_name and row["html_url"] == old["html_url"].replace(old["full_name"], new_name)
    assert moved.renamed == [{"full_name": new_name, "renamed_from": old["full_name"]}] and clear.renamed == []
    assert [r["full_name"] for r in moved.rows if r["repo_id"] != old["repo_id"]] == [
        r["full_name"] for r in clear.rows if r["repo_id"] != old["repo_id"]
    ]


@pytest.mark.parametrize(
    "stderr, why",
    [
        (
            "remote: Repository access blocked\nfatal: unable to access 'https://github.com/o/r/': The requested URL "
            "returned error: 451\n",
            "HTTP 451",
        ),
        (
            "remote: Repository unavailable due to DMCA takedown.\n"
            "fatal: unable to access 'https://github.com/o/r/': The requested URL returned error: 403\n",
            "DMCA takedown",
        ),
    ],
)
def test_classify_names_a_block_and_makes_it_permanent(stderr, why):
    from stratum_assets.scanning.clone import classify

    err = classify(stderr)
    assert (err.failure, err.transient) == ("clone_blocked", False)
    assert why in err.detail and "://" not in err.detail


def test_a_blocked_repository_is_a_stored_failed_ping(emulator, universe, tmp_path, builtin_scanner):
    from stratum_assets.manifest.build import repo_hash
    from stratum_assets.scanning.pipeline import ScanKnobs, ScanSettings, scan_repo

    repo = next(r for r in universe.repos if not r.deleted)
    emulator.block(repo.full_name, "legal")
    try:
        row = {
            "full_name": repo.full_name,
            "repo_hash": repo_hash(repo.full_name),
            "chunk_id": "v1-c0000",
            "selection_stratum": "x",
        }
        result = scan_repo(
            row,
            emulator.clone_url(repo.full_name),
            builtin_scanner(),
            ScanSettings(ScanKnobs(clone_timeout_s=60)),
            tmp_path / "w",
        )
    finally:
        emulator.blocked.clear()
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("failed", "clone_blocked")
    assert result.stored and result.errors == [] and result.provenance["clone_attempts"] == 1


# -- 4. the weather profile -----------------------------------------------------------------------------------------
UNLIMITED = {"search": (10**9, 60.0), "core": (10**9, 3600.0), "graphql": (10**9, 3600.0)}


def test_discovery_in_github_weather_finds_what_a_clear_sky_finds(large_universe, tmp_path):
    """Two strata on the 3,000-repository universe: every weather fault fires, no candidate is lost unlisted."""
    from stratum_assets.discovery.candidates import discover_stratum
    from stratum_assets.discovery.strata import strata
    from stratum_sandbox.server import GitHubEmulator
    from stratum_sandbox.weather import WEATHER, apply_weather

    chosen = [strata("full")[name] for name in ("langchain_active", "crewai")]

    def run(weather: bool):
        with GitHubEmulator(large_universe, tmp_path / str(weather), budgets=UNLIMITED) as em:
            if weather:
                apply_weather(em)
            client = _client(em, clock=_fake_time().clock, sleep=lambda s: None)
            results = [discover_stratum(client, s) for s in chosen]
            fired = {f.kind for f in em.faults._faults if f.fired}
        return results, fired

    clear, _ = run(False)
    stormy, fired = run(True)
    assert fired >= {"search_incomplete", "graphql_timeout", "graphql_node_errors"}, fired
    assert fired <= {f.kind for f in WEATHER}
    for sunny, wet in zip(clear, stormy, strict=True):
        names = {r["repo_id"]: r["full_name"] for r in sunny.rows}
        wet_names = {r["repo_id"]: r["full_name"] for r in wet.rows}
        assert set(names) == set(wet_names) and wet.truncated_windows == [] and wet.enrichment_failed == []
        moved = {wet_names[i] for i in names if names[i] != wet_names[i]}
        assert moved == {r["full_name"] for r in wet.renamed}
        assert all(name.endswith("-renamed") for name in moved)


def test_the_weather_can_be_switched_on_in_a_running_emulator(tmp_path, universe):
    from stratum_sandbox.server import GitHubEmulator
    from stratum_sandbox.weather import WEATHER, weather_repos

    with GitHubEmulator(universe, tmp_path) as em:
        answer = requests.post(f"{em.url}/_sandbox/weather", timeout=30)
        blocked, renamed = weather_repos(universe)
        assert answer.status_code == 201 and answer.json() == {
            "weather": True,
            "blocked": len(blocked),
            "renamed": len(renamed),
        }
        assert len(em.faults._faults) == len(WEATHER) and em.blocked == blocked and em.renamed == renamed
        assert blocked and renamed and not set(blocked) & set(renamed)


def test_sandbox_serve_weather_flag_switches_it_on(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from stratum_assets_tests.support.loopback import free_port

    port = free_port()
    cli = Path(sys.executable).parent / "stratum-assets"
    proc = subprocess.Popen(
        [str(cli), "sandbox", "serve", "--port", str(port), "--weather", "--git-root", str(tmp_path / "git")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "in GitHub weather" in line, line
        stats = requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=30).json()
        answer = requests.get(f"http://127.0.0.1:{port}/search/repositories", params={"q": "agent"}, timeout=30)
        assert answer.status_code == 200 and stats["faults_fired"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
