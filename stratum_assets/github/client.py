"""A small GitHub API client: REST and GraphQL through one :class:`RateGovernor`.

No Dagster in here. The base URL is configurable (api.github.com, a GitHub
Enterprise ``https://host/api/v3``, or the loopback emulator). The token is
sent only in the ``Authorization`` header; it is never part of a URL, an error
message or anything this module returns, and :func:`redact` scrubs it from
any text that might carry it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import requests

from .governor import RateGovernor

log = logging.getLogger(__name__)

USER_AGENT = "stratum-assets (dataset builder)"


class GitHubError(RuntimeError):
    """An answer that retrying will not fix (404, 422, malformed body, tries used up)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class SearchCapReached(GitHubError):
    """422 "Only the first 1000 search results are available"."""


class GitHubClient:
    def __init__(self, api_url: str = "https://api.github.com", token: str | None = None, *,
                 graphql_url: str | None = None, governor: RateGovernor | None = None, timeout: float = 60.0):
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url or _graphql_url_for(self.api_url)
        self.governor = governor or RateGovernor()
        self.timeout = timeout
        self._token = token
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/vnd.github+json", "User-Agent": USER_AGENT,
                                      "X-GitHub-Api-Version": "2022-11-28"})
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    # -- REST ---------------------------------------------------------------------------
    def get(self, path_or_url: str, params: dict | None = None, resource: str = "core") -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else f"{self.api_url}{path_or_url}"
        return self._send("GET", url, resource, params=params)

    def search_pages(self, q: str, per_page: int = 100) -> Iterator[dict]:
        """Every page of one search query, following ``Link: rel="next"``."""
        response = self.get("/search/repositories", {"q": q, "per_page": per_page}, resource="search")
        while True:
            yield response.json()
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            response = self.get(next_url, resource="search")

    # -- GraphQL ------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """``data`` plus ``errors`` (NOT_FOUND errors are part of normal answers)."""
        for attempt in range(1, self.governor.max_tries + 1):
            response = self._send("POST", self.graphql_url, "graphql", json={"query": query, "variables": variables or {}})
            body = response.json()
            errors = body.get("errors") or []
            if any(e.get("type") == "RATE_LIMITED" for e in errors):
                decision = self.governor.retry_after(attempt, 403, _lower(response.headers))
                if decision is None:
                    raise GitHubError("GraphQL rate limit: tries used up", 403)
                self.governor.wait(decision)
                continue
            if body.get("data") is None:
                raise GitHubError(f"GraphQL query failed: {self.redact(json.dumps(errors)[:500])}", response.status_code)
            return body
        raise GitHubError("GraphQL: tries used up")

    # -- transport ----------------------------------------------------------------------
    def _send(self, method: str, url: str, resource: str, **kwargs) -> requests.Response:
        attempt = 0
        while True:
            attempt += 1
            self.governor.before_request(resource)
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                decision = self.governor.retry_after(attempt, None, {})
                if decision is None:
                    raise GitHubError(f"{method} {_path(url)}: network error after {attempt} tries: "
                                      f"{self.redact(type(exc).__name__)}") from None
                log.warning("network error on %s %s; retrying in %.1fs", method, _path(url), decision.wait_seconds)
                self.governor.wait(decision)
                continue
            headers = _lower(response.headers)
            self.governor.observe(resource, headers)
            if response.status_code < 400:
                return response
            if response.status_code == 422 and "first 1000 search results" in response.text:
                raise SearchCapReached("search results past the first 1,000 are not available", 422)
            retryable = response.status_code >= 500 or _is_rate_limited(response, headers)
            decision = self.governor.retry_after(attempt, response.status_code, headers) if retryable else None
            if decision is None:
                raise GitHubError(f"{method} {_path(url)} answered {response.status_code}: "
                                  f"{self.redact(_message(response))}", response.status_code)
            log.warning("%s %s answered %s (%s); retrying in %.1fs", method, _path(url), response.status_code,
                        decision.reason, decision.wait_seconds)
            self.governor.wait(decision)


def _is_rate_limited(response: requests.Response, headers: dict[str, str]) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    return ("retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
            or "rate limit" in response.text.lower())


def _graphql_url_for(api_url: str) -> str:
    if api_url.endswith("/api/v3"):  # GitHub Enterprise Server
        return api_url[: -len("/v3")] + "/graphql"
    return f"{api_url}/graphql"


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _path(url: str) -> str:
    """The path of a URL without its query: queries are logged by the caller if at all."""
    return url.split("?", 1)[0]


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:300]
    except ValueError:
        return response.text[:300]
