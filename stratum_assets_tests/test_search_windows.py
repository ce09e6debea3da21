"""Search past the 1,000-result cap, as exact values: window splits, queries sent, gaps reported, checkpoints.

``FakeSearch`` is the collaborator ``search_all`` talks to: an object with GitHub's
``search_pages(q, per_page)`` interface that serves a fixed set of repositories by
``created:`` range, in pages of ``per_page``, and raises ``SearchCapReached`` when a
page would start past the 1,000th result — exactly what GitHub does.
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from stratum_assets.github.client import GitHubError, SearchCapReached
from stratum_assets.github.search import (
    CAP,
    GITHUB_EPOCH,
    SLIM_FIELDS,
    SearchCheckpoint,
    SearchOutcome,
    Window,
    search_all,
    slim,
)

UTC = UTC
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def q_for(term: str, lo: int, hi: int) -> str:
    """The query search_all must send for the window [T0+lo, T0+hi] (seconds, inclusive)."""
    return f"{term} created:{iso(at(lo))}..{iso(at(hi))}"


def repo(repo_id: int, created: datetime, license_id: str | None = "MIT") -> dict:
    """A search item with GitHub's fields, including many that slim() must drop."""
    return {
        "id": repo_id,
        "node_id": f"R_{repo_id}",
        "name": f"r{repo_id}",
        "full_name": f"o/r{repo_id}",
        "owner": {"login": "o", "id": 7},
        "private": False,
        "html_url": f"https://github.com/o/r{repo_id}",
        "description": f"agent {repo_id}",
        "fork": repo_id % 2 == 0,
        "url": f"https://api.github.com/repos/o/r{repo_id}",
        "created_at": iso(created),
        "updated_at": "2025-01-02T00:00:00Z",
        "pushed_at": "2025-01-03T00:00:00Z",
        "homepage": None,
        "size": 100 + repo_id,
        "stargazers_count": 10 + repo_id,
        "watchers_count": 99,
        "language": "Python",
        "forks_count": 3 + repo_id,
        "open_issues_count": 4,
        "archived": repo_id % 3 == 0,
        "topics": ["ai", f"t{repo_id}"],
        "default_branch": "main",
        "score": 1.0,
        "visibility": "public",
        "license": {"key": "mit", "name": "MIT License", "spdx_id": license_id} if license_id else None,
    }


class FakeSearch:
    def __init__(
        self,
        term: str,
        created: dict[int, datetime],
        *,
        missing=(),
        unstable_first_read=False,
        fail_after: int | None = None,
    ):
        self.term = term
        self.repos = {i: repo(i, c) for i, c in created.items()}
        self.created = created
        self.missing = set(missing)  # counted in total_count but never served
        self.unstable_first_read = unstable_first_read
        self.fail_after = fail_after  # raise GitHubError on query number fail_after + 1
        self.queries: list[str] = []
        self.per_page: list[int] = []

    def search_pages(self, q: str, per_page: int = 30):
        if self.fail_after is not None and len(self.queries) >= self.fail_after:
            raise GitHubError("GET /search/repositories answered 500: boom", 500)
        reads = self.queries.count(q)
        self.queries.append(q)
        self.per_page.append(per_page)
        term, _, created = q.rpartition(" created:")
        assert term == self.term, q
        lo, hi = (datetime.strptime(x, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for x in created.split(".."))
        matching = sorted(i for i, c in self.created.items() if lo <= c <= hi)
        served = [i for i in matching if i not in self.missing]
        if self.unstable_first_read and reads == 0 and len(served) > per_page:
            served[per_page] = served[per_page - 1]  # page 2 repeats the end of page 1 and skips an item
        start = 0
        while True:
            if start >= CAP:
                raise SearchCapReached("search results past the first 1,000 are not available", 422)
            yield {
                "total_count": len(matching),
                "incomplete_results": False,
                "items": [self.repos[i] for i in served[start : min(start + per_page, CAP)]],
            }
            start += per_page
            if start >= len(served):
                return


def spread(count: int, seconds: int, first_id: int = 1) -> dict[int, datetime]:
    """``count`` repositories spread round-robin over seconds 0 .. seconds-1 after T0."""
    return {first_id + n: at(n % seconds) for n in range(count)}


# -- slim ---------------------------------------------------------------------------------------
def test_slim_keeps_the_pipeline_fields_and_the_license_spdx_only():
    item = repo(12, at(5))
    assert slim(item) == {
        "id": 12,
        "node_id": "R_12",
        "full_name": "o/r12",
        "html_url": "https://github.com/o/r12",
        "description": "agent 12",
        "fork": True,
        "created_at": "2024-05-01T12:00:05Z",
        "pushed_at": "2025-01-03T00:00:00Z",
        "stargazers_count": 22,
        "forks_count": 15,
        "language": "Python",
        "topics": ["ai", "t12"],
        "size": 112,
        "default_branch": "main",
        "archived": True,
        "license": "MIT",
    }
    assert list(slim(item)) == [*SLIM_FIELDS, "license"]


def test_slim_license_without_spdx_and_missing_fields_are_none():
    assert slim(repo(1, at(0), license_id=None))["license"] is None
    assert slim({"id": 3, "license": {"key": "other"}}) == {**dict.fromkeys(SLIM_FIELDS), "id": 3, "license": None}
    assert slim({"id": 4})["license"] is None
    assert slim({"id": 5, "license": {"spdx_id": "Apache-2.0"}})["license"] == "Apache-2.0"


# -- Window -------------------------------------------------------------------------------------
def test_qualifier_is_an_inclusive_utc_created_range():
    window = Window(at(0), at(9))
    assert window.qualifier() == "created:2024-05-01T12:00:00Z..2024-05-01T12:00:09Z"
    cest = timezone(timedelta(hours=2))
    assert (
        Window(datetime(2024, 5, 1, 14, 0, 0, tzinfo=cest), datetime(2024, 5, 1, 14, 0, 9, tzinfo=cest)).qualifier()
        == "created:2024-05-01T12:00:00Z..2024-05-01T12:00:09Z"
    )


def test_qualifier_is_utc_whatever_the_local_timezone():
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        window = Window(datetime(2024, 5, 1, 21, 0, 0, tzinfo=timezone(timedelta(hours=9))), at(3))
        assert window.qualifier() == "created:2024-05-01T12:00:00Z..2024-05-01T12:00:03Z"
        assert window.to_json() == ["2024-05-01T12:00:00Z", "2024-05-01T12:00:03Z"]
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def seconds_of(windows: list[Window]) -> list[tuple[int, int]]:
    return [(int((w.start - T0).total_seconds()), int((w.end - T0).total_seconds())) for w in windows]


@pytest.mark.parametrize(
    "last, parts, expected",
    [
        (9, 3, [(0, 2), (3, 6), (7, 9)]),  # step 3.33: bounds 0, 3, 7, 10
        (9, 2, [(0, 4), (5, 9)]),
        (9, 1, [(0, 4), (5, 9)]),  # at least two parts
        (9, 0, [(0, 4), (5, 9)]),
        (9, 10, [(s, s) for s in range(10)]),
        (9, 100, [(s, s) for s in range(10)]),  # at most one part per second
        (2, 2, [(0, 1), (2, 2)]),  # step 1.5: round(1.5) == 2
        (4, 4, [(0, 0), (1, 1), (2, 3), (4, 4)]),  # step 1.25: bounds 0, 1, 2, 4, 5
        (1, 5, [(0, 0), (1, 1)]),
        (0, 5, [(0, 0)]),  # one second: no empty window [0, -1]
        (99, 3, [(0, 32), (33, 66), (67, 99)]),
    ],
)
def test_split_bounds_are_exact_inclusive_and_cover_every_second_once(last, parts, expected):
    pieces = Window(at(0), at(last)).split(parts)
    assert seconds_of(pieces) == expected
    assert all(p.end >= p.start for p in pieces)


def test_split_of_a_long_window_stays_to_the_second():
    window = Window(GITHUB_EPOCH, datetime(2026, 1, 1, tzinfo=UTC))
    halves = window.split(2)
    # 568,080,001 seconds: the cut is at round(284,040,000.5) == 284,040,000 s, half a day into 2016-12-31
    assert [h.to_json() for h in halves] == [
        ["2008-01-01T00:00:00Z", "2016-12-31T11:59:59Z"],
        ["2016-12-31T12:00:00Z", "2026-01-01T00:00:00Z"],
    ]
    assert halves[0].start == window.start and halves[-1].end == window.end
    assert halves[0].end + timedelta(seconds=1) == halves[1].start


def test_splittable_means_more_than_one_second():
    assert Window(at(0), at(0)).splittable is False
    assert Window(at(0), at(1)).splittable is True
    assert Window(at(5), at(4)).splittable is False


def test_window_json_round_trip():
    window = Window(at(0), at(3599))
    assert window.to_json() == ["2024-05-01T12:00:00Z", "2024-05-01T12:59:59Z"]
    back = Window.from_json(window.to_json())
    assert back == window and back.start.utcoffset() == timedelta(0) and back.end.utcoffset() == timedelta(0)
    assert Window.from_json(["2024-05-01T12:00:00+00:00", "2024-05-01T13:00:00Z"]) == Window(at(0), at(3600))


def test_outcome_starts_empty():
    outcome = SearchOutcome()
    assert (outcome.items, outcome.windows_searched, outcome.truncated) == ({}, 0, [])


# -- search_all ---------------------------------------------------------------------------------
def test_a_window_under_the_cap_is_one_query_of_100_per_page():
    fake = FakeSearch("agent", {3: at(1), 1: at(0), 2: at(9), 4: at(10)})
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9)] and fake.per_page == [100]
    assert outcome.items == {1: slim(fake.repos[1]), 2: slim(fake.repos[2]), 3: slim(fake.repos[3])}
    assert outcome.windows_searched == 1 and outcome.truncated == []


def test_exactly_the_cap_is_not_split():
    fake = FakeSearch("agent", spread(1000, 10))
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9)]
    assert len(outcome.items) == 1000 and outcome.truncated == [] and outcome.windows_searched == 1


def test_one_past_the_cap_is_split_in_two():
    fake = FakeSearch("agent", spread(1001, 10))
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9), q_for("agent", 0, 4), q_for("agent", 5, 9)]
    assert set(fake.per_page) == {100}
    assert set(outcome.items) == set(range(1, 1002)) and outcome.truncated == []
    assert outcome.windows_searched == 2


def test_parts_are_sized_for_about_800_results_each():
    fake = FakeSearch("agent", spread(1601, 100))  # ceil(1601 / 800) == 3 parts
    outcome = search_all(fake, "agent", start=at(0), end=at(99))
    assert fake.queries == [
        q_for("agent", 0, 99),
        q_for("agent", 0, 32),
        q_for("agent", 33, 66),
        q_for("agent", 67, 99),
    ]
    assert len(outcome.items) == 1601 and outcome.windows_searched == 3 and outcome.truncated == []


def test_split_recurses_earliest_slice_first():
    created = {
        **{i: at(0) for i in range(1, 601)},
        **{i: at(1) for i in range(601, 1201)},
        **{i: at(3) for i in range(1201, 1251)},
        **{i: at(7) for i in range(1251, 1301)},
    }
    fake = FakeSearch("agent", created)
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [
        q_for("agent", 0, 9),  # 1300 -> 2 parts
        q_for("agent", 0, 4),  # 1250 -> 2 parts: bounds 0, 2, 5
        q_for("agent", 0, 1),  # 1200 -> 2 parts
        q_for("agent", 0, 0),
        q_for("agent", 1, 1),
        q_for("agent", 2, 4),
        q_for("agent", 5, 9),
    ]
    assert set(outcome.items) == set(created) and outcome.windows_searched == 4 and outcome.truncated == []


def test_a_one_second_window_past_the_cap_is_reported_not_silently_cut():
    created = {**{i: at(5) for i in range(1, 1101)}, 2000: at(6)}
    fake = FakeSearch("burst", created)
    outcome = search_all(fake, "burst", start=at(0), end=at(9))
    assert fake.queries == [
        q_for("burst", 0, 9),
        q_for("burst", 0, 4),
        q_for("burst", 5, 9),  # 5 s: bounds 0, 2, 5
        q_for("burst", 5, 6),
        q_for("burst", 5, 5),  # read once: the cap is no page glitch
        q_for("burst", 6, 6),
        q_for("burst", 7, 9),
    ]
    assert len(outcome.items) == 1001 and 2000 in outcome.items
    assert outcome.truncated == [
        {
            "query": "burst",
            "window": ["2024-05-01T12:00:05Z", "2024-05-01T12:00:05Z"],
            "total_count": 1100,
            "fetched": 1000,
            "reason": "cap: window of one second",
        }
    ]
    assert outcome.windows_searched == 4


def test_items_skipped_between_pages_are_found_by_reading_the_window_again():
    fake = FakeSearch("agent", spread(150, 10), unstable_first_read=True)
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9), q_for("agent", 0, 9)]
    assert set(outcome.items) == set(range(1, 151)), "deduplicated by id, nothing lost"
    assert outcome.truncated == [] and outcome.windows_searched == 1


def test_a_window_of_exactly_the_cap_read_again_is_kept_whole():
    """1,000 results fit the pages: a window read twice because the first read skipped one is not split."""
    fake = FakeSearch("agent", spread(1000, 10), unstable_first_read=True)
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9)] * 2
    assert len(outcome.items) == 1000 and outcome.truncated == [] and outcome.windows_searched == 1


def test_a_complete_window_is_not_read_twice():
    fake = FakeSearch("agent", spread(250, 10))
    search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9)]


def test_results_still_missing_after_the_second_read_are_reported():
    fake = FakeSearch("agent", spread(5, 10), missing={3})
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9), q_for("agent", 0, 9)]
    assert set(outcome.items) == {1, 2, 4, 5}
    assert outcome.truncated == [
        {
            "query": "agent",
            "window": ["2024-05-01T12:00:00Z", "2024-05-01T12:00:09Z"],
            "total_count": 5,
            "fetched": 4,
            "reason": "results missing between pages",
        }
    ]


def test_a_full_one_second_window_with_a_missing_result_is_a_page_gap_not_the_cap():
    fake = FakeSearch("agent", {i: at(0) for i in range(1, 1001)}, missing={500})
    outcome = search_all(fake, "agent", start=at(0), end=at(0))
    assert fake.queries == [q_for("agent", 0, 0), q_for("agent", 0, 0)]
    assert outcome.truncated == [
        {
            "query": "agent",
            "window": ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"],
            "total_count": 1000,
            "fetched": 999,
            "reason": "results missing between pages",
        }
    ]


def test_an_empty_window_is_one_query_and_no_gap():
    fake = FakeSearch("agent", {})
    outcome = search_all(fake, "agent", start=at(0), end=at(9))
    assert fake.queries == [q_for("agent", 0, 9)]
    assert outcome.items == {} and outcome.windows_searched == 1 and outcome.truncated == []


def test_default_range_is_github_epoch_to_now():
    created = {
        **{i: datetime(2010, 1, 1, tzinfo=UTC) for i in range(1, 502)},
        **{i: datetime(2020, 1, 1, tzinfo=UTC) for i in range(502, 1002)},
    }
    fake = FakeSearch("agent", created)
    before = datetime.now(UTC).replace(microsecond=0)
    outcome = search_all(fake, "agent")
    after = datetime.now(UTC)
    root = fake.queries[0]
    assert root.startswith("agent created:2008-01-01T00:00:00Z..")
    end = datetime.strptime(root.rsplit("..", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= end <= after
    assert len(fake.queries) == 3 and fake.queries[1].startswith("agent created:2008-01-01T00:00:00Z..")
    assert fake.queries[2].endswith(f"..{iso(end)}")
    assert set(outcome.items) == set(created)
    assert datetime(2008, 1, 1, tzinfo=UTC) == GITHUB_EPOCH


# -- checkpoints --------------------------------------------------------------------------------
def test_load_without_a_checkpoint_file_starts_fresh(tmp_path):
    outcome, pending = SearchCheckpoint(tmp_path / "none.jsonl").load()
    assert pending is None and outcome == SearchOutcome()


def test_record_appends_one_json_line_per_window(tmp_path):
    path = tmp_path / "deep" / "er" / "q.jsonl"
    checkpoint = SearchCheckpoint(str(path))
    gap = {
        "query": "q",
        "window": ["2024-05-01T12:00:05Z", "2024-05-01T12:00:05Z"],
        "total_count": 1100,
        "fetched": 1000,
        "reason": "cap: window of one second",
    }
    checkpoint.record(Window(at(0), at(4)), iter([{"id": 1}, {"id": 2}]), [Window(at(5), at(9))], [])
    checkpoint.record(Window(at(5), at(9)), [{"id": 2, "x": 1}, {"id": 3}], [], [gap])
    lines = path.read_text().split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert [json.loads(line) for line in lines[:2]] == [
        {
            "window": ["2024-05-01T12:00:00Z", "2024-05-01T12:00:04Z"],
            "items": [{"id": 1}, {"id": 2}],
            "truncated": [],
            "pending": [["2024-05-01T12:00:05Z", "2024-05-01T12:00:09Z"]],
        },
        {
            "window": ["2024-05-01T12:00:05Z", "2024-05-01T12:00:09Z"],
            "items": [{"id": 2, "x": 1}, {"id": 3}],
            "truncated": [gap],
            "pending": [],
        },
    ]
    outcome, pending = checkpoint.load()
    assert outcome.items == {1: {"id": 1}, 2: {"id": 2, "x": 1}, 3: {"id": 3}}
    assert outcome.windows_searched == 2 and outcome.truncated == [gap] and pending == []


def test_load_takes_pending_from_the_last_line_and_tolerates_lines_without_gaps(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps(
            {
                "window": ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"],
                "items": [{"id": 9}],
                "pending": [["2024-05-01T12:00:01Z", "2024-05-01T12:00:09Z"]],
            }
        )
        + "\n"
    )
    outcome, pending = SearchCheckpoint(path).load()
    assert outcome.items == {9: {"id": 9}} and outcome.truncated == [] and outcome.windows_searched == 1
    assert pending == [Window(at(1), at(9))]


def test_a_torn_line_ends_what_load_trusts(tmp_path):
    path = tmp_path / "q.jsonl"
    checkpoint = SearchCheckpoint(path)
    checkpoint.record(Window(at(0), at(1)), [{"id": 1}], [Window(at(2), at(9))], [])
    checkpoint.record(Window(at(2), at(3)), [{"id": 2}], [Window(at(4), at(9))], [])
    good = path.read_text()
    torn = json.dumps({"window": ["a", "b"], "items": [{"id": 3}], "truncated": [], "pending": []})[:25]
    after = json.dumps({"window": ["c", "d"], "items": [{"id": 4}], "truncated": [], "pending": []})
    path.write_text(good + torn)
    outcome, pending = checkpoint.load()
    assert outcome.items == {1: {"id": 1}, 2: {"id": 2}} and outcome.windows_searched == 2
    assert pending == [Window(at(4), at(9))]
    # lines after a cut line are not trusted either: their pending lists assume the cut line's items
    path.write_text(good + torn + "\n" + after + "\n")
    outcome, pending = checkpoint.load()
    assert set(outcome.items) == {1, 2} and outcome.windows_searched == 2 and pending == [Window(at(4), at(9))]


def test_after_a_torn_line_the_checkpoint_keeps_recording_readable_lines(tmp_path):
    """A resumed search appends after the cut: the torn tail is dropped, never glued to the next record."""
    path = tmp_path / "q.jsonl"
    checkpoint = SearchCheckpoint(path)
    checkpoint.record(Window(at(0), at(1)), [{"id": 1}], [Window(at(2), at(9))], [])
    good = path.read_text()
    path.write_text(good + '{"window": ["a"')  # the crash cut the second record
    assert checkpoint.load()[1] == [Window(at(2), at(9))]
    assert path.read_text() == good
    checkpoint.record(Window(at(2), at(9)), [{"id": 2}], [], [])
    outcome, pending = checkpoint.load()
    assert set(outcome.items) == {1, 2} and outcome.windows_searched == 2 and pending == []


def test_a_complete_record_without_its_newline_is_redone(tmp_path):
    path = tmp_path / "q.jsonl"
    checkpoint = SearchCheckpoint(path)
    checkpoint.record(Window(at(0), at(1)), [{"id": 1}], [Window(at(2), at(9))], [])
    good = path.read_text()
    path.write_text(good + json.dumps({"window": ["x", "y"], "items": [{"id": 2}], "truncated": [], "pending": []}))
    outcome, pending = checkpoint.load()
    assert set(outcome.items) == {1} and pending == [Window(at(2), at(9))] and path.read_text() == good


def test_clear_removes_the_checkpoint_and_tolerates_a_missing_one(tmp_path):
    checkpoint = SearchCheckpoint(tmp_path / "q.jsonl")
    checkpoint.record(Window(at(0), at(1)), [], [], [])
    checkpoint.clear()
    assert not (tmp_path / "q.jsonl").exists()
    checkpoint.clear()
    assert checkpoint.load()[1] is None


def burst_universe() -> dict[int, datetime]:
    # 1,100 in second 5 plus 25 a second over 0..9 (1,125 in second 5: cannot be split) and one more at second 6
    return {**{i: at(5) for i in range(1, 1101)}, 2000: at(6), **spread(250, 10, first_id=3000)}


ALL_QUERIES = [
    q_for("burst", 0, 9),
    q_for("burst", 0, 4),
    q_for("burst", 5, 9),
    q_for("burst", 5, 6),
    q_for("burst", 5, 5),
    q_for("burst", 6, 6),
    q_for("burst", 7, 9),
]
BURST_GAP = {
    "query": "burst",
    "window": ["2024-05-01T12:00:05Z", "2024-05-01T12:00:05Z"],
    "total_count": 1125,
    "fetched": 1000,
    "reason": "cap: window of one second",
}


def test_search_all_checkpoints_each_finished_window(tmp_path):
    fake = FakeSearch("burst", burst_universe())
    checkpoint = SearchCheckpoint(tmp_path / "burst.jsonl")
    outcome = search_all(fake, "burst", start=at(0), end=at(9), checkpoint=checkpoint)
    assert fake.queries == ALL_QUERIES
    lines = [json.loads(line) for line in (tmp_path / "burst.jsonl").read_text().splitlines()]
    assert [line["window"] for line in lines] == [
        [iso(at(0)), iso(at(4))],
        [iso(at(5)), iso(at(5))],
        [iso(at(6)), iso(at(6))],
        [iso(at(7)), iso(at(9))],
    ]
    assert [line["pending"] for line in lines] == [
        [[iso(at(5)), iso(at(9))]],
        [[iso(at(7)), iso(at(9))], [iso(at(6)), iso(at(6))]],
        [[iso(at(7)), iso(at(9))]],
        [],
    ]
    assert [line["truncated"] for line in lines] == [[], [BURST_GAP], [], []]
    assert lines[0]["items"] == [slim(fake.repos[i]) for i in range(3000, 3250) if i % 10 < 5]
    assert sum(len(line["items"]) for line in lines) == len(outcome.items) == 125 + 1000 + 26 + 75
    assert outcome.truncated == [BURST_GAP] and outcome.windows_searched == 4


def test_an_interrupted_search_resumes_from_its_checkpoint(tmp_path):
    checkpoint = SearchCheckpoint(tmp_path / "burst.jsonl")
    broken = FakeSearch("burst", burst_universe(), fail_after=5)  # dies on the query for [6, 6]
    with pytest.raises(GitHubError):
        search_all(broken, "burst", start=at(0), end=at(9), checkpoint=checkpoint)
    assert broken.queries == ALL_QUERIES[:5]
    saved, pending = checkpoint.load()
    assert pending == [Window(at(7), at(9)), Window(at(6), at(6))] and saved.windows_searched == 2

    resumed_fake = FakeSearch("burst", burst_universe())
    resumed = search_all(resumed_fake, "burst", start=at(0), end=at(9), checkpoint=checkpoint)
    assert resumed_fake.queries == ALL_QUERIES[5:], "finished windows are not searched again"
    fresh = search_all(FakeSearch("burst", burst_universe()), "burst", start=at(0), end=at(9))
    assert resumed.items == fresh.items and len(resumed.items) == 1226
    assert resumed.truncated == fresh.truncated == [BURST_GAP]
    assert resumed.windows_searched == fresh.windows_searched == 4

    # a finished checkpoint answers without a single query
    again_fake = FakeSearch("burst", burst_universe())
    again = search_all(again_fake, "burst", start=at(0), end=at(9), checkpoint=checkpoint)
    assert again_fake.queries == [] and again.items == fresh.items and again.windows_searched == 4


def test_a_torn_last_line_redoes_only_that_window(tmp_path):
    path = tmp_path / "burst.jsonl"
    checkpoint = SearchCheckpoint(path)
    search_all(FakeSearch("burst", burst_universe()), "burst", start=at(0), end=at(9), checkpoint=checkpoint)
    text = path.read_text()
    last_start = text.rstrip("\n").rfind("\n") + 1
    path.write_text(text[: last_start + 40])  # the crash cut the [7, 9] line
    fake = FakeSearch("burst", burst_universe())
    outcome = search_all(fake, "burst", start=at(0), end=at(9), checkpoint=SearchCheckpoint(path))
    assert fake.queries == [q_for("burst", 7, 9)]
    assert len(outcome.items) == 1226 and outcome.truncated == [BURST_GAP] and outcome.windows_searched == 4


class _Scripted:
    """A search that answers each read of any window with the same scripted pages."""

    def __init__(self, pages):
        self.pages, self.queries = pages, []

    def search_pages(self, q, per_page=30):
        self.queries.append(q)
        yield from self.pages


def test_a_count_that_moves_between_pages_is_reported_as_count_changed_with_the_largest_count():
    pages = [
        {"total_count": 3, "incomplete_results": False, "items": [repo(1, at(0)), repo(2, at(0))]},
        {"total_count": 4, "incomplete_results": False, "items": [repo(3, at(0))]},
    ]
    search = _Scripted(pages)
    outcome = search_all(search, "agent", start=at(0), end=at(0))
    assert set(outcome.items) == {1, 2, 3} and len(search.queries) == 2  # read once more before reporting
    assert outcome.truncated == [
        {"query": "agent", "window": [iso(at(0))] * 2, "total_count": 4, "fetched": 3, "reason": "count_changed"}
    ]


def test_an_incomplete_window_is_read_again_and_done_when_the_second_read_is_complete():
    class Once(_Scripted):
        def search_pages(self, q, per_page=30):
            incomplete = not self.queries
            self.queries.append(q)
            items = [repo(1, at(0))] if incomplete else [repo(1, at(0)), repo(2, at(1))]
            yield {"total_count": len(items), "incomplete_results": incomplete, "items": items}

    search = Once([])
    outcome = search_all(search, "agent", start=at(0), end=at(9))
    assert set(outcome.items) == {1, 2} and outcome.truncated == [] and outcome.windows_searched == 1
    assert search.queries == [q_for("agent", 0, 9)] * 2


def test_an_incomplete_first_page_sends_the_window_to_a_second_read_though_later_pages_are_complete():
    """``incomplete_results`` is per answer (GitHub: that request timed out): one incomplete page makes the read
    incomplete, whatever the pages after it say."""

    class FirstPageTimesOut(_Scripted):
        def search_pages(self, q, per_page=30):
            first_read = not self.queries
            self.queries.append(q)
            for page in range(2):
                items = [repo(i, at(0)) for i in range(1 + page * 2, 3 + page * 2)]
                yield {"total_count": 4, "incomplete_results": first_read and page == 0, "items": items}

    search = FirstPageTimesOut([])
    outcome = search_all(search, "agent", start=at(0), end=at(9))
    assert search.queries == [q_for("agent", 0, 9)] * 2
    assert set(outcome.items) == {1, 2, 3, 4} and outcome.truncated == [] and outcome.windows_searched == 1


def test_an_incomplete_window_read_twice_is_split_in_two_halves():
    class Slow(_Scripted):
        def search_pages(self, q, per_page=30):
            self.queries.append(q)
            items = [repo(1, at(0))] if "T12:00:00Z.." in q else []
            yield {"total_count": len(items), "incomplete_results": q == q_for("agent", 0, 9), "items": items}

    search = Slow([])
    outcome = search_all(search, "agent", start=at(0), end=at(9))
    assert search.queries == [q_for("agent", 0, 9)] * 2 + [q_for("agent", 0, 4), q_for("agent", 5, 9)]
    assert set(outcome.items) == {1} and outcome.windows_searched == 2 and outcome.truncated == []


def test_a_window_read_twice_is_judged_by_both_reads_the_largest_count_and_every_count_seen():
    """First read: 2 items of 4 counted; second: 3 of 3. The gap keeps 4 (the largest) and says the count moved."""

    class TwoReads(_Scripted):
        def search_pages(self, q, per_page=30):
            first = not self.queries
            self.queries.append(q)
            items = [repo(1, at(0)), repo(2, at(0))] if first else [repo(1, at(0)), repo(2, at(0)), repo(3, at(0))]
            yield {"total_count": 4 if first else 3, "incomplete_results": False, "items": items}

    search = TwoReads([])
    outcome = search_all(search, "agent", start=at(0), end=at(0))
    assert set(outcome.items) == {1, 2, 3} and len(search.queries) == 2
    assert outcome.truncated == [
        {"query": "agent", "window": [iso(at(0))] * 2, "total_count": 4, "fetched": 3, "reason": "count_changed"}
    ]
