"""The ``data`` resource: the warehouse connection it hands out, the profile it holds, and the stages
that need nothing else (no GitHub, no database resource of their own)."""

import json
import os
import shutil

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratum_assets.assets.audit import audit_report
from stratum_assets.assets.discovery import CANDIDATE_SCHEMA, STRATUM_NAMES
from stratum_assets.assets.manifest import repo_manifest
from stratum_assets.manifest.store import ManifestStore, NoManifestError
from stratum_assets.resources import (
    SCANNER_COMMAND_ENV_VAR,
    SCANNER_ENV_VAR,
    DataResource,
    ScannerResource,
    scanner_from_environment,
)
from stratum_assets.scanning.scanner_commands import BuiltinScanner, ExternalScanner
from stratum_assets.storage.layout import Layout
from stratum_assets_tests.support.synthetic_pings import generate


@pytest.fixture
def offline(monkeypatch):
    """The environment of an offline build: no token, no forced profile."""
    for name in ("GITHUB_TOKEN", "STRATUM_SANDBOX", "STRATUM_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _outcomes(conn) -> dict[str, int]:
    return dict(conn.execute("SELECT outcome, count(*) FROM scan_dataset GROUP BY 1").fetchall())


def test_the_warehouse_connection_shows_the_active_manifest_version(tmp_path):
    layout = Layout(tmp_path / "data")
    data = DataResource(root=str(layout.root))
    with pytest.raises(NoManifestError, match="stratum-assets run"), data.warehouse():
        pass
    info = generate(layout, 300, seed=5, chunk_size=100)

    with data.warehouse() as warehouse:  # a new DuckDB file: the views exist only because it refreshed them
        assert (warehouse.version, warehouse.layout) == (1, layout)
        limit = warehouse.conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit == "667.5 MiB", "700MB (warehouse/schema.py), not DuckDB's 80% of the machine"
        assert _outcomes(warehouse.conn) == {"stored": 300 - info["quarantined"], "quarantined": info["quarantined"]}
    assert layout.duckdb.is_file(), "the warehouse is the layout's DuckDB file"
    with pytest.raises(duckdb.ConnectionException):
        warehouse.conn.execute("SELECT 1")  # closed when the block ended

    names = ["o/a", "o/b", "o/c"]  # v2: three repositories, none scanned yet
    ManifestStore.of(layout).freeze(
        2,
        pa.table({"repo_hash": [f"{i:016x}" for i in range(3)], "full_name": names, "chunk_id": ["v2-c0000"] * 3}),
        {"rows": 3},
    )
    with data.warehouse() as warehouse:  # the same file, its views now over v2
        assert warehouse.version == 2
        assert warehouse.conn.execute("SELECT count(*) FROM repo_manifest").fetchone()[0] == 3
        assert _outcomes(warehouse.conn) == {"pending": 3}
    assert data.refresh_views() == 2
    with DataResource(root=str(layout.root), memory_limit="300MB").warehouse() as warehouse:
        assert warehouse.conn.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"


def test_the_profile_is_the_data_resources_and_keeps_the_defaults(offline):
    assert DataResource().resolved_profile() == "sample", "offline"
    offline.setenv("GITHUB_TOKEN", "ghp_NotARealToken0001")
    assert DataResource().resolved_profile() == "full", "real GitHub"
    offline.setenv("STRATUM_SANDBOX", "1")
    assert DataResource().resolved_profile() == "sample", "the offline GitHub forced, token or not"
    offline.setenv("STRATUM_PROFILE", "full")
    assert DataResource().resolved_profile() == "full"
    assert DataResource(profile="sample").resolved_profile() == "sample", "configured wins over the environment"
    offline.setenv("STRATUM_PROFILE", "huge")
    with pytest.raises(ValueError, match="STRATUM_PROFILE must be one of full, sample, not 'huge'"):
        DataResource().resolved_profile()


def test_a_run_config_names_the_profile_by_its_value(offline):
    """Dagster's enum config takes a member's name: the profile's members are named as their values, so the
    documented run config ``profile: sample`` (or ``full``) is accepted by every asset that has one, and a
    profile that does not exist is refused before any run starts."""
    from stratum_assets.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    for asset in ("candidates_crewai", "repo_manifest", "audit_report", "label_audit_sample"):
        for profile in ("sample", "full"):
            config = dg.validate_run_config(job, {"ops": {asset: {"config": {"profile": profile}}}})
            assert config["ops"][asset]["config"]["profile"] == profile
        with pytest.raises(dg.DagsterInvalidConfigError, match="not in enum type Profile got Sample"):
            dg.validate_run_config(job, {"ops": {asset: {"config": {"profile": "Sample"}}}})


def _candidates(layout: Layout, per_stratum: int = 30) -> None:
    for s, name in enumerate(STRATUM_NAMES):
        rows = [
            {
                "full_name": f"owner{s}/repo-{i}",
                "is_fork": False,
                "github_stars": i,
                "last_commit_date": "2025-09-01",
                "discovery_query": f"q-{name}",
                "selection_stratum": name,
            }
            for i in range(per_stratum)
        ]
        path = layout.candidates(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=CANDIDATE_SCHEMA), path)


@pytest.mark.parametrize("configured, profile, chunk_size", [(None, "sample", 40), ("full", "full", 250)])
def test_repo_manifest_materializes_with_the_data_resource_alone(tmp_path, offline, configured, profile, chunk_size):
    layout = Layout(tmp_path / "data")
    _candidates(layout)
    data = DataResource(root=str(layout.root), profile=configured)
    result = dg.materialize([repo_manifest], resources={"data": data}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    meta = json.loads(layout.manifest(1).meta.read_text())
    assert (meta["settings"]["profile"], meta["settings"]["chunk_size"]) == (profile, chunk_size)
    with DataResource(root=str(layout.root)).warehouse() as warehouse:  # the asset left the views on v1
        assert warehouse.conn.execute("SELECT count(*) FROM repo_manifest").fetchone()[0] == meta["rows"] > 0


@pytest.mark.parametrize("configured, profile, g1", [(None, "sample", ">= 320"), ("full", "full", ">= 40000")])
def test_audit_report_materializes_with_the_data_resource_alone(tmp_path, offline, configured, profile, g1):
    layout = Layout(tmp_path / "data")
    generate(layout, 400, seed=3, chunk_size=200)
    data = DataResource(root=str(layout.root), profile=configured)
    result = dg.materialize(
        [audit_report], resources={"data": data}, instance=dg.DagsterInstance.ephemeral(), selection=[audit_report]
    )
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["profile"].value == profile and meta["manifest_version"].value == 1
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["G1"].metadata["threshold"].value == g1
    assert layout.audit_report.read_text() == meta["report"].value


def test_the_scanner_resource_hands_out_its_scanner_command():
    builtin = ScannerResource(memory_limit_mb=512).command()
    try:
        assert isinstance(builtin, BuiltinScanner) and builtin.memory_limit_mb == 512
    finally:
        builtin.close()
    stratum = shutil.which("git")  # any executable stands in: the resource only resolves it
    external = ScannerResource(kind="external", external_command=stratum).command()
    assert isinstance(external, ExternalScanner) and external.executable == stratum
    with pytest.raises(ValueError, match="'builtin' or 'external'"):
        ScannerResource(kind="other").command()


def test_an_external_scanner_missing_from_the_machine_fails_the_step_not_the_repositories(tmp_path):
    """No `stratum` here is a fault of the machine: the partition fails (backfillable), no ping says parse_crash."""
    with pytest.raises(FileNotFoundError, match="STRATUM_SCANNER_COMMAND"):
        ScannerResource(kind="external", external_command=str(tmp_path / "no-stratum")).command()


def test_the_scanner_is_chosen_from_the_environment_where_the_code_location_is_assembled(monkeypatch):
    for name in (SCANNER_ENV_VAR, SCANNER_COMMAND_ENV_VAR):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert scanner_from_environment().kind == "builtin", "unset: the built-in scanner"
    monkeypatch.setenv(SCANNER_ENV_VAR, "external")
    monkeypatch.setenv(SCANNER_COMMAND_ENV_VAR, "/opt/stratum/bin/stratum")
    chosen = scanner_from_environment()
    # Given as EnvVars: the UI shows the variables' names; a run resolves their values when it starts.
    assert (chosen.kind, chosen.external_command) == (dg.EnvVar(SCANNER_ENV_VAR), dg.EnvVar(SCANNER_COMMAND_ENV_VAR))
    resolved = chosen.process_config_and_initialize()
    assert (resolved.kind, resolved.external_command) == ("external", "/opt/stratum/bin/stratum")
    monkeypatch.setenv(SCANNER_ENV_VAR, "stratum")
    with pytest.raises(ValueError, match="STRATUM_SCANNER must be one of builtin, external, not 'stratum'"):
        scanner_from_environment()


def test_run_and_backfill_choose_the_scanner_for_every_partition_run(monkeypatch):
    from stratum_assets.cli import build_parser, choose_build_environment

    for name in (SCANNER_ENV_VAR, SCANNER_COMMAND_ENV_VAR, "STRATUM_SANDBOX"):
        monkeypatch.setenv(name, "")  # so that what the CLI sets is undone after the test (later tests spawn builds)
        monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", "/nowhere")
    choose_build_environment(
        build_parser().parse_args(
            ["backfill", "--scanner", "external", "--scanner-command", "/opt/stratum/bin/stratum"]
        )
    )
    assert (os.environ[SCANNER_ENV_VAR], os.environ[SCANNER_COMMAND_ENV_VAR]) == (
        "external",
        "/opt/stratum/bin/stratum",
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--scanner", "other"])
    monkeypatch.undo()
    assert SCANNER_ENV_VAR not in os.environ and SCANNER_COMMAND_ENV_VAR not in os.environ, "nothing leaks"
