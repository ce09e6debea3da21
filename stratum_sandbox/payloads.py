"""REST JSON bodies shaped like api.github.com's (same field names and types).

Checked in the tests against real recorded payloads (``stratum_assets_tests/fixtures/github``).
"""

from __future__ import annotations

from datetime import datetime

from .universe import Repo

DOCS = "https://docs.github.com/rest"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def owner_json(login: str, api: str, web: str) -> dict:
    is_org = "-" in login and login.split("-")[-1] not in ("dev", "ai")
    user = f"{api}/users/{login}"
    return {
        "login": login,
        "id": abs(hash_int(login)) % 90_000_000 + 1_000_000,
        "node_id": f"MDQ6VXNlcj{abs(hash_int(login)) % 10**8}",
        "avatar_url": f"{web}/avatars/{login}",
        "gravatar_id": "",
        "url": user,
        "html_url": f"{web}/{login}",
        "followers_url": f"{user}/followers",
        "following_url": f"{user}/following{{/other_user}}",
        "gists_url": f"{user}/gists{{/gist_id}}",
        "starred_url": f"{user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{user}/subscriptions",
        "organizations_url": f"{user}/orgs",
        "repos_url": f"{user}/repos",
        "events_url": f"{user}/events{{/privacy}}",
        "received_events_url": f"{user}/received_events",
        "type": "Organization" if is_org else "User",
        "site_admin": False,
    }


def hash_int(text: str) -> int:
    """A stable hash (Python's ``hash`` is salted per process)."""
    value = 0
    for ch in text.encode():
        value = (value * 131 + ch) % (2**61 - 1)
    return value


def repo_json(repo: Repo, api: str, web: str, *, size_kb: int = 0) -> dict:
    """The repository object of search results and of ``GET /repos/{owner}/{repo}``."""
    url = f"{api}/repos/{repo.full_name}"
    html = f"{web}/{repo.full_name}"
    license_info = repo.license_info
    return {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": False,
        "owner": owner_json(repo.owner, api, web),
        "html_url": html,
        "description": repo.description,
        "fork": repo.is_fork,
        "url": url,
        **{f"{k}_url": f"{url}/{v}" for k, v in _URL_TEMPLATES.items()},
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.pushed_at),
        "pushed_at": iso(repo.pushed_at),
        "git_url": f"git://{web.split('://', 1)[-1]}/{repo.full_name}.git",
        "ssh_url": f"git@{web.split('://', 1)[-1]}:{repo.full_name}.git",
        "clone_url": f"{web}/git/{repo.full_name}.git",
        "svn_url": html,
        "homepage": None,
        "size": size_kb,
        "stargazers_count": repo.stars,
        "watchers_count": repo.stars,
        "language": repo.primary_language,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": repo.forks_count,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0,
        "license": None
        if license_info is None
        else {
            **license_info,
            "url": f"{api}/licenses/{license_info['key']}",
            "node_id": f"MDc6TGljZW5zZT{hash_int(license_info['key']) % 100}",
        },
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": list(repo.topics),
        "visibility": "public",
        "forks": repo.forks_count,
        "open_issues": 0,
        "watchers": repo.stars,
        "default_branch": "main",
    }


def search_item(repo: Repo, api: str, web: str, score: float) -> dict:
    return {**repo_json(repo, api, web), "permissions": _READ_ONLY, "score": score}


def full_repo(repo: Repo, parent: Repo | None, api: str, web: str) -> dict:
    """``GET /repos/{owner}/{repo}``: adds ``parent``/``source`` for forks and network counts."""
    body = {
        **repo_json(repo, api, web),
        "permissions": _READ_ONLY,
        **_MERGE_SETTINGS,
        "temp_clone_token": "",
        "network_count": repo.forks_count,
        "subscribers_count": max(1, repo.stars // 10),
    }
    if body["owner"]["type"] == "Organization":
        body["organization"] = body["owner"]
    if parent is not None:
        body["parent"] = repo_json(parent, api, web)
        body["source"] = repo_json(parent, api, web)
    return body


def error(message: str, status: int, doc: str = DOCS) -> dict:
    return {"message": message, "documentation_url": doc, "status": str(status)}


def moved_permanently(location: str) -> dict:
    """The body of GitHub's 301 for a renamed or transferred repository: where it lives now."""
    return {
        **error("Moved Permanently", 301, "https://docs.github.com/rest/repos/repos#get-a-repository"),
        "url": location,
    }


_MERGE_SETTINGS = {
    "allow_squash_merge": True,
    "allow_merge_commit": True,
    "allow_rebase_merge": True,
    "allow_auto_merge": False,
    "delete_branch_on_merge": False,
    "allow_update_branch": False,
    "use_squash_pr_title_as_default": False,
}
_READ_ONLY = {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True}

_URL_TEMPLATES = {
    "forks": "forks",
    "keys": "keys{/key_id}",
    "collaborators": "collaborators{/collaborator}",
    "teams": "teams",
    "hooks": "hooks",
    "issue_events": "issues/events{/number}",
    "events": "events",
    "assignees": "assignees{/user}",
    "branches": "branches{/branch}",
    "tags": "tags",
    "blobs": "git/blobs{/sha}",
    "git_tags": "git/tags{/sha}",
    "git_refs": "git/refs{/sha}",
    "trees": "git/trees{/sha}",
    "statuses": "statuses/{sha}",
    "languages": "languages",
    "stargazers": "stargazers",
    "contributors": "contributors",
    "subscribers": "subscribers",
    "subscription": "subscription",
    "commits": "commits{/sha}",
    "git_commits": "git/commits{/sha}",
    "comments": "comments{/number}",
    "issue_comment": "issues/comments{/number}",
    "contents": "contents/{+path}",
    "compare": "compare/{base}...{head}",
    "merges": "merges",
    "archive": "{archive_format}{/ref}",
    "downloads": "downloads",
    "issues": "issues{/number}",
    "pulls": "pulls{/number}",
    "milestones": "milestones{/number}",
    "notifications": "notifications{?since,all,participating}",
    "labels": "labels{/name}",
    "releases": "releases{/id}",
    "deployments": "deployments",
}
