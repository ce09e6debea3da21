"""The slice of GitHub's GraphQL API that enrichment uses, served with graphql-core.

Every type, field and argument of :data:`SDL` exists in GitHub's public schema with the same type
(checked by ``test_github_conformance.py`` against an excerpt of octokit/graphql-schema).

``nodes(ids: [...])`` resolves up to 100 repositories per request with their
languages, fork parent, license, topics, stars and dates; ``object(expression:)``
answers whether a file such as ``HEAD:README.md`` exists; ``rateLimit`` reports
the cost of the query. Cost follows GitHub's rule of thumb: one point per 100
connection lookups the query asks for, at least one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import cast

from graphql import GraphQLError, GraphQLInterfaceType, build_schema, graphql_sync, parse
from graphql.language import FieldNode, InlineFragmentNode, ListValueNode, VariableNode

from .codegen import file_sizes, language_bytes
from .payloads import iso
from .universe import Repo, Universe, repo_id_from_node_id

MAX_NODES = 100

SDL = """
scalar DateTime
scalar URI
scalar GitObjectID

interface Node { id: ID! }

type Query {
  nodes(ids: [ID!]!): [Node]!
  node(id: ID!): Node
  repository(owner: String!, name: String!): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
}

type RateLimit { cost: Int! limit: Int! remaining: Int! used: Int! resetAt: DateTime! nodeCount: Int! }

type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  description: String
  url: URI!
  isFork: Boolean!
  isArchived: Boolean!
  isPrivate: Boolean!
  parent: Repository
  stargazerCount: Int!
  forkCount: Int!
  createdAt: DateTime!
  pushedAt: DateTime
  updatedAt: DateTime!
  diskUsage: Int
  primaryLanguage: Language
  languages(first: Int, after: String): LanguageConnection
  licenseInfo: License
  repositoryTopics(first: Int, after: String): RepositoryTopicConnection!
  defaultBranchRef: Ref
  object(expression: String): GitObject
}

type Language { name: String! color: String }
type LanguageEdge { size: Int! node: Language! }
type LanguageConnection { totalCount: Int! totalSize: Int! edges: [LanguageEdge] nodes: [Language] }
type License { spdxId: String name: String! key: String! }
type Topic { name: String! }
type RepositoryTopic { topic: Topic! }
type RepositoryTopicConnection { totalCount: Int! nodes: [RepositoryTopic] }
type Ref { name: String! }

interface GitObject { oid: GitObjectID! }
type Blob implements GitObject { oid: GitObjectID! byteSize: Int! isBinary: Boolean }
type TreeEntry { name: String! path: String type: String! }
type Tree implements GitObject { oid: GitObjectID! entries: [TreeEntry!] }
"""

_SCHEMA = build_schema(SDL)
_CONNECTIONS = {"languages", "repositoryTopics"}
_COLORS = {
    "Python": "#3572A5",
    "TypeScript": "#3178c6",
    "JavaScript": "#f1e05a",
    "Dockerfile": "#384d54",
    "Jupyter Notebook": "#DA5B0B",
    "Shell": "#89e051",
}


class GraphQLApi:
    """Executes queries against a universe; ``budget(cost)`` spends rate-limit points."""

    def __init__(self, universe: Universe, renamed: dict[str, str] | None = None):
        self.universe = universe
        self.renamed = renamed if renamed is not None else {}  # old -> new full name, shared with the server
        # both are interfaces of SDL above
        cast(GraphQLInterfaceType, _SCHEMA.get_type("Node")).resolve_type = lambda obj, *_: "Repository"
        cast(GraphQLInterfaceType, _SCHEMA.get_type("GitObject")).resolve_type = lambda obj, *_: obj["__typename"]

    def query_cost(self, query: str, variables: dict | None) -> tuple[int, int]:
        """(points, node count) of a query before it runs, by GitHub's documented rule.

        Each top-level field is one request; each connection under it costs one
        request per parent node. Points = requests / 100, rounded, at least 1.
        """
        try:
            document = parse(query)
        except GraphQLError:
            return 1, 0
        requests = nodes = 0
        for definition in document.definitions:
            selection_set = getattr(definition, "selection_set", None)
            for field in selection_set.selections if selection_set else []:
                if isinstance(field, FieldNode) and field.name.value != "rateLimit":  # rateLimit is free
                    fan_out = len(_ids_argument(field, variables)) if field.name.value == "nodes" else 1
                    nodes += fan_out
                    requests += 1 + fan_out * _count_connections(field)
        return max(1, round(requests / 100)), nodes

    def execute(
        self,
        query: str,
        variables: dict | None,
        rate_limit: Callable[[], dict],
        *,
        failing: tuple[int, str] | None = None,
    ) -> dict:
        """Run ``query``; ``failing`` = (k, error type) makes every k-th node of ``nodes(ids:)`` fail that way."""
        missing: list[tuple[int, str]] = []
        failed: list[tuple[int, str]] = []
        root = {
            "nodes": lambda _info, ids: self._nodes(ids, missing, failed, failing),
            "node": lambda _info, id: self._repo_by_node(id),
            "repository": lambda _info, owner, name: self._repository(owner, name),
            "rateLimit": lambda _info, dryRun=False: rate_limit(),
        }
        result = graphql_sync(_SCHEMA, query, root_value=root, variable_values=variables, field_resolver=_resolve_field)
        body: dict = {"data": result.data}
        errors = [_error_json(e) for e in result.errors or []]
        # GitHub answers null in a missing node's slot and one NOT_FOUND error naming that slot.
        errors += [
            {
                "type": "NOT_FOUND",
                "path": ["nodes", i],
                "message": f"Could not resolve to a node with the global id of '{node_id}'",
            }
            for i, node_id in missing
        ]
        errors += [{"type": kind, "path": ["nodes", i], "message": _NODE_ERRORS.get(kind, kind)} for i, kind in failed]
        if errors:
            body["errors"] = errors
        return body

    def _nodes(
        self,
        ids: list[str],
        missing: list[tuple[int, str]],
        failed: list[tuple[int, str]],
        failing: tuple[int, str] | None,
    ) -> list:
        if len(ids) > MAX_NODES:
            raise GraphQLError(f"You may not request more than {MAX_NODES} nodes at once (asked for {len(ids)}).")
        views = [self._repo_by_node(node_id, raise_missing=False) for node_id in ids]
        missing.extend((i, node_id) for i, (node_id, view) in enumerate(zip(ids, views, strict=True)) if view is None)
        if failing:
            every, kind = failing
            for i in range(every - 1, len(views), every):
                if views[i] is not None:
                    views[i] = None
                    failed.append((i, kind))
        return views

    def _repo_by_node(self, node_id: str, raise_missing: bool = True):
        repo_id = repo_id_from_node_id(node_id)
        repo = self.universe.by_id.get(repo_id) if repo_id is not None else None
        if repo is None or repo.deleted:
            if raise_missing:
                raise GraphQLError(
                    f"Could not resolve to a node with the global id of '{node_id}'", extensions={"type": "NOT_FOUND"}
                )
            return None
        return _RepoView(repo, self.universe, self.renamed)

    def _repository(self, owner: str, name: str):
        old = next((o for o, n in self.renamed.items() if n == f"{owner}/{name}"), None)
        repo = self.universe.get(old or f"{owner}/{name}")
        if repo is None or repo.deleted:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.", extensions={"type": "NOT_FOUND"}
            )
        return _RepoView(repo, self.universe, self.renamed)


def _resolve_field(source, info, **args):
    value = source.get(info.field_name) if isinstance(source, dict) else getattr(source, info.field_name, None)
    return value(info, **args) if callable(value) else value


class _RepoView:
    """Resolves the Repository type's fields from a universe :class:`Repo`."""

    def __init__(self, repo: Repo, universe: Universe, renamed: dict[str, str]):
        self.repo, self.universe, self.renamed = repo, universe, renamed
        r = repo
        full_name = renamed.get(r.full_name, r.full_name)  # GitHub answers with the current name
        self.id, self.databaseId, self.nameWithOwner = r.node_id, r.id, full_name
        self.name = full_name.split("/")[1]
        self.description = r.description
        self.url = f"https://github.com/{full_name}"
        self.isFork, self.isArchived, self.isPrivate = r.is_fork, False, False
        self.stargazerCount, self.forkCount = r.stars, r.forks_count
        self.createdAt, self.pushedAt, self.updatedAt = iso(r.created_at), iso(r.pushed_at), iso(r.pushed_at)
        self.primaryLanguage = {"name": r.primary_language, "color": _COLORS.get(r.primary_language)}
        self.licenseInfo = (
            None
            if r.license_info is None
            else {"spdxId": r.license_info["spdx_id"], "name": r.license_info["name"], "key": r.license_info["key"]}
        )
        self.defaultBranchRef = {"name": "main"}

    def parent(self, info):
        parent = self.universe.get(self.repo.parent) if self.repo.parent else None
        return _RepoView(parent, self.universe, self.renamed) if parent else None

    def diskUsage(self, info):
        return sum(file_sizes(self.repo).values()) // 1024

    def languages(self, info, first=None, after=None):
        sizes = list(language_bytes(self.repo).items())
        shown = sizes[: first or len(sizes)]
        return {
            "totalCount": len(sizes),
            "totalSize": sum(s for _, s in sizes),
            "edges": [{"size": s, "node": {"name": n, "color": _COLORS.get(n)}} for n, s in shown],
            "nodes": [{"name": n, "color": _COLORS.get(n)} for n, _ in shown],
        }

    def repositoryTopics(self, info, first=None, after=None):
        topics = self.repo.topics[:first]
        return {"totalCount": len(self.repo.topics), "nodes": [{"topic": {"name": t}} for t in topics]}

    def object(self, info, expression: str | None = None):
        """``HEAD:path`` → the Blob or Tree at that path, or null."""
        if expression is None:
            return None
        _, _, path = expression.partition(":")
        path = path.strip("/")
        sizes = file_sizes(self.repo)
        if path in sizes:
            return {
                "__typename": "Blob",
                "oid": _fake_oid(self.repo, path),
                "byteSize": sizes[path],
                "isBinary": not path.endswith(_TEXT_SUFFIXES),
            }
        prefix = f"{path}/" if path else ""
        below = [p[len(prefix) :] for p in sizes if p.startswith(prefix)]
        if not below:
            return None
        children = sorted({p.split("/")[0] for p in below})
        folders = {p.split("/")[0] for p in below if "/" in p}
        return {
            "__typename": "Tree",
            "oid": _fake_oid(self.repo, path),
            "entries": [
                {"name": c, "path": f"{prefix}{c}", "type": "tree" if c in folders else "blob"} for c in children
            ],
        }


# What GitHub says for a node that failed for another reason than NOT_FOUND (the message is free text).
_NODE_ERRORS = {
    "FORBIDDEN": "Resource not accessible by integration",
    "SERVICE_UNAVAILABLE": "Service unavailable: this node could not be loaded, try again",
}

_TEXT_SUFFIXES = (".py", ".md", ".txt", ".yaml", ".yml", ".toml", ".json", ".csv", ".ts", ".lock", ".cfg", "Dockerfile")


def _fake_oid(repo: Repo, path: str) -> str:
    return hashlib.sha1(f"{repo.code_seed}:{path}".encode()).hexdigest()


def _ids_argument(field: FieldNode, variables: dict | None) -> list:
    for arg in field.arguments:
        if arg.name.value == "ids":
            value = arg.value
            if isinstance(value, VariableNode):  # kind "variable"
                return list((variables or {}).get(value.name.value) or [])
            if isinstance(value, ListValueNode):  # kind "list_value"
                return list(value.values)
    return []


def _count_connections(field: FieldNode) -> int:
    count = 0
    if field.selection_set is None:
        return 0
    for sel in field.selection_set.selections:
        if isinstance(sel, FieldNode):
            count += (sel.name.value in _CONNECTIONS) + _count_connections(sel)
        elif isinstance(sel, InlineFragmentNode) and sel.selection_set is not None:  # ... on Repository
            count += sum(
                int(s.name.value in _CONNECTIONS) + _count_connections(s)
                for s in sel.selection_set.selections
                if isinstance(s, FieldNode)
            )
    return count


def _error_json(error: GraphQLError) -> dict:
    body: dict[str, object] = {"message": error.message}
    if error.path:
        body["path"] = list(error.path)
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.extensions and "type" in error.extensions:
        body["type"] = error.extensions["type"]
    return body
