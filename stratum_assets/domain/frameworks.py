"""The agent frameworks: one row per framework, read by discovery, the scanner, the audit and the offline GitHub.

Adding a framework is one new row of :data:`FRAMEWORKS`:

* discovery finds its ``keywords`` in a repository's name, description and topics
  (``frameworks_named``, the multi-framework stratum's filter);
* the scanner detects it from ``imports`` (and its version from ``distributions``), finds its
  agents and groups with its extractor (scanner/model.py, registered under its ``label``) and
  knows its agent constructors under ``agent_roots`` — the ping's ``detected_*`` fields;
* the ping's ``frameworks`` and ``agent_count`` follow the reference ``stratum`` CLI, which labels
  it only by its ``reference_imports`` and counts only calls named in ``reference_constructors``
  (scanner/reference_counting.py): a framework that CLI does not know has neither;
* the audit sums the targets of its ``strata`` (strata.yaml) into its target, and gate G2
  requires it when it has a ``gate_rank``;
* the offline GitHub builds repositories on it when ``offline_weight`` > 0 (and then needs its
  ``released`` date, ``offline_version`` and own distribution, refused without them, and a
  renderer in ``stratum_sandbox/codegen.py``: idiomatic code is code, not a table).

The row order is the order the offline universe draws frameworks in (and lists them in a
multi-framework repository): a new framework goes last, or the universe changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import TypeVar

OPENAI_AGENTS_SDK = "OpenAI Agents SDK"  # detected only when the imported names are the SDK's (scanner/model.py)


@dataclass(frozen=True)
class Framework:
    label: str  # its name in pings, the audit and the report ("LangChain")
    # Top-level import packages: "x_*" is every package starting with "x_"; a dotted entry ("google.adk") is that
    # module and its submodules.
    imports: tuple[str, ...]
    # PyPI distributions (PEP 503 names) with their rank: 0 is the framework's own, higher are its parts.
    distributions: tuple[tuple[str, int], ...] = ()
    distribution_family: str | None = None  # "langchain-": integration packages, used when nothing better is there
    agent_roots: tuple[str, ...] = ()  # import roots whose agent constructors count (default: roots of `imports`)
    keywords: tuple[str, ...] = ()  # whole words naming it in a repository's name, description or topics
    strata: tuple[str, ...] = ()  # the strata of strata.yaml that search for it: their targets are its target
    gate_rank: int | None = None  # required by gate G2 (repos per framework); G2 lists them by this rank
    released: date | None = None  # first public release: no offline repository uses it before
    offline_weight: int = 0  # how often an original offline repository is built on it (0: never)
    offline_words: tuple[str, ...] = ()  # the words offline repositories put in names, descriptions, topics
    offline_version: str | None = None  # version pattern the offline repositories pin its own distribution at
    # How the reference `stratum` CLI sees it (scanner/reference_counting.py): a top-level import record starting
    # with one of these labels the repository with it; a call written with one of these names is its agent.
    reference_imports: tuple[str, ...] = ()
    reference_constructors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """A row the offline GitHub builds on says when it was released and which version its repositories pin:
        a row without them would fail the emulator's import far from the table, not here."""
        if self.offline_weight > 0:
            missing = [
                name
                for name, value in (
                    ("released", self.released),
                    ("offline_version", self.offline_version),
                    ("its own distribution (rank 0)", self.own_distribution),
                )
                if value is None
            ]
            if missing:
                raise ValueError(f"framework {self.label!r} has offline_weight > 0 but no {', '.join(missing)}")

    @property
    def own_distribution(self) -> str | None:
        return next((name for name, rank in self.distributions if rank == 0), None)

    @property
    def constructor_roots(self) -> tuple[str, ...]:
        return self.agent_roots or tuple(dict.fromkeys(p.split(".")[0] for p in self.imports if not p.endswith("*")))


FRAMEWORKS: tuple[Framework, ...] = (
    Framework(
        "LangChain",
        ("langchain", "langchain_*"),
        (("langchain", 0), ("langchain-core", 1), ("langchain-community", 2)),
        "langchain-",
        reference_imports=("langchain",),
        reference_constructors=("AgentExecutor",),
        agent_roots=("langchain",),
        keywords=("langchain",),
        strata=("langchain_active", "langchain_mature"),
        gate_rank=1,
        released=date(2022, 11, 1),
        offline_weight=24,
        offline_words=("langchain",),
        offline_version="0.3.{}",
    ),
    Framework(
        "LangGraph",
        ("langgraph", "langgraph_*"),
        (("langgraph", 0),),
        reference_imports=("langgraph",),
        agent_roots=("langgraph",),
        keywords=("langgraph",),
        strata=("langgraph",),
        gate_rank=3,
        released=date(2024, 1, 20),
        offline_weight=15,
        offline_words=("langgraph", "langchain"),
        offline_version="0.2.{}",
    ),
    Framework(
        "CrewAI",
        ("crewai", "crewai_*"),
        (("crewai", 0),),
        reference_imports=("crewai", "crewai_tools"),
        reference_constructors=("Agent",),
        agent_roots=("crewai",),
        keywords=("crewai",),
        strata=("crewai",),
        gate_rank=2,
        released=date(2023, 11, 15),
        offline_weight=17,
        offline_words=("crewai",),
        offline_version="0.{}.0",
    ),
    Framework(
        "AutoGen",
        ("autogen", "autogen_*", "pyautogen", "ag2"),
        (("pyautogen", 0), ("autogen-agentchat", 0), ("ag2", 0), ("autogen", 1), ("autogen-core", 2)),
        reference_imports=("autogen",),
        reference_constructors=("AssistantAgent", "UserProxyAgent"),
        agent_roots=("autogen", "autogen_agentchat", "ag2"),
        keywords=("autogen", "ag2"),
        strata=("autogen",),
        gate_rank=4,
        released=date(2023, 9, 25),
        offline_weight=9,
        offline_words=("autogen",),
        offline_version="0.2.{}",
    ),
    Framework(
        "LlamaIndex",
        ("llama_index",),
        (("llama-index", 0), ("llama-index-core", 1)),
        "llama-index-",
        reference_imports=("llama_index",),
        agent_roots=("llama_index",),
        keywords=("llamaindex", "llama-index", "llama_index"),
        strata=("llamaindex",),
        gate_rank=5,
        released=date(2023, 2, 1),
        offline_weight=9,
        offline_words=("llamaindex", "llama-index"),
        offline_version="0.12.{}",
    ),
    Framework(
        "Agno",
        ("agno",),
        (("agno", 0),),
        reference_imports=("agno",),
        agent_roots=("agno",),
        keywords=("agno", "phidata"),
        strata=("agno_smolagents_other",),
        released=date(2025, 1, 20),
        offline_weight=5,
        offline_words=("agno",),
        offline_version="1.{}.0",
    ),
    Framework(
        "SmolAgents",
        ("smolagents",),
        (("smolagents", 0),),
        reference_imports=("smolagents",),
        agent_roots=("smolagents",),
        keywords=("smolagents",),
        released=date(2024, 12, 31),
        offline_weight=5,
        offline_words=("smolagents",),
        offline_version="1.{}.0",
    ),
    # Detected by the scanner; no stratum of their own.
    Framework(
        "PydanticAI",
        ("pydantic_ai",),
        (("pydantic-ai", 0), ("pydantic-ai-slim", 1)),
        agent_roots=("pydantic_ai",),
        reference_imports=("pydantic_ai",),
    ),
    Framework(
        "Semantic Kernel",
        ("semantic_kernel",),
        (("semantic-kernel", 0),),
        agent_roots=("semantic_kernel",),
        reference_imports=("semantic_kernel",),
    ),
    Framework("Phidata", ("phi", "phidata"), (("phidata", 0),), agent_roots=("phi",), reference_imports=("phidata",)),
    Framework("Google ADK", ("google.adk",), (("google-adk", 0),), agent_roots=("google",)),
    Framework(OPENAI_AGENTS_SDK, ("agents",), (("openai-agents", 0),), agent_roots=("agents",)),
)


# -- views of the table, for its readers --------------------------------------------------------------------
def labels() -> tuple[str, ...]:
    return tuple(f.label for f in FRAMEWORKS)


def gated() -> tuple[str, ...]:
    """The labels gate G2 requires, in its order (by rank; a tie, which the table has none of, by label)."""
    ranked = [(f.gate_rank, f.label) for f in FRAMEWORKS if f.gate_rank is not None]
    return tuple(label for _, label in sorted(ranked))


def strata_of() -> dict[str, tuple[str, ...]]:
    """Framework label → the strata that search for it (only frameworks that have some)."""
    return {f.label: f.strata for f in FRAMEWORKS if f.strata}


def framework_of_stratum() -> dict[str, str]:
    """Stratum name → the framework it searches for (strata of no single framework are absent)."""
    return {s: f.label for f in FRAMEWORKS for s in f.strata}


def offline() -> tuple[Framework, ...]:
    """The frameworks the offline universe builds repositories on, in its drawing order."""
    return tuple(f for f in FRAMEWORKS if f.offline_weight > 0)


T = TypeVar("T")


def derived(build: Callable[[tuple[Framework, ...]], T]) -> Callable[[], T]:
    """``build(FRAMEWORKS)``, computed once per table: an index a reader keeps follows the table it was built from.

    Readers that need a lookup structure (the scanner's import index, discovery's keyword patterns)
    wrap its builder with this, so a replaced table (a test's fake framework) is seen at once.
    """
    cache: list = [None, None]

    @wraps(build)
    def get() -> T:
        table = FRAMEWORKS
        if cache[0] is not table:
            cache[1], cache[0] = build(table), table
        return cache[1]

    return get


@derived
def reference_import_prefixes(table: tuple[Framework, ...]) -> tuple[tuple[str, str], ...]:
    """(import prefix, label) pairs by which the reference CLI labels a repository's frameworks."""
    return tuple((prefix, f.label) for f in table for prefix in f.reference_imports)


@derived
def reference_agent_constructors(table: tuple[Framework, ...]) -> dict[str, str]:
    """Callee name → label: the calls the reference CLI counts as agents whatever they were imported from."""
    return {name: f.label for f in table for name in f.reference_constructors}
