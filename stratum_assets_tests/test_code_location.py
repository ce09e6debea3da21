"""The code location loads the way `dagster dev` and the CLI load it, and the instance config is valid."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_and_validate():
    from stratum_assets.definitions import defs

    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)


def test_discovery_and_scan_steps_draw_on_their_pools():
    from stratum_assets.definitions import defs

    pools = {a.op.name: a.op.pool for a in defs.assets}
    assert {n for n, p in pools.items() if p == "github_api"} == {n for n in pools if n.startswith("candidates_")}
    assert pools["scan_partition"] == "git_clones"
    assert set(pools.values()) == {"github_api", "git_clones", None}


@pytest.mark.slow
def test_pool_limits_are_set_once_with_dagsters_command_and_a_later_change_is_kept():
    from stratum_assets.instance.pools import ensure_pool_limits, pool_limits

    with dg.instance_for_test() as instance:
        assert pool_limits(instance) == {}
        assert ensure_pool_limits(instance) == {"github_api": 1, "git_clones": 2}
        assert instance.event_log_storage.get_concurrency_info("git_clones").slot_count == 2, "in the instance"
        changed = subprocess.run(
            [str(Path(sys.executable).with_name("dagster")), "instance", "concurrency", "set", "git_clones", "4"],
            env={**os.environ, "DAGSTER_HOME": instance.root_directory},
            capture_output=True,
            text=True,
            timeout=120,
        )  # a user on a bigger machine
        assert changed.returncode == 0, changed.stderr
        assert ensure_pool_limits(instance) == {"github_api": 1, "git_clones": 4}


@pytest.mark.slow
def test_instance_config_has_a_run_queue_limit_and_retries(tmp_path):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    code = (
        "import dagster as dg; i = dg.DagsterInstance.get(); c = i.get_concurrency_config(); "
        "print(type(i.run_coordinator).__name__, i.run_retries_enabled, i.run_retries_max_retries, "
        "c.run_queue_config.max_concurrent_runs, c.pool_config.default_pool_limit)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["QueuedRunCoordinator", "True", "2", "2", "1"]
    assert (tmp_path / "data" / "dagster" / "storage").is_dir(), "instance state lives under data/"


@pytest.mark.slow
def test_dg_checks_and_lists_the_project_definitions(tmp_path):
    """This is a dg project: `dg check defs` passes and `dg list defs` shows the graph from pyproject.toml alone.

    Run from the project root (where dg finds the project) with an instance of its own: without a
    DAGSTER_HOME, dg opens the project's dagster.yaml and creates its storage under data/.
    """
    dg_cli = str(Path(sys.executable).parent / "dg")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    check = subprocess.run([dg_cli, "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "All definitions loaded successfully." in check.stdout

    listed = subprocess.run(
        [dg_cli, "list", "defs", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    from stratum_assets.definitions import defs

    graph = json.loads(listed.stdout)
    assert {a["asset_key"] for a in graph["assets"]} == {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {s["name"] for s in graph["sensors"]} == {"keep_audit_fresh", "reap_dead_runs"}
    assert {c["key"] for c in graph["asset_checks"]} >= {"audit_report:G1", "scan_results:every_repo_accounted_for"}


def test_workspace_yaml_loads_the_code_location_dg_loads():
    """One code location, two spellings: workspace.yaml (dagster's -w) and [tool.dg.project] (dg, dagster dev)."""
    import tomllib

    import yaml

    (entry,) = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    dg_project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    assert entry["python_module"]["module_name"] == dg_project["code_location_target_module"]
    assert entry["python_module"]["location_name"] == dg_project["code_location_name"]
    assert entry["python_module"]["working_directory"] == "."


@pytest.mark.parametrize(
    "orig_argv, args, supplied",
    [
        (
            ["python", "/v/bin/dagster", "asset", "materialize", "--select", "audit_report"],
            ["asset", "materialize", "--select", "audit_report"],
            "stratum_assets.definitions",
        ),
        (["python", "-m", "dagster", "asset", "list"], ["asset", "list"], "stratum_assets.definitions"),
        (["python", "-I", "-X", "dev", "-mdagster", "asset", "list"], ["asset", "list"], "stratum_assets.definitions"),
        # A code location of the user's own, another command, another program: untouched.
        (
            ["python", "/v/bin/dagster", "asset", "list", "-m", "other.defs"],
            ["asset", "list", "-m", "other.defs"],
            None,
        ),
        (
            ["python", "/v/bin/dagster", "asset", "list", "--python-file=x.py"],
            ["asset", "list", "--python-file=x.py"],
            None,
        ),
        (["python", "/v/bin/dagster", "dev"], ["dev"], None),
        (["python", "/v/bin/dagster", "asset", "wipe", "--all"], ["asset", "wipe", "--all"], None),
        (["python", "/v/bin/dg", "asset", "list"], ["asset", "list"], None),
        (["python", "-c", "pass", "asset", "list"], ["asset", "list"], None),
        (["python", "script.py", "asset", "list"], ["asset", "list"], None),
    ],
)
def test_dagster_asset_commands_get_the_projects_code_location_only_when_typed_without_one(orig_argv, args, supplied):
    from stratum_assets.dagster_cli_default import code_location_to_supply

    assert code_location_to_supply(orig_argv, args, str(ROOT)) == supplied


def test_the_code_location_is_supplied_only_in_this_projects_root(tmp_path):
    from stratum_assets.dagster_cli_default import code_location_to_supply

    typed = (["python", "/v/bin/dagster", "asset", "list"], ["asset", "list"])
    assert code_location_to_supply(*typed, str(tmp_path)) is None, "no pyproject.toml: dagster says what is missing"
    (tmp_path / "pyproject.toml").write_text('[tool.dg.project]\nroot_module = "their_project"\n')
    assert code_location_to_supply(*typed, str(tmp_path)) is None, "another dg project is not ours to complete"
    (tmp_path / "pyproject.toml").write_text('[tool.dg.project]\nroot_module = "stratum_assets"\n')
    assert code_location_to_supply(*typed, str(tmp_path)) == "stratum_assets.definitions", "dg's default module"


def test_the_install_put_the_startup_hook_into_the_environment():
    """`pip install -e .` (the README's) wrote the .pth that runs the hook in this interpreter's site-packages."""
    import site

    from stratum_assets._build import HOOK_FILE, HOOK_LINE

    hooks = [Path(folder, HOOK_FILE) for folder in site.getsitepackages() if Path(folder, HOOK_FILE).exists()]
    assert [hook.read_text() for hook in hooks] == [HOOK_LINE]


def test_the_startup_hook_leaves_every_other_interpreter_to_import_this_project_from_its_own_path(tmp_path):
    """The hook imports this package in every interpreter of the environment; one that is not `dagster asset
    materialize|list` must not keep it: a copy on its own path (mutmut's mutants/, another working copy run
    from its folder) is the one it imports, not the installed one."""
    copy = tmp_path / "stratum_assets"
    copy.mkdir()
    (copy / "__init__.py").write_text("WHICH = 'the copy in this folder'\n")
    code = "import sys; print('stratum_assets' in sys.modules); import stratum_assets; print(stratum_assets.WHICH)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["False", "the copy in this folder"], out.stderr[-2000:]


@pytest.mark.slow
def test_dagster_cli_lists_the_code_location_assets():
    """`dagster asset list` as typed from the project root: no -m, the startup hook names the code location."""
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    from stratum_assets.assets.discovery import STRATUM_NAMES

    listed = out.stdout.split()
    expected = {f"candidates_{name}" for name in STRATUM_NAMES} | {
        "repo_manifest",
        "scan_results",
        "quarantine",
        "pipeline_run_log",
        "audit_report",
        "train_test_split",
        "label_audit_sample",
    }
    assert len(STRATUM_NAMES) == 10 and len(expected) == 17
    assert sorted(listed) == sorted(expected), out.stdout


@pytest.mark.slow
def test_dagster_asset_materialize_runs_a_candidates_asset_offline(tmp_path):
    """What a user types: `dagster asset materialize --select candidates_crewai`, no token, fresh instance."""
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "STRATUM_SANDBOX")}
    env.update(DAGSTER_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "--select",
            "candidates_crewai",
            "-m",
            "stratum_assets.definitions",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "data" / "candidates" / "crewai.parquet").exists()
    assert "RUN_SUCCESS" in out.stderr + out.stdout
