"""The code location: every asset, check, resource and sensor of the Stratum dataset build.

Assets are thin wiring over the plain modules (``github``, ``discovery``,
``manifest``, ``scanning``, ``warehouse``, ``audit``); see the README for the graph.
"""

import dagster as dg

from .assets.audit import audit_report, label_audit_sample, train_test_split
from .assets.automation import keep_audit_fresh, reap_dead_runs
from .assets.discovery import candidate_assets
from .assets.manifest import repo_manifest
from .assets.scanning import pipeline_run_log, scan_partition
from .offline_github import github_from_environment
from .resources import DataResource, scanner_from_environment

# Every asset of the graph, in one list: the code location below and the partition workers
# (stratum_assets.orchestration.partition_workers) build their job from it.
ASSETS = [
    *candidate_assets,
    repo_manifest,
    scan_partition,
    pipeline_run_log,
    audit_report,
    train_test_split,
    label_audit_sample,
]

defs = dg.Definitions(
    assets=ASSETS,
    sensors=[keep_audit_fresh, reap_dead_runs],
    resources={
        "github": github_from_environment(),  # real GitHub with $GITHUB_TOKEN, else the offline one (offline_github.py)
        "data": DataResource(),  # the data directory, its DuckDB warehouse (data/stratum.duckdb) and the profile
        "scanner": scanner_from_environment(),  # $STRATUM_SCANNER, $STRATUM_SCANNER_COMMAND
    },
)
