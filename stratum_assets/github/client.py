"""A small GitHub API client: REST and GraphQL through one :class:`RateGovernor`.

No Dagster in here. The base URL is configurable (api.github.com, a GitHub
Enterprise ``https://host/api/v3``, or the loopback emulator). The token is
sent only in the ``Authorization`` header, and only to the configured API
origin (scheme, host and port of ``api_url`` or ``graphql_url``): it is a
per-request header, never a session default, so a redirect elsewhere or a
link to another host cannot pick it up. It is never part of a URL, an error
message or anything this module returns, and :func:`redact` scrubs it from
any text that might carry it.

Answers that are not the JSON they should be (a proxy's HTML page, a body cut
short) are transient like a 5xx: retried with backoff, a bounded number of
times, and the final error names the URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests

from .governor import RateGovernor, WaitTooLong

log = logging.getLogger(__name__)

USER_AGENT = "stratum-assets (dataset builder)"


class GitHubError(RuntimeError):
    """An answer that retrying will not fix (404, 422, malformed body, tries used up)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class SearchCapReached(GitHubError):
    """422 "Only the first 1000 search results are available"."""


class GraphQLTimeout(GitHubError):
    """GitHub cut a GraphQL query that ran too long: 502/504, or 200 with ``data: null`` and "This may be the
    result of a timeout" (GraphQL docs, "Rate limits and query limits": timeouts). Asking the same again is
    likely to time out again; asking less is not, so the caller decides (enrichment halves its batch)."""


# GitHub's wordings of a secondary rate limit: the current one, and the older "abuse" one still answered.
_SECONDARY_WORDS = ("secondary rate limit", "abuse detection")
_TIMEOUT_WORDS = "this may be the result of a timeout"


class GitHubClient:
    def __init__(
        self,
        api_url: str = "https://api.github.com",
        token: str | None = None,
        *,
        graphql_url: str | None = None,
        governor: RateGovernor | None = None,
        timeout: float = 60.0,
    ):
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url or _graphql_url_for(self.api_url)
        self.governor = governor or RateGovernor()
        self.timeout = timeout
        self._token = token
        self._token_origins = {origin(self.api_url), origin(self.graphql_url)}
        self._session = requests.Session()
        self._session.headers.update(
            {"Accept": "application/vnd.github+json", "User-Agent": USER_AGENT, "X-GitHub-Api-Version": "2022-11-28"}
        )

    def __repr__(self) -> str:
        return f"GitHubClient({self.api_url!r}, token={'***' if self._token else None})"

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    # -- REST ---------------------------------------------------------------------------
    def get(self, path_or_url: str, params: dict | None = None, resource: str = "core") -> requests.Response:
        """GET a path of the API, or a full URL on the API's own origin (another host is refused)."""
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else f"{self.api_url}{path_or_url}"
        self._refuse_other_hosts(url)
        return self._send("GET", url, resource, params=params)

    def search_pages(self, q: str, per_page: int = 100) -> Iterator[dict]:
        """Every page of one search query, following ``Link: rel="next"``.

        A next link to another origin than the API's (scheme, host or port) is refused with a
        :class:`GitHubError` rather than followed: following it without the token would be
        possible, but a server that points elsewhere is broken or hostile, and stopping is safer.
        """
        response = self._send(
            "GET", f"{self.api_url}/search/repositories", "search", params={"q": q, "per_page": per_page}, expect=dict
        )
        while True:
            yield response.json()
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            self._refuse_other_hosts(next_url)
            response = self._send("GET", next_url, "search", expect=dict)

    # -- GraphQL ------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """``data`` plus ``errors`` (NOT_FOUND and other per-node errors are part of normal answers).

        A rate limit answered as a 200 (``type: RATE_LIMITED``, or a message naming a secondary limit, which
        GitHub sends without a type) is waited like a 403 of the same kind. A timeout — 502/504, or 200 with
        ``data: null`` saying so — raises :class:`GraphQLTimeout` at once, without retrying the same query.
        """
        waits = _Waits()
        what = self.redact(f"POST {_path(self.graphql_url)}")
        for attempt in range(1, self.governor.max_tries + 1):
            response = self._send(
                "POST",
                self.graphql_url,
                "graphql",
                waits=waits,
                expect=dict,
                json={"query": query, "variables": variables or {}},
                timeouts=(502, 504),
            )
            body = response.json()
            errors = body.get("errors") or []
            if not isinstance(errors, list):
                errors = [errors]
            if any(
                isinstance(e, dict) and (e.get("type") == "RATE_LIMITED" or _says(e, *_SECONDARY_WORDS)) for e in errors
            ):
                decision = self.governor.retry_after(attempt, 403, _lower(response.headers))
                if decision is None:
                    raise GitHubError(f"{what}: GraphQL rate limit: tries used up", 403)
                self._wait(decision, waits, what, 403)
                continue
            if body.get("data") is None and any(_says(e, _TIMEOUT_WORDS) for e in errors):
                raise GraphQLTimeout(f"{what}: GraphQL query timed out", response.status_code)
            if body.get("data") is None:
                raise GitHubError(
                    f"{what}: GraphQL query failed: {self.redact(json.dumps(errors)[:500])}", response.status_code
                )
            return body
        raise GitHubError(f"{what}: GraphQL: tries used up")

    # -- transport ----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        resource: str,
        *,
        waits: _Waits | None = None,
        expect: type | None = None,
        timeouts: tuple[int, ...] = (),
        **kwargs,
    ) -> requests.Response:
        """One request with retries; the answer is JSON (of type ``expect`` when given) or this raises.

        A status in ``timeouts`` raises :class:`GraphQLTimeout` at once instead of being retried.
        """
        waits = waits or _Waits()
        what = self.redact(f"{method} {_path(url)}")
        headers = {"Authorization": f"Bearer {self._token}"} if self._token and self._may_see_token(url) else {}
        attempt = 0
        while True:
            attempt += 1
            try:
                waits.spent += self.governor.before_request(resource, spent=waits.spent, what=what)
            except WaitTooLong as exc:
                raise GitHubError(self.redact(str(exc)), 403) from None
            try:
                # stream=False (the default) reads the whole body here: a body cut short is a network error
                response = self._session.request(method, url, timeout=self.timeout, headers=headers, **kwargs)
            except requests.RequestException as exc:
                decision = self.governor.retry_after(attempt, None, {})
                if decision is None:
                    raise GitHubError(
                        f"{what}: network error after {attempt} tries: {self.redact(type(exc).__name__)}"
                    ) from None
                self._wait(decision, waits, what, None)
                continue
            headers_in = _lower(response.headers)
            self.governor.observe(resource, headers_in)
            if response.status_code < 400:
                problem = _not_json(response, expect)
                if problem is None:
                    return response
                decision = self.governor.retry_after(attempt, response.status_code, headers_in, reason="malformed_body")
                if decision is None:
                    raise GitHubError(
                        f"{what} answered {response.status_code} but the body is not JSON "
                        f"({problem}) after {attempt} tries: {self.redact(response.text)[:80]!r}",
                        response.status_code,
                    )
                log.warning("%s answered %s with a body that is not JSON (%s)", what, response.status_code, problem)
                self._wait(decision, waits, what, response.status_code)
                continue
            if response.status_code in timeouts:
                raise GraphQLTimeout(f"{what} answered {response.status_code} (timed out)", response.status_code)
            if response.status_code == 422 and "first 1000 search results" in response.text:
                raise SearchCapReached("search results past the first 1,000 are not available", 422)
            retryable = response.status_code >= 500 or _is_rate_limited(response, headers_in)
            decision = self.governor.retry_after(attempt, response.status_code, headers_in) if retryable else None
            if decision is None:
                raise GitHubError(
                    f"{what} answered {response.status_code}: {self.redact(_message(response))}", response.status_code
                )
            self._wait(decision, waits, f"retrying {what} (answered {response.status_code})", response.status_code)

    def _wait(self, decision, waits: _Waits, what: str, status: int | None) -> None:
        try:
            self.governor.wait(decision, spent=waits.spent, what=what)
        except WaitTooLong as exc:
            raise GitHubError(self.redact(str(exc)), status) from None
        waits.spent += decision.wait_seconds

    def _may_see_token(self, url: str) -> bool:
        return origin(url) in self._token_origins

    def _refuse_other_hosts(self, url: str) -> None:
        if not self._may_see_token(url):
            scheme, host, port = origin(url)
            raise GitHubError(
                f"refusing to follow a link to another host ({scheme}://{host}:{port}): this client "
                f"talks only to {self.api_url}, the one host its token is for"
            )


class _Waits:
    """Seconds one request (all its tries) has waited so far, for the governor's total bound."""

    def __init__(self):
        self.spent = 0.0


def _is_rate_limited(response: requests.Response, headers: dict[str, str]) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    text = response.text.lower()
    return (
        "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in text
        or any(word in text for word in _SECONDARY_WORDS)
    )


def _says(error, *words: str) -> bool:
    """Whether a GraphQL error's message contains one of ``words`` (case-insensitive)."""
    message = error.get("message") if isinstance(error, dict) else None
    return isinstance(message, str) and any(word in message.lower() for word in words)


def _graphql_url_for(api_url: str) -> str:
    if api_url.endswith("/api/v3"):  # GitHub Enterprise Server
        return api_url[: -len("/v3")] + "/graphql"
    return f"{api_url}/graphql"


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _path(url: str) -> str:
    """The URL without its query: queries are logged by the caller if at all."""
    return url.split("?", 1)[0]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what the token is scoped to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: matches nothing
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _not_json(response: requests.Response, expect: type | None) -> str | None:
    """Why a successful answer's body is unusable, or None when it is JSON of the expected type."""
    if response.status_code in (204, 304):
        return None
    try:
        body = response.json()
    except ValueError:
        return "empty body" if not response.content.strip() else "not valid JSON: garbled or cut short"
    if expect is not None and not isinstance(body, expect):
        return f"JSON {type(body).__name__}, expected an object"
    return None


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:300]
    except ValueError:
        return response.text[:300]
