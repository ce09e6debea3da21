"""The rate governor's decisions as exact values: pacing, exhausted budgets, the retry rule, waits, summary.

Every test drives the governor through its ``clock``/``sleep`` seam with a fake clock that advances
only when the governor sleeps, so waits are exact and nothing really sleeps.
"""

import logging
import time

import pytest

from stratum_assets.github.governor import RateGovernor, RetryDecision, WaitTooLong, header_int

from .conftest import FakeTime


def governor(t: FakeTime, **kwargs) -> RateGovernor:
    return RateGovernor(clock=t.clock, sleep=t.sleep, **kwargs)


# -- defaults ---------------------------------------------------------------------------------
def test_defaults_are_the_documented_github_budget():
    gov = RateGovernor()
    assert (gov.search_per_minute, gov.max_tries, gov.min_secondary_wait, gov.backoff_base, gov.max_wait) == (
        30,
        6,
        60.0,
        2.0,
        900.0,
    )
    assert gov.summary() == {
        "requests": {},
        "requests_total": 0,
        "waits": {},
        "wait_seconds": 0.0,
        "rate_limit_hits": 0,
    }


def test_default_clock_is_wall_time_and_default_sleep_really_sleeps():
    gov = RateGovernor()
    reset = int(time.time()) + 100
    decision = gov.retry_after(1, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    assert decision.reason == "reset"
    assert 95 <= decision.wait_seconds <= 101.5
    gov.wait(RetryDecision(0.0, "tiny"))  # time.sleep(0): returns at once
    assert gov.waits == {"tiny": 1}


def test_default_search_budget_is_thirty_requests_a_minute():
    t = FakeTime()
    gov = governor(t)
    for _ in range(30):
        gov.before_request("search")
    assert t.slept == []
    gov.before_request("search")
    assert t.slept == [60.0]


def test_default_tries_backoff_and_cap():
    t = FakeTime()
    gov = governor(t)
    assert [gov.retry_after(a, 403, {}).wait_seconds for a in range(1, 6)] == [60.0, 120.0, 240.0, 480.0, 900.0]
    assert [gov.retry_after(a, None, {}).wait_seconds for a in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert gov.retry_after(6, 403, {}) is None and gov.retry_after(6, None, {}) is None
    # a wait GitHub demands is never cut short (issue 15): honoured, or refused past max_required_wait (3,700 s)
    assert gov.retry_after(1, 429, {"retry-after": "5000"}).wait_seconds == 5000.0
    with pytest.raises(WaitTooLong):
        gov.wait(gov.retry_after(1, 429, {"retry-after": "5000"}))
    assert t.slept == []


# -- pacing -----------------------------------------------------------------------------------
def test_search_pacing_waits_exactly_until_the_oldest_request_leaves_the_minute():
    t = FakeTime(now=0.0)
    gov = governor(t, search_per_minute=2)
    gov.before_request("search")  # t=0
    t.now = 10.0
    gov.before_request("search")  # t=10: second of two in the minute, no wait
    assert t.slept == []
    t.now = 25.0
    gov.before_request("search")  # full: waits until t=60, when the t=0 request is a minute old
    assert t.slept == [35.0] and t.now == 60.0
    gov.before_request("search")  # full again (10, 60): waits until t=70
    assert t.slept == [35.0, 10.0] and t.now == 70.0
    assert gov.requests == {"search": 4}
    assert gov.waits == {"pacing:search": 2}
    assert gov.summary()["wait_seconds"] == 45.0


def test_a_request_exactly_sixty_seconds_old_no_longer_counts():
    t = FakeTime(now=0.0)
    gov = governor(t, search_per_minute=2)
    gov.before_request("search")
    gov.before_request("search")  # two at t=0
    t.now = 60.0  # both are exactly a minute old: the window is empty again
    gov.before_request("search")
    gov.before_request("search")
    assert t.slept == []
    gov.before_request("search")  # the two at t=60 fill the window: wait the full minute
    assert t.slept == [60.0] and t.now == 120.0
    assert gov.requests["search"] == 5 and gov.waits["pacing:search"] == 1


def test_one_request_a_minute_at_the_boundary():
    t = FakeTime(now=0.0)
    gov = governor(t, search_per_minute=1)
    gov.before_request("search")
    t.now = 60.0
    gov.before_request("search")  # the t=0 request has left the window
    assert t.slept == []
    gov.before_request("search")  # the t=60 one has not
    assert t.slept == [60.0] and t.now == 120.0


def test_a_pacing_wait_below_one_second_is_still_waited():
    t = FakeTime(now=0.0)
    gov = governor(t, search_per_minute=1)
    gov.before_request("search")
    t.now = 59.5
    gov.before_request("search")
    assert t.slept == [0.5] and t.now == 60.0
    assert gov.waits == {"pacing:search": 1}


def test_the_search_budget_does_not_pace_other_resources():
    t = FakeTime()
    gov = governor(t, search_per_minute=1)
    gov.before_request("search")
    for _ in range(3):
        gov.before_request("core")
        gov.before_request("graphql")
    assert t.slept == []
    assert gov.requests == {"search": 1, "core": 3, "graphql": 3}
    assert gov.summary()["requests_total"] == 7


def test_fresh_governor_at_clock_zero_does_not_wait():
    t = FakeTime(now=0.0)
    gov = governor(t)
    gov.before_request("core")
    gov.before_request("search")
    assert t.slept == [] and gov.requests == {"core": 1, "search": 1}


# -- observe: an exhausted budget is waited out -------------------------------------------------
def test_an_exhausted_resource_waits_for_its_reset_plus_one_second():
    t = FakeTime(now=1000.0)
    gov = governor(t)
    gov.observe("core", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"})
    gov.before_request("search")  # another resource is not held up
    assert t.slept == []
    gov.before_request("core")
    assert t.slept == [11.0] and t.now == 1011.0
    assert gov.waits == {"pacing:core": 1}
    gov.before_request("core")  # the reset has passed
    assert t.slept == [11.0]
    assert gov.requests == {"search": 1, "core": 2}


def test_the_resource_header_names_the_budget_that_ran_out():
    t = FakeTime(now=1000.0)
    gov = governor(t)
    gov.observe("core", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1020", "x-ratelimit-resource": "search"})
    gov.before_request("core")
    assert t.slept == []
    gov.before_request("search")
    assert t.slept == [21.0] and gov.waits == {"pacing:search": 1}


def test_an_exhausted_search_budget_is_waited_before_the_minute_budget_is_counted():
    t = FakeTime(now=1000.0)
    gov = governor(t, search_per_minute=5)
    gov.observe("search", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1004"})
    gov.before_request("search")
    assert t.slept == [5.0] and gov.requests == {"search": 1}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-remaining": "0"},
        {"x-ratelimit-reset": "5000"},
        {"x-ratelimit-remaining": "1", "x-ratelimit-reset": "5000"},
        {"x-ratelimit-remaining": "10", "x-ratelimit-reset": "5000"},
        {"x-ratelimit-remaining": "-1", "x-ratelimit-reset": "5000"},
        {"x-ratelimit-remaining": "none", "x-ratelimit-reset": "5000"},
    ],
)
def test_a_budget_that_is_not_known_to_be_exhausted_is_not_waited(headers):
    t = FakeTime(now=1000.0)
    gov = governor(t)
    gov.observe("core", headers)
    gov.before_request("core")
    assert t.slept == [] and gov.waits == {}


# -- the retry rule -----------------------------------------------------------------------------
def test_retry_after_header_is_honoured_exactly_and_capped():
    t = FakeTime()
    gov = governor(t, max_wait=100.0)
    assert gov.retry_after(1, 403, {"retry-after": "17"}) == RetryDecision(17.0, "retry-after")
    assert gov.retry_after(3, 429, {"retry-after": " 42 "}) == RetryDecision(42.0, "retry-after")
    assert gov.retry_after(1, 429, {"retry-after": "100"}) == RetryDecision(100.0, "retry-after")
    # max_wait caps only the governor's own backoff; a longer demanded wait is honoured or refused (issue 15)
    assert gov.retry_after(1, 429, {"retry-after": "101"}) == RetryDecision(101.0, "retry-after")
    with pytest.raises(WaitTooLong):
        governor(t, max_required_wait=100.0).wait(RetryDecision(101.0, "retry-after"))
    assert gov.retry_after(1, 403, {"retry-after": "0"}) == RetryDecision(0.0, "retry-after")
    assert gov.rate_limit_hits == 5


def test_a_retry_after_that_is_not_a_number_falls_through_to_the_reset_or_backoff():
    t = FakeTime(now=1000.0)
    gov = governor(t)
    assert gov.retry_after(1, 403, {"retry-after": "soon"}) == RetryDecision(60.0, "secondary")
    assert gov.retry_after(1, 403, {"retry-after": ""}) == RetryDecision(60.0, "secondary")
    assert gov.retry_after(1, 403, {"retry-after": "1.5"}) == RetryDecision(60.0, "secondary")
    assert gov.retry_after(
        1,
        429,
        {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"},
    ) == RetryDecision(31.0, "reset")
    assert gov.rate_limit_hits == 4


def test_remaining_zero_waits_until_the_reset_plus_one_second():
    t = FakeTime(now=1000.0)
    gov = governor(t, max_wait=50.0)
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}
    assert gov.retry_after(1, 403, reset) == RetryDecision(31.0, "reset")
    assert gov.retry_after(4, 403, reset) == RetryDecision(31.0, "reset"), "a reset wait does not back off"
    t.now = 1010.5
    assert gov.retry_after(1, 429, reset) == RetryDecision(20.5, "reset")
    # a reset already past (clock skew) still waits a second, never zero or negative
    assert gov.retry_after(1, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "900"}) == RetryDecision(
        1.0, "reset"
    )
    assert gov.retry_after(1, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"}) == RetryDecision(
        1.0, "reset"
    )
    assert gov.retry_after(1, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1011"}) == RetryDecision(
        1.5, "reset"
    )
    # not capped at max_wait (issue 15): a far reset is refused by wait(), never shortened into a certain 403
    assert gov.retry_after(1, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999"}) == RetryDecision(
        8989.5, "reset"
    )
    with pytest.raises(WaitTooLong):
        governor(t, max_required_wait=50.0).wait(RetryDecision(8989.5, "reset"))


def test_remaining_zero_without_a_usable_reset_backs_off_like_a_secondary_limit():
    t = FakeTime(now=1000.0)
    gov = governor(t)
    assert gov.retry_after(1, 403, {"x-ratelimit-remaining": "0"}) == RetryDecision(60.0, "secondary")
    assert gov.retry_after(2, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}) == RetryDecision(
        120.0, "secondary"
    )
    # a reset with budget left is not a reason to wait for the reset
    assert gov.retry_after(1, 429, {"x-ratelimit-remaining": "3", "x-ratelimit-reset": "1030"}) == RetryDecision(
        60.0, "secondary"
    )


def test_secondary_limit_backs_off_exponentially_from_the_minimum_and_is_capped():
    t = FakeTime()
    gov = governor(t, max_tries=10, min_secondary_wait=10.0, backoff_base=3.0, max_wait=500.0)
    waits = [gov.retry_after(a, 429, {}).wait_seconds for a in range(1, 7)]
    assert waits == [10.0, 30.0, 90.0, 270.0, 500.0, 500.0]
    assert gov.retry_after(2, 403, {}) == RetryDecision(30.0, "secondary")
    assert gov.rate_limit_hits == 7


def test_server_errors_and_network_errors_back_off_from_one_second():
    t = FakeTime()
    gov = governor(t, max_tries=8, backoff_base=3.0, max_wait=20.0)
    assert gov.retry_after(1, 502, {}) == RetryDecision(1.0, "server_error")
    assert gov.retry_after(2, 500, {"retry-after": "7"}) == RetryDecision(3.0, "server_error")
    assert gov.retry_after(3, None, {}) == RetryDecision(9.0, "network")
    assert gov.retry_after(4, None, {}) == RetryDecision(20.0, "network")
    assert gov.retry_after(4, 503, {}) == RetryDecision(20.0, "server_error")
    assert gov.rate_limit_hits == 0, "server and network errors are not rate limits"


def test_tries_are_bounded_by_max_tries():
    t = FakeTime()
    gov = governor(t, max_tries=3)
    assert gov.retry_after(2, 403, {"retry-after": "5"}) == RetryDecision(5.0, "retry-after")
    assert gov.retry_after(2, None, {}) == RetryDecision(2.0, "network")
    for status in (403, 429, 502, None):
        assert gov.retry_after(3, status, {"retry-after": "5"}) is None
        assert gov.retry_after(4, status, {}) is None
    assert gov.rate_limit_hits == 1, "a refused retry is not counted as a hit"


def test_other_statuses_are_treated_as_server_errors_not_rate_limits():
    t = FakeTime()
    gov = governor(t)
    assert gov.retry_after(1, 404, {"retry-after": "7"}) == RetryDecision(1.0, "server_error")
    assert gov.retry_after(1, 430, {"retry-after": "7"}) == RetryDecision(1.0, "server_error")
    assert gov.rate_limit_hits == 0


# -- waits and the summary ----------------------------------------------------------------------
def test_waits_are_slept_counted_by_reason_and_summed():
    t = FakeTime()
    gov = governor(t)
    gov.wait(RetryDecision(1.234, "retry-after"))
    gov.wait(RetryDecision(2.0, "retry-after"))
    gov.wait(RetryDecision(0.5, "network"))
    assert t.slept == [1.234, 2.0, 0.5]
    assert gov.waits == {"retry-after": 2, "network": 1}
    assert gov.wait_seconds == pytest.approx(3.734)


def test_summary_reports_requests_waits_rounded_seconds_and_hits():
    t = FakeTime(now=1000.0)
    gov = governor(t, search_per_minute=1)
    gov.before_request("core")
    gov.before_request("core")
    gov.before_request("search")
    gov.before_request("search")  # paces for 60 s
    gov.wait(gov.retry_after(1, 403, {"retry-after": "3"}))
    gov.wait(gov.retry_after(2, 429, {}))  # 120 s secondary
    gov.wait(RetryDecision(0.12345, "network"))
    gov.wait(RetryDecision(0.0049, "network"))
    summary = gov.summary()
    assert summary == {
        "requests": {"core": 2, "search": 2},
        "requests_total": 4,
        "waits": {"pacing:search": 1, "retry-after": 1, "secondary": 1, "network": 2},
        "wait_seconds": 183.13,
        "rate_limit_hits": 2,
    }
    assert isinstance(summary["requests"], dict) and isinstance(summary["waits"], dict)


def test_summary_rounds_to_two_decimals():
    t = FakeTime()
    gov = governor(t)
    gov.wait(RetryDecision(1.23456, "x"))
    assert gov.summary()["wait_seconds"] == 1.23
    gov.wait(RetryDecision(0.00600, "x"))
    assert gov.summary()["wait_seconds"] == 1.24


# -- the wait bounds and what every wait says -----------------------------------------------------
def governor_log(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "stratum_assets.github"]


def test_default_wait_bounds_are_an_hour_with_slack_per_wait_and_two_hours_per_request():
    gov = RateGovernor()
    assert (gov.max_required_wait, gov.max_total_wait) == (3700.0, 7200.0)


def test_a_header_of_twelve_digits_is_read_and_one_of_thirteen_is_not():
    assert header_int("999999999999") == 999_999_999_999
    assert header_int(" 7 ") == 7
    assert header_int("1" * 13) is None


def test_the_refusal_says_which_bound_it_passed_and_for_what():
    err = WaitTooLong("retry-after", 5000, 3700)
    assert (err.reason, err.seconds, err.bound, err.total) == ("retry-after", 5000, 3700, False)
    assert str(err) == "a wait of 5000s (retry-after) is more than the bound of 3700s; not waiting"
    assert str(WaitTooLong("reset", 5000, 3700, what="GET /x")) == (
        "GET /x: a wait of 5000s (reset) is more than the bound of 3700s; not waiting"
    )
    assert str(WaitTooLong("reset", 7300.4, 7200, total=True)) == (
        "waiting (reset) would make 7300s in total for this request, more than the bound of 7200s; not waiting"
    )


def test_a_wait_exactly_at_a_bound_is_waited_and_one_past_it_is_refused():
    t = FakeTime(now=0.0)
    gov = governor(t, max_required_wait=10.0, max_total_wait=30.0)
    gov.wait(RetryDecision(10.0, "retry-after"))  # exactly the per-wait bound
    gov.wait(RetryDecision(20.0, "secondary"), spent=10.0)  # exactly the total bound
    gov.wait(RetryDecision(30.0, "network"))  # nothing spent before: exactly the total bound
    assert t.slept == [10.0, 20.0, 30.0]
    with pytest.raises(WaitTooLong) as err:
        gov.wait(RetryDecision(10.5, "retry-after"), what="GET /repos/o/r")
    assert (err.value.reason, err.value.seconds, err.value.bound, err.value.total) == ("retry-after", 10.5, 10.0, False)
    with pytest.raises(WaitTooLong) as err:
        gov.wait(RetryDecision(5.0, "network"), spent=26.0, what="GET /repos/o/r")
    assert (err.value.reason, err.value.seconds, err.value.bound, err.value.total) == ("network", 31.0, 30.0, True)
    assert str(err.value) == (
        "GET /repos/o/r: waiting (network) would make 31s in total for this request, more than "
        "the bound of 30s; not waiting"
    )
    assert t.slept == [10.0, 20.0, 30.0], "a refused wait is not slept"


def test_every_wait_and_every_refusal_is_logged_in_its_words_and_at_its_level(caplog):
    t = FakeTime()
    seen = []
    gov = governor(t, max_required_wait=100.0, max_total_wait=150.0, on_wait=seen.append)
    with caplog.at_level(logging.INFO, logger="stratum_assets.github"):
        gov.wait(RetryDecision(3.0, "retry-after"), what="GET /repos/o/r")
        gov.wait(RetryDecision(60.0, "secondary"))
        gov.wait(RetryDecision(2.0, "network"))
        gov.wait(RetryDecision(1.0, "malformed_body"), what="GET /search/repositories")
        for decision, spent, what in [
            (RetryDecision(101.0, "reset"), 0.0, ""),
            (RetryDecision(60.0, "secondary"), 100.0, "GET /x"),
            (RetryDecision(151.0, "network"), 0.0, ""),
        ]:
            with pytest.raises(WaitTooLong):
                gov.wait(decision, spent=spent, what=what)
    assert governor_log(caplog) == [
        ("WARNING", "GitHub: waiting 3.0s (retry-after) before GET /repos/o/r"),
        ("WARNING", "GitHub: waiting 60.0s (secondary)"),
        ("INFO", "GitHub: waiting 2.0s (network)"),
        ("INFO", "GitHub: waiting 1.0s (malformed_body) before GET /search/repositories"),
        ("WARNING", "GitHub: not waiting 101.0s (reset): more than the bound of 100s"),
        (
            "WARNING",
            "GET /x: not waiting 60.0s (secondary): this request would wait 160.0s in total, more than the "
            "bound of 150s",
        ),
        (
            "WARNING",
            "GitHub: not waiting 151.0s (network): this request would wait 151.0s in total, more than the "
            "bound of 150s",
        ),
    ]
    assert seen == [message for _, message in governor_log(caplog)[:4]], "the sink gets the waits, not the refusals"
    assert t.slept == [3.0, 60.0, 2.0, 1.0]


def test_a_request_held_by_a_reset_then_by_the_search_minute_waits_both_and_returns_their_sum(caplog):
    t = FakeTime(now=1000.0)
    gov = governor(t, search_per_minute=1)
    gov.before_request("search")  # t=1000: the minute's one request
    gov.observe("search", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1004"})
    with caplog.at_level(logging.INFO, logger="stratum_assets.github"):
        assert gov.before_request("search", what="GET /search/repositories") == 60.0
    assert t.slept == [5.0, 55.0] and t.now == 1060.0
    assert governor_log(caplog) == [
        ("WARNING", "GitHub: waiting 5.0s (reset of the search budget) before GET /search/repositories"),
        ("INFO", "GitHub: waiting 55.0s (pacing of the search budget) before GET /search/repositories"),
    ]
    assert gov.waits == {"pacing:search": 2} and gov.requests == {"search": 2}


def test_the_total_bound_counts_every_wait_this_request_already_made():
    t = FakeTime(now=1000.0)
    gov = governor(t, search_per_minute=1, max_total_wait=59.0)
    gov.before_request("search")
    gov.observe("search", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1004"})
    with pytest.raises(WaitTooLong) as err:
        gov.before_request("search")  # 5 s to the reset, then 55 s to the minute: 60 s in all
    assert (err.value.reason, err.value.seconds, err.value.bound, err.value.total) == (
        "pacing of the search budget",
        60.0,
        59.0,
        True,
    )
    assert t.slept == [5.0]


def test_a_reset_wait_is_one_github_demands_and_bounded_as_such():
    t = FakeTime(now=1000.0)
    seen = []
    gov = governor(t, max_required_wait=5.0, max_total_wait=5.0, on_wait=seen.append)
    gov.observe("core", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1004"})
    assert gov.before_request("core") == 5.0, "exactly both bounds, nothing spent before: waited"
    assert seen == ["GitHub: waiting 5.0s (reset of the core budget)"]
    gov.observe("core", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"})
    with pytest.raises(WaitTooLong) as err:
        gov.before_request("core")  # 6 s: past the bound of a wait GitHub demands, refused as that
    assert (err.value.reason, err.value.seconds, err.value.bound, err.value.total) == (
        "reset of the core budget",
        6.0,
        5.0,
        False,
    )
