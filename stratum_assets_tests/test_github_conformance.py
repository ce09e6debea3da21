"""The offline GitHub against GitHub's own contracts, not against the team's idea of them.

REST: the emulator's answers (search pages, also incomplete ones; the 1,000-result wall and a bad query;
a repository: plain, a fork, with and without a licence, owned by an organization; a renamed one's 301;
a missing repository; rate limits, secondary limits and the abuse wording; ``/rate_limit``) validate
against the response schemas copied from GitHub's OpenAPI description (github/rest-api-description,
fixture ``github/rest_api_description_schemas.json``). GraphQL: every type, field and argument the
emulator serves exists in GitHub's public schema (octokit/graphql-schema, excerpt
``github/graphql_schema_excerpt.graphql``) with the same type.
"""

import copy
import json
from pathlib import Path

import pytest
import requests
from graphql import parse, print_ast
from graphql.language import InterfaceTypeDefinitionNode, ObjectTypeDefinitionNode, ScalarTypeDefinitionNode
from jsonschema import Draft7Validator

from stratum_sandbox.graphql_api import SDL
from stratum_sandbox.limits import Fault
from stratum_sandbox.payloads import owner_json

FIXTURES = Path(__file__).parent / "fixtures" / "github"
DESCRIPTION = json.loads((FIXTURES / "rest_api_description_schemas.json").read_text())
GITHUB_SDL = (FIXTURES / "graphql_schema_excerpt.graphql").read_text()


# -- REST ----------------------------------------------------------------------------------------------------
def _json_schema(schema, seen=()):
    """An OpenAPI 3.0 schema as JSON Schema: $refs inlined, ``nullable`` as "or null"."""
    if isinstance(schema, list):
        return [_json_schema(s, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        assert name not in seen, f"recursive schema {name}"
        return _json_schema(DESCRIPTION["components"]["schemas"][name], (*seen, name))
    out = {k: _json_schema(v, seen) for k, v in schema.items() if k != "nullable"}
    return {"anyOf": [out, {"type": "null"}]} if schema.get("nullable") else out


def _validator(operation: str, status: int) -> Draft7Validator:
    return Draft7Validator(_json_schema(DESCRIPTION["operations"][operation]["responses"][str(status)]))


def _problems(operation: str, status: int, body) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300]
        for e in _validator(operation, status).iter_errors(body)
    ]


def _get(em, path, **params):
    return requests.get(f"{em.url}{path}", params=params, timeout=30)


def _repository(universe, emulator, **wanted):
    """The first live repository with each of ``wanted``'s properties (``fork``, ``licensed``, ``organization``)."""
    facts = {
        "fork": lambda r: r.is_fork,
        "licensed": lambda r: r.license_info is not None,
        "organization": lambda r: owner_json(r.owner, emulator.url, emulator.url)["type"] == "Organization",
    }
    return next(r for r in universe.repos if not r.deleted and all(facts[k](r) == v for k, v in wanted.items()))


def test_the_copied_schemas_are_the_ones_the_tests_use():
    assert DESCRIPTION["provenance"]["repository"] == "github/rest-api-description"
    search = DESCRIPTION["operations"]["search/repos"]["responses"]["200"]
    assert search["required"] == ["total_count", "incomplete_results", "items"]
    repository = DESCRIPTION["operations"]["repos/get"]["responses"]["200"]
    assert repository == {"$ref": "#/components/schemas/full-repository"}
    full = DESCRIPTION["components"]["schemas"]["full-repository"]
    assert len(full["required"]) == 75 and {"network_count", "subscribers_count", "license"} <= set(full["required"])


def test_a_search_page_conforms_to_search_repos(emulator):
    answer = _get(emulator, "/search/repositories", q="agent", per_page=50)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 50
    assert _problems("search/repos", 200, answer.json()) == []


def test_an_incomplete_search_page_conforms_too(emulator):
    full = _get(emulator, "/search/repositories", q="agent", per_page=100).json()["total_count"]
    emulator.faults.add(Fault("search_incomplete", "search", times=1, fraction=0.5))
    body = _get(emulator, "/search/repositories", q="agent", per_page=100).json()
    assert body["incomplete_results"] is True and body["total_count"] == int(full * 0.5) and body["items"]
    assert _problems("search/repos", 200, body) == []


@pytest.mark.parametrize(
    "params", [{"q": "agent", "per_page": 100, "page": 11}, {"q": "stars:>>1"}], ids=["past-the-cap", "bad-query"]
)
def test_search_errors_conform_to_validation_error(emulator, params):
    answer = _get(emulator, "/search/repositories", **params)
    assert answer.status_code == 422
    assert _problems("search/repos", 422, answer.json()) == []


@pytest.mark.parametrize(
    "wanted",
    [
        {"fork": False},
        {"fork": True},
        {"fork": False, "licensed": True},
        {"fork": False, "licensed": False},
        {"organization": True},
    ],
    ids=["plain", "fork", "licensed", "unlicensed", "organization"],
)
def test_a_repository_conforms_to_full_repository(emulator, universe, wanted):
    repo = _repository(universe, emulator, **wanted)
    answer = _get(emulator, f"/repos/{repo.full_name}")
    assert answer.status_code == 200
    body = answer.json()
    assert _problems("repos/get", 200, body) == []
    assert (body["full_name"], body["id"], body["fork"]) == (repo.full_name, repo.id, repo.is_fork)
    if repo.is_fork:  # GitHub: parent and source are there for forks (here the parent is the network's source)
        assert body["parent"]["full_name"] == body["source"]["full_name"] == repo.parent
    else:
        assert "parent" not in body and "source" not in body
    assert (body["license"] or {}).get("spdx_id") == repo.license_spdx
    assert ("organization" in body) == (body["owner"]["type"] == "Organization")


def test_a_renamed_repositorys_old_name_answers_301_and_the_new_name_conforms(emulator, universe):
    """GitHub answers a repository's old name with 301 Moved Permanently to ``/repositories/{id}``; its
    answers (and its forks' ``parent``) carry the current name."""
    repo = next(
        r
        for r in universe.repos
        if not r.deleted and not r.is_fork and any(not f.deleted for f in universe.forks_of(r.full_name))
    )
    fork = next(f for f in universe.forks_of(repo.full_name) if not f.deleted)
    new_name = f"{repo.owner}/renamed-{repo.name}"
    emulator.rename(repo.full_name, new_name)
    try:
        moved = requests.get(f"{emulator.url}/repos/{repo.full_name}", timeout=30, allow_redirects=False)
        assert moved.status_code == 301 and _problems("repos/get", 301, moved.json()) == []
        assert moved.headers["Location"] == moved.json()["url"] == f"{emulator.url}/repositories/{repo.id}"
        followed = _get(emulator, f"/repos/{repo.full_name}")
        current = _get(emulator, f"/repos/{new_name}")
        for answer in (followed, current):
            assert answer.status_code == 200 and _problems("repos/get", 200, answer.json()) == []
            assert (answer.json()["full_name"], answer.json()["id"]) == (new_name, repo.id)
        assert followed.history[0].status_code == 301
        assert _get(emulator, f"/repos/{fork.full_name}").json()["parent"]["full_name"] == new_name
        languages = _get(emulator, f"/repos/{repo.full_name}/languages")
        assert languages.status_code == 200 and languages.history[0].status_code == 301 and languages.json()
    finally:
        del emulator.renamed[repo.full_name]
    assert _get(emulator, f"/repos/{repo.full_name}").json()["full_name"] == repo.full_name


def test_the_rate_limit_overview_conforms(emulator):
    answer = _get(emulator, "/rate_limit")
    assert answer.status_code == 200 and _problems("rate-limit/get", 200, answer.json()) == []


@pytest.mark.parametrize(
    "fault",
    [Fault("secondary_403", "core"), Fault("primary_403", "core"), Fault("abuse_403", "core", retry_after=None)],
    ids=["secondary", "primary", "abuse"],
)
def test_error_bodies_conform_to_basic_error(emulator, universe, fault):
    missing = _get(emulator, "/repos/nobody/nothing-here")
    assert missing.status_code == 404 and _problems("repos/get", 404, missing.json()) == []
    emulator.faults.add(fault)
    limited = _get(emulator, f"/repos/{universe.repos[0].full_name}")
    assert limited.status_code == 403 and _problems("repos/get", 404, limited.json()) == []


def test_the_validator_rejects_a_body_that_breaks_the_contract(emulator):
    """The check itself is real: a search page without incomplete_results, or with a wrong type, fails."""
    body = _get(emulator, "/search/repositories", q="agent", per_page=5).json()
    broken = copy.deepcopy(body)
    del broken["incomplete_results"]
    assert any("incomplete_results" in p for p in _problems("search/repos", 200, broken))
    broken = copy.deepcopy(body)
    broken["items"][0]["stargazers_count"] = "12"
    assert _problems("search/repos", 200, broken)


def _changed(body: dict, path: tuple[str, ...], value=KeyError) -> dict:
    """A copy of ``body`` with the key at ``path`` removed (or set to ``value``)."""
    changed = copy.deepcopy(body)
    *where, key = path
    target = changed
    for step in where:
        target = target[step]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return changed


@pytest.mark.parametrize(
    "path, value, where",
    [
        (("network_count",), KeyError, ""),
        (("parent", "has_downloads"), KeyError, "parent"),
        (("license", "spdx_id"), KeyError, "license"),
        (("source", "owner", "login"), None, "source/owner/login"),
        (("temp_clone_token",), 0, "temp_clone_token"),
    ],
    ids=["no-network_count", "parent-without-has_downloads", "licence-without-spdx_id", "null-login", "numeric-token"],
)
def test_the_validator_rejects_a_repository_that_breaks_the_contract(emulator, universe, path, value, where):
    body = _get(emulator, f"/repos/{_repository(universe, emulator, fork=True, licensed=True).full_name}").json()
    assert _problems("repos/get", 200, body) == []
    problems = _problems("repos/get", 200, _changed(body, path, value))
    assert [p for p in problems if p.split(":")[0] == where], problems


# -- GraphQL -------------------------------------------------------------------------------------------------
def _definitions(sdl: str) -> dict:
    return {d.name.value: d for d in parse(sdl).definitions if hasattr(d, "name")}


def _fields(definition) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        f.name.value: (print_ast(f.type), {a.name.value: print_ast(a.type) for a in f.arguments or []})
        for f in definition.fields or []
    }


def subset_problems(ours: str, theirs: str) -> list[str]:
    """What our SDL serves that GitHub's does not, or serves with another type."""
    mine, github = _definitions(ours), _definitions(theirs)
    referenced = {print_ast(node).strip("[]!") for node in _type_references(parse(theirs))}
    implementers: dict[str, list] = {}
    for d in github.values():
        for interface in getattr(d, "interfaces", None) or []:
            implementers.setdefault(interface.name.value, []).append(d)
    problems = []
    for name, definition in mine.items():
        if isinstance(definition, ScalarTypeDefinitionNode):
            if name not in github and name not in referenced:
                problems.append(f"scalar {name} is not in GitHub's schema")
            continue
        if not isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            problems.append(f"{name}: unexpected definition kind")
            continue
        if name in github:
            candidates = [github[name]]
        elif isinstance(definition, InterfaceTypeDefinitionNode) and name in referenced and implementers.get(name):
            candidates = implementers[name]  # an interface's fields must exist on every type implementing it
        else:
            problems.append(f"type {name} is not in GitHub's schema")
            continue
        for candidate in candidates:
            theirs_fields = _fields(candidate)
            for field, (ftype, args) in _fields(definition).items():
                where = f"{name}.{field}" + (f" (via {candidate.name.value})" if candidate.name.value != name else "")
                if field not in theirs_fields:
                    problems.append(f"{where} is not in GitHub's schema")
                    continue
                github_type, github_args = theirs_fields[field]
                if ftype != github_type:
                    problems.append(f"{where}: {ftype}, GitHub says {github_type}")
                for arg, atype in args.items():
                    if github_args.get(arg) != atype:
                        problems.append(f"{where}({arg}:): {atype}, GitHub says {github_args.get(arg)}")
    return problems


def _type_references(document):
    from graphql.language import NamedTypeNode, Visitor, visit

    found = []

    class Collect(Visitor):
        def enter_named_type(self, node, *_):
            found.append(node)

    visit(document, Collect())
    return [n for n in found if isinstance(n, NamedTypeNode)]


def test_the_emulators_graphql_schema_is_a_subset_of_githubs():
    assert subset_problems(SDL, GITHUB_SDL) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            ("repositoryTopics(first: Int, after: String)", "repositoryTopics(first: Int!, after: String)"),
            "Repository.repositoryTopics(first:): Int!, GitHub says Int",
        ),
        (
            ("  stargazerCount: Int!\n", "  stargazerCount: Int!\n  starCount: Int!\n"),
            "Repository.starCount is not in GitHub's schema",
        ),
        (
            (
                "type Blob implements GitObject { oid: GitObjectID! byteSize: Int!",
                "type Blob implements GitObject { oid: GitObjectID! byteSize: Int",
            ),
            "Blob.byteSize: Int, GitHub says Int!",
        ),
        (
            ("interface GitObject { oid: GitObjectID! }", "interface GitObject { oid: GitObjectID! sha: String }"),
            "GitObject.sha (via Blob) is not in GitHub's schema",
        ),
    ],
    ids=["argument-type", "unknown-field", "field-type", "interface-field"],
)
def test_the_subset_check_catches_what_github_would_not_serve(change, problem):
    old, new = change
    assert SDL.count(old) == 1
    assert problem in subset_problems(SDL.replace(old, new), GITHUB_SDL)
