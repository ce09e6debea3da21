"""Real Dagster runs of the ten candidates assets against the embedded offline GitHub."""

import json
from datetime import date

import dagster as dg
import pyarrow.parquet as pq
import pytest

from stratum_assets.assets.discovery import STRATUM_NAMES, candidate_assets
from stratum_assets.discovery.forks import one_fork_per_parent
from stratum_assets.discovery.strata import frameworks_named, strata
from stratum_assets.offline_github import SANDBOX_TOKEN, OfflineGitHub, github_from_environment
from stratum_assets.resources import DataResource, GitHubResource

SOURCE_METADATA = (
    "github_stars",
    "github_forks",
    "last_commit_date",
    "repo_created_date",
    "is_fork",
    "fork_parent",
    "license",
    "github_topics",
    "primary_language",
    "language_bytes",
    "has_readme",
    "discovery_query",
    "selection_stratum",
    "collected_at",
)


@pytest.fixture(scope="module")
def discovery_run(tmp_path_factory, universe):
    root = tmp_path_factory.mktemp("discovery")
    resources = {
        "github": OfflineGitHub(git_root=str(root / "git"), search_per_minute=10_000),
        "data": DataResource(root=str(root / "data")),
    }
    result = dg.materialize(candidate_assets, resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return root / "data", result


def test_ten_strata_in_the_discovery_group():
    assert len(STRATUM_NAMES) == 10
    assert all(a.group_names_by_key[a.key] == "discovery" for a in candidate_assets)
    assert {a.key.path[0] for a in candidate_assets} == {f"candidates_{n}" for n in STRATUM_NAMES}


def test_every_row_carries_the_source_metadata(discovery_run, universe):
    data, _ = discovery_run
    for name in STRATUM_NAMES:
        rows = pq.read_table(data / "candidates" / f"{name}.parquet").to_pylist()
        assert rows, name
        for row in rows:
            assert all(k in row for k in SOURCE_METADATA)
            assert row["selection_stratum"] == name
            repo = universe.get(row["full_name"])
            assert repo is not None and not repo.deleted, "deleted repositories never become candidates"
            assert not row["is_fork"], "forks are skipped by default"
            assert row["github_stars"] == repo.stars and row["license"] == repo.license_spdx
            assert isinstance(json.loads(row["language_bytes"]), dict)


def test_recency_floors_and_stratum_rules_hold(discovery_run):
    data, _ = discovery_run
    for name, stratum in strata("sample").items():
        rows = pq.read_table(data / "candidates" / f"{name}.parquet").to_pylist()
        assert all(r["last_commit_date"][:10] > stratum.pushed_after.isoformat() for r in rows), name
    assert strata("full")["high_maturity"].pushed_after == date(2024, 6, 1)
    for row in pq.read_table(data / "candidates" / "multi_framework.parquet").to_pylist():
        assert len(row["frameworks_named"]) >= 2
    for row in pq.read_table(data / "candidates" / "high_maturity.parquet").to_pylist():
        assert row["github_stars"] > 100 or (row["has_dockerfile"] and row["has_ci"] and row["has_tests"])


def test_materialization_metadata_says_what_it_cost(discovery_run):
    _, result = discovery_run
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        for key in (
            "rows",
            "target",
            "target_fill_pct",
            "api_requests",
            "api_requests_total",
            "rate_limit_waits",
            "rate_limit_hits",
            "duration_s",
            "truncated_windows",
            "dropped",
        ):
            assert key in meta, key
        assert meta["api_requests"].value.get("search", 0) >= 1
        text = json.dumps({k: str(v.value) for k, v in meta.items()})
        assert SANDBOX_TOKEN not in text


def test_each_stratum_leaves_its_discovery_summary_for_the_report(discovery_run):
    """The report's discovery numbers come from here: what was found, and what is known to be missing."""
    data, result = discovery_run
    meta = {e.asset_key.path[0]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    for name in STRATUM_NAMES:
        summary = json.loads((data / "candidates" / f"{name}.discovery.json").read_text())
        assert summary["rows"] == meta[f"candidates_{name}"]["rows"].value
        assert summary["search_hits"] == meta[f"candidates_{name}"]["search_hits"].value
        # Clear weather on the offline GitHub: nothing missing, nothing failed.
        assert (summary["missing"], summary["search_gaps"], summary["enrichment_failed"]) == (0, {}, 0), name


def test_real_token_never_reaches_metadata_or_logs(tmp_path, monkeypatch, capfd):
    secret = "ghp_RealLookingTokenNeverToBeStored00001"
    monkeypatch.setenv("GITHUB_TOKEN", secret)
    resources = {
        "github": OfflineGitHub(git_root=str(tmp_path / "git"), search_per_minute=10_000),
        "data": DataResource(root=str(tmp_path / "data")),
    }
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([candidate_assets[0]], resources=resources, instance=instance)
    logs = "".join(str(e) for e in instance.all_logs(result.run_id))
    out, err = capfd.readouterr()
    assert secret not in logs + out + err
    assert secret not in (tmp_path / "data" / "candidates" / f"{STRATUM_NAMES[0]}.parquet").read_bytes().decode(
        "latin-1"
    )


def test_sandbox_is_chosen_without_a_token(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("STRATUM_SANDBOX", raising=False)
    offline = github_from_environment()
    assert type(offline) is OfflineGitHub and offline.token is None and DataResource().resolved_profile() == "sample"
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_SecretValue0001")
    real = github_from_environment()
    assert isinstance(real.token, dg.EnvVar) and real.token.env_var_name == "GITHUB_TOKEN"
    assert type(real) is GitHubResource and DataResource().resolved_profile() == "full"
    assert real.clone_url("a/b") == "https://github.com/a/b.git"
    assert real.git_auth().token == "ghp_SecretValue0001", "the value is read from the environment"
    assert "ghp_SecretValue0001" not in json.dumps(real.model_dump()), "config never holds the token"
    monkeypatch.setenv("STRATUM_SANDBOX", "1")
    assert type(github_from_environment()) is OfflineGitHub


def test_the_code_locations_token_is_an_envvar_resolved_when_the_run_starts(monkeypatch):
    """The run sees the token's value; what Dagster stores of the resource's config is the variable's name."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_ResolvedAtRunTime0001")
    seen = {}

    @dg.asset
    def who_am_i(github: GitHubResource):
        seen["token"], seen["sandbox"] = github.token, isinstance(github, OfflineGitHub)

    resource = github_from_environment()
    result = dg.materialize([who_am_i], resources={"github": resource})
    assert result.success and seen == {"token": "ghp_ResolvedAtRunTime0001", "sandbox": False}
    assert resource.model_dump()["token"] == "GITHUB_TOKEN"


def test_an_emulators_bigger_search_budget_reaches_the_clients_pacing(monkeypatch):
    """A rehearsal serves a bigger search budget (`sandbox serve --search-per-minute`); the client paces to it."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    paced = {}

    @dg.asset
    def pacing(github: GitHubResource):
        paced["per_minute"] = github.client().governor.search_per_minute

    assert github_from_environment().search_per_minute == 30  # unset: GitHub's own budget
    monkeypatch.setenv("STRATUM_SANDBOX_SEARCH_PER_MINUTE", "600")
    resource = github_from_environment(url="http://127.0.0.1:9")
    assert dg.materialize([pacing], resources={"github": resource}).success
    assert paced == {"per_minute": 600}


def test_one_fork_per_parent_keeps_the_most_starred_then_most_recent():
    rows = [
        {
            "full_name": "a/x",
            "is_fork": True,
            "fork_parent": "p/x",
            "github_stars": 3,
            "last_commit_date": "2025-01-01",
        },
        {
            "full_name": "b/x",
            "is_fork": True,
            "fork_parent": "p/x",
            "github_stars": 3,
            "last_commit_date": "2025-06-01",
        },
        {
            "full_name": "c/x",
            "is_fork": True,
            "fork_parent": "p/x",
            "github_stars": 1,
            "last_commit_date": "2026-01-01",
        },
        {
            "full_name": "d/y",
            "is_fork": True,
            "fork_parent": "P/Y",
            "github_stars": 0,
            "last_commit_date": "2025-01-01",
        },
        {
            "full_name": "p/x",
            "is_fork": False,
            "fork_parent": None,
            "github_stars": 90,
            "last_commit_date": "2025-01-01",
        },
    ]
    kept, dropped = one_fork_per_parent(rows)
    assert [r["full_name"] for r in kept] == ["b/x", "d/y", "p/x"]
    assert sorted(r["full_name"] for r in dropped) == ["a/x", "c/x"]


def test_framework_keywords_match_whole_words():
    assert frameworks_named("agno-team crewai") == {"Agno", "CrewAI"}
    assert frameworks_named("framework-agnostic tools") == set()
    assert frameworks_named("llama-index + langgraph") == {"LlamaIndex", "LangGraph"}
