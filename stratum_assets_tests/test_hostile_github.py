"""The GitHub client against hostile or broken servers (issue 15): where the token goes, how long it waits,
what it says when an answer is garbage.

Every server here is a real HTTP server on loopback (``http.server`` in a thread) that answers from a
script and records every request it received, headers included. Nothing really sleeps: the governor's
``clock``/``sleep`` seam is a fake clock that only advances when the governor sleeps.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stratum_assets.github.client import GitHubClient, GitHubError
from stratum_assets.github.enrich import enrich
from stratum_assets.github.governor import RateGovernor, RetryDecision

from .conftest import FakeTime

SECRET = "ghp_HostileServerTestTokenNeverLeaks000042"
PAGE = {"total_count": 2, "incomplete_results": False, "items": [{"id": 1}, {"id": 2}]}


class Server:
    """A loopback HTTP server answering from a script: ``answers[path]`` is a list of (status, headers, body),
    consumed in order (the last one repeats); every request is recorded with its headers."""

    def __init__(self):
        self.answers: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer()

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                server.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                script = server.answers.get(path) or [(404, {}, b'{"message": "Not Found"}')]
                status, headers, data = script.pop(0) if len(script) > 1 else script[0]
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def script(self, path: str, *answers: tuple[int, dict, bytes | dict | str]) -> None:
        self.answers[path] = [(s, h, _bytes(b)) for s, h, b in answers]

    def auth_headers(self) -> list[str | None]:
        return [r["headers"].get("Authorization") for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _bytes(body) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


@pytest.fixture
def api():
    server = Server()
    yield server
    server.close()


@pytest.fixture
def elsewhere():
    server = Server()
    yield server
    server.close()


def _client(server: Server, t: FakeTime | None = None, **governor) -> GitHubClient:
    t = t or FakeTime()
    return GitHubClient(
        server.url,
        SECRET,
        timeout=10,
        governor=RateGovernor(clock=t.clock, sleep=t.sleep, search_per_minute=10_000, **governor),
    )


# -- 1. the token goes to the API host only ----------------------------------------------------------
def test_a_next_link_to_another_host_is_refused_and_never_gets_the_token(api, elsewhere):
    elsewhere.script("/search/repositories", (200, {}, PAGE))
    api.script(
        "/search/repositories", (200, {"Link": f'<{elsewhere.url}/search/repositories?q=x&page=2>; rel="next"'}, PAGE)
    )
    client = _client(api)
    pages = client.search_pages("x")
    assert next(pages) == PAGE
    with pytest.raises(GitHubError, match="another host") as err:
        next(pages)
    assert elsewhere.requests == [], "the link was not followed at all"
    assert api.auth_headers() == [f"Bearer {SECRET}"], "the API host itself gets the token"
    assert SECRET not in str(err.value) and elsewhere.url in str(err.value)


@pytest.mark.parametrize("swap", ["port", "scheme", "host"])
def test_same_host_other_port_scheme_or_name_is_another_host(api, swap):
    host, port = api.httpd.server_address[:2]
    other = {
        "port": f"http://{host}:{port + 1}",
        "scheme": f"https://{host}:{port}",
        "host": f"http://localhost:{port}",
    }[swap]
    api.script("/search/repositories", (200, {"Link": f'<{other}/search/repositories?page=2>; rel="next"'}, PAGE))
    pages = _client(api).search_pages("x")
    next(pages)
    with pytest.raises(GitHubError, match="another host"):
        next(pages)
    assert len(api.requests) == 1


def test_a_next_link_on_the_api_host_is_followed_with_the_token(api):
    api.script(
        "/search/repositories",
        (200, {"Link": f'<{api.url}/search/repositories?q=x&page=2>; rel="next"'}, PAGE),
        (200, {}, PAGE),
    )
    assert len(list(_client(api).search_pages("x"))) == 2
    assert api.auth_headers() == [f"Bearer {SECRET}"] * 2


def test_a_redirect_to_another_host_does_not_carry_the_token(api, elsewhere):
    elsewhere.script("/repos/o/r", (200, {}, {"full_name": "o/r"}))
    api.script("/repos/o/r", (302, {"Location": f"{elsewhere.url}/repos/o/r"}, b""))
    assert _client(api).get("/repos/o/r").json() == {"full_name": "o/r"}
    assert api.auth_headers() == [f"Bearer {SECRET}"]
    assert elsewhere.auth_headers() == [None]


def test_the_session_itself_carries_no_token(api):
    client = _client(api)
    assert "Authorization" not in client._session.headers
    assert SECRET not in repr(vars(client._session))


# -- 3. every wait is bounded, logged, and malformed headers are absent headers ----------------------
def test_a_far_future_reset_fails_fast_instead_of_sleeping(api, caplog):
    t = FakeTime()
    far = str(int(t.now) + 1_000_000_000)
    api.script("/repos/o/r", (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": far}, {"id": 1}))
    client = _client(api, t)
    assert client.get("/repos/o/r").status_code == 200
    with caplog.at_level(logging.INFO, logger="stratum_assets.github"), pytest.raises(GitHubError) as err:
        client.get("/repos/o/r")
    assert t.slept == [], "no sleep at all, let alone 1e9 s"
    message = str(err.value)
    assert "/repos/o/r" in message and "reset" in message and SECRET not in message
    assert len(api.requests) == 1, "the second request was never sent"
    assert "/repos/o/r" in caplog.text and SECRET not in caplog.text


def test_a_far_future_reset_on_a_403_fails_fast(api):
    t = FakeTime()
    api.script(
        "/repos/o/r",
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(t.now) + 10**9)},
            {"message": "API rate limit exceeded"},
        ),
    )
    with pytest.raises(GitHubError, match="/repos/o/r") as err:
        _client(api, t).get("/repos/o/r")
    assert t.slept == [] and err.value.status == 403 and len(api.requests) == 1


def test_a_huge_retry_after_fails_at_once_instead_of_waiting_five_times_the_cap(api):
    t = FakeTime()
    api.script("/search/repositories", (429, {"Retry-After": "999999"}, {"message": "secondary rate limit"}))
    with pytest.raises(GitHubError) as err:
        next(_client(api, t).search_pages("x"))
    assert t.slept == [] and len(api.requests) == 1
    assert "retry-after" in str(err.value) and "/search/repositories" in str(err.value)
    assert err.value.status == 429


@pytest.mark.parametrize("reset", ["abc", "", " ", "1e9", "-5", "12.5", "nan", "inf", "9" * 400, "0x10"])
def test_a_malformed_reset_is_an_absent_reset(api, reset):
    t = FakeTime()
    api.script(
        "/repos/o/r",
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, {"message": "API rate limit exceeded"}),
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, {"id": 1}),
        (200, {}, {"id": 2}),
    )
    client = _client(api, t)
    assert client.get("/repos/o/r").json() == {"id": 1}
    assert t.slept == [60.0], "no usable reset: the secondary-limit minimum, not a crash"
    assert client.get("/repos/o/r").json() == {"id": 2}, "an unusable reset holds nothing up"
    assert t.slept == [60.0]


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "abc"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9" * 400},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "-1"},
        {"x-ratelimit-remaining": "zero", "x-ratelimit-reset": "1000010"},
    ],
)
def test_observe_ignores_malformed_headers(headers):
    t = FakeTime(now=1_000_000.0)
    gov = RateGovernor(clock=t.clock, sleep=t.sleep)
    gov.observe("core", headers)
    gov.before_request("core")
    assert t.slept == []


def test_the_wait_bounds_are_configurable_per_wait_and_per_request(api):
    t = FakeTime()
    api.script("/repos/o/r", (429, {"Retry-After": "40"}, {"message": "secondary"}), (200, {}, {"id": 1}))
    client = _client(api, t, max_required_wait=30)
    with pytest.raises(GitHubError, match="40"):
        client.get("/repos/o/r")
    assert t.slept == []

    t = FakeTime()
    api.script("/repos/o/r", *[(429, {"Retry-After": "40"}, {"message": "secondary"})] * 3, (200, {}, {"id": 1}))
    client = _client(api, t, max_total_wait=100)
    with pytest.raises(GitHubError, match="in total"):
        client.get("/repos/o/r")
    assert t.slept == [40.0, 40.0], "the third wait would pass 100 s for this one request"


def test_the_total_bound_is_per_request_not_per_client(api):
    t = FakeTime()
    api.script("/repos/o/r", *[(429, {"Retry-After": "40"}, {}), (200, {}, {"id": 1})] * 3)
    client = _client(api, t, max_total_wait=50)
    for _ in range(3):
        assert client.get("/repos/o/r").json() == {"id": 1}
    assert t.slept == [40.0] * 3


def test_every_wait_is_logged_with_its_reason_and_path(api, caplog):
    t = FakeTime()
    api.script(
        "/repos/o/r",
        (429, {"Retry-After": "7"}, {"message": "secondary"}),
        (502, {}, b"bad gateway"),
        (200, {}, {"id": 1}),
    )
    with caplog.at_level(logging.INFO, logger="stratum_assets.github"):
        _client(api, t).get("/repos/o/r")
    waits = [r for r in caplog.records if r.name.startswith("stratum_assets.github") and "wait" in r.getMessage()]
    assert t.slept == [7.0, 2.0]
    assert len(waits) == 2
    assert "retry-after" in waits[0].getMessage() and "/repos/o/r" in waits[0].getMessage()
    assert "server_error" in waits[1].getMessage()


def test_a_wait_sink_receives_every_wait(api):
    t = FakeTime()
    seen = []
    api.script("/repos/o/r", (429, {"Retry-After": "3"}, {}), (200, {}, {"id": 1}))
    client = GitHubClient(api.url, SECRET, governor=RateGovernor(clock=t.clock, sleep=t.sleep, on_wait=seen.append))
    client.get("/repos/o/r")
    assert len(seen) == 1 and "3.0s" in seen[0] and "retry-after" in seen[0]


def test_governor_bounds_as_values():
    from stratum_assets.github.governor import WaitTooLong

    t = FakeTime(now=1000.0)
    gov = RateGovernor(clock=t.clock, sleep=t.sleep, max_required_wait=100, max_total_wait=150)
    assert gov.retry_after(1, 429, {"retry-after": "999999"}) == RetryDecision(999999.0, "retry-after")
    with pytest.raises(WaitTooLong) as err:
        gov.wait(RetryDecision(999999.0, "retry-after"), what="GET /x")
    assert err.value.seconds == 999999.0 and err.value.bound == 100 and "GET /x" in str(err.value)
    gov.wait(RetryDecision(100.0, "retry-after"))
    with pytest.raises(WaitTooLong, match="in total"):
        gov.wait(RetryDecision(60.0, "secondary"), spent=100.0)
    gov.observe("core", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5000"})
    with pytest.raises(WaitTooLong):
        gov.before_request("core")
    assert t.slept == [100.0]


# -- 4. answers that are not JSON are transient, and the final error names the URL ---------------------
PROXY_PAGE = b"<html><body><h1>502 Bad Gateway</h1><p>corporate proxy</p></body></html>"
TRUNCATED = b'{"total_count": 2, "incomplete_results": false, "items": [{"id": 1}, {"i'


@pytest.mark.parametrize("body", [PROXY_PAGE, TRUNCATED, b"", b"null"], ids=["html", "truncated", "empty", "null"])
def test_a_garbage_search_page_is_retried_then_read(api, body):
    t = FakeTime()
    api.script("/search/repositories", (200, {"Content-Type": "text/html"}, body), (200, {}, PAGE))
    client = _client(api, t)
    assert list(client.search_pages("x")) == [PAGE]
    assert len(api.requests) == 2 and t.slept == [1.0]
    assert client.governor.waits == {"malformed_body": 1}


def test_a_garbage_answer_that_stays_garbage_names_the_url_not_the_token(api):
    t = FakeTime()
    api.script("/search/repositories", (200, {"Content-Type": "text/html"}, PROXY_PAGE + SECRET.encode()))
    with pytest.raises(GitHubError) as err:
        next(_client(api, t, max_tries=3).search_pages("x"))
    message = str(err.value)
    assert f"{api.url}/search/repositories" in message and "not JSON" in message
    assert SECRET not in message and "q=x" not in message
    assert len(api.requests) == 3 and t.slept == [1.0, 2.0], "bounded tries with backoff"


def test_a_truncated_rest_answer_is_retried(api):
    t = FakeTime()
    api.script("/repos/o/r", (200, {}, b'{"id": 1, "full_na'), (200, {}, {"id": 1, "full_name": "o/r"}))
    assert _client(api, t).get("/repos/o/r").json() == {"id": 1, "full_name": "o/r"}
    assert len(api.requests) == 2


def test_a_body_cut_short_of_its_content_length_is_retried(api):
    t = FakeTime()
    api.script("/repos/o/r", (200, {"Content-Length": "500", "Connection": "close"}, b'{"id": 1'), (200, {}, {"id": 1}))
    assert _client(api, t).get("/repos/o/r").json() == {"id": 1}


GRAPHQL_OK = {"data": {"nodes": [None]}}


@pytest.mark.parametrize("body", [PROXY_PAGE, b'{"data": {"nodes": [nu', b"[]"], ids=["html", "truncated", "list"])
def test_a_garbage_graphql_answer_is_retried(api, body):
    t = FakeTime()
    api.script("/graphql", (200, {"Content-Type": "text/html"}, body), (200, {}, GRAPHQL_OK))
    assert _client(api, t).graphql("query { x }") == GRAPHQL_OK
    assert len(api.requests) == 2


def test_a_graphql_answer_that_stays_garbage_names_the_url(api):
    t = FakeTime()
    api.script("/graphql", (200, {"Content-Type": "text/html"}, PROXY_PAGE))
    with pytest.raises(GitHubError) as err:
        _client(api, t, max_tries=2).graphql("query { x }")
    assert f"{api.url}/graphql" in str(err.value) and SECRET not in str(err.value)
    assert len(api.requests) == 2


def test_enrichment_refuses_an_answer_with_the_wrong_number_of_nodes(api):
    t = FakeTime()
    api.script("/graphql", (200, {}, {"data": {"nodes": [None]}}))
    with pytest.raises(GitHubError, match="1 nodes for 2 ids"):
        enrich(_client(api, t), ["R_1", "R_2"])


def test_the_github_resource_bounds_its_governor_and_sends_waits_to_the_run_log():
    import dagster as dg

    from stratum_assets.offline_github import OfflineGitHub

    resource = OfflineGitHub(url="http://127.0.0.1:9", max_required_wait_s=120, max_total_wait_s=300)
    resource.setup_for_execution(dg.build_init_resource_context())
    governor = resource.client().governor
    assert (governor.max_required_wait, governor.max_total_wait) == (120, 300)
    assert governor.on_wait is not None, "waits reach Dagster's event log, not only Python logging"
