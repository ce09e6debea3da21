"""`stratum-assets validate FILE`: pings produced elsewhere, checked exactly as the pipeline checks them."""

import copy
import json
import subprocess

from stratum_assets.cli import main
from stratum_assets.manifest.build import repo_hash

from .conftest import BIN, fixture_json, reference_pings


def _validate(capsys, *args) -> tuple[int, list[str]]:
    code = main(["validate", *map(str, args)])
    return code, capsys.readouterr().out.splitlines()


def _stamped(name: str, ping: dict) -> dict:
    return {**copy.deepcopy(ping), "repo_hash": repo_hash(name), "repo_full_name": name}


def test_every_reference_ping_is_valid_once_the_pipeline_stamps_its_identity(tmp_path, capsys):
    for name, ping in reference_pings().items():
        path = tmp_path / "ping.json"
        path.write_text(json.dumps(ping, indent=2))
        assert _validate(capsys, path, "--repo-name", name) == (0, [f"OK  ping ({name})", "1 valid, 0 invalid"])


def test_without_a_name_the_scanner_empty_repo_hash_is_reported(tmp_path, capsys):
    path = tmp_path / "ping.json"
    path.write_text(json.dumps(fixture_json("pings/ag2ai__ag2-samples.json")))
    code, out = _validate(capsys, path)
    assert code == 1 and out == [
        "INVALID  ping (ag2ai/ag2-samples)",
        f"    repo_hash: '' is not the manifest's '{repo_hash('ag2ai/ag2-samples')}'",
        "0 valid, 1 invalid",
    ]


def test_jsonl_gives_one_verdict_per_line_with_every_error(tmp_path, capsys):
    pings = reference_pings()
    good = _stamped("o/good", pings["ag2ai/ag2-samples"])
    bad = _stamped("o/bad", pings["crewAIInc/crewAI-examples"])
    bad.update(risk_score=101, finding_rule_count=17)
    path = tmp_path / "pings.jsonl"
    path.write_text("\n".join([json.dumps(good), "", json.dumps(bad), "{truncated", json.dumps([1])]) + "\n")
    code, out = _validate(capsys, path)
    assert code == 1
    assert out[0] == "OK  line 1 (o/good)"
    assert out[1:4] == [
        "INVALID  line 3 (o/bad)",
        "    finding_rule_count differs from the sum of finding_severities",
        "    finding_rule_count differs from the number of finding_rules",
    ]
    assert out[4] == "    risk_score 101 is outside 0-100"
    assert out[5].startswith("INVALID  line 4") and out[6].startswith("    not JSON: ")
    assert out[7:] == ["INVALID  line 5", "    ping: expected a JSON object, got list", "1 valid, 3 invalid"]


def test_a_name_for_many_pings_an_empty_file_and_a_missing_file_are_refused(tmp_path, capsys):
    many = tmp_path / "many.jsonl"
    many.write_text('{"a": 1}\n{"b": 2}\n')
    assert main(["validate", str(many), "--repo-name", "o/r"]) == 2
    assert "names one repository, but the file holds 2 pings" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert main(["validate", str(empty)]) == 1 and "no ping in" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "absent.json")]) == 2


def test_the_installed_command_exits_zero_only_when_all_are_valid(tmp_path):
    ping = fixture_json("pings/langchain-ai__react-agent.json")
    path = tmp_path / "ping.json"
    path.write_text(json.dumps(ping))
    ok = subprocess.run(
        [str(BIN / "stratum-assets"), "validate", str(path), "--repo-name", "langchain-ai/react-agent"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    bad = subprocess.run(
        [str(BIN / "stratum-assets"), "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert (ok.returncode, bad.returncode) == (0, 1), ok.stdout + ok.stderr
    assert ok.stdout.endswith("1 valid, 0 invalid\n") and "INVALID  ping (langchain-ai/react-agent)" in bad.stdout
