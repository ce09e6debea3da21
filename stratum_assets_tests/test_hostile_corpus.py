"""A hostile corpus (issue 15): strangers' repositories built to hurt a scanner, each a real git repository.

Every repository is cloned through the real :func:`clone` over ``file://`` (partial clone + sparse
checkout, as in production) and scanned by the real built-in scanner's worker processes under small caps
(:class:`ScanSettings`: files, bytes, bytes per file; the worker's ``RLIMIT_AS``). Each must give exactly one
classified, valid ping — the exact ``scan_status`` / ``failure_reason`` asserted — within the scan timeout,
the worker pool must survive it, and no worker may use more memory than its cap.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanning.pipeline import ScanKnobs, ScanSettings, scan_repo
from stratum_assets.scanning.scanner_commands import BuiltinScanner

MEMORY_MB = 150  # the worker alone needs ~60 MB; the 990 KB file below needs ~210 MB to parse
SETTINGS = ScanSettings(
    ScanKnobs(clone_timeout_s=60, clone_attempts=1, max_checkout_files=200, max_checkout_mb=8, max_file_mb=2),
    scan_timeout=30,
    retry_wait=0.0,
)
AGENT = b"from crewai import Agent\nresearcher = Agent(role='r', goal='g', backstory='b')\n"


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, input=stdin
    ).stdout.decode()


def _repo(
    root: Path,
    files: dict[str, bytes],
    *,
    links: dict[str, str] | None = None,
    commit: bool = True,
    gitlinks: dict[str, str] | None = None,
) -> Path:
    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "uploadpack.allowFilter", "true")  # a partial clone, as from GitHub
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, target in (links or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / name)
    if not commit:
        return root
    _git(root, "add", "-A")
    for path, sha in (gitlinks or {}).items():  # a submodule entry without its repository
        _git(root, "update-index", "--add", "--cacheinfo", f"160000,{sha},{path}")
    _git(root, "commit", "-q", "--allow-empty", "-m", "hostile")
    return root


def _big_python() -> bytes:
    lines, size = [], 0
    while size < 990_000:
        line = f"v{len(lines)} = {len(lines)}\n"
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()


BILLION_LAUGHS = (
    b"a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    + b"".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode() for i in range(8))
    + b"researcher:\n  role: r\n  goal: g\n  tools: *i\n"
)

# name: (files, extra _repo arguments, expected (scan_status, failure_reason))
CORPUS = {
    "huge_single_line": ({"agent.py": AGENT, "line.py": b"x = '" + b"a" * 900_000 + b"'\n"}, {}, ("success", None)),
    "unary_minus_10k": ({"agent.py": AGENT, "deep.py": b"x = " + b"-" * 10_000 + b"1\n"}, {}, ("partial", None)),
    "nested_brackets_yaml": (
        {"agent.py": AGENT, "agents.yaml": b"x: " + b"[" * 10_000 + b"]" * 10_000 + b"\n"},
        {},
        ("partial", None),
    ),
    "nested_brackets_toml": (
        {"agent.py": AGENT, "pyproject.toml": b"a = " + b"[" * 10_000 + b"]" * 10_000 + b"\n"},
        {},
        ("partial", None),
    ),
    "python_990kb_statements": ({"agent.py": AGENT, "big.py": _big_python()}, {}, ("partial", None)),
    "compressible_bomb": ({"agent.py": AGENT, "bomb.py": b"\0" * (16 << 20)}, {}, ("partial", "over_limit")),
    "too_many_files": (
        {"agent.py": AGENT, **{f"pkg/m{i:04}.py": b"x = 1\n" for i in range(300)}},
        {},
        ("partial", "over_limit"),
    ),
    "symlink_out_of_checkout": (
        {"agent.py": AGENT},
        {"links": {"passwd.py": "/etc/passwd", "up.py": "../../../../etc/hostname"}},
        ("success", None),
    ),
    "symlink_loop": (
        {"agent.py": AGENT},
        {"links": {"a.py": "b.py", "b.py": "a.py", "d/self.py": "../d"}},
        ("success", None),
    ),
    "binary_named_py": ({"agent.py": AGENT, "blob.py": bytes(range(256)) * 64}, {}, ("partial", None)),
    "non_utf8_and_utf16": (
        {
            "agent.py": AGENT,
            "latin.py": "s = 'caf\xe9'\n".encode("latin-1"),
            "wide.py": "s = 'wide'\n".encode("utf-16"),
        },
        {},
        ("partial", None),
    ),
    "names_with_newlines_and_unicode": (
        {"agent.py": AGENT, "we\nird.py": b"x = 1\n", "ünï😀/çødé.py": b"y = 2\n", " -rf .py": b"z = 3\n"},
        {},
        ("success", None),
    ),
    "no_commits": ({}, {"commit": False}, ("empty", "no_python")),
    "empty_tree": ({}, {}, ("empty", "no_python")),
    "gitmodules_elsewhere": (
        {
            "agent.py": AGENT,
            ".gitmodules": b'[submodule "x"]\n\tpath = vendor/x\n'
            b'\turl = file:///etc\n[submodule "y"]\n\tpath = y\n\turl = --upload-pack=touch /tmp/p\n',
        },
        {"gitlinks": {"vendor/x": "1" * 40, "y": "2" * 40}},
        ("success", None),
    ),
    "only_python_file_broken": ({"main.py": b"def broken(:\n    pass\n"}, {}, ("empty", "no_agents")),
    "yaml_billion_laughs": ({"agent.py": AGENT, "agents.yaml": BILLION_LAUGHS}, {}, ("partial", None)),
    "pyproject_1mb_version": (
        {
            "agent.py": AGENT,
            "pyproject.toml": b'[project]\nname = "x"\nversion = "'
            + b"1" * 1_000_000
            + b'"\ndependencies = ["crewai=='
            + b"2" * 1_000_000
            + b'"]\n',
        },
        {},
        ("success", None),
    ),
}


@pytest.fixture(scope="module")
def scanner():
    runner = BuiltinScanner(memory_limit_mb=MEMORY_MB)
    yield runner
    runner.close()


def _peak_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_a_hostile_repository_gives_one_classified_valid_ping(kind, scanner, tmp_path):
    files, extra, expected = CORPUS[kind]
    source = _repo(tmp_path / "remote" / kind, files, **extra)
    row = {
        "full_name": f"hostile/{kind}",
        "repo_hash": repo_hash(f"hostile/{kind}"),
        "chunk_id": "v1-c0000",
        "selection_stratum": "x",
    }
    started = time.monotonic()
    result = scan_repo(row, source.resolve().as_uri(), scanner, SETTINGS, tmp_path / "work")
    took = time.monotonic() - started
    assert result.stored, result.errors
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == expected, result.provenance
    assert took < SETTINGS.knobs.clone_timeout_s + SETTINGS.scan_timeout
    if expected[1] == "over_limit":
        assert "caps 200 files, 8 MB in all, 2 MB per file" in result.provenance["failure_detail"]
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir()), "checkout left behind"
    for worker in scanner._workers:
        if worker.alive():
            limits = Path(f"/proc/{worker.proc.pid}/limits").read_text()
            assert f"Max address space         {MEMORY_MB << 20}" in limits
            assert _peak_mb(worker.proc.pid) <= MEMORY_MB


def test_the_corpus_has_at_least_fifteen_kinds():
    assert len(CORPUS) >= 15


def test_a_bomb_is_refused_before_it_is_written(tmp_path, monkeypatch):
    """The caps act before checkout: the 16 MB blob never reaches the disk (not written, then deleted)."""
    from stratum_assets.scanning import clone as clone_module

    monkeypatch.setattr(clone_module, "trim_checkout", lambda root, limits: [])  # only the pre-checkout bound
    source = _repo(
        tmp_path / "remote",
        {
            "agent.py": AGENT,
            "bomb.py": b"\0" * (16 << 20),
            "pkg/ok.yaml": b"a: 1\n",
            "README.md": b"not checked out\n",
            "we\nird.py": b"x = 1\n",
            ":(glob)*.py": b"y = 2\n",
        },
    )
    checkout = tmp_path / "checkout"
    result = clone_module.clone(
        source.resolve().as_uri(), checkout, attempts=1, limits=SETTINGS.knobs.checkout_limits()
    )
    assert result.failure is None, result.detail
    assert result.over_limit.startswith("checkout capped: 1 files (16 MB) not written")
    written = sorted(
        p.relative_to(checkout).as_posix() for p in checkout.rglob("*") if ".git" not in p.parts and p.is_file()
    )
    assert written == [":(glob)*.py", "agent.py", "pkg/ok.yaml", "we\nird.py"]  # literal pathspecs, NUL-separated
    assert result.bytes_fetched < 1 << 20  # the blob travels compressed; only its size was read
    assert "bomb.py" in result.files and "README.md" in result.files  # still listed and counted


def _stmts_checkout(root: Path) -> Path:
    root.mkdir()
    (root / "agent.py").write_bytes(AGENT)
    (root / "big.py").write_bytes(_big_python())  # ~210 MB to parse
    return root


def test_a_file_over_the_memory_cap_is_a_parser_error_and_the_worker_goes_on(tmp_path):
    checkout = _stmts_checkout(tmp_path / "checkout")
    scanner = BuiltinScanner(memory_limit_mb=150)
    try:
        outcome = scanner.scan(checkout, "o/r", ["agent.py", "big.py"], timeout=60)
        assert outcome.failure is None, outcome.detail
        assert (outcome.ping["scan_status"], outcome.ping["parser_errors"], outcome.ping["agent_count"]) == (
            "partial",
            1,
            1,
        )
        (worker,) = scanner._workers
        (checkout / "big.py").unlink()
        again = scanner.scan(checkout, "o/r", ["agent.py"], timeout=60)
        assert again.ping["scan_status"] == "success" and scanner._workers == [worker] and worker.alive()
    finally:
        scanner.close()


def test_a_worker_that_cannot_live_under_its_cap_is_a_classified_crash(tmp_path):
    checkout = _stmts_checkout(tmp_path / "checkout")
    scanner = BuiltinScanner(memory_limit_mb=8)  # Python itself does not start in 8 MB of address space
    try:
        for _ in range(2):  # a dead worker is replaced, and the next repository is classified too
            outcome = scanner.scan(checkout, "o/r", ["agent.py"], timeout=60)
            assert outcome.failure == "parse_crash" and "memory cap 8 MB" in outcome.detail, outcome.detail
        assert len(scanner._workers) == 2
    finally:
        scanner.close()


def test_the_external_scanner_runs_under_the_memory_cap(tmp_path):
    import sys

    from stratum_assets.scanning.scanner_commands import ExternalScanner

    script = tmp_path / "stratum"
    script.write_text(
        f"#!{sys.executable}\nimport json, resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
        "if '--hog' in open('/proc/self/cmdline').read() or len(sys.argv) > 9: b = bytearray(400 << 20)\n"
        "print(json.dumps({'schema_id': 5, 'cap': soft}))\n"
    )
    script.chmod(0o755)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "a.py").write_text("x = 1\n")
    outcome = ExternalScanner(str(script), memory_limit_mb=200).scan(checkout, "o/r", ["a.py"], timeout=60)
    assert outcome.ping == {"schema_id": 5, "cap": 200 << 20}
    hog = ExternalScanner(str(script), memory_limit_mb=200)
    hog.command = lambda path, name, files: [str(script), *["x"] * 9]
    crashed = hog.scan(checkout, "o/r", ["a.py"], timeout=60)
    assert (
        crashed.failure == "parse_crash" and "memory cap 200 MB" in crashed.detail and "MemoryError" in crashed.detail
    )
