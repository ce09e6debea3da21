"""Clones and scanner processes with secrets around and hostile remotes (issue 15).

* Child processes (the built-in scanner's workers, the external scanner, git) get a minimal environment:
  read from ``/proc/<pid>/environ`` of the real children while a token and a cloud secret sit in ours.
* Authenticated clones: the token reaches the git host only, through git's environment configuration, never
  in argv, a URL or a file; a redirect to another host does not carry it.
* Clone failures are classified by what git said; refused repositories are never retried; rate-limited clones
  back off for minutes (with jitter) under a process-wide clone limiter.

Servers are real HTTP servers on loopback (``http.server`` in a thread); git is the real git.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stratum_assets.manifest.build import repo_hash
from stratum_assets.scanning import clone as clone_module
from stratum_assets.scanning.clone import classify, clone, git_env
from stratum_assets.scanning.pipeline import ScanKnobs, ScanSettings, scan_repo
from stratum_assets.scanning.scanner_commands import BuiltinScanner, ExternalScanner
from stratum_sandbox.limits import Fault
from stratum_sandbox.server import read_request_body

from .conftest import FakeTime

TOKEN = "ghp_CloneTokenThatMustStayWithTheGitHost0007"
BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
SECRETS = {"GITHUB_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": "aws/SecretKeyThatNoChildMayRead0000000"}
# What a scanner child may see; git may see these plus its own GIT_* variables.
SCANNER_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}


@pytest.fixture
def secrets_in_parent(monkeypatch):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_TRACE_CURL", "/tmp/never-written-by-a-clone")  # git's own tracing: dropped too


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode("utf-8", "replace").split("\0") if "=" in item)


def _assert_no_secrets(env: dict[str, str], where: str) -> None:
    text = json.dumps(env)
    for key, value in SECRETS.items():
        assert key not in env and value not in text, f"{where} can read {key}"


def _git(cwd: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _local_repo(path: Path, files: dict[str, str]) -> str:
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "uploadpack.allowFilter", "true")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "init")
    return path.as_uri()


def _hostile_repo(path: Path, evil_path: str = ".git/hooks/post-checkout") -> str:
    """A repository whose tree holds a path git refuses to check out (built with plumbing: no porcelain allows it)."""
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "uploadpack.allowFilter", "true")

    def blob(text: str) -> str:
        return subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=path, input=text, capture_output=True, text=True, check=True
        ).stdout.strip()

    def tree(entries: list[tuple[str, str, str, str]]) -> str:
        spec = "".join(f"{mode} {kind} {sha}\t{name}\n" for mode, kind, sha, name in entries)
        return subprocess.run(
            ["git", "mktree"], cwd=path, input=spec, capture_output=True, text=True, check=True
        ).stdout.strip()

    *folders, leaf = evil_path.split("/")
    node = tree([("100755", "blob", blob("#!/bin/sh\ntouch pwned\n"), leaf)])
    for folder in reversed(folders[1:]):
        node = tree([("040000", "tree", node, folder)])
    root = tree([("040000", "tree", node, folders[0]), ("100644", "blob", blob("x = 1\n"), "agent.py")])
    commit = subprocess.run(
        ["git", "commit-tree", root, "-m", "evil"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    ).stdout.strip()
    _git(path, "update-ref", "refs/heads/main", commit)
    return path.as_uri()


class GitProxy:
    """A git host on loopback: forwards smart-HTTP requests to ``upstream`` (the emulator) and records each
    request's headers, plus the argv and environment of every process whose command line names this host
    (git and its remote helper) while the request is in flight. ``redirect_to`` answers 301s instead."""

    def __init__(self, upstream: str, redirect_to: str | None = None):
        self.upstream = upstream.removeprefix("http://")
        self.redirect_to = redirect_to
        self.requests: list[dict] = []
        self.processes: dict[int, dict] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._forward()

            def do_POST(self):
                self._forward()

            def _body(self) -> bytes:
                return read_request_body(self)

            def _forward(self):
                body = self._body()
                proxy.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
                proxy.snapshot_processes()
                if proxy.redirect_to:
                    self.send_response(301)
                    self.send_header("Location", proxy.redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                keep = ("Content-Type", "Git-Protocol", "Content-Encoding", "Accept", "User-Agent")
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                conn.request(
                    self.command, self.path, body=body, headers={k: v for k, v in self.headers.items() if k in keep}
                )
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def snapshot_processes(self) -> None:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                if not any(self.url.encode() in arg for arg in argv):
                    continue
                self.processes[int(proc.name)] = {
                    "argv": [a.decode("utf-8", "replace") for a in argv],
                    "environ": _environ(int(proc.name)),
                }
            except OSError:
                continue

    def auth_headers(self) -> list[str | None]:
        return [r["headers"].get("Authorization") for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxies():
    made: list[GitProxy] = []

    def make(upstream: str, redirect_to: str | None = None) -> GitProxy:
        made.append(GitProxy(upstream, redirect_to))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def _a_repo(universe):
    return next(r for r in universe.repos if not r.deleted and not r.slow and not r.quirks)


def _files_containing(root: Path, *needles: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                hits.append(str(path.relative_to(root)))
    return hits


# -- 1. child processes get a minimal environment --------------------------------------------------------
def test_the_builtin_scanner_worker_gets_a_minimal_environment(secrets_in_parent, tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "agent.py").write_text("from crewai import Agent\nAgent(role='r', goal='g', backstory='b')\n")
    scanner = BuiltinScanner()
    try:
        outcome = scanner.scan(checkout, "o/r", ["agent.py"], timeout=60)
        assert outcome.ping is not None, outcome.detail
        (worker,) = scanner._workers
        env = _environ(worker.proc.pid)
    finally:
        scanner.close()
    _assert_no_secrets(env, "the scanner worker")
    assert set(env) <= SCANNER_ENV, sorted(set(env) - SCANNER_ENV)
    assert env["HOME"] != os.environ.get("HOME") and env["PATH"] == os.environ["PATH"]


def test_a_worker_home_is_removed_when_the_worker_is_closed(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "a.py").write_text("x = 1\n")
    scanner = BuiltinScanner()
    scanner.scan(checkout, "o/r", ["a.py"], timeout=60)
    home = Path(_environ(scanner._workers[0].proc.pid)["HOME"])
    assert home.is_dir()
    scanner.close()
    assert not home.exists()


def test_the_external_scanner_gets_a_minimal_environment(secrets_in_parent, tmp_path):
    seen = tmp_path / "seen.json"
    script = tmp_path / "stratum"
    script.write_text(
        f"#!{sys.executable}\nimport json, os\n"
        f"open({str(seen)!r}, 'w').write(json.dumps({{'env': dict(os.environ), "
        f"'proc': open('/proc/self/environ', 'rb').read().decode(), 'cwd': os.getcwd()}}))\n"
        "print(json.dumps({'schema_id': 5}))\n"
    )
    script.chmod(0o755)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "a.py").write_text("x = 1\n")
    outcome = ExternalScanner(str(script)).scan(checkout, "o/r", ["a.py"], timeout=60)
    assert outcome.ping == {"schema_id": 5}
    seen_by_child = json.loads(seen.read_text())
    env = seen_by_child["env"]
    _assert_no_secrets(env, "the external scanner")
    assert not any(value in seen_by_child["proc"] for value in SECRETS.values())
    assert set(env) <= SCANNER_ENV - {"PYTHONPATH"}, sorted(set(env) - SCANNER_ENV)
    assert env["HOME"] == seen_by_child["cwd"] != os.environ.get("HOME"), "HOME is the scan's own temp folder"


def test_git_env_keeps_only_what_git_needs(secrets_in_parent, tmp_path):
    env = git_env(tmp_path)
    _assert_no_secrets(env, "git")
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull and env["HOME"] == str(tmp_path)
    assert env["PATH"] == os.environ["PATH"] and "GIT_TRACE_CURL" not in env
    assert not any(k.startswith("GIT_CONFIG_KEY") for k in env), "no configuration without a GitAuth"


def test_a_real_git_child_gets_the_minimal_environment(secrets_in_parent, emulator, universe, proxies, tmp_path):
    repo = _a_repo(universe)
    proxy = proxies(emulator.url)
    result = clone(f"{proxy.url}/git/{repo.full_name}.git", tmp_path / "c", timeout=60)
    assert result.failure is None, result.detail
    assert proxy.processes, "git and its remote helper were seen while they talked to the host"
    for seen in proxy.processes.values():
        _assert_no_secrets(seen["environ"], f"git process {seen['argv'][:2]}")
        others = {k for k in seen["environ"] if not k.startswith("GIT_")} - {
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TMPDIR",
            "SSH_ASKPASS",
        }
        assert not others, (seen["argv"][:2], sorted(others))
    assert not (tmp_path / "never-written-by-a-clone").exists()


# -- 2. authenticated clones: the git host only, from the environment -------------------------------------
def test_an_authenticated_clone_sends_the_token_to_the_git_host_only(emulator, universe, proxies, tmp_path):
    from stratum_assets.scanning.clone import GitAuth

    repo = _a_repo(universe)
    proxy = proxies(emulator.url)
    auth = GitAuth(proxy.url, TOKEN)
    assert TOKEN not in repr(auth) and BASIC not in repr(auth)
    dest = tmp_path / "work" / "checkout"
    dest.parent.mkdir()
    result = clone(f"{proxy.url}/git/{repo.full_name}.git", dest, timeout=60, partial=True, auth=auth)
    assert result.failure is None, result.detail
    assert result.files and (dest / ".git").is_dir()
    assert proxy.requests and set(proxy.auth_headers()) == {f"Basic {BASIC}"}, "every request to the git host"
    assert proxy.processes
    for seen in proxy.processes.values():
        assert not any(TOKEN in arg or BASIC in arg for arg in seen["argv"]), seen["argv"]
    assert _files_containing(tmp_path, TOKEN, BASIC) == [], "nothing on disk holds the token"
    assert "extraheader" not in (dest / ".git" / "config").read_text()


def test_the_git_token_is_not_sent_to_another_host(emulator, universe, proxies, tmp_path):
    from stratum_assets.scanning.clone import GitAuth

    repo = _a_repo(universe)
    git_host, other = proxies(emulator.url), proxies(emulator.url)
    result = clone(
        f"{other.url}/git/{repo.full_name}.git", tmp_path / "c", timeout=60, auth=GitAuth(git_host.url, TOKEN)
    )
    assert result.failure is None, result.detail
    assert other.requests and set(other.auth_headers()) == {None}
    assert git_host.requests == []
    assert other.processes and not any(BASIC in json.dumps(p["environ"]) for p in other.processes.values()), (
        "git working for another host is not even handed the token"
    )


def test_a_redirect_to_another_host_does_not_carry_the_git_token(emulator, universe, proxies, tmp_path):
    """git follows a redirect and then sends its configured headers to the new host: an authenticated clone
    follows no redirect, and a redirected repository is cloned again without the token."""
    from stratum_assets.scanning.clone import GitAuth

    repo = _a_repo(universe)
    elsewhere = proxies(emulator.url)
    git_host = proxies(emulator.url, redirect_to=elsewhere.url)
    result = clone(
        f"{git_host.url}/git/{repo.full_name}.git",
        tmp_path / "c",
        timeout=60,
        partial=True,
        auth=GitAuth(git_host.url, TOKEN),
    )
    assert result.failure is None, result.detail
    assert elsewhere.requests, "the redirected repository was still cloned"
    assert set(elsewhere.auth_headers()) == {None}, "the other host never saw the token"


def test_scan_settings_carry_the_git_auth_to_the_clone(emulator, universe, proxies, tmp_path, builtin_scanner):
    from stratum_assets.scanning.clone import GitAuth

    repo = _a_repo(universe)
    proxy = proxies(emulator.url)
    settings = ScanSettings(ScanKnobs(clone_timeout_s=60), scan_timeout=60, git_auth=GitAuth(proxy.url, TOKEN))
    assert TOKEN not in repr(settings)
    row = {
        "full_name": repo.full_name,
        "repo_hash": repo_hash(repo.full_name),
        "chunk_id": "v1-c0000",
        "selection_stratum": "x",
    }
    result = scan_repo(row, f"{proxy.url}/git/{repo.full_name}.git", builtin_scanner(), settings, tmp_path / "w")
    assert result.provenance["commit_sha"], result.provenance
    assert proxy.requests and set(proxy.auth_headers()) == {f"Basic {BASIC}"}


def test_the_github_resource_scopes_git_auth_to_its_git_host(monkeypatch, emulator):
    from stratum_assets.offline_github import SANDBOX_TOKEN, OfflineGitHub, github_from_environment
    from stratum_assets.resources import GitHubResource

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("STRATUM_SANDBOX", raising=False)
    real = github_from_environment()
    auth = real.git_auth()
    assert auth.base_url == "https://github.com" and auth.token == TOKEN
    assert auth.covers(real.clone_url("o/r")) and not auth.covers("https://github.com.evil.example/o/r.git")
    assert not auth.covers("http://github.com/o/r.git"), "no downgrade to plain http"
    monkeypatch.delenv("GITHUB_TOKEN")
    assert GitHubResource().git_auth() is None, "no token, anonymous clones"
    assert real.git_auth() is None, "the token was the variable's: gone with it"
    offline = OfflineGitHub(url=emulator.url)
    assert offline.git_auth().covers(offline.clone_url("o/r")) and offline.git_auth().token == SANDBOX_TOKEN


# -- 5. failures classified by what git said --------------------------------------------------------------
@pytest.mark.parametrize("partial", [True, False], ids=["partial", "full"])
@pytest.mark.parametrize("evil", [".git/hooks/post-checkout", "a/.git/config", ".GIT/hooks/x"])
def test_a_tree_git_refuses_is_clone_refused_and_not_retried(tmp_path, partial, evil):
    url = _hostile_repo(tmp_path / "evil", evil)
    slept = []
    result = clone(url, tmp_path / "work" / "c", timeout=60, partial=partial, sleep=slept.append)
    assert (result.failure, result.attempts, slept) == ("clone_refused", 1, [])
    assert "invalid path" in result.detail
    assert not (tmp_path / "work" / "c").exists() and not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize(
    "url",
    [
        "http://exa mple/x.git",
        "foo://example.com/x.git",
        "ext::sh -c touch% pwned",
        "-uhello",
        "--upload-pack=touch pwned",
        "",
        "http://127.0.0.1:99999/x.git",
    ],
)
def test_a_url_git_cannot_use_is_clone_refused_and_not_retried(tmp_path, url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    slept = []
    result = clone(url, tmp_path / "c", timeout=60, sleep=slept.append)
    assert (result.failure, result.attempts, slept) == ("clone_refused", 1, [])
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize(
    "stderr, failure, transient",
    [
        (
            "error: invalid path '.git/hooks/post-checkout'\nfatal: unable to checkout working tree\n",
            "clone_refused",
            False,
        ),
        ("fatal: unable to access 'http://x/': URL using bad/illegal format or missing URL\n", "clone_refused", False),
        ("fatal: transport 'ext' not allowed\n", "clone_refused", False),
        ("git: 'remote-foo' is not a git command. See 'git --help'.\n", "clone_refused", False),
        (
            "error: object 1234: hasDotgit: contains '.git'\nfatal: fsck error in packed object\n",
            "clone_refused",
            False,
        ),
        ("fatal: repository 'http://x/o/r.git/' not found\n", "clone_404", False),
        ("fatal: repository '/nonexistent/x' does not exist\n", "clone_404", False),
        ("fatal: could not read Username for 'https://github.com': terminal prompts disabled\n", "clone_404", False),
        ("error: RPC failed; HTTP 429 curl 22 The requested URL returned error: 429\n", "clone_rate_limited", True),
        # The environment, not the repository (issue 27): retried, then the partition fails; never a ping.
        ("fatal: unable to access 'https://x/': Could not resolve host: x\n", "environment", True),
        ("fatal: unable to access 'https://x/': The requested URL returned error: 502\n", "environment", True),
        ("fatal: early EOF\nfatal: index-pack failed\n", "environment", True),
        (
            "fatal: unable to access 'http://127.0.0.1:8765/git/o/r.git/': "
            "Failed to connect to 127.0.0.1 port 8765 after 0 ms: Couldn't connect to server\n",
            "environment",
            True,
        ),
        ("error: RPC failed; curl 56 Recv failure: Connection reset by peer\n", "environment", True),
        ("fatal: Unable to create '/w/checkout/.git/index.lock': No space left on device\n", "environment", True),
        ("error: index.lock write error. Out of diskspace\n", "environment", True),
        ("fatal: unable to access 'https://x/': server certificate verification failed\n", "environment", True),
        # A 4xx is the repository's, and a file that merely is called tls.py is nobody's environment.
        ("fatal: unable to access 'https://x/': The requested URL returned error: 404\n", "clone_404", False),
        ("fatal: something new went wrong in utils/tls.py\n", "clone_unclassified", True),
        # a hostile path that spells another failure is still a refused path
        ("error: invalid path 'returned error: 429 rate limit not found'\n", "clone_refused", False),
    ],
)
def test_classify_by_what_git_said(stderr, failure, transient):
    err = classify(stderr)
    assert (err.failure, err.transient) == (failure, transient)
    assert "://" not in err.detail


@pytest.mark.parametrize("retry_wait, waits", [(None, [1.0, 2.0]), (0.1, [0.1, 0.2])], ids=["default", "offline"])
def test_a_server_that_is_gone_is_retried_after_waits_doubled_per_attempt(tmp_path, retry_wait, waits):
    """Connection refused is the environment: every attempt is made, the first wait `retry_wait` (1 s unless the
    GitHub resource says otherwise: the offline one's loopback needs 0.1 s), doubled before each next attempt."""
    from stratum_assets.offline_github import OfflineGitHub
    from stratum_assets.resources import GitHubResource
    from stratum_assets.scanning.scanner_commands import ENVIRONMENT_FAILURE
    from stratum_assets_tests.support.loopback import free_port

    url = f"http://127.0.0.1:{free_port()}/o/r.git"  # nothing listens there
    slept: list[float] = []
    given = {} if retry_wait is None else {"retry_wait": retry_wait}
    result = clone(url, tmp_path / "c", timeout=60, attempts=3, sleep=slept.append, **given)
    assert (result.failure, result.attempts, slept) == (ENVIRONMENT_FAILURE, 3, waits)
    wait_of = {"default": GitHubResource().clone_retry_wait_s, "offline": OfflineGitHub().clone_retry_wait_s}
    assert wait_of == {"default": 1.0, "offline": 0.1}, "what each GitHub resource gives the scan (ScanSettings)"


def test_a_refused_clone_is_a_stored_failed_ping(tmp_path, builtin_scanner):
    url = _hostile_repo(tmp_path / "evil")
    row = {"full_name": "o/evil", "repo_hash": repo_hash("o/evil"), "chunk_id": "v1-c0000", "selection_stratum": "x"}
    result = scan_repo(row, url, builtin_scanner(), ScanSettings(ScanKnobs(clone_timeout_s=60)), tmp_path / "w")
    assert (result.ping["scan_status"], result.ping["failure_reason"]) == ("failed", "clone_refused")
    assert result.stored and result.errors == [] and result.provenance["clone_attempts"] == 1


# -- 5. rate-limited clones back off for minutes, under one limiter per process ---------------------------


def test_rate_limited_clones_back_off_for_minutes_with_jitter(emulator, universe, tmp_path):
    repo = _a_repo(universe)
    emulator.faults.add(Fault("secondary_429", "git", times=2, retry_after=None))
    t = FakeTime(now=0.0)
    result = clone(
        emulator.clone_url(repo.full_name),
        tmp_path / "c",
        timeout=3600,
        attempts=3,
        sleep=t.sleep,
        rate_limit_backoff=60.0,
        rng=lambda: 0.5,
    )
    assert result.failure is None and result.attempts == 3 and result.rate_limited == 2
    assert t.slept == [75.0, 150.0], "60 s then 120 s, each stretched by the jitter (here +25%)"


def test_jitter_spreads_the_waits(emulator, universe, tmp_path):
    repo = _a_repo(universe)
    waits = []
    for draw in (0.0, 0.999):
        emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=None))
        t = FakeTime(now=0.0)
        clone(
            emulator.clone_url(repo.full_name),
            tmp_path / f"c{draw}",
            timeout=3600,
            sleep=t.sleep,
            rate_limit_backoff=60.0,
            rng=lambda d=draw: d,
        )
        waits += t.slept
    assert waits[0] == 60.0 and 89.9 < waits[1] < 90.0


def test_a_rate_limit_wait_past_the_clone_deadline_is_not_taken(emulator, universe, tmp_path):
    repo = _a_repo(universe)
    emulator.faults.add(Fault("secondary_429", "git", times=3, retry_after=None))
    t = FakeTime(now=0.0)
    result = clone(
        emulator.clone_url(repo.full_name),
        tmp_path / "c",
        timeout=100,
        sleep=t.sleep,
        rate_limit_backoff=200.0,
        rng=lambda: 0.0,
    )
    assert (result.failure, result.attempts, t.slept) == ("clone_rate_limited", 1, [])


def test_the_clone_limiter_caps_clones_per_minute_across_threads():
    t = FakeTime(now=0.0)
    limiter = clone_module.CloneLimiter(per_minute=6, clock=t.clock, sleep=t.sleep)
    waited = [limiter.acquire() for _ in range(4)]
    assert waited == [0.0, 10.0, 10.0, 10.0] and t.now == 30.0
    t.now += 60.0  # idle: no burst is saved up beyond one clone
    assert limiter.acquire() == 0.0 and limiter.acquire() == 10.0
    unlimited = clone_module.CloneLimiter(per_minute=0, clock=t.clock, sleep=t.sleep)
    assert [unlimited.acquire() for _ in range(5)] == [0.0] * 5


def test_a_rate_limit_pauses_every_clone_of_the_process():
    t = FakeTime(now=0.0)
    limiter = clone_module.CloneLimiter(per_minute=0, clock=t.clock, sleep=t.sleep)
    limiter.hold(90.0)
    limiter.hold(30.0)  # a shorter pause does not shorten a longer one
    assert limiter.acquire() == 90.0 and limiter.acquire() == 0.0


def test_a_rate_limited_clone_holds_the_shared_limiter(emulator, universe, tmp_path):
    repo = _a_repo(universe)
    holds = []

    class Recording(clone_module.CloneLimiter):
        def hold(self, seconds):
            holds.append(seconds)
            super().hold(seconds)

    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=None))
    t = FakeTime(now=0.0)
    limiter = Recording(per_minute=0, clock=t.clock, sleep=t.sleep)
    result = clone(
        emulator.clone_url(repo.full_name),
        tmp_path / "c",
        timeout=3600,
        sleep=t.sleep,
        limiter=limiter,
        rate_limit_backoff=60.0,
        rng=lambda: 0.0,
    )
    assert result.failure is None and holds == [60.0] and t.slept == [60.0]


def test_the_process_shares_one_limiter_and_scan_settings_configure_it(emulator, universe, tmp_path, builtin_scanner):
    assert clone_module.shared_limiter(30) is clone_module.shared_limiter(0)
    repo = _a_repo(universe)
    emulator.faults.add(Fault("secondary_429", "git", times=1, retry_after=None))
    settings = ScanSettings(
        ScanKnobs(clone_timeout_s=60), scan_timeout=60, clones_per_minute=600, rate_limit_backoff=0.05
    )
    row = {
        "full_name": repo.full_name,
        "repo_hash": repo_hash(repo.full_name),
        "chunk_id": "v1-c0000",
        "selection_stratum": "x",
    }
    result = scan_repo(row, emulator.clone_url(repo.full_name), builtin_scanner(), settings, tmp_path / "w")
    assert result.provenance["clone_attempts"] == 2 and result.rate_limited == 1
    assert clone_module.shared_limiter().per_minute == 600
    clone_module.shared_limiter(0)
