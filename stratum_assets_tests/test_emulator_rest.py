"""The emulator's REST API answers like api.github.com (shapes checked against recorded payloads)."""

import math
import time
from datetime import UTC, datetime

import pytest
import requests

from stratum_sandbox.limits import Fault
from stratum_sandbox.server import GitHubEmulator

from .conftest import fixture_json


def _search(em, q, **params):
    return requests.get(f"{em.url}/search/repositories", params={"q": q, **params}, timeout=30)


def _same_shape(ours: dict, recorded: dict, where: str) -> None:
    missing = set(recorded) - set(ours)
    assert not missing, f"{where}: fields missing {sorted(missing)}"
    for key, value in recorded.items():
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value) or {type(ours[key]), type(value)} <= {int, float}, (
                f"{where}.{key}: {type(ours[key]).__name__} vs recorded {type(value).__name__}"
            )


def test_search_page_has_the_recorded_shape(emulator):
    recorded = fixture_json("github/search_repositories_page1.json")
    body = _search(emulator, "crewai", per_page=5).json()
    assert set(body) == set(recorded)
    assert body["items"], "crewai must find repositories"
    for item in body["items"]:
        _same_shape(item, recorded["items"][0], "search item")
        _same_shape(item["owner"], recorded["items"][0]["owner"], "search item owner")
        assert "parent" not in item, "search items never carry the fork parent"


def test_search_headers_match_the_recorded_rate_limit_headers(universe, tmp_path):
    recorded = fixture_json("github/search_repositories_page1_headers.json")["response"]["headers"]
    # A fresh emulator, so its search window opens with the first request, as the recorded answer's did.
    with GitHubEmulator(universe, tmp_path / "git") as em:
        sent_at = time.time()
        first = _search(em, "langgraph", per_page=5)
        second = _search(em, "langgraph", per_page=5)
        answered_at = time.time()
    assert first.status_code == second.status_code == 200
    for name in (
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Used",
        "X-RateLimit-Resource",
        "Link",
    ):
        assert name in first.headers, name
    counters = ("Limit", "Remaining", "Used", "Reset")
    values = {}
    for who, headers in (("recorded", recorded), ("first", first.headers), ("second", second.headers)):
        raw = [headers[f"X-RateLimit-{n}"] for n in counters]
        assert all(v.isdigit() for v in raw), (who, raw)  # plain decimal integers, as GitHub sends them
        values[who] = dict(zip(counters, map(int, raw), strict=True))
    for who, v in values.items():
        assert v["Limit"] == 30 and 0 <= v["Remaining"] <= v["Limit"] and v["Used"] == v["Limit"] - v["Remaining"], (
            who,
            v,
        )
    # The first request of a window, like the recorded one; the second spends one more.
    assert [(v["Remaining"], v["Used"]) for v in values.values()] == [(29, 1), (29, 1), (28, 2)]
    # Reset: the epoch second the one-minute window ends. Recorded: 60 s after its Date header.
    date = datetime.strptime(recorded["Date"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert values["recorded"]["Reset"] == date.timestamp() + 60
    assert values["first"]["Reset"] == values["second"]["Reset"], "one window"
    assert math.ceil(sent_at + 60) <= values["first"]["Reset"] <= math.ceil(answered_at + 60)
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    assert first.headers["X-RateLimit-Limit"] == recorded["X-RateLimit-Limit"] == "30"
    assert first.headers["X-RateLimit-Resource"] == recorded["X-RateLimit-Resource"] == "search"
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    assert int(first.headers["X-RateLimit-Reset"]) >= int(time.time())


def test_link_pagination_reaches_every_result_exactly_once(emulator):
    url, params = f"{emulator.url}/search/repositories", {"q": "agent", "per_page": 25}
    ids, total = [], None
    while url:
        resp = requests.get(url, params=params, timeout=30)
        assert resp.status_code == 200
        total = resp.json()["total_count"]
        ids += [item["id"] for item in resp.json()["items"]]
        url, params = resp.links.get("next", {}).get("url"), None
    assert total < 1000
    assert len(ids) == len(set(ids)) == total


def test_only_the_first_thousand_results_are_reachable(large_emulator):
    first = _search(large_emulator, "agent", per_page=100)
    assert first.json()["total_count"] > 1000
    assert "page=10" in first.links["last"]["url"]
    assert len(_search(large_emulator, "agent", per_page=100, page=10).json()["items"]) == 100
    beyond = _search(large_emulator, "agent", per_page=100, page=11)
    assert beyond.status_code == 422
    assert beyond.json()["message"] == "Only the first 1000 search results are available"


def test_per_page_is_capped_at_one_hundred(large_emulator):
    assert len(_search(large_emulator, "agent", per_page=500).json()["items"]) == 100


def test_created_windows_partition_the_results(large_emulator):
    whole = _search(large_emulator, "agent created:2022-01-01..2026-12-31", per_page=1).json()["total_count"]
    halves = [
        _search(large_emulator, f"agent created:{w}", per_page=1).json()["total_count"]
        for w in ("2022-01-01..2025-03-31", "2025-04-01..2026-12-31")
    ]
    seconds = [
        _search(large_emulator, f"agent created:{w}", per_page=1).json()["total_count"]
        for w in ("2022-01-01T00:00:00Z..2025-03-31T23:59:59Z", ">2025-03-31T23:59:59Z")
    ]
    assert whole > 1000 and sum(halves) == whole and seconds == halves


def test_pushed_and_stars_qualifiers_filter_like_github(emulator, universe):
    items = _search(emulator, "agent pushed:>2025-06-01 stars:>=1", per_page=100).json()["items"]
    floor = datetime(2025, 6, 2, tzinfo=UTC)
    assert items
    for item in items:
        assert datetime.fromisoformat(item["pushed_at"].replace("Z", "+00:00")) >= floor
        assert item["stargazers_count"] >= 1
    assert _search(emulator, "agent stars:abc").status_code == 422


def test_forks_are_excluded_unless_asked_for(emulator, universe):
    parent = max((r for r in universe.repos if not r.is_fork), key=lambda r: r.forks_count)
    q = f'"{parent.name}"'
    default = _search(emulator, q, per_page=100).json()
    with_forks = _search(emulator, f"{q} fork:true", per_page=100).json()
    only = _search(emulator, f"{q} fork:only", per_page=100).json()
    assert not any(i["fork"] for i in default["items"])
    assert all(i["fork"] for i in only["items"]) and only["total_count"] >= 30
    assert with_forks["total_count"] == default["total_count"] + only["total_count"]
    recorded = fixture_json("github/search_repositories_fork_only.json")
    assert all(i["fork"] is True and "parent" not in i for i in recorded["items"])
    _same_shape(only["items"][0], recorded["items"][0], "fork:only item")


def test_get_repository_carries_the_fork_parent_and_the_recorded_fields(emulator, universe):
    recorded = fixture_json("github/get_repository_raw.json")[0]["response"]
    forks = [r for r in universe.repos if r.is_fork and not r.deleted]
    bodies = [requests.get(f"{emulator.url}/repos/{r.full_name}", timeout=30).json() for r in forks[:20]]
    # The recorded repository belongs to an organization, so compare with one that does too.
    fork, body = next((r, b) for r, b in zip(forks[:20], bodies, strict=True) if b["owner"]["type"] == "Organization")
    _same_shape(body, recorded, "repository")
    assert body["fork"] is True
    assert body["parent"]["full_name"] == fork.parent
    original = next(r for r in universe.repos if not r.is_fork and not r.deleted)
    assert "parent" not in requests.get(f"{emulator.url}/repos/{original.full_name}", timeout=30).json()


def test_languages_and_deleted_repositories(emulator, universe):
    live = next(r for r in universe.repos if r.archetype == "single" and not r.deleted)
    langs = requests.get(f"{emulator.url}/repos/{live.full_name}/languages", timeout=30)
    assert langs.status_code == 200 and all(isinstance(v, int) for v in langs.json().values())
    deleted = next(r for r in universe.repos if r.deleted)
    assert requests.get(f"{emulator.url}/repos/{deleted.full_name}", timeout=30).status_code == 404
    found = _search(emulator, f'"{deleted.name}" user:{deleted.owner}').json()
    assert deleted.full_name in [i["full_name"] for i in found["items"]], "search still lists deleted repositories"


def test_rate_limit_endpoint_is_free(emulator):
    before = requests.get(f"{emulator.url}/rate_limit", timeout=30).json()
    after = requests.get(f"{emulator.url}/rate_limit", timeout=30).json()
    assert set(before["resources"]) >= {"core", "search", "graphql"}
    assert before["resources"]["core"]["used"] == after["resources"]["core"]["used"]


@pytest.mark.slow
def test_primary_budget_is_enforced_and_resets(universe, tmp_path):
    with GitHubEmulator(universe, tmp_path, budgets={"search": (3, 1.5)}) as em:
        answers = [_search(em, "agent") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 403]
        assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
        assert "rate limit exceeded" in answers[-1].json()["message"]
        time.sleep(max(0.0, int(answers[-1].headers["X-RateLimit-Reset"]) - time.time()) + 0.1)
        assert _search(em, "agent").status_code == 200


@pytest.mark.parametrize(
    "fault, status",
    [
        (Fault("secondary_403", "search", retry_after=7), 403),
        (Fault("secondary_429", "search", retry_after=3), 429),
        (Fault("server_error", "search", status=502), 502),
        (Fault("primary_403", "search", retry_after=2), 403),
    ],
)
def test_injected_faults_answer_like_github_then_stop(emulator, fault, status):
    emulator.faults.add(fault)
    failed = _search(emulator, "agent")
    assert failed.status_code == status
    if fault.kind.startswith("secondary"):
        assert failed.headers["Retry-After"] == str(fault.retry_after)
        assert "secondary rate limit" in failed.json()["message"]
    if fault.kind == "primary_403":
        assert failed.headers["X-RateLimit-Remaining"] == "0"
    assert _search(emulator, "agent").status_code == 200


def test_faults_can_be_armed_over_http_and_every_kth_request(emulator):
    armed = requests.post(
        f"{emulator.url}/_sandbox/faults",
        json={"kind": "server_error", "resource": "core", "every": 2, "times": 2, "status": 503},
        timeout=30,
    )
    assert armed.status_code == 201
    name = emulator.universe.repos[1].full_name
    codes = [requests.get(f"{emulator.url}/repos/{name}/languages", timeout=30).status_code for _ in range(6)]
    assert codes == [200, 503, 200, 503, 200, 200]
    assert (
        requests.post(
            f"{emulator.url}/_sandbox/faults", json={"kind": "nope", "resource": "core"}, timeout=30
        ).status_code
        == 400
    )
    assert requests.get(f"{emulator.url}/_sandbox/stats", timeout=30).json()["requests"]["core"] >= 6


def test_slow_fault_delays_the_answer(emulator):
    emulator.faults.add(Fault("slow", "search", delay=0.6))
    started = time.monotonic()
    assert _search(emulator, "agent").status_code == 200
    assert time.monotonic() - started >= 0.6
