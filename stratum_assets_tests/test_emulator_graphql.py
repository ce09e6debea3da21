"""GraphQL enrichment endpoint: nodes(ids:) batches, costs, NOT_FOUND slots, authentication."""

import requests

ENRICH = """
query($ids: [ID!]!) {
  rateLimit { cost remaining resetAt nodeCount }
  nodes(ids: $ids) {
    ... on Repository {
      databaseId nameWithOwner isFork stargazerCount forkCount pushedAt createdAt
      parent { nameWithOwner }
      licenseInfo { spdxId }
      primaryLanguage { name }
      languages(first: 10) { totalSize edges { size node { name } } }
      repositoryTopics(first: 20) { nodes { topic { name } } }
      readme: object(expression: "HEAD:README.md") { ... on Blob { byteSize } }
      workflows: object(expression: "HEAD:.github/workflows") { ... on Tree { entries { name } } }
    }
  }
}
"""


def _post(em, query, variables=None, token="sandbox-token"):
    headers = {"Authorization": f"bearer {token}"} if token else {}
    return requests.post(
        f"{em.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=60
    )


def test_a_batch_of_one_hundred_repositories_costs_two_points(emulator, universe):
    repos = [r for r in universe.repos if not r.deleted][:100]
    resp = _post(emulator, ENRICH, {"ids": [r.node_id for r in repos]})
    assert resp.status_code == 200
    body = resp.json()
    assert "errors" not in body
    assert body["data"]["rateLimit"]["cost"] == 2
    assert body["data"]["rateLimit"]["nodeCount"] == 100
    assert resp.headers["X-RateLimit-Resource"] == "graphql"
    nodes = body["data"]["nodes"]
    assert [n["databaseId"] for n in nodes] == [r.id for r in repos]
    for repo, node in zip(repos, nodes, strict=True):
        assert node["nameWithOwner"] == repo.full_name
        assert node["isFork"] is repo.is_fork
        assert (node["parent"] or {}).get("nameWithOwner") == repo.parent
        assert (node["licenseInfo"] or {}).get("spdxId") == repo.license_spdx
        assert [t["topic"]["name"] for t in node["repositoryTopics"]["nodes"]] == list(repo.topics)
        assert (node["readme"] is not None) is repo.has_readme
        assert (node["workflows"] is not None) is ("ci" in repo.signals)
        sizes = [e["size"] for e in node["languages"]["edges"]]
        assert sum(sizes) == node["languages"]["totalSize"] and sizes == sorted(sizes, reverse=True)


def test_missing_and_deleted_nodes_are_null_with_a_not_found_error(emulator, universe):
    live = next(r for r in universe.repos if not r.deleted)
    deleted = next(r for r in universe.repos if r.deleted)
    body = _post(emulator, ENRICH, {"ids": [live.node_id, deleted.node_id, "MDEwOlJlcG9zaXRvcnkx"]}).json()
    nodes = body["data"]["nodes"]
    assert nodes[0]["nameWithOwner"] == live.full_name and nodes[1] is None and nodes[2] is None
    assert sorted(e["path"] for e in body["errors"]) == [["nodes", 1], ["nodes", 2]]
    assert {e["type"] for e in body["errors"]} == {"NOT_FOUND"}


def test_more_than_one_hundred_ids_is_refused(emulator, universe):
    body = _post(emulator, ENRICH, {"ids": [r.node_id for r in universe.repos[:101]]}).json()
    assert body["data"] is None
    assert "100" in body["errors"][0]["message"]


def test_graphql_requires_a_token_and_never_echoes_it(emulator, universe):
    assert _post(emulator, ENRICH, {"ids": []}, token=None).status_code == 401
    secret = "ghp_SandboxSecretThatMustNotLeak0000"
    resp = _post(emulator, ENRICH, {"ids": [universe.repos[0].node_id]}, token=secret)
    assert resp.status_code == 200
    assert secret not in resp.text and all(secret not in v for v in resp.headers.values())


def test_invalid_queries_get_graphql_errors_not_crashes(emulator):
    resp = _post(emulator, 'query { nodes(ids: ["x"]) { ... on Repository { noSuchField } } }')
    assert resp.status_code == 200
    assert "noSuchField" in resp.json()["errors"][0]["message"]
    assert (
        requests.post(
            f"{emulator.url}/graphql", data=b"{not json", headers={"Authorization": "bearer t"}, timeout=30
        ).status_code
        == 400
    )
