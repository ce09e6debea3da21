"""The files a real agent repository carries beyond its agent code (the ``"real"`` size profile).

Real agent repositories hold a few files of agent code among helper modules, tests, docs and
configuration: the real corpus (12 public agent repositories, measured below) has 12 to 182 files,
median 27, half of them Python, ~2.7 KB per Python file. The compact synthetic repositories have
about ten. A rehearsal of the 50k build must clone, check out, parse and fingerprint what reality
has, so a ``"real"``-profile repository renders extra files until its file count is a draw from a
log-normal fitted to the corpus, with the corpus's Python share and file sizes.

The extra code is plain, self-contained Python (data classes, arithmetic, string handling): no
framework, no network, shell or file writes, so it costs the scanner its parsing time without
changing what it finds. Everything is drawn from the repository's code origin, so forks and
copy-paste clones still share their source's files, and the same universe renders the same bytes.
"""

from __future__ import annotations

import math
import random
import statistics

# The real corpus (12 public agent repositories, counted 2026-11; fixtures/real_corpus_sizes.json in the tests):
# files and Python files per repository.
REAL_CORPUS_FILES = (65, 126, 182, 25, 40, 12, 29, 20, 24, 25, 24, 41)
REAL_CORPUS_PYTHON_FILES = (20, 68, 93, 12, 26, 4, 15, 14, 1, 11, 17, 30)
REAL_CORPUS_MEDIAN_PYTHON_BYTES = 2_700  # median over the corpus of (Python bytes / Python files)

_LOG_FILES = [math.log(n) for n in REAL_CORPUS_FILES]
FILES_MU = statistics.median(_LOG_FILES)  # the log-normal's median is the corpus's median
FILES_SIGMA = statistics.stdev(_LOG_FILES)
PYTHON_SHARE = sum(REAL_CORPUS_PYTHON_FILES) / sum(REAL_CORPUS_FILES)
MAX_FILES = 4 * max(REAL_CORPUS_FILES)  # the log-normal's far tail, capped: a universe has its own oversized repo
NOISE_FILES = 2  # the image and the CSV every synthetic repository gets from the noise stream
# The agent code, its configuration and the noise files are about a third Python, so the extra files
# are more Python than the corpus for the whole repository to reach its share (tested).
EXTRA_PYTHON_SHARE = 0.62
# Python bytes per extra module (log-normal median): above the corpus's per-file median, because the
# small agent-code files pull a repository's mean down (tested against the corpus's median).
EXTRA_MODULE_BYTES = 3_200

_WORDS = (
    "config",
    "cache",
    "metrics",
    "history",
    "prompts",
    "session",
    "schema",
    "parser",
    "report",
    "format",
    "registry",
    "state",
    "memory",
    "router",
    "planner",
    "loader",
    "summary",
    "scoring",
    "pricing",
    "inventory",
    "calendar",
    "profile",
    "ledger",
    "timeline",
    "catalog",
    "feedback",
)
_FOLDERS = ("src/core", "src/utils", "app", "lib", "utils", "services", "models", "examples")
_TYPES = ("int", "float", "str", "bool", "list[str]", "dict[str, int]")


def target_file_count(code_origin: int) -> int:
    """How many files a real-profile repository has in all: one draw from the corpus's log-normal."""
    rng = random.Random(f"stratum-bulk-count:{code_origin}")
    return max(min(REAL_CORPUS_FILES), min(MAX_FILES, round(rng.lognormvariate(FILES_MU, FILES_SIGMA))))


def bulk_files(code_origin: int, present: int, python: bool = True) -> dict[str, str]:
    """The extra files that bring a repository with ``present`` files to its target count.

    ``python=False`` (a TypeScript project) renders TypeScript modules where a Python one would be.
    """
    rng = random.Random(f"stratum-bulk:{code_origin}")
    missing = target_file_count(code_origin) - present - NOISE_FILES
    files: dict[str, str] = {}
    for index in range(max(0, missing)):
        word = f"{rng.choice(_WORDS)}_{index}"
        if rng.random() < EXTRA_PYTHON_SHARE:
            if not python:
                files[f"src/lib/{word}.ts"] = _typescript_module(rng, word)
            elif rng.random() < 0.25:
                files[f"tests/test_{word}.py"] = _test_module(rng, word)
            else:
                files[f"{rng.choice(_FOLDERS)}/{word}.py"] = python_module(rng, word)
        else:
            kind = rng.choice(("md", "yaml", "json", "txt"))
            files[f"{_OTHER_FOLDERS[kind]}/{word}.{kind}"] = _OTHER_RENDERERS[kind](rng, word)
    return files


def python_module(rng: random.Random, word: str, budget: float | None = None) -> str:
    """A helper module of about the corpus's Python file size (or of about ``budget`` bytes): data classes and
    small functions named after ``word``. Also what a copy adds of its own and what an evolving source gains
    (:mod:`stratum_sandbox.codegen`)."""
    budget = budget or rng.lognormvariate(math.log(EXTRA_MODULE_BYTES), 0.8)
    parts = [
        f'"""{word.replace("_", " ").capitalize()} helpers."""\n\nfrom __future__ import annotations\n\n'
        "import json\nimport logging\nimport math\nfrom dataclasses import dataclass, field\n\n"
        "logger = logging.getLogger(__name__)\n"
    ]
    size, n = len(parts[0]), 0
    while size < budget:
        unit = rng.choice(_UNITS)(rng, f"{word}_{n}")
        parts.append(unit)
        size, n = size + len(unit), n + 1
    return "".join(parts)


def _dataclass_unit(rng: random.Random, name: str) -> str:
    fields = [(f"{rng.choice(_WORDS)}_{i}", rng.choice(_TYPES)) for i in range(rng.randint(2, 6))]
    lines = ["\n\n@dataclass", f"class {_camel(name)}:", f'    """A {name.replace("_", " ")} record."""', ""]
    for attr, kind in fields:
        default = {"int": "0", "float": "0.0", "str": '""', "bool": "False"}.get(
            kind, f"field(default_factory={kind[:4]})"
        )
        lines.append(f"    {attr}: {kind} = {default}")
    lines += ["", "    def to_json(self) -> str:", "        return json.dumps(self.__dict__, sort_keys=True)", ""]
    return "\n".join(lines)


def _function_unit(rng: random.Random, name: str) -> str:
    a, b = rng.randint(2, 9), rng.randint(10, 99)
    return (
        f"\n\ndef {name}(values: list[float], scale: float = {a}.0) -> float:\n"
        f'    """Weighted score of ``values``, damped above {b}."""\n'
        "    total = 0.0\n    for i, value in enumerate(values):\n"
        f"        if value > {b}:\n            value = {b} + math.log1p(value - {b})\n"
        "        total += value * scale / (i + 1)\n"
        f'    logger.debug("{name}: %s values", len(values))\n    return round(total, {a})\n'
    )


def _class_unit(rng: random.Random, name: str) -> str:
    key = rng.choice(_WORDS)
    return (
        f"\n\nclass {_camel(name)}Store:\n"
        f'    """In-memory {key} entries, newest last."""\n\n'
        f"    def __init__(self, limit: int = {rng.randint(10, 500)}) -> None:\n"
        "        self.limit = limit\n        self.items: list[dict] = []\n\n"
        f"    def add(self, {key}: str, weight: int = 1) -> None:\n"
        f'        self.items.append({{"{key}": {key}, "weight": weight}})\n'
        "        del self.items[:-self.limit]\n\n"
        "    def heaviest(self) -> dict | None:\n"
        '        return max(self.items, key=lambda item: item["weight"], default=None)\n'
    )


def _mapping_unit(rng: random.Random, name: str) -> str:
    keys = rng.sample(_WORDS, rng.randint(3, 7))
    body = "".join(f'    "{k}": {rng.randint(1, 1000)},\n' for k in keys)
    return (
        f"\n\n{name.upper()} = {{\n{body}}}\n\n\n"
        f"def lookup_{name}(key: str, default: int = 0) -> int:\n"
        f"    return {name.upper()}.get(key.lower().strip(), default)\n"
    )


_UNITS = (_dataclass_unit, _function_unit, _class_unit, _mapping_unit)


def python_unit(rng: random.Random, name: str) -> str:
    """One more unit (a data class, function, class or mapping) named ``name``: what a module gains later."""
    return rng.choice(_UNITS)(rng, name)


def _test_module(rng: random.Random, word: str) -> str:
    cases = "".join(
        f"\n\ndef test_{word}_{i}():\n    assert round({i} * 1.5, 1) == {i * 1.5!r}\n" for i in range(rng.randint(2, 8))
    )
    return f'"""Tests for {word.replace("_", " ")}."""\n{cases}'


def _typescript_module(rng: random.Random, word: str) -> str:
    items = "".join(f"  {k}: {rng.randint(1, 99)},\n" for k in rng.sample(_WORDS, 4))
    return (
        f"export const {_camel(word)} = {{\n{items}}};\n\n"
        f"export function score{_camel(word)}(values: number[]): number {{\n"
        "  return values.reduce((total, value, i) => total + value / (i + 1), 0);\n}\n"
    )


def _markdown(rng: random.Random, word: str) -> str:
    title = word.replace("_", " ").capitalize()
    paragraphs = "".join(
        f"\n## Step {i + 1}\n\nThis part explains how the {rng.choice(_WORDS)} "
        f"is kept in sync with the {rng.choice(_WORDS)}; see the examples folder.\n"
        for i in range(rng.randint(2, 12))
    )
    return f"# {title}\n{paragraphs}"


def _yaml(rng: random.Random, word: str) -> str:
    return "".join(
        f"{k}:\n  enabled: {str(rng.random() < 0.5).lower()}\n  size: {rng.randint(1, 64)}\n"
        for k in rng.sample(_WORDS, rng.randint(2, 6))
    )


def _json(rng: random.Random, word: str) -> str:
    rows = ",\n".join(f'  {{"id": {i}, "{rng.choice(_WORDS)}": "{word}-{i}"}}' for i in range(rng.randint(3, 30)))
    return f"[\n{rows}\n]\n"


def _text(rng: random.Random, word: str) -> str:
    return "".join(
        f"{word} example {i}: {rng.choice(_WORDS)} then {rng.choice(_WORDS)}\n" for i in range(rng.randint(5, 40))
    )


_OTHER_FOLDERS = {"md": "docs", "yaml": "settings", "json": "fixtures", "txt": "examples/inputs"}
_OTHER_RENDERERS = {"md": _markdown, "yaml": _yaml, "json": _json, "txt": _text}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
