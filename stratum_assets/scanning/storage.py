"""Pings and quarantine rows as typed Arrow tables, and one partition's files written as a whole.

This module owns what a scan partition holds: the typed schemas (pings stored column by column
with real types — maps, lists, structs — so the audit runs as DuckDB SQL over them; free-form
dictionaries whose keys vary by scanner version kept as JSON text) and the three files of a
partition directory ``scans/v<N>/<chunk>/`` (names from :class:`PartitionFiles`):
``scan_results.parquet``, ``quarantine.parquet``, ``code_fingerprints.parquet`` and ``stats.json`` (the run's counts
and timings, and the sha256 of each Parquet file as written, ``storage/verify.py``). A re-run fills a complete
new directory and swaps it in (:func:`~stratum_assets.storage.files.replacing_directory`), so
readers see the old partition or the new one, never a mix, and a run killed half-way leaves the
previous one in place.
"""

from __future__ import annotations

import functools
import json
import types
from pathlib import Path
from typing import Annotated, Literal, Union, get_args, get_origin

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from ..scanner.ping import Ping
from ..storage.files import replacing_directory
from ..storage.layout import PartitionFiles
from ..storage.verify import CHECKSUMS, checksums

_I, _B, _S = pa.int64(), pa.bool_(), pa.string()
PROVENANCE = pa.schema(
    [
        ("chunk_id", _S),
        ("commit_sha", _S),
        ("commit_date", _S),
        ("clone_attempts", _I),
        ("bytes_fetched", _I),
        ("scanner", _S),
        ("failure_detail", _S),
        ("extra_json", _S),
    ]
)


def _bare(annotation):
    """The annotated type without its constraints (``Annotated``) and without ``None`` (every column is nullable)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = {_bare(a) for a in get_args(annotation) if a is not type(None)}
        if members == {int, float}:  # a number JSON may write either way: stored as a float
            return float
        if len(members) != 1:
            raise TypeError(f"no Arrow type for the union {annotation}")
        return members.pop()
    return annotation


def arrow_type(annotation) -> pa.DataType:
    """The column type of a ping field, from its annotation in the model: numbers, text (a ``Literal`` too), lists,
    ``dict[K, V]`` as a map, a nested model as a struct; a free-form ``dict`` (keys vary by scanner version) as
    JSON text."""
    t = _bare(annotation)
    simple = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string(), dict: pa.string()}
    if t in simple:
        return simple[t]
    origin = get_origin(t)
    if origin is Literal:
        return pa.string()
    if origin is list:
        return pa.list_(arrow_type(get_args(t)[0]))
    if origin is dict:
        return pa.map_(*map(arrow_type, get_args(t)))
    if isinstance(t, type) and issubclass(t, BaseModel):
        return pa.struct([(name, arrow_type(f.annotation)) for name, f in t.model_fields.items()])
    raise TypeError(f"no Arrow type for {annotation}")


@functools.cache
def ping_schema(model: type[BaseModel] = Ping) -> pa.Schema:
    """The stored ping's columns: the model's fields in its order (typed by :func:`arrow_type`), then provenance."""
    return pa.schema([(name, arrow_type(f.annotation)) for name, f in model.model_fields.items()] + list(PROVENANCE))


@functools.cache
def json_text_fields(model: type[BaseModel] = Ping) -> frozenset[str]:
    """Fields stored as JSON text (free-form ``dict``): exports parse them back."""
    return frozenset(name for name, f in model.model_fields.items() if _bare(f.annotation) is dict)


PING_SCHEMA = ping_schema()
JSON_TEXT_FIELDS = json_text_fields()
# Beside each stored ping whose checkout had enough Python code (dedup/): hashes of the code, never code.
FINGERPRINT_SCHEMA = pa.schema(
    [
        ("repo_hash", _S),
        ("chunk_id", _S),
        ("content_hash", _S),
        ("minhash", pa.binary()),
        ("signature_key", _S),
        ("code_tokens", _I),
        ("truncated", _B),
        # 12 bytes a file (a part: cut before each def/class), max_files of each at most
        ("file_digests", pa.binary()),
        ("part_digests", pa.binary()),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        ("repo_hash", _S),
        ("repo_full_name", _S),
        ("chunk_id", _S),
        ("scan_status", _S),
        ("failure_reason", _S),
        ("errors", pa.list_(_S)),
        ("ping_json", _S),
    ]
)


def ping_row(ping: dict, provenance: dict, model: type[BaseModel] = Ping) -> dict:
    """One stored row: each field of ``model`` as its column holds it, the provenance, and the fields the model does
    not know (a newer scanner's) as ``extra_json``."""
    schema, json_text = ping_schema(model), json_text_fields(model)
    row = {}
    for name in model.model_fields:
        value, kind = ping.get(name), schema.field(name).type
        if value is None:
            pass  # null (unmeasured) stays NULL
        elif name in json_text:
            value = json.dumps(value, sort_keys=True)
        elif pa.types.is_map(kind) and isinstance(value, dict):
            value = list(value.items())
        elif pa.types.is_struct(kind) and isinstance(value, dict):
            value = {k: value.get(k) for k in kind.names}  # Arrow converts an integral number to a float column
        row[name] = value
    extra = {k: v for k, v in ping.items() if k not in model.model_fields}
    return {**row, **provenance, "extra_json": json.dumps(extra, sort_keys=True) if extra else None}


def pings_table(rows: list[dict], model: type[BaseModel] = Ping) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ping_schema(model))


def quarantine_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)


def fingerprints_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FINGERPRINT_SCHEMA)


def replace_partition(
    folder: Path, results: pa.Table, quarantine: pa.Table, stats: dict, fingerprints: pa.Table | None = None
) -> Path:
    """Swap in a complete new partition directory; the previous one survives any crash before the swap."""
    with replacing_directory(folder) as staging:
        staged = PartitionFiles(staging)
        pq.write_table(results, staged.results)
        pq.write_table(quarantine, staged.quarantine)
        pq.write_table(fingerprints if fingerprints is not None else fingerprints_table([]), staged.fingerprints)
        stats = {**stats, CHECKSUMS: checksums(staged)}  # so that damage inside a file is found, not read
        staged.stats.write_text(json.dumps(stats, sort_keys=True, indent=2))
    return Path(folder)
