"""What a chunk's outcomes become besides its pings (scanning/pipeline.py): an error on one repository turned into
that repository's failed ping, a failure of the machine raised and never stored, and the fingerprint rows stored
beside the pings."""

from __future__ import annotations

import errno
import os
from concurrent.futures import Future

import pytest

from stratum_assets.dedup.fingerprint import NearDupSettings, fingerprint
from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanner.engine import empty_ping
from stratum_assets.scanning.pipeline import (
    ENVIRONMENT_ERRNOS,
    ChunkResult,
    EnvironmentFault,
    RepoResult,
    _result_or_crash,
    fingerprint_rows,
)
from stratum_assets.scanning.scanner_commands import BuiltinScanner
from stratum_assets_tests.support.manifest_rows import manifest_row


def _raising(exc: BaseException) -> Future:
    future: Future = Future()
    future.set_exception(exc)
    return future


# -- one repository's error ------------------------------------------------------------------------------
def test_a_finished_scan_is_its_own_result():
    done: Future = Future()
    result = RepoResult(manifest_row("octo/agent", "s"), {}, [], {})
    done.set_result(result)
    assert _result_or_crash(done, manifest_row("octo/agent", "s"), BuiltinScanner()) is result


@pytest.mark.parametrize(
    "error, detail",
    [
        (RuntimeError("boom"), "internal: RuntimeError"),
        (OSError(errno.ENOENT, "No such file or directory"), "internal: FileNotFoundError"),
        (OSError(errno.ENAMETOOLONG, "File name too long"), "internal: OSError"),
    ],
)
def test_an_unexpected_error_is_that_repositorys_stored_failed_ping(error, detail):
    row = manifest_row("octo/agent", "s")
    result = _result_or_crash(_raising(error), row, BuiltinScanner())
    assert result.errors == [] and result.row is row
    assert {k: result.ping[k] for k in ("scan_status", "failure_reason", "repo_hash", "selection_stratum")} == {
        "scan_status": "failed",
        "failure_reason": "parse_crash",
        "repo_hash": row["repo_hash"],
        "selection_stratum": "s",
    }
    assert result.ping["repo_full_name"] == "octo/agent"
    assert result.provenance == {
        "chunk_id": "v1-c0007",
        "commit_sha": None,
        "commit_date": None,
        "clone_attempts": 0,
        "bytes_fetched": 0,
        "scanner": "builtin",
        "failure_detail": detail,
    }


@pytest.mark.parametrize("code", sorted(ENVIRONMENT_ERRNOS), ids=lambda code: errno.errorcode[code])
def test_a_failure_of_the_machine_is_raised_not_stored(code):
    """A full disk, a read-only or failing disk, no file handles or no memory says nothing of the repository."""
    error = OSError(code, os.strerror(code))
    with pytest.raises(EnvironmentFault) as raised:
        _result_or_crash(_raising(error), manifest_row("octo/agent", "s"), BuiltinScanner())
    assert (raised.value.full_name, raised.value.detail) == ("octo/agent", f"OSError: {os.strerror(code)}")
    assert raised.value.__cause__ is error


def test_an_environment_fault_passes_through_unchanged():
    fault = EnvironmentFault("octo/agent", "clone timed out")
    with pytest.raises(EnvironmentFault) as raised:
        _result_or_crash(_raising(fault), manifest_row("octo/agent", "s"), BuiltinScanner())
    assert raised.value is fault


# -- fingerprint rows ------------------------------------------------------------------------------------
CODE = b"".join(b"def step_%d(state):\n    return state.get('k%d', %d) + %d\n\n" % (i, i, i, i) for i in range(20))


def _result(name: str, code, errors=()) -> RepoResult:
    row = manifest_row(name, "s")
    return RepoResult(row, empty_ping(name, status="success", failure_reason=None), list(errors), {}, code=code)


def test_fingerprint_rows_hold_each_stored_pings_fingerprint_under_the_settings_key():
    settings = NearDupSettings()
    enough, too_little = fingerprint([("a.py", CODE)], settings), fingerprint([("a.py", b"x = 1\n")], settings)
    assert enough.signature is not None and too_little.signature is None
    result = ChunkResult(
        [
            _result("o/fingerprinted", enough),
            _result("o/nothing-cloned", None),
            _result("o/too-little-code", too_little),
            _result("o/quarantined", enough, errors=["scan_status: invalid"]),
        ]
    )
    assert fingerprint_rows(result, settings) == [
        {
            "repo_hash": repo_hash("o/fingerprinted"),
            "chunk_id": "v1-c0007",
            "content_hash": enough.content_hash,
            "minhash": enough.signature,
            "signature_key": settings.signature_key,
            "code_tokens": enough.tokens,
            "truncated": enough.truncated,
            "file_digests": enough.files,
            "part_digests": enough.parts,
        }
    ]
