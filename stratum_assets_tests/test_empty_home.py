"""A stage run on a data directory with no manifest says what to do instead of failing on "vNone"."""

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.audit import audit_report
from stratum_assets.cli import main
from stratum_assets.manifest.store import ManifestStore, NoManifestError
from stratum_assets.offline_github import OfflineGitHub
from stratum_assets.resources import DataResource

ADVICE = "build one first with `stratum-assets run`"


def test_the_store_names_the_missing_manifest_and_the_way_out(tmp_path):
    with pytest.raises(NoManifestError, match=f"no manifest yet under {tmp_path / 'manifest'}: {ADVICE}"):
        ManifestStore(tmp_path / "manifest").require_active()


def test_audit_report_on_an_empty_home_fails_with_the_advice(tmp_path):
    resources = {
        "github": OfflineGitHub(git_root=str(tmp_path / "git")),
        "data": DataResource(root=str(tmp_path / "data")),
        "duckdb": DuckDBResource(database=str(tmp_path / "data" / "stratum.duckdb")),
    }
    result = dg.materialize([audit_report], resources=resources, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "NoManifestError" in str(failure.event_specific_data.error) and ADVICE in str(
        failure.event_specific_data.error
    )


def test_backfill_on_an_empty_home_says_so_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("STRATUM_SANDBOX", "1")
    assert main(["backfill"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stratum-assets backfill: no manifest yet under data/manifest: ") and ADVICE in err
    assert not (tmp_path / "data" / "scans").exists()
