"""Scale-out on one machine: Postgres instance storage, the multiprocess executor, parallel partitions.

The test starts its own PostgreSQL server on loopback, points a fresh DAGSTER_HOME at it
(the project's dagster.yaml with the storage swapped, as docs/SCALE_OUT.md says), and
drives the code location with the stock ``dagster`` CLI: discovery + manifest in one run
whose ten steps run in child processes (multiprocess executor, github_api pool limit 1),
then every scan partition as its own run, all launched at once, then the run log.

Every step talks to one offline GitHub of 150 repositories (``small_universe``, through
``STRATUM_SANDBOX_URL`` as ``stratum-assets sandbox serve`` runs it): three partitions are enough to see
the ``git_clones`` pool hold a third run back, and the default world's 400 (five partitions) took longer.
"""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from stratum_assets.instance.pools import ensure_pool_limits
from stratum_sandbox.server import GitHubEmulator

from .conftest import documented_yaml, postgres_instance_home

pytestmark = pytest.mark.slow  # builds whole project homes and runs servers

DAGSTER = str(Path(sys.executable).with_name("dagster"))


def _dagster(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home), "STRATUM_SANDBOX": "1"}
    env.pop("GITHUB_TOKEN", None)
    return subprocess.Popen(
        [DAGSTER, *args, "-m", "stratum_assets.definitions"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: int = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def test_postgres_storage_multiprocess_executor_and_parallel_partitions(
    postgres, small_universe, small_git_root, tmp_path, monkeypatch
):
    home, variables = postgres_instance_home(tmp_path, postgres)
    for name, value in variables.items():  # read by the CLI runs and by this process's instance below
        monkeypatch.setenv(name, value)
    with GitHubEmulator(small_universe, small_git_root, budgets={"search": (10_000, 60.0)}) as github:
        monkeypatch.setenv("STRATUM_SANDBOX_URL", github.url)  # every step of every run talks to this one
        _build_with_the_dagster_cli(home)


def _build_with_the_dagster_cli(home: Path) -> None:
    discovery = (
        ",".join(
            f"candidates_{name}"
            for name in (
                "langchain_active",
                "langchain_mature",
                "crewai",
                "langgraph",
                "autogen",
                "llamaindex",
                "agno_smolagents_other",
                "multi_framework",
                "high_maturity",
                "discovery_pool",
            )
        )
        + ",repo_manifest"
    )
    stage1 = _finish(_dagster(home, "asset", "materialize", "--select", discovery))
    assert "Executing steps using multiprocess executor" in stage1

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorageWithAtomicSlots"
        discovery_run = instance.get_run_records(limit=1)[0].dagster_run.run_id
        assert _overlaps(_step_windows(instance, discovery_run, "candidates_")) == 0, "github_api pool: one at a time"
        partitions = sorted(instance.get_dynamic_partitions("manifest_chunks"))
        assert ensure_pool_limits(instance, home) == {"github_api": 1, "git_clones": 2}
    assert len(partitions) >= 3

    launched = [
        _dagster(home, "asset", "materialize", "--select", "scan_results,quarantine", "--partition", p)
        for p in partitions
    ]
    for proc in launched:
        _finish(proc)
    _finish(_dagster(home, "asset", "materialize", "--select", "pipeline_run_log"))

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("scan_results")) == set(partitions)
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": partitions[0]}))
        scans = [r for r in instance.get_run_records() if r.dagster_run.tags.get("dagster/partition")]
        assert len(scans) == len(partitions) and records
        steps = sorted(w for r in scans for w in _step_windows(instance, r.dagster_run.run_id, "scan_partition"))
        assert _most_at_once(steps) == 2, "git_clones pool: partitions scanned two at a time, never more"
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("pipeline_run_log"), "zero_silent_drops")]
        )
        evaluation = next(iter(check.values())).event.dagster_event.event_specific_data
        assert evaluation.passed, evaluation.metadata


def _step_windows(instance: dg.DagsterInstance, run_id: str, prefix: str) -> list[tuple[float, float]]:
    starts, ends = {}, {}
    for record in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}):
        step = record.step_key or ""
        if step.startswith(prefix):
            (starts if record.dagster_event_type == dg.DagsterEventType.STEP_START else ends)[step] = record.timestamp
    assert starts and set(starts) == set(ends)
    return sorted((starts[k], ends[k]) for k in starts)


def _most_at_once(windows: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    return most


def _overlaps(windows: list[tuple[float, float]]) -> int:
    return sum(1 for (_, end), (start, _) in itertools.pairwise(windows) if start < end)


def test_documented_kubernetes_run_launcher_config_is_valid():
    from dagster._config import process_config
    from dagster._config.field import resolve_to_config_type
    from dagster_k8s import K8sRunLauncher

    launcher = documented_yaml("run_launcher")["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), launcher["config"])
    assert result.success, [e.message for e in result.errors]


def test_documented_celery_docker_run_config_is_valid(monkeypatch):
    from dagster._config import process_config
    from dagster_celery_docker import celery_docker_executor

    monkeypatch.setenv("CELERY_BROKER_URL", "pyamqp://guest@rabbitmq//")  # resolved as the run starts
    monkeypatch.setenv("CELERY_BACKEND_URL", "rpc://")

    documented = documented_yaml("execution", section="Celery + Docker (configuration, not run here)")
    config = documented["execution"]["config"]
    result = process_config(celery_docker_executor.config_schema.config_type, config)
    assert result.success, [e.message for e in result.errors]
