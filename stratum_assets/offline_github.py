"""The offline GitHub as the code location's ``github`` resource, and the choice between it and real GitHub.

Without ``GITHUB_TOKEN`` (or with ``STRATUM_SANDBOX=1``, ``stratum-assets run --sandbox``) the code location's
``github`` is :class:`OfflineGitHub`: the embedded emulator (``stratum_sandbox``) started on loopback for the
duration of each step, so the same assets run with or without network. With ``STRATUM_SANDBOX_URL`` set
(``stratum-assets sandbox serve``), every step uses that one running emulator instead: one search budget shared
by all steps, as on real GitHub, and faults can be switched on from outside. The choice is made once, when the
code location loads (:func:`github_from_environment`); worker processes load it with the same environment, and
the partition workers get the resource's class by its import path. Only this module and the commands
(``cli.py``: ``sandbox serve``) import the emulator; everything below the code location sees a
:class:`~stratum_assets.resources.GitHubResource` at a base URL.
"""

import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from stratum_sandbox.universe import SizeProfile

from .resources import (
    GITHUB_API,
    TOKEN_ENV_VAR,
    GitHubConfigError,
    GitHubResource,
    GitHubUnreachable,
    offline_by_default,
)
from .storage.world import OFFLINE

SANDBOX_TOKEN = "sandbox-token-not-a-secret"  # what the offline GitHub's clients send: it checks none
SANDBOX_URL_ENV_VAR = "STRATUM_SANDBOX_URL"  # an emulator already running (`stratum-assets sandbox serve`)
# The offline GitHub's search budget per minute when it is not GitHub's 30: the budget an emulator started
# with `stratum-assets sandbox serve --search-per-minute N` serves (STRATUM_SANDBOX_URL), for a rehearsal.
SANDBOX_SEARCH_ENV_VAR = "STRATUM_SANDBOX_SEARCH_PER_MINUTE"


class OfflineGitHub(GitHubResource):
    """The embedded offline GitHub: a universe of ``size`` repositories from ``seed``, served on loopback for the
    duration of each step, or the one already running at ``url`` (default: ``$STRATUM_SANDBOX_URL``)."""

    url: str | None = None  # an emulator already running; default: $STRATUM_SANDBOX_URL
    seed: int = 7
    size: int = 400
    size_profile: SizeProfile = SizeProfile.compact  # real: the real corpus's file counts (rehearsals)
    max_repos: int = 2000  # bare repositories kept on disk; older idle ones are rebuilt on demand
    git_root: str = "data/sandbox/git"
    clone_rate_limit_backoff_s: float = 1.0  # a second, not minutes: nothing to spare on loopback
    clone_retry_wait_s: float = 0.1  # loopback answers at once: a refused connection or a full disk is not waited on
    clones_per_minute: float = 0.0  # no cap on loopback

    _emulator = PrivateAttr(default=None)

    @property
    def running_url(self) -> str | None:
        """An emulator started outside this step, if any."""
        return self.url or os.environ.get(SANDBOX_URL_ENV_VAR) or None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)  # refuses a named API before an emulator starts
        if not self.running_url:
            from stratum_sandbox.server import GitHubEmulator
            from stratum_sandbox.universe import build_universe

            universe = build_universe(seed=self.seed, size=self.size, size_profile=self.size_profile)
            budgets = {"search": (self.search_per_minute, 60.0)}
            self._emulator = GitHubEmulator(
                universe, Path(self.git_root), budgets=budgets, max_repos=self.max_repos
            ).start()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def world(self) -> tuple[str, dict | None]:
        """``offline`` and the universe's seed, size and size profile (asked of an emulator started elsewhere)."""
        self._refuse_a_named_api()
        if self._emulator is None and self.running_url:
            return OFFLINE, _universe_of(self.running_url)
        return OFFLINE, {"seed": self.seed, "size": self.size, "size_profile": self.size_profile.value}

    @property
    def base_url(self) -> str:
        if self._emulator is not None:
            return self._emulator.url
        if self.running_url:
            return self.running_url
        raise RuntimeError("the offline GitHub is not running: use the resource inside a Dagster step")

    @property
    def git_url(self) -> str:
        return f"{self.base_url}/git"

    def _token(self) -> str | None:
        return SANDBOX_TOKEN

    def _refuse_a_named_api(self) -> None:
        """Run config that names another API (GitHub Enterprise) reaches the offline GitHub when the code location
        loaded without a token: refused, never answered from the synthetic universe instead."""
        if self.api_url.rstrip("/") != GITHUB_API:
            raise GitHubConfigError(
                f"the github resource names the API {self.api_url}, but the code location's GitHub is the offline "
                f"one (it loaded without {TOKEN_ENV_VAR}, or with STRATUM_SANDBOX=1): set {TOKEN_ENV_VAR} where the "
                "code location loads (`dg dev`, `stratum-assets run`)"
            )


def _universe_of(url: str) -> dict:
    """The seed, size and size profile of the offline GitHub serving at ``url`` (``/_sandbox/universe``)."""
    import requests

    try:
        answer = requests.get(f"{url.rstrip('/')}/_sandbox/universe", timeout=10)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise GitHubUnreachable(f"the offline GitHub at {url} does not answer ({type(err).__name__})") from None
    try:
        answer.raise_for_status()
        universe = answer.json()
        return {k: universe[k] for k in ("seed", "size", "size_profile")}
    except (requests.RequestException, ValueError, KeyError, TypeError) as err:
        raise GitHubConfigError(
            f"the offline GitHub at {url} does not say which universe it serves "
            f"({type(err).__name__}); is it `stratum-assets sandbox serve`?"
        ) from None


def github_from_environment(**config) -> GitHubResource:
    """GitHub as the code location configures it: real GitHub, the token given as ``dg.EnvVar("GITHUB_TOKEN")``,
    when that variable is set and ``STRATUM_SANDBOX`` is not; else the offline GitHub (at the search budget of
    ``$STRATUM_SANDBOX_SEARCH_PER_MINUTE`` when set). Chosen here, when the code loads: Dagster has no optional
    EnvVar (one for an unset variable fails every run), and the class decides how every step talks to GitHub."""
    if offline_by_default():
        if os.environ.get(SANDBOX_SEARCH_ENV_VAR):  # an emulator serving a bigger budget (a rehearsal's)
            config.setdefault("search_per_minute", dg.EnvVar.int(SANDBOX_SEARCH_ENV_VAR))
        return OfflineGitHub(**config)
    return GitHubResource(token=dg.EnvVar(TOKEN_ENV_VAR), **config)
