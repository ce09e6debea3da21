"""Enrich search results with what search items lack, 100 repositories per GraphQL request.

Search items carry no fork parent and no per-language byte counts; the REST
way (``/repos`` + ``/languages`` per repository) would cost two calls per
repository, about 20 hours of quota for 50,000. One ``nodes(ids:)`` query
returns parent, languages, license, topics and the files that mark a mature
project for 100 repositories at a cost of about 2 points.

GitHub answers big queries worse than small ones (timeouts, nodes that fail alone): see :func:`enrich`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from .client import GitHubClient, GitHubError, GraphQLTimeout

BATCH = 100  # GitHub's most nodes per nodes(ids:) query
GROW_AFTER = 3  # answers in a row before a batch halved by a timeout doubles again
NODE_TRIES = 4  # how often one node is asked before it is listed as failed

_FILES = {
    "readme": ("README.md", "readme.md", "README.rst", "README", "README.txt"),
    "dockerfile": ("Dockerfile",),
    "ci": (".github/workflows", ".gitlab-ci.yml", ".circleci"),
    "tests": ("tests", "test"),
}

_FILE_FIELDS = "\n".join(
    f'      {kind}{i}: object(expression: "HEAD:{path}") {{ __typename }}'
    for kind, paths in _FILES.items()
    for i, path in enumerate(paths)
)

QUERY = f"""
query Enrich($ids: [ID!]!) {{
  rateLimit {{ cost remaining resetAt }}
  nodes(ids: $ids) {{
    ... on Repository {{
      id
      nameWithOwner
      isFork
      parent {{ nameWithOwner }}
      stargazerCount
      forkCount
      pushedAt
      createdAt
      licenseInfo {{ spdxId }}
      primaryLanguage {{ name }}
      languages(first: 25) {{ edges {{ size node {{ name }} }} }}
      repositoryTopics(first: 30) {{ nodes {{ topic {{ name }} }} }}
{_FILE_FIELDS}
    }}
  }}
}}
"""


@dataclass(frozen=True)
class Enrichment:
    """What GraphQL adds to a search item (fresh values of stars and dates too)."""

    node_id: str
    full_name: str
    is_fork: bool
    fork_parent: str | None
    stars: int
    forks: int
    pushed_at: str | None
    created_at: str
    license: str | None
    primary_language: str | None
    language_bytes: dict[str, int]
    topics: tuple[str, ...]
    has_readme: bool
    has_dockerfile: bool
    has_ci: bool
    has_tests: bool


@dataclass
class Enriched:
    """Every id asked for ends in exactly one of these: enriched, deleted (NOT_FOUND) or failed (with why)."""

    found: dict[str, Enrichment] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)  # NOT_FOUND: deleted since search indexed it
    failed: dict[str, str] = field(default_factory=dict)  # node id -> the last error type, after NODE_TRIES
    batch_sizes: Counter = field(default_factory=Counter)  # requests per batch size: what the weather cost


def enrich(client: GitHubClient, node_ids: Iterable[str]) -> Enriched:
    """Enrich ``node_ids`` node by node: each null is matched to its error through ``path``.

    Only NOT_FOUND means deleted. A node that failed otherwise (FORBIDDEN, SERVICE_UNAVAILABLE, a timeout,
    a null without an error) is asked again in a smaller batch, up to NODE_TRIES times, then listed as failed.
    The batch size adapts to GitHub's weather: halved on a timeout (down to one id), doubled back after
    GROW_AFTER answers in a row.
    """
    result = Enriched()
    retry: deque[str]
    todo, retry = deque(dict.fromkeys(node_ids)), deque()
    tries: Counter = Counter()
    size, streak = BATCH, 0
    while todo or retry:
        queue = retry if retry else todo
        take = min(size, max(1, size // 4)) if queue is retry else size  # a retried node goes in a small batch
        batch = [queue.popleft() for _ in range(min(take, len(queue)))]
        result.batch_sizes[len(batch)] += 1
        try:
            body = client.graphql(QUERY, {"ids": batch})
        except GraphQLTimeout:
            streak = 0
            if len(batch) > 1:
                size = max(1, len(batch) // 2)
                queue.extendleft(reversed(batch))
            else:
                _failed_once(batch[0], "timeout", tries, retry, result)
            continue
        streak += 1
        if streak >= GROW_AFTER and size < BATCH:
            size, streak = min(BATCH, size * 2), 0
        _take_answer(client, batch, body, tries, retry, result)
    return result


def _take_answer(
    client: GitHubClient, batch: list[str], body: dict, tries: Counter, retry: deque, result: Enriched
) -> None:
    nodes = body["data"].get("nodes") if isinstance(body["data"], dict) else None
    if not isinstance(nodes, list) or len(nodes) != len(batch):
        count = len(nodes) if isinstance(nodes, list) else "no"
        raise GitHubError(
            f"POST {client.graphql_url}: enrichment answered {count} nodes for {len(batch)} ids; "
            "a short answer would drop repositories silently"
        )
    errors = _errors_by_node(body.get("errors"))
    for i, (node_id, node) in enumerate(zip(batch, nodes, strict=True)):
        if node is not None:
            try:
                result.found[node_id] = _parse(node)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise GitHubError(
                    f"POST {client.graphql_url}: enrichment node {node_id!r} is malformed ({type(exc).__name__}: {exc})"
                ) from None
        elif errors.get(i) == "NOT_FOUND":
            result.gone.append(node_id)
        else:
            _failed_once(node_id, errors.get(i) or "null_without_error", tries, retry, result)


def _failed_once(node_id: str, reason: str, tries: Counter, retry: deque, result: Enriched) -> None:
    tries[node_id] += 1
    if tries[node_id] >= NODE_TRIES:
        result.failed[node_id] = reason
    else:
        retry.append(node_id)


def _errors_by_node(errors) -> dict[int, str]:
    """Error type per index of ``nodes`` (``path: ["nodes", i]``); an error without a type says UNKNOWN."""
    out: dict[int, str] = {}
    for error in errors if isinstance(errors, list) else []:
        path = error.get("path") if isinstance(error, dict) else None
        if isinstance(path, list) and len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
            kind = error.get("type")
            out.setdefault(path[1], kind if isinstance(kind, str) and kind else "UNKNOWN")
    return out


def _parse(node: dict) -> Enrichment:
    def present(kind: str) -> bool:
        return any(node.get(f"{kind}{i}") for i in range(len(_FILES[kind])))

    return Enrichment(
        node_id=node["id"],
        full_name=node["nameWithOwner"],
        is_fork=bool(node["isFork"]),
        fork_parent=(node.get("parent") or {}).get("nameWithOwner"),
        stars=int(node["stargazerCount"]),
        forks=int(node["forkCount"]),
        pushed_at=node.get("pushedAt"),
        created_at=node["createdAt"],
        license=(node.get("licenseInfo") or {}).get("spdxId"),
        primary_language=(node.get("primaryLanguage") or {}).get("name"),
        language_bytes={e["node"]["name"]: int(e["size"]) for e in (node.get("languages") or {}).get("edges") or []},
        topics=tuple(t["topic"]["name"] for t in (node.get("repositoryTopics") or {}).get("nodes") or []),
        has_readme=present("readme"),
        has_dockerfile=present("dockerfile"),
        has_ci=present("ci"),
        has_tests=present("tests"),
    )
