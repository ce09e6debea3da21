"""A GitHub-compatible server on loopback that serves a synthetic universe.

Routes (same paths, status codes, headers and JSON shapes as api.github.com):

* ``GET /search/repositories`` — ``q`` with GitHub's qualifiers, ``sort``,
  ``order``, ``per_page`` (capped at 100), ``page``; only the first 1,000
  results are reachable (422 past them); ``Link`` pagination headers.
* ``GET /repos/{owner}/{repo}`` (with ``parent``/``source`` for forks) and
  ``GET /repos/{owner}/{repo}/languages``; a renamed repository's old name answers
  ``301 Moved Permanently`` to ``GET /repositories/{id}`` (and ``.../languages``), which answers
  with its current name.
* ``POST /graphql`` — see :mod:`stratum_sandbox.graphql_api`.
* ``GET /rate_limit`` — free, like GitHub's.
* ``/git/{owner}/{repo}.git/...`` — git smart HTTP through ``git http-backend``
  (partial-clone filters allowed). Deleted repositories answer 404.
* ``/_sandbox/faults`` (POST a fault, DELETE to clear), ``/_sandbox/weather`` (POST: the
  :mod:`~stratum_sandbox.weather` profile), ``/_sandbox/stats`` and ``/_sandbox/universe`` (the universe's
  seed, size and size profile: the world a data directory records)
  — control endpoints for tests and for a separately started emulator.

Every answer carries ``x-ratelimit-*`` headers from real-sized budgets;
:class:`~stratum_sandbox.limits.FaultPlan` injects secondary limits,
exhausted primary limits, 5xx and slow answers, and GitHub's documented weathers (incomplete searches,
counts that drift, GraphQL timeouts and partial errors, the older abuse wording); ``block`` and
``rename`` make a repository blocked (DMCA, 451) or renamed after it was indexed, as GitHub's
repositories are. Tokens are accepted in the
``Authorization`` header and never logged or echoed.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, replace
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from .codegen import language_bytes
from .git_store import GitStore, git_env
from .graphql_api import GraphQLApi
from .limits import Fault, FaultPlan, RateBudgets
from .payloads import error, full_repo, moved_permanently, search_item
from .search_query import QueryError, parse_query, tokens
from .universe import Repo, Universe

SEARCH_CAP = 1000
SEARCH_DOCS = "https://docs.github.com/v3/search/"
_REPO_PATH = re.compile(r"^/repos/([^/]+)/([^/]+?)(/languages)?/?$")
_REPO_ID_PATH = re.compile(r"^/repositories/(\d+)(/languages)?/?$")
_GIT_PATH = re.compile(r"^/git/([^/]+)/([^/]+?)\.git(/.*)$")
_REPO_NOT_FOUND: tuple[int, dict, dict[str, str]] = (
    404,
    error("Not Found", 404, "https://docs.github.com/rest/repos/repos#get-a-repository"),
    {},
)


class _QuietServer(ThreadingHTTPServer):
    """A request that fails (a full disk under the git store) is one line on stderr, once per kind of error.

    The default prints a traceback per request: a build on a full disk showed fifty of them. The
    client sees the failure anyway (the connection closes without an answer) and says so itself.
    """

    daemon_threads = True

    def __init__(self, *args):
        super().__init__(*args)
        self._reported: set[str] = set()

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        kind = type(error).__name__
        if kind not in self._reported:
            self._reported.add(kind)
            first = (str(error).strip().splitlines() or [""])[0][:300]
            with contextlib.suppress(OSError):  # stderr may be a log file on the very disk that is full
                print(
                    f"GitHub emulator: a request failed ({kind}: {first}); further failures of this kind are not shown",
                    file=sys.stderr,
                    flush=True,
                )


class SearchIndex:
    """Inverted index of the words in each repository's name, description and topics."""

    def __init__(self, universe: Universe):
        self.repos = universe.repos
        self.words: list[set[str]] = [set(tokens(r.search_text)) for r in self.repos]
        self.postings: dict[str, set[int]] = {}
        for i, words in enumerate(self.words):
            for w in words:
                self.postings.setdefault(w, set()).add(i)

    def search(self, q: str, sort: str | None, order: str) -> list[tuple[Repo, int]]:
        query = parse_query(q)
        candidates: range | set[int] = range(len(self.repos))
        for clause in query.clauses:
            hits: set[int] = set()
            for alternative in clause:
                hits |= self._with_all(alternative)
            candidates = hits if isinstance(candidates, range) else candidates & hits
        found = [
            (self.repos[i], query.score(self.words[i]))
            for i in candidates
            if query.matches(self.repos[i], self.words[i])
        ]
        key = {
            "stars": lambda rs: rs[0].stars,
            "forks": lambda rs: rs[0].forks_count,
            "updated": lambda rs: rs[0].pushed_at.timestamp(),
        }.get(sort or "")
        if key is None:  # best match: score, then stars, then id — stable for a given universe
            found.sort(key=lambda rs: (-rs[1], -rs[0].stars, rs[0].id))
        else:
            found.sort(key=lambda rs: (key(rs), rs[0].id), reverse=(order != "asc"))
        return found

    def _with_all(self, words: list[str]) -> set[int]:
        result: set[int] | None = None
        for w in words:
            variants = self.postings.get(w, set()) | self.postings.get(f"{w}s", set())
            if w.endswith("s"):
                variants |= self.postings.get(w[:-1], set())
            result = variants if result is None else result & variants
        return result or set()


class GitHubEmulator:
    """The loopback GitHub. Use as a context manager or call :meth:`start`/:meth:`stop`."""

    def __init__(
        self,
        universe: Universe,
        git_root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        budgets: dict[str, tuple[int, float]] | None = None,
        slow_clone_seconds: float = 4.0,
        clone_latency_seconds: float = 0.0,
        graphql_requires_token: bool = True,
        max_repos: int | None = None,
    ):
        self.universe = universe
        self.git = GitStore(git_root, max_repos=max_repos)
        self.budgets = RateBudgets(budgets)
        self.faults = FaultPlan()
        self.slow_clone_seconds = slow_clone_seconds  # the universe's slow repositories, every fetch
        self.clone_latency_seconds = clone_latency_seconds  # every repository's fetch: a network's round trips
        self.graphql_requires_token = graphql_requires_token
        # Repositories GitHub blocks (full name -> "dmca" or "legal") and renames (old -> new full name).
        self.blocked: dict[str, str] = {}
        self.renamed: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"  # type: ignore[str-bytes-safe]  # an AF_INET server: host is a str

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/git/{full_name}.git"

    @cached_property
    def index(self) -> SearchIndex:
        return SearchIndex(self.universe)

    @cached_property
    def graphql(self) -> GraphQLApi:
        return GraphQLApi(self.universe, renamed=self.renamed)

    def block(self, full_name: str, reason: str = "legal") -> None:
        """Block a repository's git: ``dmca`` (403, takedown notice) or ``legal`` (451, blocked in a country)."""
        if reason not in ("dmca", "legal"):
            raise ValueError(f"unknown block reason {reason!r}; expected dmca or legal")
        self.blocked[full_name] = reason

    def rename(self, full_name: str, new_name: str) -> None:
        """Rename a repository after search indexed it: search keeps the old name, GraphQL and git the new."""
        self.renamed[full_name] = new_name

    def current(self, full_name: str) -> Repo | None:
        """The repository a git or REST path names, by its current name or (redirected) by its old one."""
        old = next((o for o, n in self.renamed.items() if n == full_name), None)
        return self.universe.get(old or full_name)

    def is_old_name(self, full_name: str) -> bool:
        """Whether ``full_name`` is the name of a repository before it was renamed."""
        return full_name.lower() in {old.lower() for old in self.renamed}

    def as_renamed(self, repo: Repo) -> Repo:
        """``repo`` under its current name: GitHub's REST answers carry it, not the one search indexed."""
        owner, _, name = self.renamed.get(repo.full_name, repo.full_name).partition("/")
        return replace(repo, owner=owner, name=name)

    @cached_property
    def by_id(self) -> dict[int, Repo]:
        return {repo.id: repo for repo in self.universe.repos}

    def count(self, resource: str) -> None:
        with self._stats_lock:
            self.requests[resource] += 1

    def stats(self) -> dict:
        with self._stats_lock:
            return {
                "requests": dict(self.requests),
                "faults_fired": self.faults.fired(),
                "rate": self.budgets.snapshot(),
            }

    def start(self) -> GitHubEmulator:
        _ = self.index  # build before the first request, not inside it
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="github-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler_for(emulator: GitHubEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        em = emulator

    return Handler


class _Handler(BaseHTTPRequestHandler):
    em: GitHubEmulator
    protocol_version = "HTTP/1.1"
    # Send headers and body in one segment, without Nagle: otherwise every keep-alive
    # request waits out a delayed ACK (~40 ms).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "GitHub.com"

    def log_message(self, format, *args):
        pass

    # -- dispatch ------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, params = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = self._read_body()
        try:
            if path.startswith("/_sandbox/"):
                return self._control(method, path, body)
            if path.startswith("/git/"):
                return self._git(method, path, parts.query, body)
            if method == "GET" and path == "/search/repositories":
                return self._guarded("search", 1, lambda: self._search(params))
            if method == "GET" and path == "/rate_limit":
                return self._rate_limit()
            if method == "POST" and path == "/graphql":
                return self._graphql(body)
            match = _REPO_PATH.match(path)
            if method == "GET" and match:
                return self._guarded(
                    "core", 1, lambda: self._repo(match.group(1), match.group(2), bool(match.group(3)))
                )
            match = _REPO_ID_PATH.match(path)
            if method == "GET" and match:
                return self._guarded("core", 1, lambda: self._repo_by_id(int(match.group(1)), bool(match.group(2))))
            self._json(404, error("Not Found", 404))
        except BrokenPipeError:
            pass

    def _guarded(self, resource: str, cost: int, answer, size: int | None = None) -> None:
        """Count, inject faults, spend budget, then answer (``size``: the request's size, for faults with ``above``)."""
        self.em.count(resource)
        fault = self.em.faults.draw(resource, size=size)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None:
            return self._fault(fault, resource)
        allowed, headers = self.em.budgets.take(resource, cost)
        if not allowed:
            return self._json(
                403,
                error(
                    f"API rate limit exceeded for {self._who()}.",
                    403,
                    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                ),
                headers,
            )
        status, payload, extra = answer()
        self._json(status, payload, {**headers, **extra})

    def _fault(self, fault: Fault, resource: str) -> None:
        headers = self.em.budgets.peek(resource) if resource != "git" else {}
        if fault.retry_after is not None and fault.kind.startswith("secondary"):
            headers["retry-after"] = str(fault.retry_after)
        if fault.kind == "primary_403":
            headers.update(
                {
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(math.ceil(time.time() + (fault.retry_after or 1))),
                }
            )
            return self._json(403, error(f"API rate limit exceeded for {self._who()}.", 403), headers)
        if fault.kind.startswith("secondary"):
            status = 429 if fault.kind == "secondary_429" else 403
            return self._json(
                status,
                error(
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", status
                ),
                headers,
            )
        if fault.kind == "abuse_403":
            if fault.retry_after is not None:
                headers["retry-after"] = str(fault.retry_after)
            return self._json(
                403,
                error(
                    "You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.",
                    403,
                    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                ),
                headers,
            )
        if fault.kind == "graphql_secondary_200":
            if fault.retry_after is not None:
                headers["retry-after"] = str(fault.retry_after)
            return self._json(
                200,
                {
                    "data": None,
                    "errors": [
                        {
                            "message": (
                                "You have exceeded a secondary rate limit. "
                                "Please wait a few minutes before you try again. "
                                "If you reach out to GitHub Support for help, "
                                "please include the request ID 0000:0000:0000000."
                            )
                        }
                    ],
                },
                headers,
            )
        if fault.kind == "graphql_timeout":
            return self._json(
                200,
                {
                    "data": None,
                    "errors": [
                        {
                            "message": (
                                "Something went wrong while executing your query. "
                                "This may be the result of a timeout, or it could be a GitHub bug. "
                                "Please include `0000:0000:0000000:0000000:00000000` when reporting this issue."
                            )
                        }
                    ],
                },
                headers,
            )
        self._json(fault.status, {"message": "Server Error"}, headers)

    # -- REST ----------------------------------------------------------------------
    def _search(self, params: dict[str, str]):
        q = params.get("q", "")
        try:
            per_page = max(1, min(100, int(params.get("per_page", 30))))
            page = max(1, int(params.get("page", 1)))
            found = self.em.index.search(q, params.get("sort"), params.get("order", "desc"))
        except (QueryError, ValueError) as exc:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Search", "field": "q", "code": "invalid", "message": str(exc)}],
                    "documentation_url": SEARCH_DOCS,
                    "status": "422",
                },
                {},
            )
        if (page - 1) * per_page >= SEARCH_CAP:
            return (
                422,
                {
                    "message": "Only the first 1000 search results are available",
                    "documentation_url": SEARCH_DOCS,
                    "status": "422",
                },
                {},
            )
        total, incomplete = len(found), False
        weather = self.em.faults.draw("search", size=len(found), shaping=True)
        if weather is not None and weather.kind == "search_incomplete":
            # Timed out: only what was found so far, and total_count counts just that.
            found, incomplete = found[: int(len(found) * weather.fraction)], True
            total = len(found)
        elif weather is not None and weather.kind == "search_count_drift" and page == 1:
            total = max(0, total - weather.drift)  # an estimate that the later pages correct
        elif weather is not None:
            weather.fired -= 1  # drawn for a page it does not apply to: it has not fired
        start = (page - 1) * per_page
        window = found[start : min(start + per_page, SEARCH_CAP)]
        items = [search_item(repo, self.em.url, self.em.url, float(max(1, score))) for repo, score in window]
        body = {"total_count": total, "incomplete_results": incomplete, "items": items}
        return 200, body, self._links(params, page, per_page, min(len(found), SEARCH_CAP))

    def _links(self, params: dict[str, str], page: int, per_page: int, reachable: int) -> dict[str, str]:
        last = max(1, math.ceil(reachable / per_page))
        if last == 1:
            return {}

        def url(n: int) -> str:
            return f"{self.em.url}/search/repositories?{urlencode({**params, 'per_page': per_page, 'page': n})}"

        rels = []
        if page > 1:
            rels += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        if page < last:
            rels += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        return {"Link": ", ".join(rels)} if rels else {}

    def _repo(self, owner: str, name: str, languages: bool):
        repo = self.em.current(f"{owner}/{name}")
        if repo is None or repo.deleted:
            return _REPO_NOT_FOUND
        if self.em.is_old_name(f"{owner}/{name}"):  # GitHub: 301 to the repository's id, whatever its name now
            location = f"{self.em.url}/repositories/{repo.id}" + ("/languages" if languages else "")
            return 301, moved_permanently(location), {"Location": location}
        return self._repo_answer(repo, languages)

    def _repo_by_id(self, repo_id: int, languages: bool):
        repo = self.em.by_id.get(repo_id)
        if repo is None or repo.deleted:
            return _REPO_NOT_FOUND
        return self._repo_answer(repo, languages)

    def _repo_answer(self, repo: Repo, languages: bool):
        if languages:
            return 200, language_bytes(repo), {}
        parent = self.em.universe.get(repo.parent) if repo.parent else None
        parent = parent and self.em.as_renamed(parent)
        return 200, full_repo(self.em.as_renamed(repo), parent, self.em.url, self.em.url), {}

    def _rate_limit(self) -> None:
        snap = self.em.budgets.snapshot()
        self._json(200, {"resources": snap, "rate": snap["core"]}, self.em.budgets.peek("core"))

    # -- GraphQL -------------------------------------------------------------------
    def _graphql(self, body: bytes) -> None:
        if self.em.graphql_requires_token and not self._token():
            return self._json(
                401,
                {
                    "message": "This endpoint requires you to be authenticated.",
                    "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
                    "status": "401",
                },
            )
        try:
            request = json.loads(body or b"{}")
            query, variables = request["query"], request.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"message": "Problems parsing JSON", "status": "400"})
        cost, node_count = self.em.graphql.query_cost(query, variables)

        def answer():
            headers = self.em.budgets.peek("graphql")

            def rate_limit():
                return {
                    "cost": cost,
                    "limit": int(headers["x-ratelimit-limit"]),
                    "remaining": int(headers["x-ratelimit-remaining"]),
                    "used": int(headers["x-ratelimit-used"]),
                    "resetAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(headers["x-ratelimit-reset"]))),
                    "nodeCount": node_count,
                }

            weather = self.em.faults.draw("graphql", size=node_count, shaping=True)
            failing = (weather.nodes_every, weather.error_type) if weather is not None else None
            return 200, self.em.graphql.execute(query, variables, rate_limit, failing=failing), {}

        self._guarded("graphql", cost, answer, size=node_count)

    # -- git smart HTTP --------------------------------------------------------------
    def _git(self, method: str, path: str, query: str, body: bytes) -> None:
        match = _GIT_PATH.match(path)
        repo = self.em.current(f"{match.group(1)}/{match.group(2)}") if match else None
        self.em.count("git")
        if repo is None or match is None:  # (no match: repo is None)
            # GitHub hides private/missing repositories behind an authentication challenge.
            return self._send(
                401,
                b"Authentication required\n",
                {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"},
            )
        if repo.deleted:
            return self._send(404, b"Repository not found.\n", {"Content-Type": "text/plain"})
        blocked = self.em.blocked.get(repo.full_name)
        if blocked == "dmca":  # DESIGN.md "What GitHub documents": 403 with the takedown notice
            return self._send(
                403,
                b"Repository unavailable due to DMCA takedown.\nSee the takedown notice for "
                b"more details:\nhttps://github.com/github/dmca\n",
                {"Content-Type": "text/plain"},
            )
        if blocked == "legal":  # 451 Unavailable For Legal Reasons (RFC 7725): blocked in a country
            return self._send(451, b"Repository access blocked\n", {"Content-Type": "text/plain"})
        fault = self.em.faults.draw("git", repo=repo.full_name)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None:
            status = 429 if fault.kind in ("secondary_429", "secondary_403") else fault.status
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            return self._send(status, b"Too many requests\n" if status == 429 else b"Server Error\n", headers)
        bare = self.em.git.path_for(repo)
        env = git_env(
            GIT_PROJECT_ROOT=str(bare.parent),
            GIT_HTTP_EXPORT_ALL="1",
            PATH_INFO=f"/{bare.name}{match.group(3)}",
            REQUEST_METHOD=method,
            QUERY_STRING=query,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(body)),
            REMOTE_ADDR=self.client_address[0],
            HTTP_GIT_PROTOCOL=self.headers.get("Git-Protocol", ""),
            HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
        )
        result = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env, timeout=300)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key] = value.strip()
        throttle = (
            0.0
            if method != "POST"
            else (self.em.clone_latency_seconds + (self.em.slow_clone_seconds if repo.slow else 0.0))
        )
        self._send(status, payload, headers, throttle_seconds=throttle)

    # -- control ---------------------------------------------------------------------
    def _control(self, method: str, path: str, body: bytes) -> None:
        if path == "/_sandbox/stats" and method == "GET":
            return self._json(200, self.em.stats())
        if path == "/_sandbox/universe" and method == "GET":
            return self._json(200, self.em.universe.identity())
        if path == "/_sandbox/faults" and method == "POST":
            try:
                fault = self.em.faults.add(Fault(**json.loads(body)))
            except (TypeError, ValueError) as exc:
                return self._json(400, {"message": str(exc)})
            return self._json(201, {k: v for k, v in asdict(fault).items() if k not in ("seen", "fired")})
        if path == "/_sandbox/faults" and method == "DELETE":
            self.em.faults.clear()
            return self._json(200, {"cleared": True})
        if path == "/_sandbox/weather" and method == "POST":
            from .weather import apply_weather

            apply_weather(self.em)
            return self._json(201, {"weather": True, "blocked": len(self.em.blocked), "renamed": len(self.em.renamed)})
        self._json(404, error("Not Found", 404))

    # -- plumbing --------------------------------------------------------------------
    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() in ("token", "bearer") and token.strip() else None

    def _who(self) -> str:
        return "user ID 1" if self._token() else self.client_address[0]

    def _read_body(self) -> bytes:
        return read_request_body(self)

    def _json(self, status: int, payload, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._send(
            status,
            data,
            {
                "Content-Type": "application/json; charset=utf-8",
                "X-GitHub-Media-Type": "github.v3; format=json",
                **(headers or {}),
            },
        )

    def _send(self, status: int, data: bytes, headers: dict[str, str], throttle_seconds: float = 0.0) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if throttle_seconds <= 0:
            self.wfile.write(data)
            return
        pieces = max(1, min(50, len(data) // 1024))
        step = math.ceil(len(data) / pieces)
        for i in range(0, len(data), step):
            time.sleep(throttle_seconds / pieces)
            self.wfile.write(data[i : i + step])
            self.wfile.flush()


def read_request_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sent with Content-Length or chunked (as git's smart HTTP does)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""
