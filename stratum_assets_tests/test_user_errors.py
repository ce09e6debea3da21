"""A user's mistake, a closed pipe or a full disk is one line naming what and where, never a traceback."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from stratum_assets.discovery.strata import DEFAULT_FILE, load_strata_file
from stratum_assets.storage.config_files import ConfigError

from .conftest import BIN, ROOT, small_disk


def _strata_with(tmp_path, after: str, line: str):
    """The project's strata file with ``line`` inserted after the first line that is ``after``; (file, its line)."""
    lines = DEFAULT_FILE.read_text().splitlines()
    at = lines.index(after) + 1
    path = tmp_path / "strata.yaml"
    path.write_text("\n".join([*lines[:at], line, *lines[at:]]) + "\n")
    return path, at + 1


def _command(home, *args, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DAGSTER_HOME": str(home), "STRATUM_SANDBOX": "1", **env}
    environment.pop("GITHUB_TOKEN", None)
    return subprocess.run(
        [str(BIN / "stratum-assets"), *args], cwd=home, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "    maturity_star: 500",
            "unknown key 'maturity_star' in strata.langchain_mature (did you mean 'maturity_stars'?)",
        ),
        (
            "    include_fork: true",
            "unknown key 'include_fork' in strata.langchain_mature (did you mean 'include_forks'?)",
        ),
        ("    target_scal: 2", "unknown key 'target_scal' in profiles.full (did you mean 'target_scale'?)"),
    ],
)
def test_a_misspelt_strata_key_is_refused_naming_the_file_and_line(tmp_path, line, message):
    after = "    target_scale: 1.0" if "target_scal" in line else '    queries: ["langchain stars:>50"]'
    path, number = _strata_with(tmp_path, after, line)
    with pytest.raises(ConfigError) as refused:
        load_strata_file(str(path))
    assert str(refused.value) == f"{path}:{number}: {message}"


def test_a_wrong_value_and_broken_yaml_name_their_line(tmp_path):
    path, number = _strata_with(tmp_path, '    queries: ["langchain stars:>50"]', "    maturity_stars: many")
    with pytest.raises(
        ConfigError,
        match=rf"^{path}:{number}: strata\.langchain_mature\.maturity_stars: "
        "Input should be a valid integer",
    ):
        load_strata_file(str(path))
    path.write_text('strata:\n  crewai:\n    queries: ["crewai"\n    target: 5\n')
    with pytest.raises(ConfigError, match=rf"^{path}:4: not valid YAML: "):
        load_strata_file(str(path))


def test_run_with_a_broken_strata_or_exclusions_file_says_one_line_and_builds_nothing(tmp_path):
    strata, number = _strata_with(tmp_path, '    queries: ["langchain stars:>50"]', "    maturity_star: 500")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    bad_strata = _command(home, "run", STRATUM_STRATA_FILE=str(strata))
    assert (bad_strata.returncode, bad_strata.stderr) == (
        2,
        (
            f"stratum-assets run: {strata}:{number}: unknown key 'maturity_star' in strata.langchain_mature "
            "(did you mean 'maturity_stars'?)\n"
        ),
    ), bad_strata.stderr[-3000:]

    exclusions = tmp_path / "exclusions.yaml"
    exclusions.write_text("opt_outs:\n  - repository: someone\n    reason: asked\n    requestor: x@example.com\n")
    bad_exclusions = _command(home, "backfill", STRATUM_EXCLUSIONS_FILE=str(exclusions))
    assert (bad_exclusions.returncode, bad_exclusions.stderr) == (
        2,
        (
            f"stratum-assets backfill: {exclusions}:2: unknown field requestor; an opt-out has date, reason, "
            "repository, requester\n"
        ),
    ), bad_exclusions.stderr[-3000:]
    assert not (home / "data").exists(), "nothing was started"


def test_validate_counts_garbage_instead_of_printing_it_and_refuses_absurd_nesting(tmp_path):
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\n".join(b"not a ping %d" % n for n in range(100_000)))
    out = _command(tmp_path, "validate", str(garbage))
    lines = out.stdout.splitlines()
    assert out.returncode == 1 and out.stderr == ""
    assert len(lines) == 20 * 2 + 2 and lines[0] == "INVALID  line 1" and lines[1].startswith("    not JSON: ")
    assert lines[-2:] == ["… the first 20 invalid pings are shown; 99,980 more are invalid", "0 valid, 100,000 invalid"]

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    out = _command(tmp_path, "validate", str(deep))
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.splitlines() == [
        "INVALID  line 1",
        "    nested too deeply (past the JSON parser's limit, ~1,000 levels): a ping nests a few levels at most",
        "0 valid, 1 invalid",
    ]


def test_a_missing_file_given_on_the_command_line_is_one_line(tmp_path):
    out = _command(tmp_path, "scan", str(tmp_path), "--files-from", str(tmp_path / "nope.txt"))
    assert (out.returncode, out.stderr) == (
        2,
        f"stratum-assets scan: {tmp_path / 'nope.txt'}: no such file or directory\n",
    )


def test_a_closed_pipe_ends_a_command_quietly(tmp_path):
    """``stratum-assets status | head -1``: the reader is gone before the command writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        out = subprocess.run(
            [str(BIN / "stratum-assets"), "status", "--data", str(tmp_path / "data")],
            cwd=tmp_path,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert (out.returncode, out.stderr) == (1, "")


def _run_with_data_on(tmp_path: Path, mount_options: str) -> tuple[Path, subprocess.CompletedProcess]:
    """`stratum-assets run` in a new home whose data/ is a real tmpfs mounted with ``mount_options``."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with small_disk(home / "data", mount_options):
        return home, _command(home, "run")


def test_a_data_directory_on_a_full_disk_is_one_line_naming_it_and_its_free_space(tmp_path):
    home, out = _run_with_data_on(tmp_path, "size=256k")
    storage = home / "data" / "dagster" / "storage"
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-3000:]
    assert re.fullmatch(  # sqlite3 words a full disk either way, depending on which write hit it
        re.escape(f"stratum-assets run: the Dagster instance could not write its SQLite storage in {storage} (")
        + r"(disk I/O error|database or disk is full)\): its disk is full or read-only; [\d.]+ (bytes|KiB) free of "
        r"256\.0 KiB on its file system; free some space and run again",
        out.stderr.splitlines()[-1],
    ), out.stderr
    assert "Traceback" not in out.stderr and "Stack Trace" not in out.stderr, out.stderr[-3000:]


def test_a_read_only_data_directory_is_one_line_naming_the_path(tmp_path):
    home, out = _run_with_data_on(tmp_path, "size=1m,ro")
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-3000:]
    assert out.stderr.splitlines()[-1] == (
        f"stratum-assets run: read-only file system writing {home}/data/.build.lock: "
        f"check the owner and permissions of {home}/data"
    ), out.stderr
    assert "Traceback" not in out.stderr
