"""The stored ping's columns come from the Ping model: a field a newer model adds is stored with its own type."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratum_assets.scanner.ping import Float, Int, Ping, StrList
from stratum_assets.scanning.storage import (
    JSON_TEXT_FIELDS,
    PING_SCHEMA,
    arrow_type,
    ping_row,
    ping_schema,
    pings_table,
)

FIXTURES = Path(__file__).parent / "fixtures" / "pings"


def _reference_ping() -> dict:
    return json.loads(next(iter(sorted(FIXTURES.glob("*.json")))).read_text())


def test_each_kind_of_annotation_has_its_column_type():
    types = {f.name: f.type for f in PING_SCHEMA}
    assert types["risk_score"] == pa.int64() and types["edge_density"] == pa.float64()
    assert types["has_pii"] == pa.bool_() and types["failure_reason"] == pa.string(), "a Literal is text"
    assert types["frameworks"] == pa.list_(pa.string()) and types["crew_size_distribution"] == pa.list_(pa.int64())
    assert types["finding_instance_counts"] == pa.map_(pa.string(), pa.int64())
    assert types["finding_co_occurrence"] == pa.list_(pa.list_(pa.string()))
    assert types["deployment_signals"].field("deployment_score").type == pa.int64()
    assert types["graph_topology_metrics"].field("hub_score").type == pa.float64(), "int or float: a float"
    assert types["findings_by_category"] == pa.string() and "findings_by_category" in JSON_TEXT_FIELDS, (
        "a free-form dict is JSON text"
    )
    assert PING_SCHEMA.names[: len(Ping.model_fields)] == list(Ping.model_fields), "the model's order"
    with pytest.raises(TypeError, match="no Arrow type"):
        arrow_type(set[int])


class NewerPing(Ping):
    """A newer scanner's ping: one float field, one list of counts, one free-form mapping."""

    review_ratio: Float
    review_counts: list[Int]
    review_notes: dict
    reviewers: StrList | None


def test_a_float_field_added_to_the_model_is_stored_as_a_float(tmp_path):
    ping = {
        **_reference_ping(),
        "review_ratio": 1,
        "review_counts": [2, 3],
        "review_notes": {"b": 1, "a": [2]},
        "reviewers": None,
        "something_else": True,
    }
    schema = ping_schema(NewerPing)
    assert schema.field("review_ratio").type == pa.float64() and schema.field("reviewers").type == pa.list_(pa.string())
    row = ping_row(ping, {"chunk_id": "v1-c0000"}, NewerPing)
    pq.write_table(pings_table([row], NewerPing), tmp_path / "scan_results.parquet")
    stored = pq.read_table(tmp_path / "scan_results.parquet")
    assert stored.schema.field("review_ratio").type == pa.float64()
    (back,) = stored.to_pylist()
    assert back["review_ratio"] == 1.0 and isinstance(back["review_ratio"], float), "JSON's 1 is the float 1.0"
    assert back["review_counts"] == [2, 3] and json.loads(back["review_notes"]) == {"a": [2], "b": 1}
    assert back["reviewers"] is None and json.loads(back["extra_json"]) == {"something_else": True}
    assert json.loads(ping_row(ping, {})["extra_json"])["review_ratio"] == 1, "today's model keeps it as an extra"
