"""A deterministic synthetic GitHub of AI-agent repositories.

The offline default of the pipeline needs a GitHub whose *shape* matches the
real one, because the selection methodology is the dataset: power-law stars,
a few popular example repositories with dozens of forks, copy-paste clones
that GitHub does not know are copies, stale repositories below the recency
floors, non-Python look-alikes, repositories deleted after indexing, one
oversized repository, broken files and multi-framework projects, plus lightly
edited copy-paste clones and copies that drift as real ones do (evolving sources
with older snapshots, copies that added modules, and template-started projects
that are not copies): the ground truth of the near-duplicate detection
(:func:`code_families`, following README's "What counts as one project").

Everything is derived from ``(seed, size)`` with :class:`random.Random`, so two
processes that build the same universe agree byte for byte. Code is not
stored here: :mod:`stratum_sandbox.codegen` renders it on demand from
``Repo.code_seed`` so that a 60,000-repository universe stays metadata-only.

The edited clones came after the rest, and are drawn from a random stream of
their own after everything else: every other repository is the same, byte for
byte, as in a universe built before they existed (tested against a digest); the
drifted copies came after them, from a stream of their own again.
"""

from __future__ import annotations

import base64
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import cast

from stratum_assets.domain import frameworks as framework_table

# The frameworks of the offline GitHub, from the framework table (its rows with an offline weight), in its order.
_OFFLINE = framework_table.offline()
FRAMEWORKS = tuple(f.label for f in _OFFLINE)

# First public release of each framework: no repository uses one before it existed.
# (Every framework row with an offline weight carries its release date: stratum_assets/domain/frameworks.py.)
_FRAMEWORK_BIRTH = {f.label: datetime.combine(cast(date, f.released), time(), tzinfo=UTC) for f in _OFFLINE}

# How often an original (non-fork, non-clone) repository is built on each framework.
_FRAMEWORK_WEIGHTS = {f.label: f.offline_weight for f in _OFFLINE}

# Keywords people put in names, descriptions and topics for each framework.
_FRAMEWORK_WORDS = {f.label: f.offline_words for f in _OFFLINE}

_DOMAINS = (
    "travel",
    "research",
    "support",
    "sales",
    "marketing",
    "finance",
    "legal",
    "code-review",
    "recruiting",
    "trading",
    "medical",
    "news",
    "email",
    "sql",
    "devops",
    "security",
    "tutor",
    "real-estate",
    "ecommerce",
    "content",
)
_KINDS = ("agent", "agents", "assistant", "crew", "bot", "copilot", "planner", "workflow")
_OWNER_WORDS = (
    "nova",
    "quant",
    "acme",
    "blue",
    "deep",
    "open",
    "lab",
    "hive",
    "bright",
    "iron",
    "pixel",
    "north",
    "swift",
    "delta",
    "echo",
    "sage",
    "atlas",
    "orbit",
    "maple",
    "zen",
)
_PEOPLE = (
    "alice",
    "bob",
    "chen",
    "diego",
    "emma",
    "farid",
    "gita",
    "hiro",
    "ines",
    "jon",
    "kofi",
    "lena",
    "mateo",
    "nadia",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "yuki",
)
_LICENSES = (("MIT", 45), ("Apache-2.0", 20), (None, 25), ("GPL-3.0", 5), ("BSD-3-Clause", 5))
_LICENSE_NAMES = {
    "MIT": ("mit", "MIT License"),
    "Apache-2.0": ("apache-2.0", "Apache License 2.0"),
    "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0"),
    "BSD-3-Clause": ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License'),
}

SIGNALS = ("dockerfile", "ci", "tests", "lockfile", "env_example")

# Copies as real ones drift (README, "What counts as one project"), on top of the edited clones: an evolving
# source and its older snapshots, copies that added modules (all in their source's family), and templates with
# the projects started from them (each its own project: negatives).
DRIFT_ARCHETYPES = ("evolving", "snapshot", "grown_clone", "template", "template_project")

# Light edits of a copy-paste clone, rendered by codegen. Each edited clone gets one that changes the
# code tokens and maybe one that only a normalising comparison ignores.
CODE_EDITS = ("rename", "add_file", "drop_file")
COSMETIC_EDITS = ("docstring", "comment", "prompt")

_EPOCH_START = datetime(2022, 11, 1, tzinfo=UTC)
# "Now" of the synthetic universe: fixed so that generated dates never drift.
UNIVERSE_NOW = datetime(2026, 11, 1, tzinfo=UTC)
# Stale repositories stop before the most permissive recency floor (pushed>2024-06-01).
_STALE_BEFORE = datetime(2024, 5, 1, tzinfo=UTC)


class SizeProfile(StrEnum):
    """How many files a repository has beyond its agent code: ``compact`` (a handful, for tests) or ``real`` (the
    real corpus's file counts and Python share, for rehearsals; :mod:`stratum_sandbox.bulk`). Member names equal
    their values, as in ``stratum_assets.domain.choices``: Dagster's enum config takes a member's name."""

    compact = "compact"
    real = "real"


@dataclass(frozen=True)
class Repo:
    """One repository of the synthetic GitHub, as much as its metadata says."""

    id: int
    owner: str
    name: str
    description: str | None
    topics: tuple[str, ...]
    stars: int
    created_at: datetime
    pushed_at: datetime
    license_spdx: str | None
    archetype: str
    frameworks: tuple[str, ...]
    code_seed: int
    signals: frozenset[str] = frozenset()
    has_readme: bool = True
    parent: str | None = None
    deleted: bool = False
    slow: bool = False
    quirks: frozenset[str] = frozenset()
    forks_count: int = 0
    # A lightly edited clone renders the code of ``source_seed`` (its source's ``code_seed``), then ``edits``.
    source_seed: int | None = None
    edits: tuple[str, ...] = ()
    size_profile: SizeProfile = SizeProfile.compact
    # Drift (rendered by codegen): how many steps of its source's history the code holds (an evolving source:
    # all of them; an older snapshot: fewer; None: a source without history), how many modules of its own a
    # copy added, and the ``code_seed`` of the template whose boilerplate a template-started project carries.
    version: int | None = None
    own_modules: int = 0
    template: int | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def is_fork(self) -> bool:
        return self.parent is not None

    @property
    def code_origin(self) -> int:
        """The seed the code is rendered from: shared by a source, its forks and all its clones."""
        return self.code_seed if self.source_seed is None else self.source_seed

    @property
    def node_id(self) -> str:
        """GitHub's legacy global id format: base64 of ``010:Repository<id>``."""
        return base64.b64encode(f"010:Repository{self.id}".encode()).decode()

    @property
    def primary_language(self) -> str:
        return "TypeScript" if self.archetype == "non_python" else "Python"

    @property
    def license_info(self) -> dict | None:
        if self.license_spdx is None:
            return None
        key, name = _LICENSE_NAMES[self.license_spdx]
        return {"key": key, "name": name, "spdx_id": self.license_spdx}

    @property
    def search_text(self) -> str:
        """What GitHub's default search looks at: name, description and topics."""
        return " ".join([self.name, self.description or "", *self.topics])


def repo_id_from_node_id(node_id: str) -> int | None:
    """Inverse of :attr:`Repo.node_id`; ``None`` for anything that is not one."""
    try:
        text = base64.b64decode(node_id, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix = "010:Repository"
    if not text.startswith(prefix) or not text[len(prefix) :].isdigit():
        return None
    return int(text[len(prefix) :])


@dataclass
class Universe:
    """All repositories of one synthetic GitHub, indexed the ways the emulator needs."""

    seed: int
    size: int
    repos: list[Repo] = field(default_factory=list)
    size_profile: SizeProfile = SizeProfile.compact

    def identity(self) -> dict:
        """What tells this universe from any other: a data directory built from it records this."""
        return {"seed": self.seed, "size": self.size, "size_profile": self.size_profile.value}

    @cached_property
    def by_full_name(self) -> dict[str, Repo]:
        return {r.full_name.lower(): r for r in self.repos}

    @cached_property
    def by_id(self) -> dict[int, Repo]:
        return {r.id: r for r in self.repos}

    def get(self, full_name: str) -> Repo | None:
        return self.by_full_name.get(full_name.lower())

    def forks_of(self, full_name: str) -> list[Repo]:
        return [r for r in self.repos if r.parent and r.parent.lower() == full_name.lower()]


def build_universe(
    seed: int = 7,
    size: int = 400,
    edited_clones: bool = True,
    size_profile: SizeProfile | str = SizeProfile.compact,
    drift: bool = True,
) -> Universe:
    """Generate ``size`` repositories (originals, their forks and copy-paste clones), then the edited clones,
    then the drifted copies.

    The lightly edited clones (2% of ``size``, at least 6) come on top of ``size``, from their own
    random stream, so the ``size`` others are those of a universe built without them; the drifted
    copies (:data:`DRIFT_ARCHETYPES`, ~4.5% of ``size``) come after them, from a stream of their own
    too. ``size_profile`` only changes how many files each repository renders (``"real"``: as many
    as real agent repositories have); the metadata, and so discovery and the manifest, are the same.
    """
    try:
        profile = SizeProfile(size_profile)
    except ValueError:
        raise ValueError(f"size_profile must be one of {', '.join(SizeProfile)}, got {size_profile!r}") from None
    universe = _Generator(seed, size).build(edited_clones, drift)
    if profile is not SizeProfile.compact:
        universe.repos = [replace(r, size_profile=profile) for r in universe.repos]
        universe.size_profile = profile
    return universe


def code_families(universe: Universe) -> list[tuple[str, ...]]:
    """Full names that are one project (README, "What counts as one project"): a source with its forks,
    clones, edited clones, older snapshots and copies that grew.

    A template-started project renders its own code beside the template's boilerplate, so it is its
    own ``code_origin``: in no family. The ground truth of the near-duplicate detection; sorted,
    families of two or more only.
    """
    by_origin: dict[int, list[str]] = defaultdict(list)
    for repo in universe.repos:
        by_origin[repo.code_origin].append(repo.full_name)
    return sorted(tuple(sorted(names)) for names in by_origin.values() if len(names) > 1)


class _Generator:
    """Holds the random stream and the names taken while a universe is built."""

    def __init__(self, seed: int, size: int):
        if size < 50:
            raise ValueError(f"a universe needs at least 50 repositories to show every archetype, got {size}")
        self.seed = seed
        self.size = size
        self.rng = random.Random(f"stratum-universe:{seed}:{size}")
        self.taken: set[str] = set()
        self.next_id = 700_000_000 + seed * 10_000

    def build(self, edited_clones: bool = True, drift: bool = True) -> Universe:
        n_forks = max(12, self.size * 13 // 100)
        n_clones = max(6, self.size * 3 // 100)
        n_originals = self.size - n_forks - n_clones
        originals = [self._original(i) for i in range(n_originals)]
        popular = sorted(originals, key=lambda r: (-r.stars, r.id))[:3]
        popular = [self._make_popular(r) for r in popular]
        originals = [next((p for p in popular if p.id == r.id), r) for r in originals]
        forks = self._forks(popular, n_forks)
        clones = self._clones(popular, n_clones)
        repos = self._with_fork_counts(originals + forks + clones)
        if edited_clones:
            repos += self._edited_clones(popular, originals, max(6, self.size * 2 // 100))
        if drift:
            repos += self._drifted(popular, originals)
        repos.sort(key=lambda r: r.id)
        return Universe(seed=self.seed, size=self.size, repos=repos)

    # -- names, dates, numbers -------------------------------------------------
    def _id(self) -> int:
        self.next_id += self.rng.randint(1, 97)
        return self.next_id

    def _owner(self) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return f"{rng.choice(_PEOPLE)}{rng.choice(['', '-dev', '-ai', str(rng.randint(1, 999))])}"
        return f"{rng.choice(_OWNER_WORDS)}-{rng.choice(_OWNER_WORDS)}{rng.choice(['', '-labs', '-ai', '-hq'])}"

    def _unique(self, owner: str, name: str) -> tuple[str, str]:
        base, n = name, 1
        while f"{owner}/{name}".lower() in self.taken:
            n += 1
            name = f"{base}-{n}"
        self.taken.add(f"{owner}/{name}".lower())
        return owner, name

    def _stars(self) -> int:
        # Pareto tail: most repositories have a handful of stars, a few have thousands.
        return min(60_000, int((self.rng.paretovariate(1.15) - 1) * 6))

    def _created(self, frameworks: tuple[str, ...], stale: bool = False) -> datetime:
        earliest = max([_EPOCH_START, *(_FRAMEWORK_BIRTH[f] for f in frameworks)])
        latest = UNIVERSE_NOW - timedelta(days=20)
        if stale:  # abandoned early: created before the oldest recency floor where the framework allows it
            latest = max(earliest + timedelta(days=60), _STALE_BEFORE)
        span = (latest - earliest).total_seconds()
        # Skewed towards recent dates: agent repositories grow every month.
        offset = span * (self.rng.random() ** (1.0 if stale else 0.6))
        return (earliest + timedelta(seconds=int(offset))).replace(microsecond=0)

    def _pushed(self, created: datetime, stale: bool) -> datetime:
        lo = created + timedelta(hours=1)
        if stale:  # last push within a few months of creation
            hi = min(UNIVERSE_NOW, created + timedelta(days=self.rng.randint(2, 120)))
        else:  # active: pushed within the last 400 days
            lo, hi = max(lo, UNIVERSE_NOW - timedelta(days=400)), UNIVERSE_NOW
        span = max(0.0, (hi - lo).total_seconds())
        return (lo + timedelta(seconds=int(span * self.rng.random() ** 0.4))).replace(microsecond=0)

    def _license(self) -> str | None:
        return self.rng.choices([k for k, _ in _LICENSES], [w for _, w in _LICENSES])[0]

    def _signals(self, stars: int) -> frozenset[str]:
        boost = min(0.4, stars / 500)
        base = {"dockerfile": 0.22, "ci": 0.28, "tests": 0.3, "lockfile": 0.35, "env_example": 0.4}
        return frozenset(s for s, p in base.items() if self.rng.random() < p + boost)

    # -- archetypes ------------------------------------------------------------
    def _archetype(self) -> tuple[str, tuple[str, ...]]:
        rng = self.rng
        roll = rng.random()
        fws, weights = zip(*_FRAMEWORK_WEIGHTS.items(), strict=True)
        main = rng.choices(fws, weights)[0]
        if roll < 0.08:
            others = [f for f in FRAMEWORKS if f != main]
            extra = rng.sample(others, rng.choice([1, 1, 2]))
            if main == "LangGraph" or "LangGraph" in extra:
                extra = list(dict.fromkeys([*extra, "LangChain"]))
            return "multi", tuple(sorted({main, *extra}, key=FRAMEWORKS.index))
        if roll < 0.14:
            return "no_agents", (main,)
        if roll < 0.18:
            return "non_python", (main,)
        fw = (main, "LangChain") if main == "LangGraph" and rng.random() < 0.5 else (main,)
        return "single", tuple(sorted(set(fw), key=FRAMEWORKS.index))

    def _text(self, frameworks: tuple[str, ...], archetype: str, domain: str, kind: str) -> tuple[str, tuple[str, ...]]:
        rng = self.rng
        words = [rng.choice(_FRAMEWORK_WORDS[f]) for f in frameworks]
        label = " + ".join(f if rng.random() < 0.5 else w for f, w in zip(frameworks, words, strict=True))
        pretty = domain.replace("-", " ")
        if archetype == "no_agents":
            desc = rng.choice(
                [
                    f"RAG playground for {pretty} documents with {label}",
                    f"Notes and notebooks exploring {label} retrieval for {pretty}",
                ]
            )
        elif archetype == "non_python":
            desc = rng.choice([f"TypeScript {pretty} agent with {label}.js", f"{label} JS agents for {pretty} (Node)"])
        else:
            noun = rng.choice(["agent", "agents", "multi-agent system", "AI agent", "assistant"])
            desc = rng.choice(
                [
                    f"{pretty.title()} {noun} built with {label}",
                    f"An {label} {noun} that automates {pretty} tasks",
                    f"{label} {kind} for {pretty}: tools, memory and LLM orchestration",
                ]
            )
        topics = {w.replace(" ", "-") for w in words}
        topics |= set(
            rng.sample(["ai-agents", "llm", "python", "openai", "genai", "agents", "rag", domain], rng.randint(0, 4))
        )
        if archetype == "non_python":
            topics.discard("python")
            topics.add("typescript")
        return desc, tuple(sorted(topics))

    def _original(self, index: int) -> Repo:
        rng = self.rng
        archetype, frameworks = self._archetype()
        domain, kind = rng.choice(_DOMAINS), rng.choice(_KINDS)
        fw_word = rng.choice(_FRAMEWORK_WORDS[frameworks[0]])
        name = rng.choice([f"{domain}-{kind}", f"{fw_word}-{domain}-{kind}", f"{domain}_{kind}", f"{kind}-{domain}"])
        owner, name = self._unique(self._owner(), name)
        desc, topics = self._text(frameworks, archetype, domain, kind)
        stale = rng.random() < 0.12
        created = self._created(frameworks, stale)
        stars = self._stars()
        quirks = set()
        if rng.random() < 0.06:
            quirks.add("syntax_error")
        if rng.random() < 0.03:
            quirks.add("non_utf8")
        repo = Repo(
            id=self._id(),
            owner=owner,
            name=name,
            description=desc if rng.random() > 0.04 else None,
            topics=topics if rng.random() > 0.3 else (),
            stars=stars,
            created_at=created,
            pushed_at=self._pushed(created, stale),
            license_spdx=self._license(),
            archetype=archetype,
            frameworks=frameworks,
            code_seed=rng.getrandbits(48),
            signals=self._signals(stars),
            has_readme=rng.random() > 0.08,
            quirks=frozenset(quirks),
        )
        return self._special_slot(repo, index)

    def _special_slot(self, repo: Repo, index: int) -> Repo:
        """Give a few fixed slots the rare archetypes every universe must contain.

        Fixed slot positions put each rare case where a test can count on it,
        whatever the size: 1% deleted, one oversized and one hostile repository
        per 5,000.
        """
        if index % 5000 == 7:  # oversized and slow to clone
            return replace(repo, slow=True, archetype="single", quirks=repo.quirks | {"oversized"})
        if index % 5000 == 11:  # a symlink that points outside the checkout
            return replace(repo, archetype="single", quirks=repo.quirks | {"symlink_escape"})
        if index % 100 == 3:  # deleted after GitHub indexed it: search finds it, clone 404s
            return replace(repo, deleted=True)
        return repo

    def _make_popular(self, repo: Repo) -> Repo:
        """The most-starred originals become the well-known example repositories."""
        return replace(
            repo,
            stars=max(repo.stars, 2_000 + repo.stars),
            archetype="single",
            has_readme=True,
            quirks=frozenset(),
            deleted=False,
            slow=False,
            signals=frozenset(SIGNALS),
            description=(repo.description or "Agent examples"),
            pushed_at=UNIVERSE_NOW - timedelta(days=3),
        )

    def _forks(self, popular: list[Repo], n_forks: int) -> list[Repo]:
        # One example repository gets most of the forks (30+ in the default universe).
        shares = [0.65, 0.25, 0.10]
        forks: list[Repo] = []
        for parent, share in zip(popular, shares, strict=False):  # fewer than three originals: fewer forked
            for _ in range(max(1, round(n_forks * share))):
                if len(forks) >= n_forks:
                    break
                owner, name = self._unique(self._owner(), parent.name)
                created = parent.created_at + timedelta(seconds=self.rng.randint(3600, 400 * 86400))
                created = min(created, UNIVERSE_NOW - timedelta(days=2))
                stale = self.rng.random() < 0.5
                forks.append(
                    replace(
                        parent,
                        id=self._id(),
                        owner=owner,
                        name=name,
                        stars=self.rng.choice([0, 0, 0, 1, 2, 5]),
                        created_at=created,
                        pushed_at=max(created, self._pushed(created, stale)),
                        parent=parent.full_name,
                        forks_count=0,
                        topics=(),
                    )
                )
        return forks

    def _clones(self, popular: list[Repo], n_clones: int) -> list[Repo]:
        """Copy-paste clones: same code (same ``code_seed``), new name, not a fork."""
        clones = []
        for i in range(n_clones):
            source = popular[i % len(popular)]
            domain = self.rng.choice(_DOMAINS)
            owner, name = self._unique(self._owner(), f"my-{domain}-{self.rng.choice(_KINDS)}")
            created = source.created_at + timedelta(days=self.rng.randint(1, 300))
            created = min(created, UNIVERSE_NOW - timedelta(days=2))
            desc, topics = self._text(source.frameworks, "single", domain, "agent")
            clones.append(
                replace(
                    source,
                    id=self._id(),
                    owner=owner,
                    name=name,
                    description=desc,
                    topics=topics,
                    stars=self._stars() // 4,
                    created_at=created,
                    pushed_at=self._pushed(created, False),
                    archetype="clone",
                    forks_count=0,
                    license_spdx=self._license(),
                )
            )
        return clones

    def _edited_clones(self, popular: list[Repo], originals: list[Repo], n: int) -> list[Repo]:
        """Copy-paste clones with light edits: half of popular examples, half of any Python agent project.

        Drawn last, from a stream of their own (the helpers below read ``self.rng``): nothing drawn
        before changes, and the ids continue after the last one.
        """
        self.rng = random.Random(f"stratum-universe-edited-clones:{self.seed}:{self.size}")
        candidates = [
            r
            for r in originals
            if r.archetype in ("single", "multi") and not r.deleted and not r.quirks & {"oversized", "symlink_escape"}
        ]
        clones = []
        for i in range(n):
            source = popular[i % len(popular)] if i % 2 == 0 else self.rng.choice(candidates)
            clones.append(self._edited_clone(source))
        return self._with_fork_counts(clones)

    def _edited_clone(self, source: Repo) -> Repo:
        rng = self.rng
        domain, kind = rng.choice(_DOMAINS), rng.choice(_KINDS)
        owner, name = self._unique(self._owner(), rng.choice([f"{domain}-{kind}", f"our-{domain}-{kind}"]))
        created = min(source.created_at + timedelta(days=rng.randint(1, 300)), UNIVERSE_NOW - timedelta(days=2))
        desc, topics = self._text(source.frameworks, "single", domain, kind)
        edits = (rng.choice(CODE_EDITS),) + ((rng.choice(COSMETIC_EDITS),) if rng.random() < 0.6 else ())
        return replace(
            source,
            id=self._id(),
            owner=owner,
            name=name,
            description=desc,
            topics=topics,
            stars=self._stars() // 4,
            created_at=created,
            pushed_at=self._pushed(created, False),
            archetype="edited_clone",
            forks_count=0,
            license_spdx=self._license(),
            slow=False,
            quirks=source.quirks - {"oversized", "symlink_escape"},
            code_seed=rng.getrandbits(48),
            source_seed=source.code_seed,
            edits=edits,
        )

    # -- drift: copies as real ones drift (issue 29) ------------------------------------------
    def _drifted(self, popular: list[Repo], originals: list[Repo]) -> list[Repo]:
        """Evolving sources with older snapshots, copies that grew, and template-started projects.

        Per 400 repositories: 2 evolving sources with 1-3 snapshots each, 4 copies that added modules
        of their own, one template with 6-10 projects started from it. Drawn last, from a stream of
        their own: nothing drawn before changes, and the ids continue after the last one.
        """
        self.rng = random.Random(f"stratum-universe-drift:{self.seed}:{self.size}")
        candidates = [
            r
            for r in originals
            if r.archetype in ("single", "multi") and not r.deleted and not r.quirks & {"oversized", "symlink_escape"}
        ]
        repos, evolving = [], []
        for _ in range(max(2, self.size // 200)):
            source = self._evolving_source()
            evolving.append(source)
            repos += [source, *self._snapshots(source)]
        for i in range(max(4, self.size // 100)):
            source = popular[i // 4 % len(popular)] if i % 4 == 0 else self.rng.choice(candidates + evolving)
            repos.append(self._grown_copy(source))
        for _ in range(max(1, self.size // 400)):
            template = self._template()
            repos += [template, *(self._template_project(template) for _ in range(self.rng.randint(6, 10)))]
        return self._with_fork_counts(repos)

    def _agent_project(self) -> Repo:
        """A fresh original with agent code, active, without the rare slots' quirks."""
        repo = self._original(0)
        while repo.archetype not in ("single", "multi"):
            repo = self._original(0)
        return replace(repo, deleted=False, slow=False, quirks=frozenset())

    def _evolving_source(self) -> Repo:
        """A source that kept growing after people copied it: ``version`` steps of history, each a module added
        (and the previous step's module grown by a unit), all rendered in its latest state."""
        repo = self._agent_project()
        return replace(
            repo,
            archetype="evolving",
            version=self.rng.randint(2, 4),
            stars=max(repo.stars, 40),
            pushed_at=UNIVERSE_NOW - timedelta(days=self.rng.randint(1, 30)),
            has_readme=True,
        )

    def _snapshots(self, source: Repo) -> list[Repo]:
        """1-3 copies of ``source`` taken at earlier steps of its history, older steps at earlier dates."""
        steps: int = source.version  # type: ignore[assignment]  # an evolving source has one (_evolving_source)
        versions = sorted(self.rng.sample(range(steps), min(steps, self.rng.randint(1, 3))))
        span = (UNIVERSE_NOW - timedelta(days=5) - source.created_at).total_seconds()
        copies = []
        for version in versions:
            created = source.created_at + timedelta(seconds=int(span * (version + self.rng.random()) / steps))
            copies.append(self._copy_of(source, "snapshot", created, version=version))
        return copies

    def _grown_copy(self, source: Repo) -> Repo:
        """A copy that added 1-3 modules of its own: the source is contained in it, barely similar to it."""
        created = min(source.created_at + timedelta(days=self.rng.randint(1, 300)), UNIVERSE_NOW - timedelta(days=2))
        return self._copy_of(source, "grown_clone", created, version=source.version, own_modules=self.rng.randint(1, 3))

    def _copy_of(self, source: Repo, archetype: str, created: datetime, **drift) -> Repo:
        rng = self.rng
        domain, kind = rng.choice(_DOMAINS), rng.choice(_KINDS)
        owner, name = self._unique(self._owner(), rng.choice([source.name, f"{domain}-{kind}", f"my-{domain}-{kind}"]))
        desc, topics = self._text(source.frameworks, "single", domain, kind)
        return replace(
            source,
            id=self._id(),
            owner=owner,
            name=name,
            description=desc,
            topics=topics,
            stars=self._stars() // 4,
            created_at=created,
            pushed_at=max(created, self._pushed(created, rng.random() < 0.3)),
            archetype=archetype,
            forks_count=0,
            license_spdx=self._license(),
            parent=None,
            code_seed=rng.getrandbits(48),
            source_seed=source.code_origin,
            edits=(),
            **drift,
        )

    def _template(self) -> Repo:
        """A project template: boilerplate only (configuration, state, a one-node graph), no project of its own."""
        repo = self._agent_project()
        framework = repo.frameworks[0]
        owner, name = self._unique(self._owner(), f"new-{framework.lower()}-project")
        return replace(
            repo,
            owner=owner,
            name=name,
            archetype="template",
            frameworks=(framework,),
            description=f"A template for new {framework} projects",
            stars=max(repo.stars, 100),
            template=repo.code_seed,
        )

    def _template_project(self, template: Repo) -> Repo:
        """A project started from ``template``: its boilerplate kept, and the project's own agent code beside it."""
        repo = self._agent_project()
        created = max(repo.created_at, template.created_at + timedelta(days=1))
        return replace(
            repo,
            archetype="template_project",
            template=template.template,
            created_at=created,
            pushed_at=max(repo.pushed_at, created + timedelta(hours=1)),
        )

    def _with_fork_counts(self, repos: list[Repo]) -> list[Repo]:
        counts: dict[str, int] = {}
        for r in repos:
            if r.parent:
                counts[r.parent.lower()] = counts.get(r.parent.lower(), 0) + 1
        out = []
        for r in repos:
            extra = self.rng.randint(0, max(0, r.stars // 20)) if not r.parent else 0
            out.append(replace(r, forks_count=counts.get(r.full_name.lower(), 0) + extra))
        return out
