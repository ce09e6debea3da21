"""Which scanner produced each stored ping; one manifest version is scanned by one scanner."""

import json

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.scanning import pipeline_run_log
from stratum_assets.audit.report import _scanner_line
from stratum_assets.manifest.build import repo_hash
from stratum_assets.manifest.store import ManifestStore
from stratum_assets.resources import DataResource
from stratum_assets.scanner.engine import empty_ping
from stratum_assets.scanning.storage import ping_row, pings_table, quarantine_table, replace_partition
from stratum_assets.storage.layout import Layout

from .conftest import fixture_json

BUILTIN = "stratum-assets-builtin-0.1.0"


def _home(tmp_path, scanned: dict[str, tuple[str, str]]) -> tuple[Layout, dict]:
    """A frozen manifest of ``scanned``'s repositories in one chunk, each stored with (scanner, version)."""
    layout = Layout(tmp_path / "data")
    names = sorted(scanned)
    ManifestStore(layout.manifests).freeze(
        1,
        pa.table(
            {
                "full_name": names,
                "repo_hash": [repo_hash(n) for n in names],
                "chunk_id": ["v1-c0000"] * len(names),
                "selection_stratum": ["crewai"] * len(names),
                "fork_parent": [None] * len(names),
            }
        ),
        {},
    )
    rows = []
    for name, (scanner, version) in scanned.items():
        ping = (
            fixture_json("pings/crewAIInc__crewAI-examples.json")
            if version
            else empty_ping(name, status="failed", failure_reason="clone_404")
        )
        ping.update(repo_hash=repo_hash(name), repo_full_name=name, selection_stratum="crewai")
        if version:
            ping["scanner_version"] = version
        rows.append(ping_row(ping, {"chunk_id": "v1-c0000", "scanner": scanner}))
    replace_partition(layout.scan_partition(1, "v1-c0000"), pings_table(rows), quarantine_table([]), {})
    resources = {
        "data": DataResource(root=str(layout.root)),
        "duckdb": DuckDBResource(database=str(layout.root / "stratum.duckdb")),
    }
    return layout, resources


def _run_log(resources, expect_success: bool = True) -> tuple[dict, dict]:
    result = dg.materialize([pipeline_run_log], resources=resources, raise_on_error=False)
    assert result.success is expect_success, "a failed blocking check fails the step, so nothing downstream runs"
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return checks["one_scanner_per_version"], result.get_asset_materialization_events()[0].materialization.metadata


def test_skeleton_pings_name_no_scanner():
    assert empty_ping("o/r", status="failed", failure_reason="clone_404")["scanner_version"] == ""


def test_one_scanner_passes_and_the_pipeline_skeletons_do_not_count_as_another(tmp_path):
    layout, resources = _home(
        tmp_path, {"o/a": ("stratum", "0.3.1"), "o/b": ("stratum", "0.3.1"), "o/gone": ("stratum", "")}
    )
    check, meta = _run_log(resources)
    assert check.passed is True
    assert check.metadata["scanners"].value == meta["scanners"].value == {"stratum 0.3.1": 2}
    assert json.loads(layout.pipeline_run_log.read_text())["scanners"] == {"stratum 0.3.1": 2}


def test_a_version_scanned_by_two_scanners_fails_the_check(tmp_path):
    _, resources = _home(
        tmp_path, {"o/a": ("stratum", "0.3.1"), "o/b": ("builtin", BUILTIN), "o/c": ("stratum", "0.3.2")}
    )
    check, _ = _run_log(resources, expect_success=False)
    assert check.passed is False and check.blocking is True
    assert check.metadata["scanners"].value == {"builtin " + BUILTIN: 1, "stratum 0.3.1": 1, "stratum 0.3.2": 1}


def test_the_report_names_the_scanner_or_warns_of_a_mix():
    assert _scanner_line({}) == "Scanner: none yet (no scanned ping stored)."
    assert _scanner_line({"stratum 0.3.1": 40}) == "Scanner: `stratum 0.3.1` (40 pings)."
    mixed = _scanner_line({"builtin x": 3, "stratum 0.3.1": 40})
    assert mixed.startswith("Scanner: **2 scanners in one version** — `builtin x` (3), `stratum 0.3.1` (40)")
