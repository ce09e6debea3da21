"""Pings and quarantine rows as typed Arrow tables, written per partition, replaced atomically.

Pings are stored column by column with real types (maps, lists, structs), so
the audit runs as DuckDB SQL over them. Free-form dictionaries whose keys vary
by scanner version are kept as JSON text. Each partition owns one directory
``scans/v<N>/<chunk>/`` holding ``scan_results.parquet`` and
``quarantine.parquet``; a re-run builds a complete new directory beside it and
swaps it in, so readers see the old pair or the new pair, never a mix, and a
run killed half-way leaves the previous pair in place.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..scanner.ping import Ping

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
QUARANTINE_SCHEMA = pa.schema([("repo_hash", _S), ("repo_full_name", _S), ("chunk_id", _S), ("scan_status", _S),
                               ("failure_reason", _S), ("errors", pa.list_(_S)), ("ping_json", _S)])


def ping_row(ping: dict, provenance: dict) -> dict:
    row = {}
    for name in Ping.model_fields:
        value = ping.get(name)
        if name in _JSON:
            value = json.dumps(value, sort_keys=True)
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


def replace_partition(folder: Path, results: pa.Table, quarantine: pa.Table, stats: dict) -> Path:
    """Swap in a complete new partition directory; the previous one survives any crash before the swap."""
    folder = Path(folder)
    recover_partition(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        pq.write_table(results, staging / "scan_results.parquet")
        pq.write_table(quarantine, staging / "quarantine.parquet")
        (staging / "stats.json").write_text(json.dumps(stats, sort_keys=True, indent=2))
        for f in staging.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if folder.exists() and _exchange(staging, folder):
            shutil.rmtree(staging, ignore_errors=True)  # now holds the previous partition
        else:  # first write, or a filesystem without an atomic exchange: two renames
            old = folder.parent / f".{folder.name}.old"
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def recover_partition(folder: Path) -> None:
    """If a run died between the two renames of a swap, put the previous directory back."""
    old = folder.parent / f".{folder.name}.old"
    if old.exists():
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(folder)


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``): a reader sees the old
    partition or the new one, never none. False when the system or filesystem cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _fsync_dir(folder: Path) -> None:
    """Make the renames themselves durable, not only the files' contents."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
