"""One world per data directory: the GitHub a data directory was built from, and the profile, recorded once.

A manifest version lists repositories of one GitHub: scanning it against another clones names
that do not exist there (``clone_404``) or, worse, a repository of the same name with other code;
candidates, pings and the report of two worlds must never mix. So the data directory records its
*world* in ``world.json`` (:attr:`Layout.world`) the first time a build or a discovery step runs:
the GitHub API (``https://api.github.com``, an Enterprise host, …) or the offline universe (seed,
size, size profile), and the profile (``sample`` or ``full``). Every later build, discovery step
and scan partition compares its own world with it and refuses another with one message that says
what to do (:class:`WorldMismatch`).

Moving on to another world on purpose (the offline default, then real GitHub) is explicit:
:func:`start_new_world` (``stratum-assets run --new-world``) records the new world with the first
manifest version that belongs to it (the next one: the frozen versions stay as they were) and moves
the previous world's outputs that are not per version (candidates, split, label audit, exports,
report, run log) to ``worlds/w<N>/``, so the new world's split and audit start from nothing, as in
a fresh data directory. Scan partitions refuse a version frozen from an earlier world, and
``repo_manifest`` freezes the new world's first version from its candidates.

A data directory built before worlds were recorded has no ``world.json``: its next build records
its own world as the directory's, its versions included.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from .files import move_aside, write_text_atomic
from .layout import Layout

OFFLINE = "offline"


@dataclass(frozen=True)
class World:
    """A GitHub and a profile: what a data directory is built from."""

    github: str  # the API's base URL, or OFFLINE
    profile: str
    universe: dict | None = None  # the offline GitHub's seed, size and size profile; None for a real API

    def describe(self) -> str:
        if self.github == OFFLINE:
            u = self.universe or {}
            where = (
                f"the offline GitHub (seed {u.get('seed')}, {u.get('size')} repositories, "
                f"{u.get('size_profile')} size profile)"
            )
        else:
            where = f"the GitHub API at {self.github}"
        return f"{where}, profile {self.profile}"

    @classmethod
    def from_record(cls, record: dict) -> World:
        return cls(github=record["github"], profile=record["profile"], universe=record.get("universe"))


UNRECORDED = World(github="unrecorded", profile="unrecorded")  # the world of a directory built before worlds were


class WorldMismatch(RuntimeError):
    """A build of another world than the data directory's (nothing was written)."""


@dataclass(frozen=True)
class Recorded:
    """The data directory's world, and the first manifest version that belongs to it."""

    world: World
    first_version: int
    index: int  # how many worlds the directory has had before this one


def recorded(layout: Layout) -> Recorded | None:
    """The data directory's current world; None when none is recorded yet."""
    history = _history(layout)
    return _current(history) if history else None


def _current(history: list[dict]) -> Recorded:
    last = history[-1]
    return Recorded(World.from_record(last["world"]), int(last["first_version"]), len(history) - 1)


def claim(layout: Layout, world: World, active_version: int | None) -> Recorded:
    """The data directory's world, recording ``world`` as it if none is; :class:`WorldMismatch` if another is."""
    current = recorded(layout)
    if current is None:
        # A directory without a record: new, or built before worlds were recorded (its versions are taken as
        # this world's).
        return _write(layout, [_entry(world, 1)])
    if current.world != world:
        raise WorldMismatch(mismatch_message(layout, current, world, active_version))
    return current


def start_new_world(layout: Layout, world: World, active_version: int | None) -> Recorded:
    """Make ``world`` the data directory's from the next manifest version on (a no-op when it already is).

    The previous world's outputs that are not per version move to ``worlds/w<N>/``; its frozen manifest
    versions and their scans stay where they are, never scanned again.
    """
    current = recorded(layout)
    if current is not None and current.world == world:
        return current
    # A directory built before worlds were recorded: its world, unknown, is the first of the history.
    history = _history(layout) or ([_entry(UNRECORDED, 1)] if active_version is not None else [])
    if history:  # the current world's outputs go to worlds/w<its index>; after a crash here, the rest follow
        move_aside(layout.world_outputs, layout.root, layout.world_archive(len(history) - 1))
    return _write(layout, [*history, _entry(world, (active_version or 0) + 1)])


def check_version(layout: Layout, world: World, version: int) -> None:
    """Refuse to scan manifest ``version`` against ``world`` unless the version was frozen from it."""
    current = recorded(layout)
    if current is None:
        return  # nothing recorded (a directory laid down by hand, a test): nothing to compare with
    if current.world != world:
        raise WorldMismatch(mismatch_message(layout, current, world, version))
    if version < current.first_version:
        raise WorldMismatch(
            f"manifest v{version} was frozen from an earlier world of {layout.root}; "
            f"{current.world.describe()} starts at v{current.first_version}: materialize "
            "repo_manifest (or `stratum-assets run`) to freeze it, then scan its partitions"
        )


def mismatch_message(layout: Layout, current: Recorded, world: World, active_version: int | None) -> str:
    frozen = f" (manifest v{active_version} is frozen from it)" if active_version else ""
    return (
        f"{layout.root} was built from {current.world.describe()}{frozen}; this build is against "
        f"{world.describe()}. One data directory holds one world: build the other one in another data "
        "directory (another project home, or the data resource's root), or start a new manifest "
        "version for it here with `stratum-assets run --new-world` (README: One world per data directory)"
    )


def _history(layout: Layout) -> list[dict]:
    try:
        return list(json.loads(layout.world.read_text())["worlds"])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise WorldMismatch(
            f"{layout.world} is unreadable ({type(err).__name__}): it names the world this data "
            "directory was built from; restore it, or build in another data directory"
        ) from None


def _entry(world: World, first_version: int) -> dict:
    return {
        "world": asdict(world),
        "first_version": first_version,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write(layout: Layout, history: list[dict]) -> Recorded:
    """Record ``history`` (atomically) and return its current world, as :func:`recorded` will read it."""
    write_text_atomic(json.dumps({"worlds": history}, indent=2, sort_keys=True) + "\n", layout.world)
    return _current(history)
