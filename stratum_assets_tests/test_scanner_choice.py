"""The scanner is chosen where the code location is assembled: a whole build with the external CLI, no code edited."""

import json
import stat
import sys

import pyarrow.parquet as pq
import pytest

from stratum_sandbox.server import GitHubEmulator

from .conftest import build_project_home, fixture_path


@pytest.mark.slow
def test_a_build_with_the_external_scanner_chosen_from_the_environment_stores_its_pings_everywhere(
    small_universe, small_git_root, tmp_path
):
    """STRATUM_SCANNER=external + STRATUM_SCANNER_COMMAND: every partition run of `stratum-assets run` (worker
    processes, retries) scans with that command; its pings, stamped with the pipeline's identity, are stored."""
    reference = fixture_path("pings/crewAIInc__crewAI-examples.json")
    stand_in = tmp_path / "stratum-venv" / "bin" / "stratum"  # a CLI in a venv of its own, off PATH
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        "args = sys.argv[1:]\n"
        f"ping = json.load(open({str(reference)!r}))\n"
        "ping['repo_full_name'] = args[args.index('--repo-name') + 1]\n"
        "ping['stand_in_scan'] = args[0]\n"
        "print(json.dumps(ping))\n"
    )
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    home = tmp_path / "home"
    home.mkdir()
    # The session's GitHub of 150 repositories (a manifest of 100, three partitions: two worker slots, one used
    # twice) is enough to see every partition run choose the scanner; the default world's 400 would take twice as
    # long. Its bare repositories are built once for every module that builds on it (small_git_root).
    with GitHubEmulator(small_universe, small_git_root, budgets={"search": (10_000, 60.0)}) as github:
        build_project_home(
            home, STRATUM_SCANNER="external", STRATUM_SCANNER_COMMAND=str(stand_in), STRATUM_SANDBOX_URL=github.url
        )

    recorded = json.loads(reference.read_text())
    partitions = sorted((home / "data" / "scans" / "v1").glob("v1-c*"))
    assert len(partitions) >= 3
    stored = 0
    for folder in partitions:
        rows = pq.read_table(folder / "scan_results.parquet").to_pylist()
        scanned = [r for r in rows if r["failure_reason"] not in ("clone_404", "clone_timeout", "no_python")]
        assert scanned, f"{folder.name}: nothing scanned"
        assert {r["scanner"] for r in rows} == {"stratum"}, f"{folder.name}: another scanner stored a ping"
        assert {r["scanner_version"] for r in scanned} == {recorded["scanner_version"]}
        assert {(r["agent_count"], r["crew_count"], r["risk_score"]) for r in scanned} == {
            (recorded["agent_count"], recorded["crew_count"], recorded["risk_score"])
        }, "what the CLI printed"
        stored += len(rows)
    manifest = sum(1 for _ in (home / "data" / "repo_manifest.jsonl").open())
    quarantined = sum(pq.read_table(f / "quarantine.parquet").num_rows for f in partitions)
    assert stored + quarantined == manifest
    gates = (home / "run.out").read_text()
    assert "PASS  one_scanner_per_version" in gates and "PASS  zero_silent_drops" in gates, gates
