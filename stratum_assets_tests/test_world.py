"""One world per data directory: another GitHub (or profile) is refused, never mixed into a frozen manifest."""

import hashlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from stratum_assets.assets.discovery import candidate_assets
from stratum_assets.offline_github import OfflineGitHub, github_from_environment
from stratum_assets.resources import DataResource, GitHubConfigError, GitHubResource
from stratum_assets.storage.layout import Layout
from stratum_assets.storage.world import World, WorldMismatch, check_version, claim, recorded, start_new_world
from stratum_sandbox.server import GitHubEmulator
from stratum_sandbox.universe import build_universe

from .conftest import BIN, build_project_home, copy_of_clean_build

OFFLINE_7 = World("offline", "sample", {"seed": 7, "size": 400, "size_profile": "compact"})
REAL = World("https://api.github.com", "full")


def test_the_first_world_is_recorded_and_another_is_refused_naming_both(tmp_path):
    layout = Layout(tmp_path / "data")
    assert recorded(layout) is None
    claim(layout, OFFLINE_7, None)
    assert claim(layout, OFFLINE_7, 1).first_version == 1, "the same world again: fine"
    with pytest.raises(WorldMismatch) as refused:
        claim(layout, REAL, 1)
    assert str(refused.value) == (
        f"{layout.root} was built from the offline GitHub (seed 7, 400 repositories, compact size profile), profile "
        "sample (manifest v1 is frozen from it); this build is against the GitHub API at https://api.github.com, "
        "profile full. One data directory holds one world: build the other one in another data directory (another "
        "project home, or the data resource's root), or start a new manifest version for it here with "
        "`stratum-assets run --new-world` (README: One world per data directory)"
    )
    for other in (
        World("offline", "full", OFFLINE_7.universe),
        World("offline", "sample", {**OFFLINE_7.universe, "seed": 8}),
    ):
        with pytest.raises(WorldMismatch):  # another profile, another universe: another world too
            claim(layout, other, 1)
    with pytest.raises(WorldMismatch):
        check_version(layout, REAL, 1)
    check_version(layout, OFFLINE_7, 1)


def test_a_new_world_starts_at_the_next_version_and_moves_the_previous_worlds_outputs_aside(tmp_path):
    layout = Layout(tmp_path / "data")
    claim(layout, OFFLINE_7, None)
    for path in (layout.split_assignments, layout.candidates("crewai"), layout.audit_report, layout.manifest_jsonl):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(path.name)
    (layout.scans(1) / "v1-c0000").mkdir(parents=True)

    now = start_new_world(layout, REAL, active_version=1)
    assert (now.world, now.first_version, now.index) == (REAL, 2, 1)
    assert not layout.split.exists() and not layout.audit_report.exists() and not layout.candidates("x").parent.exists()
    archive = layout.world_archive(0)
    assert (archive / "split" / "assignments.parquet").read_text() == "assignments.parquet"
    assert (archive / "candidates" / "crewai.parquet").exists() and (archive / "repo_manifest.jsonl").exists()
    assert (layout.scans(1) / "v1-c0000").is_dir(), "frozen versions and their scans stay where they are"
    with pytest.raises(WorldMismatch, match=r"manifest v1 was frozen from an earlier world .* starts at v2"):
        check_version(layout, REAL, 1)
    check_version(layout, REAL, 2)
    assert start_new_world(layout, REAL, active_version=2) == now, "the same world again changes nothing"
    assert [w["first_version"] for w in json.loads(layout.world.read_text())["worlds"]] == [1, 2]


def test_a_directory_built_before_worlds_were_recorded_is_claimed_by_its_next_build_or_moved_aside(tmp_path):
    layout = Layout(tmp_path / "data")
    layout.split.mkdir(parents=True)
    (layout.split / "assignments.parquet").write_text("old")
    assert claim(Layout(layout.root), OFFLINE_7, 1).first_version == 1, "its versions are taken as this world's"

    legacy = Layout(tmp_path / "legacy")
    legacy.split.mkdir(parents=True)
    (legacy.split / "assignments.parquet").write_text("old")
    now = start_new_world(legacy, REAL, active_version=3)
    assert (now.world, now.first_version, now.index) == (REAL, 4, 1)
    assert (legacy.world_archive(0) / "split" / "assignments.parquet").read_text() == "old"
    legacy.audit_report.write_text("the second world's")
    again = start_new_world(legacy, OFFLINE_7, active_version=4)  # and another: its outputs go to w1, not over w0
    assert again.index == 2 and (legacy.world_archive(1) / legacy.audit_report.name).read_text() == "the second world's"
    assert (legacy.world_archive(0) / "split" / "assignments.parquet").read_text() == "old"


def test_an_api_named_without_a_token_fails_loudly_instead_of_going_out_anonymous_or_offline(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("STRATUM_SANDBOX", raising=False)
    monkeypatch.delenv("STRATUM_SANDBOX_URL", raising=False)
    ghe = "https://ghe.example.com/api/v3"
    with pytest.raises(GitHubConfigError, match=r"names the API https://ghe.example.com/api/v3 but has no token"):
        GitHubResource(api_url=ghe).world()
    assert GitHubResource(api_url=ghe, token="t").world() == (ghe, None)
    assert GitHubResource().world() == ("https://api.github.com", None), "GitHub's own API may be anonymous"
    with pytest.raises(
        GitHubConfigError,
        match=r"names the API https://ghe.example.com/api/v3, but the code "
        r"location's GitHub is the offline one",
    ):
        OfflineGitHub(api_url=ghe).world()
    assert OfflineGitHub().world() == ("offline", {"seed": 7, "size": 400, "size_profile": "compact"})
    assert type(github_from_environment()) is OfflineGitHub, "no token: the offline default"


def test_run_config_that_points_github_elsewhere_without_the_token_fails_the_step(tmp_path, monkeypatch):
    """What a user does in the launchpad: the code location's github has the token; run config names another API."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_a_real_token")
    monkeypatch.delenv("STRATUM_SANDBOX", raising=False)
    resources = {"github": github_from_environment(), "data": DataResource(root=str(tmp_path / "data"))}
    result = dg.materialize(
        candidate_assets[:1],
        resources=resources,
        raise_on_error=False,
        run_config={"resources": {"github": {"config": {"api_url": "https://ghe.example.com/api/v3"}}}},
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert "names the API https://ghe.example.com/api/v3 but has no token" in str(failure.event_specific_data.error)
    assert not (tmp_path / "data" / "candidates").exists(), "nothing was discovered offline instead"


def test_run_config_that_names_an_api_to_the_offline_code_location_fails_before_an_emulator_starts(
    tmp_path, monkeypatch
):
    """The code location loaded without a token; the launchpad names GitHub Enterprise: refused, not answered
    from the synthetic universe."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("STRATUM_SANDBOX_URL", raising=False)
    resources = {"github": github_from_environment(), "data": DataResource(root=str(tmp_path / "data"))}
    result = dg.materialize(
        candidate_assets[:1],
        resources=resources,
        raise_on_error=False,
        run_config={
            "resources": {
                "github": {"config": {"api_url": "https://ghe.example.com/api/v3", "git_root": str(tmp_path / "git")}}
            }
        },
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert "the code location's GitHub is the offline one" in str(failure.event_specific_data.error)
    assert not (tmp_path / "data" / "candidates").exists() and not (tmp_path / "git").exists()


def test_a_discovery_step_against_another_world_fails_and_writes_nothing(tmp_path, emulator):
    """A step launched from the UI (no CLI in front): the emulator says which universe it serves."""
    layout = Layout(tmp_path / "data")
    claim(layout, REAL, None)
    resources = {"github": OfflineGitHub(url=emulator.url), "data": DataResource(root=str(layout.root), profile="full")}
    result = dg.materialize(candidate_assets[:1], resources=resources, raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert (
        "this build is against the offline GitHub (seed 7, 400 repositories, compact size profile), profile "
        "full" in str(failure.event_specific_data.error)
    )
    assert not (layout.root / "candidates").exists()


# -- the whole story, as a user lives it -----------------------------------------------------------------------------
def _files(data) -> dict[str, str]:
    """Every file of the data directory with its sha256, but the Dagster instance's and the build lock."""
    out = {}
    for folder, subfolders, names in os.walk(data):
        subfolders[:] = [d for d in subfolders if d != "dagster"]
        for name in names:
            path = os.path.join(folder, name)
            if name != ".build.lock":
                out[os.path.relpath(path, data)] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return out


# What differs between two builds of one world's data: when each step ran, and the version it is frozen as.
_NOT_THE_DATA = {"collected_at", "scan_id", "timestamp", "scan_duration_ms", "chunk_id", "manifest_version"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _NOT_THE_DATA}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _rows(path, empty_ok: bool = False) -> list:
    rows = [
        _strip(r)
        for r in (
            pq.read_table(path).to_pylist()
            if path.suffix == ".parquet"
            else map(json.loads, path.read_text().splitlines())
        )
    ]
    assert rows or empty_ok, path
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


@pytest.mark.slow
@pytest.mark.timeout(900)  # two builds: the second world in its own directory, then here (the first is copied)
def test_another_world_is_refused_and_a_new_world_builds_what_a_clean_directory_would(tmp_path, clean_build):
    home = tmp_path / "home"
    env = copy_of_clean_build(clean_build, home)  # the offline default: seed 7, 400 repositories, profile sample
    data = home / "data"
    assert json.loads((data / "world.json").read_text())["worlds"][0]["world"] == {
        "github": "offline",
        "profile": "sample",
        "universe": {"seed": 7, "size": 400, "size_profile": "compact"},
    }
    first_world = _files(data)

    def cli(*args, **extra):
        return subprocess.run(
            [str(BIN / "stratum-assets"), *args],
            cwd=home,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=900,
        )

    real = {k: v for k, v in env.items() if k != "STRATUM_SANDBOX"}
    moved = subprocess.run(
        [str(BIN / "stratum-assets"), "run"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        env={**real, "GITHUB_TOKEN": "ghp_not_a_real_token"},
    )  # refused before any request
    assert moved.returncode == 1 and moved.stdout == "", moved.stdout[-2000:] + moved.stderr[-2000:]
    assert moved.stderr.splitlines()[-1] == (  # one line (after any warning Dagster prints when it loads)
        "stratum-assets run: data was built from the offline GitHub (seed 7, 400 repositories, compact size "
        "profile), profile sample (manifest v1 is frozen from it); this build is against the GitHub API at "
        "https://api.github.com, profile full. One data directory holds one world: build the other one in another "
        "data directory (another project home, or the data resource's root), or start a new manifest version for it "
        "here with `stratum-assets run --new-world` (README: One world per data directory)"
    )
    assert "Traceback" not in moved.stderr

    # The second world is smaller than the first (what is checked is which world, not its size): 150
    # repositories, a manifest of 100 in three partitions, so each of its two builds below takes half the time.
    with GitHubEmulator(
        build_universe(seed=8, size=150), tmp_path / "git8", budgets={"search": (10_000, 60.0)}
    ) as other:
        for command in ("run", "backfill"):
            refused = cli(command, STRATUM_SANDBOX_URL=other.url)
            assert refused.returncode == 1, refused.stdout[-2000:] + refused.stderr[-2000:]
            assert "this build is against the offline GitHub (seed 8, 150 repositories" in refused.stderr
        assert _files(data) == first_world, "nothing of the first world was touched"

        clean = tmp_path / "clean"
        clean.mkdir()
        # The two builds share nothing but the GitHub they read: they run side by side, so the cores one leaves
        # idle (its single-process stages, its worker spawns) go to the other.
        with ThreadPoolExecutor(1) as side:
            elsewhere = side.submit(build_project_home, clean, STRATUM_SANDBOX_URL=other.url)  # in its own directory
            new = cli("run", "--new-world", STRATUM_SANDBOX_URL=other.url)
            elsewhere.result()  # the other world's clean build passed (build_project_home asserts its exit 0)
        assert new.returncode == 0, new.stdout[-3000:] + new.stderr[-3000:]
    assert "  PASS  zero_silent_drops" in new.stdout and "clone_404" not in (data / "pipeline_run_log.json").read_text()
    worlds = json.loads((data / "world.json").read_text())["worlds"]
    assert [(w["world"]["universe"]["seed"], w["first_version"]) for w in worlds] == [(7, 1), (8, 2)]
    assert len(list((data / "scans" / "v2").glob("v2-c*"))) > 1, "a world of several partitions"
    assert {k: v for k, v in _files(data).items() if k.startswith(("manifest/v1/", "scans/v1/"))} == {
        k: v for k, v in first_world.items() if k.startswith(("manifest/v1/", "scans/v1/"))
    }, "v1 stays as it was"
    assert {k.removeprefix("worlds/w0/"): v for k, v in _files(data).items() if k.startswith("worlds/w0/split/")} == {
        k: v for k, v in first_world.items() if k.startswith("split/")
    }, "the first world's split moved aside whole"

    assert _rows(data / "manifest" / "v2" / "manifest.parquet") == _rows(
        clean / "data" / "manifest" / "v1" / "manifest.parquet"
    )
    for name in ("train.jsonl", "test.jsonl"):
        assert _rows(data / "split" / name) == _rows(clean / "data" / "split" / name), name
    for name in ("scan_results.jsonl", "quarantine.jsonl"):  # the companion files: every ping of the version
        assert _rows(data / name, empty_ok=True) == _rows(clean / "data" / name, empty_ok=True), name
    status = cli("status", STRATUM_SANDBOX_URL="")
    assert "manifest v2:" in status.stdout and ", 0 pending" in status.stdout, status.stdout
