"""Dagster resources: where GitHub is, where the data lives (and the profile it is built to), which scanner runs.

``GitHubResource`` is a GitHub at a base URL — api.github.com, or GitHub Enterprise — with no notion of
an offline one: the code location chooses, when it loads, between it and the offline GitHub (a subclass
that runs the embedded emulator, ``offline_github.py``). The token is given as ``dg.EnvVar("GITHUB_TOKEN")``:
the UI, the run config and the metadata show the variable's name, never its value, and Dagster reads the
value when a run starts. A resource that names another API without a token fails (:class:`GitHubConfigError`)
instead of going out anonymous, and :func:`world_of` says which GitHub and profile a build is against, for the
data directory's record (``storage/world.py``).

``DataResource`` is the data directory: every path in it (:class:`Layout`), the DuckDB
warehouse over it (:meth:`DataResource.warehouse` hands out a connection whose views show the
active manifest version) and the profile the dataset is built to (``sample`` or ``full``), so
the stages that only read the data need neither GitHub nor a database resource of their own.
``ScannerResource`` says which scanner command runs on each checkout.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr, field_validator

from .dedup.fingerprint import NearDupSettings
from .domain.choices import Profile, ScannerKind, one_of
from .github.client import GitHubClient
from .github.governor import RateGovernor
from .manifest.store import ManifestStore
from .scanning.clone import GitAuth
from .storage.layout import Layout
from .storage.world import World
from .warehouse.blocks import compact_ready
from .warehouse.schema import MEMORY_LIMIT, Warehouse, refresh

TOKEN_ENV_VAR = "GITHUB_TOKEN"
GITHUB_API = "https://api.github.com"


class GitHubConfigError(ValueError):
    """A ``github`` resource configured so that it would silently talk to another GitHub than the one it names."""


class GitHubUnreachable(ConnectionError):
    """The GitHub a build talks to does not answer at all: a fault of the environment, never of the data."""


class GitHubResource(dg.ConfigurableResource):
    """A GitHub at a base URL: api.github.com or GitHub Enterprise; the code location chooses the offline one
    (``stratum_assets/offline_github.py``, a subclass that starts the emulator) when it has no token."""

    api_url: str = GITHUB_API
    web_url: str = "https://github.com"  # the git host: clones are f"{web_url}/{full_name}.git"
    token: str | None = None  # give it as dg.EnvVar("GITHUB_TOKEN"), never as a literal; None: no token
    search_per_minute: int = 30
    clone_rate_limit_backoff_s: float = 60.0  # first wait after GitHub answers a clone with 429 (doubles per hit)
    clone_retry_wait_s: float = 1.0  # first wait before retrying a clone that failed transiently (doubles per attempt)
    max_required_wait_s: float = 3700.0  # longest wait GitHub may demand before a request fails instead
    max_total_wait_s: float = 7200.0  # longest one request may wait in all
    clones_per_minute: float = 120.0  # cap on clone starts per process (0: none)

    _log = PrivateAttr(default=None)

    def world(self) -> tuple[str, dict | None]:
        """Which GitHub this is, for the data directory's record (``storage/world.py``): the API's URL."""
        self._refuse_a_named_api()
        return self.api_url.rstrip("/"), None

    def _token(self) -> str | None:
        """The token's value: Dagster resolved the EnvVar when the run started; outside a run, read it now."""
        if isinstance(self.token, dg.EnvVar):
            return self.token.get_value()
        return self.token or None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._refuse_a_named_api()
        self._log = context.log  # every GitHub wait shows in the run's event log

    def _refuse_a_named_api(self) -> None:
        """Another API than GitHub's without a token is refused: run config replaces the resource's whole config,
        and an ``api_url`` given there without the token would otherwise go out anonymous."""
        if self.api_url.rstrip("/") != GITHUB_API and not self._token():
            raise GitHubConfigError(
                f"the github resource names the API {self.api_url} but has no token: give the token too "
                f"(token: {{env: {TOKEN_ENV_VAR}}} in the resource's config: run config replaces the resource's whole "
                "config)"
            )

    @property
    def base_url(self) -> str:
        return self.api_url

    @property
    def git_url(self) -> str:
        """The git host: every clone URL is under it, and the token goes to it only."""
        return self.web_url

    def client(self) -> GitHubClient:
        on_wait = self._log.info if self._log is not None else None
        return GitHubClient(
            self.base_url,
            self._token(),
            governor=RateGovernor(
                search_per_minute=self.search_per_minute,
                max_required_wait=self.max_required_wait_s,
                max_total_wait=self.max_total_wait_s,
                on_wait=on_wait,
            ),
        )

    def git_auth(self) -> GitAuth | None:
        """The token for the git host only (scoped to its base URL), or None for anonymous clones."""
        token = self._token()
        return GitAuth(self.git_url, token) if token else None

    def clone_rate_cap(self) -> float:
        """Clone starts per minute for the whole process (0: no cap)."""
        return self.clones_per_minute

    def clone_rate_limit_backoff(self) -> float:
        """First wait after a clone's HTTP 429 (doubled per hit, with jitter)."""
        return self.clone_rate_limit_backoff_s

    def clone_url(self, full_name: str) -> str:
        """Where git clones ``owner/name`` from; never carries a credential."""
        return f"{self.git_url}/{full_name}.git"


def world_of(github: GitHubResource, data: "DataResource") -> World:
    """The world a build with these resources is against: the GitHub and the data's profile."""
    where, universe = github.world()
    return World(github=where, profile=data.resolved_profile(), universe=universe)


def sandbox_forced() -> bool:
    """``STRATUM_SANDBOX=1`` (``stratum-assets run --sandbox``): the offline GitHub even with a token."""
    return os.environ.get("STRATUM_SANDBOX", "").lower() in ("1", "true", "yes")


def offline_by_default() -> bool:
    """Whether the code location's GitHub is the offline one: no ``GITHUB_TOKEN``, or ``STRATUM_SANDBOX=1``.
    The one test for it: the GitHub factory and the default profile both read it."""
    return sandbox_forced() or not os.environ.get(TOKEN_ENV_VAR)


def default_profile() -> str:
    """The profile when none is configured: ``$STRATUM_PROFILE``, else the one that suits the code
    location's GitHub (:func:`offline_by_default`): ``sample`` targets and gates for the offline
    universe, ``full`` for the scan of real GitHub."""
    return os.environ.get("STRATUM_PROFILE") or ("sample" if offline_by_default() else "full")


class DataResource(dg.ConfigurableResource):
    """The data directory: its paths, the DuckDB warehouse over it, and the profile the dataset is built to."""

    root: str = "data"
    profile: Profile | None = None  # default: $STRATUM_PROFILE, else sample offline, full with a token
    memory_limit: str = MEMORY_LIMIT  # DuckDB's cap for the warehouse connection (warehouse/schema.py)
    # Estimated Jaccard at which two repositories' code signatures are near-duplicates (audit report and split
    # groups, audit/groups.py): one value for both, so the split keeps whole the groups the report shows.
    near_duplicate_threshold: float = NearDupSettings.threshold

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.root))

    @property
    def manifest_store(self) -> ManifestStore:
        """The frozen manifest versions under the data directory."""
        return ManifestStore.of(self.layout)

    def resolved_profile(self) -> Profile:
        """The profile in force (an asset's ``profile`` config, where it has one, wins over it); ``ValueError``
        naming the variable when ``$STRATUM_PROFILE`` names none."""
        if self.profile is not None:
            return self.profile
        chosen = default_profile()
        if chosen not in tuple(Profile):
            raise ValueError(f"STRATUM_PROFILE must be one of {one_of(Profile)}, not {chosen!r}")
        return Profile(chosen)

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        """A connection to the DuckDB file (``data/stratum.duckdb``) whose views show the active manifest version.

        Raises :class:`~stratum_assets.manifest.store.NoManifestError`, saying how to make one, when
        the data directory has no manifest yet. The connection is closed when the block ends.
        """
        layout = self.layout
        version = self.manifest_store.require_active()
        with DuckDBResource(database=str(layout.duckdb)).get_connection() as conn:  # retries while locked
            try:
                conn.execute("SET memory_limit = ?", [self.memory_limit])
                refresh(conn, layout, version)
                yield Warehouse(conn, layout, version)
            finally:  # also when the block raised: dagster-duckdb closes it only on success, and an open
                conn.close()  # connection keeps the file locked for every other process

    def compact(self) -> list[int]:
        """Rebuild the active version's outdated blocks (``warehouse/blocks.py``) before it is read as a whole;
        returns the blocks written (none when every block is current or waits for a partition)."""
        layout = self.layout
        return compact_ready(layout, self.manifest_store.require_active())

    def refresh_views(self) -> int:
        """Point the warehouse's views at the active manifest version (one was just frozen); returns it."""
        with self.warehouse() as warehouse:
            return warehouse.version


SCANNER_ENV_VAR = "STRATUM_SCANNER"  # a ScannerKind: builtin (the default) or external
SCANNER_COMMAND_ENV_VAR = "STRATUM_SCANNER_COMMAND"  # the external CLI, e.g. /opt/stratum-venv/bin/stratum


class ScannerResource(dg.ConfigurableResource):
    """Which scanner runs on each checkout: the built-in one, or the external ``stratum`` CLI."""

    # A ScannerKind's value, in a str field: Dagster resolves a dg.EnvVar (scanner_from_environment) into str,
    # int and bool fields only, never into an enum; the validator holds it to the choices.
    kind: str = ScannerKind.builtin.value
    external_command: str = "stratum"
    timeout_s: float = 300.0
    memory_limit_mb: int = 1024  # address-space cap of each scanner process (0: none)

    @field_validator("kind", mode="before")
    @classmethod
    def _one_of_the_kinds(cls, kind):
        if isinstance(kind, dg.EnvVar):  # the variable's value is checked when a run resolves it
            return kind
        if kind not in tuple(ScannerKind):
            raise ValueError(f"scanner kind must be {' or '.join(repr(k.value) for k in ScannerKind)}, not {kind!r}")
        return kind

    def command(self):
        """The :class:`~stratum_assets.scanning.scanner_commands.ScannerCommand` of ``kind``.

        An external command that is not there fails the step (the partition stays backfillable): a scanner
        missing from this machine is a fault of the machine, never a fact about the repositories.
        """
        from .scanning.scanner_commands import BuiltinScanner, ExternalScanner

        if self.kind == ScannerKind.builtin:
            return BuiltinScanner(self.memory_limit_mb)
        if shutil.which(self.external_command) is None:
            raise FileNotFoundError(
                f"the external scanner {self.external_command!r} is not an executable on "
                f"PATH or at that path: set {SCANNER_COMMAND_ENV_VAR} (or "
                "`--scanner-command`) to the `stratum` CLI of its own venv"
            )
        return ExternalScanner(self.external_command, self.memory_limit_mb)


def scanner_from_environment() -> ScannerResource:
    """The scanner as the code location configures it: ``$STRATUM_SCANNER`` (builtin, the default, or external)
    and ``$STRATUM_SCANNER_COMMAND`` (the external CLI), given as ``dg.EnvVar`` so the UI shows the variables'
    names and every run — a build's partition runs, a backfill, a UI backfill — resolves the same value.

    Chosen where the code location is assembled, like the token: a 200-partition backfill carries no run
    config, so a per-run choice would scan one manifest version with two scanners. Raises ``ValueError``
    naming the variable for a kind that does not exist.
    """
    kind = os.environ.get(SCANNER_ENV_VAR)
    if kind and kind not in tuple(ScannerKind):
        raise ValueError(f"{SCANNER_ENV_VAR} must be one of {one_of(ScannerKind)}, not {kind!r}")
    config: dict[str, Any] = {}  # dg.EnvVar stands in for a field's value until the resource is built
    if kind:
        config["kind"] = dg.EnvVar(SCANNER_ENV_VAR)
    if os.environ.get(SCANNER_COMMAND_ENV_VAR):
        config["external_command"] = dg.EnvVar(SCANNER_COMMAND_ENV_VAR)
    return ScannerResource(**config)
