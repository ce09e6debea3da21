"""Real git clones over loopback smart HTTP, including partial clones."""

import os
import subprocess

import pytest

from stratum_sandbox.codegen import SYMLINK_MODE, render_files
from stratum_sandbox.git_store import GitStore, git_env
from stratum_sandbox.limits import Fault


def _git(*args, cwd=None, timeout=60):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=git_env(), timeout=timeout)


def _repo(universe, **want):
    return next(r for r in universe.repos if all(getattr(r, k) == v for k, v in want.items()))


def test_shallow_blobless_clone_then_sparse_checkout_fetches_only_python(emulator, universe, tmp_path):
    repo = next(r for r in universe.repos if r.archetype == "single" and not r.deleted and not r.slow and not r.quirks)
    dest = tmp_path / "clone"
    cloned = _git(
        "clone", "--depth", "1", "--filter=blob:none", "--no-checkout", emulator.clone_url(repo.full_name), str(dest)
    )
    assert cloned.returncode == 0, cloned.stderr
    files = {f.path: f for f in render_files(repo)}
    tree = _git("ls-tree", "-r", "--name-only", "HEAD", cwd=dest).stdout.split()
    assert sorted(tree) == sorted(files), "the tree lists every file even though no blob was fetched"
    missing = _git("rev-list", "--objects", "--missing=print", "HEAD", cwd=dest).stdout
    assert sum(line.startswith("?") for line in missing.splitlines()) == len(files), "no blob downloaded yet"
    assert _git("sparse-checkout", "set", "--no-cone", "*.py", cwd=dest).returncode == 0
    checkout = _git("checkout", "main", cwd=dest)
    assert checkout.returncode == 0, checkout.stderr
    on_disk = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert on_disk == {p for p in files if p.endswith(".py")}
    for path in on_disk:
        assert (dest / path).read_bytes() == files[path].data
    date = _git("log", "-1", "--format=%ct", cwd=dest).stdout.strip()
    assert int(date) == int(repo.pushed_at.timestamp())


def test_commits_are_deterministic_across_stores(universe, tmp_path):
    repo = universe.repos[5]
    heads = []
    for name in ("a", "b"):
        bare = GitStore(tmp_path / name).path_for(repo)
        heads.append(_git("rev-parse", "HEAD", cwd=bare).stdout.strip())
    assert heads[0] == heads[1] and len(heads[0]) == 40


def test_deleted_repository_clone_says_not_found(emulator, universe, tmp_path):
    repo = _repo(universe, deleted=True)
    result = _git("clone", "--depth", "1", emulator.clone_url(repo.full_name), str(tmp_path / "x"))
    assert result.returncode == 128
    assert "not found" in result.stderr


def test_unknown_repository_asks_for_credentials_which_are_disabled(emulator, tmp_path):
    result = _git("clone", "--depth", "1", emulator.clone_url("nobody/never-existed"), str(tmp_path / "x"))
    assert result.returncode == 128
    assert "terminal prompts disabled" in result.stderr


def test_rate_limited_clone_fails_with_429(emulator, universe, tmp_path):
    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=1))
    repo = _repo(universe, archetype="single", deleted=False, slow=False)
    result = _git("clone", "--depth", "1", emulator.clone_url(repo.full_name), str(tmp_path / "x"))
    assert result.returncode == 128 and "429" in result.stderr
    again = _git("clone", "--depth", "1", emulator.clone_url(repo.full_name), str(tmp_path / "y"))
    assert again.returncode == 0, again.stderr


def test_a_git_fault_for_one_repository_refuses_its_clones_only(emulator, universe, tmp_path):
    limited, other = [r for r in universe.repos if r.archetype == "single" and not r.deleted and not r.slow][:2]
    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=1, repo=limited.full_name))
    spared = _git("clone", "--depth", "1", emulator.clone_url(other.full_name), str(tmp_path / "other"))
    assert spared.returncode == 0, spared.stderr
    refused = _git("clone", "--depth", "1", emulator.clone_url(limited.full_name), str(tmp_path / "x"))
    assert refused.returncode == 128 and "429" in refused.stderr
    again = _git("clone", "--depth", "1", emulator.clone_url(limited.full_name), str(tmp_path / "y"))
    assert again.returncode == 0, again.stderr


def test_oversized_repository_is_slow_enough_to_time_out(emulator, universe, tmp_path):
    repo = _repo(universe, slow=True)
    with pytest.raises(subprocess.TimeoutExpired):
        _git("clone", "--depth", "1", emulator.clone_url(repo.full_name), str(tmp_path / "x"), timeout=1.0)


def test_hostile_repository_carries_a_symlink_out_of_the_checkout(emulator, universe, tmp_path):
    repo = next(r for r in universe.repos if "symlink_escape" in r.quirks)
    links = [f for f in render_files(repo) if f.mode == SYMLINK_MODE]
    assert links
    dest = tmp_path / "x"
    assert _git("clone", "--depth", "1", emulator.clone_url(repo.full_name), str(dest)).returncode == 0
    link = dest / links[0].path
    assert link.is_symlink() and os.readlink(link) == links[0].data.decode()


def _live(universe, n):
    return [r for r in universe.repos if not r.deleted and not r.slow][:n]


def test_bounded_store_keeps_the_most_recently_served_and_rebuilds_the_dropped_identically(universe, tmp_path):
    store = GitStore(tmp_path / "git", max_repos=3, idle_seconds=0)
    repos = _live(universe, 5)
    heads = {}
    for i, repo in enumerate(repos):
        bare = store.path_for(repo)
        os.utime(bare, (1_000 + i, 1_000 + i))  # served in this order
        heads[repo.full_name] = _git("rev-parse", "HEAD", cwd=bare).stdout.strip()
    store.path_for(repos[0])  # served again just now: the most recent of all
    assert store.evict() == 2
    kept = {p.relative_to(store.root).as_posix() for p in store.on_disk()}
    assert kept == {f"{r.owner}/{r.name}.git" for r in (repos[0], repos[3], repos[4])}
    assert not any((store.root / ".evicted").iterdir()), "an evicted repository is removed, not parked"
    again = store.path_for(repos[1])
    assert _git("rev-parse", "HEAD", cwd=again).stdout.strip() == heads[repos[1].full_name]
    assert store.built == 6 and store.evicted == 2


def test_bounded_store_never_drops_a_repository_served_within_its_idle_time(universe, tmp_path):
    store = GitStore(tmp_path / "git", max_repos=1, idle_seconds=3600)
    for repo in _live(universe, 3):
        store.path_for(repo)
    assert store.evict() == 0 and len(store.on_disk()) == 3
    assert GitStore(tmp_path / "unbounded").evict() == 0
    with pytest.raises(ValueError, match="max_repos"):
        GitStore(tmp_path / "bad", max_repos=0)


def test_bounded_store_sweeps_while_it_builds(universe, tmp_path, monkeypatch):
    """Builds trigger the sweep: a long build never holds more than the bound plus one sweep's worth."""
    import stratum_sandbox.git_store as git_store

    monkeypatch.setattr(git_store, "SWEEP_EVERY", 4)
    store = GitStore(tmp_path / "git", max_repos=2, idle_seconds=0)
    for repo in _live(universe, 12):
        store.path_for(repo)
        assert len(store.on_disk()) <= 2 + 4
    assert store.evicted >= 8


def test_clones_keep_working_through_an_emulator_that_drops_repositories(universe, tmp_path):
    from stratum_sandbox.server import GitHubEmulator

    repos = _live(universe, 4)
    with GitHubEmulator(universe, tmp_path / "git", max_repos=1) as emulator:
        emulator.git.idle_seconds = 0
        for round_ in range(2):
            for repo in repos:
                dest = tmp_path / f"{round_}-{repo.name}"
                cloned = _git("clone", "--depth", "1", emulator.clone_url(repo.full_name), str(dest))
                assert cloned.returncode == 0, cloned.stderr
                emulator.git.evict()
                assert len(emulator.git.on_disk()) <= 1
    assert emulator.git.built == 8  # every clone found its repository dropped and rebuilt it
