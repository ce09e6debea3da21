"""Pings and quarantine rows as typed Arrow tables, and one partition's files written as a whole.

This module owns what a scan partition holds: the typed schemas (pings stored column by column
with real types — maps, lists, structs — so the audit runs as DuckDB SQL over them; free-form
dictionaries whose keys vary by scanner version kept as JSON text) and the three files of a
partition directory ``scans/v<N>/<chunk>/`` (names from :class:`PartitionFiles`):
``scan_results.parquet``, ``quarantine.parquet``, ``code_fingerprints.parquet`` and ``stats.json`` (the run's counts
and timings, and the sha256 of each Parquet file as written, ``warehouse/verify.py``). A re-run fills a complete
new directory and swaps it in (:func:`~stratum_assets.warehouse.files.replacing_directory`), so
readers see the old partition or the new one, never a mix, and a run killed half-way leaves the
previous one in place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..scanner.ping import Ping
from ..warehouse.files import replacing_directory
from ..warehouse.layout import PartitionFiles
from ..warehouse.verify import CHECKSUMS, checksums

_I, _F, _B, _S = pa.int64(), pa.float64(), pa.bool_(), pa.string()
_STRUCTS = {
    "deployment_signals": pa.struct([("has_dockerfile", _B), ("has_ci_config", _B), ("has_tests", _B),
                                     ("has_lockfile", _B), ("has_env_example", _B), ("deployment_score", _I)]),
    "repo_metadata": pa.struct([("python_file_count", _I), ("yaml_config_count", _I), ("total_loc", _I),
                                ("primary_framework", _S), ("framework_count", _I)]),
    "graph_topology_metrics": pa.struct([("diameter", _I), ("avg_degree", _F), ("max_degree", _I),
                                         ("clustering_coefficient", _F), ("connected_components", _I),
                                         ("longest_chain", _I), ("hub_score", _F)]),
    "per_crew_finding_density": pa.struct([("max", _F), ("min", _F), ("mean", _F), ("median", _F), ("stddev", _F)]),
}
_MAPS = {"capability_distribution": _I, "trust_level_distribution": _I, "trust_crossings": _I,
         "graph_node_type_distribution": _I, "graph_edge_type_distribution": _I, "finding_severities": _I,
         "finding_confidences": _I, "finding_instance_counts": _I, "fix_impact_estimates": _I,
         "normalized_features": _F, "framework_versions": _S}
_JSON = {"trust_crossing_adjacency", "mitigation_coverage", "finding_coverages", "severity_downgrades",
         "findings_by_class", "findings_by_category"}
_LIST_INT = {"blast_radius_distribution", "crew_size_distribution", "agent_tool_count_distribution"}
_LIST_STR = {"guardrail_types", "data_sensitivity_types", "incident_ids", "regulatory_surface", "memory_store_types",
             "frameworks", "finding_rules", "llm_providers", "llm_models"}
_FLOATS = {"edge_density", "control_coverage_pct", "mcp_auth_ratio", "mcp_pinned_ratio", "error_handling_rate",
           "timeout_rate", "financial_validation_rate"}
_STRINGS = {"scan_id", "timestamp", "scanner_version", "repo_hash", "schema_version", "repo_full_name", "scan_status",
            "failure_reason", "archetype_class", "topology_signature_hash", "checkpoint_type", "learning_type",
            "selection_stratum", "provider_confidence"}
PROVENANCE = pa.schema([("chunk_id", _S), ("commit_sha", _S), ("commit_date", _S), ("clone_attempts", _I),
                        ("bytes_fetched", _I), ("scanner", _S), ("failure_detail", _S), ("extra_json", _S)])


def _type(field: str) -> pa.DataType:
    if field in _STRUCTS:
        return _STRUCTS[field]
    if field in _MAPS:
        return pa.map_(_S, _MAPS[field])
    if field in _JSON or field in _STRINGS:
        return _S
    if field in _LIST_INT:
        return pa.list_(_I)
    if field in _LIST_STR:
        return pa.list_(_S)
    if field == "finding_co_occurrence":
        return pa.list_(pa.list_(_S))
    if field in _FLOATS:
        return _F
    annotation = str(Ping.model_fields[field].annotation)
    return _B if "bool" in annotation else _I


# Ping fields stored as JSON text (their keys vary by scanner version): exports parse them back.
JSON_TEXT_FIELDS = frozenset(_JSON)
PING_SCHEMA = pa.schema([(name, _type(name)) for name in Ping.model_fields] + list(PROVENANCE))
# Beside each stored ping whose checkout had enough Python code (dedup/): hashes of the code, never code.
FINGERPRINT_SCHEMA = pa.schema([("repo_hash", _S), ("chunk_id", _S), ("content_hash", _S), ("minhash", pa.binary()),
                                ("signature_key", _S), ("code_tokens", _I), ("truncated", _B),
                                # 12 bytes a file (a part: cut before each def/class), max_files of each at most
                                ("file_digests", pa.binary()), ("part_digests", pa.binary())])
QUARANTINE_SCHEMA = pa.schema([("repo_hash", _S), ("repo_full_name", _S), ("chunk_id", _S), ("scan_status", _S),
                               ("failure_reason", _S), ("errors", pa.list_(_S)), ("ping_json", _S)])


def ping_row(ping: dict, provenance: dict) -> dict:
    row = {}
    for name in Ping.model_fields:
        value = ping.get(name)
        if name in _JSON:
            value = None if value is None else json.dumps(value, sort_keys=True)  # null (unmeasured) stays NULL
        elif name in _MAPS and isinstance(value, dict):
            value = list(value.items())
        elif name in _STRUCTS and isinstance(value, dict):
            value = {k: value.get(k) for k in _STRUCTS[name].names}
        elif name in _FLOATS and value is not None:
            value = float(value)
        row[name] = value
    extra = {k: v for k, v in ping.items() if k not in Ping.model_fields}
    return {**row, **provenance, "extra_json": json.dumps(extra, sort_keys=True) if extra else None}


def pings_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PING_SCHEMA)


def quarantine_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)


def fingerprints_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FINGERPRINT_SCHEMA)


def replace_partition(folder: Path, results: pa.Table, quarantine: pa.Table, stats: dict,
                      fingerprints: pa.Table | None = None) -> Path:
    """Swap in a complete new partition directory; the previous one survives any crash before the swap."""
    with replacing_directory(folder) as staging:
        staged = PartitionFiles(staging)
        pq.write_table(results, staged.results)
        pq.write_table(quarantine, staged.quarantine)
        pq.write_table(fingerprints if fingerprints is not None else fingerprints_table([]), staged.fingerprints)
        stats = {**stats, CHECKSUMS: checksums(staged)}  # so that damage inside a file is found, not read
        staged.stats.write_text(json.dumps(stats, sort_keys=True, indent=2))
    return Path(folder)
