"""The label audit's protocol: the pairing rules, the agreement and its boundary, the blind review server."""

import http.client
import json
import re

import pytest

from stratum_assets.audit import label_audit as L
from stratum_assets.audit.review import ReviewServer
from stratum_assets.storage.files import write_text_atomic
from stratum_assets.storage.layout import Layout

from .conftest import csv_rows


def repos(scores: list[int]) -> list[L.Repo]:
    """Repositories with these scores, quintiles as ntile(5) over (score, hash) gives them."""
    ordered = sorted((s, f"h{i:04d}") for i, s in enumerate(scores))
    n = len(ordered)
    return [L.Repo(h, f"o/r{h}", s, 1 + (5 * i) // n) for i, (s, h) in enumerate(ordered)]


def test_each_pair_compares_with_a_lower_score_from_the_quintile_below_never_a_copy():
    population = repos([i % 101 for i in range(1000)])
    by_hash = {r.repo_hash: r for r in population}
    sampled_hashes = [r.repo_hash for r in population if r.quintile == 4][:200]
    groups = [
        tuple(sampled_hashes[i : i + 2] + [r.repo_hash for r in population if r.quintile == 3][i : i + 40])
        for i in range(0, 200, 2)
    ]  # every quintile-4 repository shares a group with 40 of quintile 3
    pairs = L.sample(population, groups)
    group_of = {h: i for i, g in enumerate(groups) for h in g}
    assert [sum(p["quintile"] == q for p in pairs) for q in range(1, 6)] == [20] * 5
    assert sorted(p["pair_id"] for p in pairs) == list(range(1, 101))
    for p in pairs:
        high, low = (p["a_repo_hash"], p["b_repo_hash"])[:: 1 if p["higher"] == "A" else -1]
        high, low = by_hash[high], by_hash[low]
        assert high.quintile == p["quintile"]
        assert low.risk_score <= high.risk_score - L.MIN_GAP and p["score_gap"] == high.risk_score - low.risk_score
        assert low.quintile == max(p["quintile"] - 1, 1) and p["rule"] == "adjacent_quintile"
        assert group_of.get(high.repo_hash) is None or group_of.get(low.repo_hash) != group_of[high.repo_hash]
    assert 35 <= sum(p["higher"] == "A" for p in pairs) <= 65, "the higher score is drawn to either side"
    quintiles_in_order = [p["quintile"] for p in sorted(pairs, key=lambda p: p["pair_id"])]
    assert quintiles_in_order != sorted(quintiles_in_order), "the pair numbers say nothing of the quintile"
    assert L.sample(population, groups) == pairs, "deterministic from the seed"
    assert L.sample(population, groups, seed=24) != pairs


def test_a_comparison_is_never_in_the_sampled_repositorys_duplicate_group():
    sampled = L.Repo("s", "o/s", 50, 2)
    below = [L.Repo(f"c{i}", f"o/c{i}", 40 + i, 1) for i in range(5)]  # 40..44, all at least 5 below
    everyone = [L.Repo("z", "o/z", 0, 1), *below, sampled]
    picks = {
        L.comparison(sampled, below, everyone, {"s": 0, "c0": 0, "c1": 0, "c2": 0, "c4": 0}, seed, 5)
        for seed in range(30)
    }
    assert picks == {(below[3], "adjacent_quintile")}, "the one candidate outside the group, whatever the seed"
    copies = {"s": 0, **{f"c{i}": 0 for i in range(5)}}
    assert L.comparison(sampled, below, everyone, copies, 1, 5) == (everyone[0], "any_lower")
    assert L.comparison(sampled, below, everyone, {**copies, "z": 0}, 1, 5) is None


def test_the_lowest_quintile_pairs_only_repositories_with_something_min_gap_below():
    """30% of the repositories score 0: quintile 1 is all zeros and has no comparison (its pairs are missing, not
    made up); quintile 2 is half zeros, and only its other half is sampled; ties at a quintile's edge fall back to
    any lower score."""
    population = repos([0] * 300 + list(range(5, 75)) * 10)
    pairs = L.sample(population, [])
    counts = [sum(p["quintile"] == q for p in pairs) for q in range(1, 6)]
    assert counts[0] == 0, "nothing scores below zero"
    assert counts[1:] == [20, 20, 20, 20]
    by_hash = {r.repo_hash: r for r in population}
    for p in pairs:
        scores = sorted([by_hash[p["a_repo_hash"]].risk_score, by_hash[p["b_repo_hash"]].risk_score])
        assert scores[1] - scores[0] >= L.MIN_GAP

    # Quintile 3 (12s) lies 2 above quintile 2 (10s), and quintiles 4 and 5 are all 40s.
    tied = repos([0] * 200 + [10] * 200 + [12] * 200 + [40] * 400)
    rules = {(p["quintile"], p["rule"], p["score_gap"]) for p in L.sample(tied, [])}
    assert rules == {
        (2, "adjacent_quintile", 10),
        (3, "any_lower", 12),
        (4, "adjacent_quintile", 28),
        (5, "any_lower", 28),
        (5, "any_lower", 30),
        (5, "any_lower", 40),
    }


def _key(n: int = 100) -> list[dict]:
    return [
        {
            "pair_id": i,
            "quintile": 1 + (i - 1) % 5,
            "higher": "AB"[i % 2],
            "a_full_name": f"a/{i}",
            "b_full_name": f"b/{i}",
        }
        for i in range(1, n + 1)
    ]


def _answers(key: list[dict], agree: int, cannot_tell: int = 0) -> dict[int, dict]:
    """``agree`` pairs answered with the higher score, ``cannot_tell`` undecided, the rest the lower one."""
    out = {}
    for i, p in enumerate(key):
        answer = (
            p["higher"]
            if i < agree
            else "cannot tell"
            if i < agree + cannot_tell
            else {"A": "B", "B": "A"}[p["higher"]]
        )
        out[p["pair_id"]] = {
            "pair_id": str(p["pair_id"]),
            "a_full_name": p["a_full_name"],
            "b_full_name": p["b_full_name"],
            "answer": answer,
            "notes": "",
            "answered_at": "",
        }
    return out


@pytest.mark.parametrize("agree, passed", [(79, False), (80, True)])
def test_agreement_fails_at_79_and_passes_at_80_percent(agree, passed):
    key = _key()
    result = L.evaluate(key, {"ana": _answers(key, agree)})
    assert (result.evaluated, result.passed, result.agreement) == (True, passed, agree / 100)
    assert (result.overall.agree, result.overall.decided) == (agree, 100)


def test_cannot_tell_is_not_a_decision_and_partial_reviews_are_not_judged():
    key = _key()
    result = L.evaluate(key, {"ana": _answers(key, 72, cannot_tell=10)})
    assert (result.overall.agree, result.overall.decided, result.overall.cannot_tell) == (72, 90, 10)
    assert result.passed and result.agreement == 0.8
    partial = {p: row for p, row in _answers(key, 100).items() if p <= 99}
    waiting = L.evaluate(key, {"ana": partial})
    assert (waiting.evaluated, waiting.passed, waiting.progress) == (False, False, {"ana": 99})
    assert waiting.per_reviewer["ana"]["agree"] == 99


def test_per_quintile_agreement_with_wilson_intervals_and_cohens_kappa():
    key = _key()
    first = _answers(key, 90)  # pairs 1..90 agree: quintiles 1..5 get 18 each, the last 10 pairs 2 each wrong
    second = _answers(key, 50)
    result = L.evaluate(key, {"ana": first, "ben": second})
    assert {q: (t.agree, t.decided) for q, t in result.per_quintile.items()} == dict.fromkeys(range(1, 6), (28, 40))
    assert result.overall.summary()["ci95"] == [round(x, 4) for x in L.wilson(140, 200)]
    assert L.wilson(80, 100) == pytest.approx((0.7112, 0.8666), abs=1e-4)
    assert L.wilson(0, 10)[0] == 0.0 and L.wilson(10, 10)[1] == 1.0
    # ana and ben agree on pairs 1..50 and 91..100, disagree on 51..90: observed 0.6
    assert result.kappa == {
        "ana vs ben": round(
            L.cohen_kappa([r["answer"] for r in first.values()], [r["answer"] for r in second.values()]), 4
        )
    }
    assert L.cohen_kappa(["A", "A", "B", "B"], ["A", "A", "B", "B"]) == 1.0
    assert L.cohen_kappa(["A", "B", "A", "B"], ["A", "A", "B", "B"]) == 0.0
    assert L.cohen_kappa(["A", "A", "B", "cannot tell"], ["A", "B", "B", "B"]) == pytest.approx(
        (0.5 - (2 * 1 + 1 * 3) / 16) / (1 - 5 / 16)
    )


def test_answers_to_another_sample_are_problems_not_agreement():
    key = _key()
    stale = _answers(key, 100)
    stale[7]["b_full_name"] = "someone/else"
    result = L.evaluate(key, {"ana": stale})
    assert not result.passed and result.progress == {"ana": 99}
    assert result.problems == [
        "ana: pair 7 (a/7 vs someone/else) is not in the current sample: the sample changed after this review"
    ]


# -- the review server on a small written sample ----------------------------------------------------------------
CARD = {
    "full_name": "",
    "html_url": "",
    "description": "d",
    "github_stars": 3,
    "frameworks": ["CrewAI"],
    "llm_providers": [],
    "agents": 2,
    "crews": 1,
    "tools": 4,
    "capabilities": {"total": 5},
    "guardrails": [],
    "human_in_the_loop": False,
    "mcp_servers": 0,
    "deployment": {"has_tests": True},
    "findings": [{"rule": "STRATUM-001", "title": "t", "severity": "HIGH"}],
}


@pytest.fixture
def review_server(tmp_path):
    layout = Layout(tmp_path / "data")
    population = repos([(i * 37) % 101 for i in range(300)])
    pairs = L.sample(population, [])
    write_text_atomic(L.to_csv(pairs), layout.label_audit_sample)
    cards = {
        r.repo_hash: {**CARD, "full_name": r.full_name, "html_url": f"https://github.com/{r.full_name}"}
        for r in population
    }
    write_text_atomic(json.dumps(cards), layout.label_audit_cards)
    server = ReviewServer(layout).start()
    yield server, layout, pairs
    server.stop()


def _request(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(
        method,
        path,
        body=json.dumps(body) if body is not None else None,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    response = conn.getresponse()
    return response.status, response.read()


def test_no_served_byte_carries_a_score_a_quintile_or_the_key(review_server):
    server, _, pairs = review_server
    served = b"".join(
        _request(server, "GET", path)[1] for path in ("/", "/api/pairs", "/api/reviewers", "/api/reviews/ana")
    )
    payload = json.loads(_request(server, "GET", "/api/pairs")[1])
    assert [p["pair_id"] for p in payload["pairs"]] == [p["pair_id"] for p in pairs]
    assert {k for p in payload["pairs"] for k in p} == {"pair_id", "a", "b"}
    assert {k for p in payload["pairs"] for side in "ab" for k in p[side]} == set(L.CARD_FIELDS)
    for word in (
        b"risk_score",
        b"quintile",
        b"higher",
        b"score_gap",
        b"scanner_risky",
        b"adjacent_quintile",
        b"any_lower",
        b"repo_hash",
    ):
        assert word not in served, word
    assert all(
        p[side]["full_name"] == q[f"{side}_full_name"]
        for p, q in zip(payload["pairs"], pairs, strict=True)
        for side in "ab"
    )


def test_each_answer_is_saved_at_once_and_foreign_requests_are_refused(review_server):
    server, layout, pairs = review_server
    first, second = pairs[0], pairs[1]
    assert _request(server, "POST", "/api/reviews/ana", {"pair_id": 1, "answer": "B", "notes": "tool, no gate"}) == (
        200,
        b'{"answered": 1, "total": 100}',
    )
    assert _request(server, "POST", "/api/reviews/ana", {"pair_id": 2, "answer": "cannot tell"})[0] == 200
    assert _request(server, "POST", "/api/reviews/ana", {"pair_id": 1, "answer": "A", "notes": "changed my mind"}) == (
        200,
        b'{"answered": 2, "total": 100}',
    )
    rows = csv_rows(layout.label_audit_review("ana"))
    assert [(r["pair_id"], r["a_full_name"], r["b_full_name"], r["answer"], r["notes"]) for r in rows] == [
        ("1", first["a_full_name"], first["b_full_name"], "A", "changed my mind"),
        ("2", second["a_full_name"], second["b_full_name"], "cannot tell", ""),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows[0]["answered_at"])
    assert json.loads(_request(server, "GET", "/api/reviews/ana")[1])["answers"] == {
        "1": {"answer": "A", "notes": "changed my mind"},
        "2": {"answer": "cannot tell", "notes": ""},
    }
    refused = [
        _request(server, "POST", "/api/reviews/ana", {"pair_id": 3, "answer": "A"}, {"Origin": "http://evil.example"}),
        _request(server, "POST", "/api/reviews/ana", {"pair_id": 3, "answer": "A"}, {"Host": "evil.example"}),
        _request(server, "POST", "/api/reviews/ana", {"pair_id": 3, "answer": "A"}, {"Content-Type": "text/plain"}),
        _request(server, "POST", "/api/reviews/ana", {"pair_id": 3, "answer": "yes"}),
        _request(server, "POST", "/api/reviews/ana", {"pair_id": 101, "answer": "A"}),
        _request(server, "POST", "/api/reviews/Ana..", {"pair_id": 3, "answer": "A"}),
        _request(server, "POST", "/api/reviews/ana", {"pair_id": 3, "answer": "A", "notes": "x" * 4001}),
    ]
    assert [status for status, _ in refused] == [403, 403, 415, 400, 400, 400, 400]
    assert len(csv_rows(layout.label_audit_review("ana"))) == 2, "nothing refused was saved"
    assert sorted(p.name for p in layout.label_audit_reviews.iterdir()) == ["ana.csv"], "no temporary file left"
