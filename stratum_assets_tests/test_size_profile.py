"""The "real" size profile: repositories as big as real agent repositories, same metadata, same findings."""

import ast
import json
from dataclasses import replace
from pathlib import Path
from statistics import median

import pytest

from stratum_assets.scanner.engine import scan_repository
from stratum_assets_tests.support.checkouts import write_checkout
from stratum_sandbox import bulk
from stratum_sandbox.codegen import FILE_MODE, render_files
from stratum_sandbox.universe import build_universe

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def real_universe():
    return build_universe(seed=3, size=3000, size_profile="real")


def _unique_code(universe):
    """One repository per code origin (forks and clones repeat their source's files), live ones only."""
    seen, out = set(), []
    for repo in universe.repos:
        if repo.code_origin not in seen and not repo.deleted:
            seen.add(repo.code_origin)
            out.append(repo)
    return out


def test_the_profile_is_fitted_to_the_real_corpus_measured_file_by_file():
    """The constants are the real corpus's (a copy of its per-repository counts, kept as a fixture)."""
    corpus = json.loads((FIXTURES / "real_corpus_sizes.json").read_text())
    assert tuple(r["files"] for r in corpus) == bulk.REAL_CORPUS_FILES
    assert tuple(r["python_files"] for r in corpus) == bulk.REAL_CORPUS_PYTHON_FILES
    per_file = median(r["python_bytes"] / r["python_files"] for r in corpus)
    assert abs(per_file - bulk.REAL_CORPUS_MEDIAN_PYTHON_BYTES) / per_file < 0.05


def test_real_profile_changes_files_not_metadata():
    compact = build_universe(seed=3, size=400)
    real = build_universe(seed=3, size=400, size_profile="real")
    assert [replace(r, size_profile="compact") for r in real.repos] == compact.repos
    with pytest.raises(ValueError, match="size_profile"):
        build_universe(seed=3, size=400, size_profile="huge")


def test_the_size_profile_is_a_closed_choice_recorded_as_its_plain_value():
    """The offline GitHub's ``size_profile`` is the emulator's enum (a run config's ``size_profile: huge`` is refused
    by name), and the world a data directory records holds its value as plain JSON text."""
    from pydantic import ValidationError

    from stratum_assets.offline_github import OfflineGitHub
    from stratum_sandbox.universe import SizeProfile

    github = OfflineGitHub(size_profile="real")
    assert github.size_profile is SizeProfile.real
    _, universe = github.world()
    assert universe is not None and type(universe["size_profile"]) is str
    assert json.dumps(universe) == '{"seed": 7, "size": 400, "size_profile": "real"}'
    assert build_universe(seed=3, size=50, size_profile=SizeProfile.real).identity()["size_profile"] == "real"
    with pytest.raises(ValidationError, match="'compact' or 'real'"):
        OfflineGitHub(size_profile="huge")


def test_file_counts_python_share_and_sizes_match_the_real_corpus(real_universe):
    repos = _unique_code(real_universe)
    counts, python, python_bytes = [], 0, []
    for repo in repos:
        files = [f for f in render_files(repo) if f.mode == FILE_MODE]
        code = [f for f in files if f.path.endswith(".py")]
        counts.append(len(files))
        python += len(code)
        if code:
            python_bytes.append(sum(len(f.data) for f in code) / len(code))
    real_median = median(bulk.REAL_CORPUS_FILES)
    assert abs(median(counts) - real_median) <= 0.1 * real_median, median(counts)
    assert min(counts) >= min(bulk.REAL_CORPUS_FILES) - 2
    assert max(counts) > 3 * real_median  # the corpus's long tail (182 files) is there too
    assert abs(python / sum(counts) - bulk.PYTHON_SHARE) < 0.05, python / sum(counts)
    assert (
        abs(median(python_bytes) - bulk.REAL_CORPUS_MEDIAN_PYTHON_BYTES) < 0.25 * bulk.REAL_CORPUS_MEDIAN_PYTHON_BYTES
    )
    compact = [len(render_files(replace(r, size_profile="compact"))) for r in repos[:200]]
    assert median(compact) < real_median / 2  # what the profile is for: compact ones are far smaller


def test_framework_mix_covers_the_real_corpus_frameworks(real_universe):
    """Every framework the real corpus uses and the offline GitHub models is written by at least 2% of it."""
    corpus = json.loads((FIXTURES / "real_corpus_sizes.json").read_text())
    modelled = {fw for r in real_universe.repos for fw in r.frameworks}
    used = {fw for r in corpus for fw in r["frameworks"]} & modelled
    assert {"CrewAI", "LangChain", "LangGraph", "LlamaIndex", "SmolAgents", "AutoGen"} <= used
    share = {fw: sum(fw in r.frameworks for r in real_universe.repos) / len(real_universe.repos) for fw in used}
    assert all(s >= 0.02 for s in share.values()), share
    multi = sum(len(r.frameworks) > 1 for r in real_universe.repos) / len(real_universe.repos)
    assert 0.05 < multi < 0.5  # real agent repositories often combine frameworks (4 of 12 in the corpus)


def test_extra_code_parses_and_forks_and_clones_share_it(real_universe):
    repos = _unique_code(real_universe)[:300]
    for repo in repos:
        for f in render_files(repo):
            if f.path.endswith(".py") and f.mode == FILE_MODE and "legacy/" not in f.path:
                ast.parse(f.data)
    fork = next(r for r in real_universe.repos if r.parent)
    clone = next(r for r in real_universe.repos if r.archetype == "clone")
    for copy in (fork, clone):
        source = next(r for r in real_universe.repos if r.code_seed == copy.code_origin and r is not copy)
        extra = _extra_files(copy)
        assert len(extra) > 5 and extra == _extra_files(source)


def _extra_files(repo) -> dict[str, bytes]:
    """What the real profile adds to ``repo``'s compact rendering."""
    compact = {f.path for f in render_files(replace(repo, size_profile="compact"))}
    return {f.path: f.data for f in render_files(repo) if f.path not in compact}


def test_scanner_finds_the_same_in_a_real_sized_repository_as_in_its_compact_twin(real_universe, tmp_path):
    """The extra files cost parsing time, not findings: same agents, frameworks and rules."""
    repos = [r for r in _unique_code(real_universe) if r.archetype in ("single", "multi") and not r.quirks][:25]
    grown = 0
    for repo in repos:
        pings = {}
        for profile in ("compact", "real"):
            root = tmp_path / profile / repo.name
            write_checkout(replace(repo, size_profile=profile), root)
            pings[profile] = scan_repository(root, repo.full_name)
        compact, real = pings["compact"], pings["real"]
        grown += real["files_total"] > compact["files_total"]
        changed = {k for k in compact if real[k] != compact[k]}
        assert changed <= _SIZE_DEPENDENT, (repo.full_name, changed - _SIZE_DEPENDENT)
    assert grown >= 20


# What more files may change in a ping: the run's own fields, the file counts, and the deployment signals (the
# reference's at the root, the built-in's anywhere) and repository metadata that count tests, docs and languages.
# Everything the findings are made of stays.
_SIZE_DEPENDENT = {
    "scan_id",
    "timestamp",
    "scan_duration_ms",
    "files_scanned",
    "files_total",
    "deployment_signals",
    "detected_deployment_signals",
    "repo_metadata",
}
