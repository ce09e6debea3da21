"""Framework versions from a repository's dependency files (pure: text in, versions out).

Read formats: ``requirements*.txt`` and ``requirements/*.txt`` (pip syntax, parsed with
``packaging``), ``pyproject.toml`` (PEP 621 ``[project]`` dependencies and optional
dependencies, Poetry's ``[tool.poetry.*dependencies]`` including the table form
``{version = …}``, uv's ``[tool.uv] dev-dependencies`` and PEP 735 ``[dependency-groups]``),
``Pipfile``, ``setup.cfg`` ``install_requires``, and the lock files ``Pipfile.lock`` (JSON),
``poetry.lock``, ``uv.lock`` and ``pdm.lock`` (TOML ``[[package]]`` name/version).

Distribution names are normalised as PEP 503 says (lower case, runs of ``-``, ``_`` and
``.`` become one ``-``) and mapped to the scanner's framework labels. For each framework the
best evidence wins: an exact version from a lock file, then an exact ``==`` pin from a
manifest, then a specifier stored as written (``">=0.2"``, ``"~=0.10"``, Poetry's ``"^0.1"``);
among equals, the framework's main distribution (``langchain`` before ``langchain-core``
before other ``langchain-*``), then the file nearest the root. A file that cannot be parsed
(bad syntax, or nesting deep enough to exhaust the parser) counts as one parse error and
gives nothing; a line that is not a requirement (``-r``, ``-e``, options, URLs, junk) is
skipped.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from ..domain import frameworks as framework_table

# Which distributions are which framework: the framework table's `distributions` (rank 0 is the framework's own)
# and `distribution_family` (integration packages versioned apart: used only when nothing better is there).
_FAMILY_RANK = 5

# Evidence strength: the higher wins.
LOCK, PIN, SPECIFIER = 3, 2, 1

LOCK_FILES = ("Pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock")
_MANIFESTS = ("pyproject.toml", "Pipfile", "setup.cfg")
_MAX_LINE = 10_000  # longer lines are not requirements anyone wrote
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*")


@dataclass(frozen=True)
class Pin:
    name: str  # normalised distribution name
    version: str | None  # exact version, or the specifier as written, or None (no version given)
    strength: int  # LOCK, PIN or SPECIFIER (0 when there is no version)


def normalize(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def framework_of(distribution: str) -> str | None:
    found = _framework_rank(distribution)
    return found[0] if found else None


@framework_table.derived
def _distribution_index(table) -> tuple[dict[str, tuple[str, int]], tuple[tuple[str, str], ...]]:
    """(exact distribution → (framework, rank), (family prefix, framework) pairs) of the framework table."""
    exact = {normalize(name): (f.label, rank) for f in table for name, rank in f.distributions}
    families = tuple((normalize(f.distribution_family), f.label) for f in table if f.distribution_family)
    return exact, families


def _framework_rank(distribution: str) -> tuple[str, int] | None:
    name = normalize(distribution)
    exact, families = _distribution_index()
    if name in exact:
        return exact[name]
    for prefix, fw in families:
        if name.startswith(prefix):
            return fw, _FAMILY_RANK
    return None


def is_dependency_file(path: str) -> bool:
    """Whether the scanner reads this repository path (any folder: monorepos keep one per project)."""
    parts = path.split("/")
    name = parts[-1]
    if name in LOCK_FILES or name in _MANIFESTS:
        return True
    if name.startswith("requirements") and name.endswith(".txt"):
        return True
    return len(parts) > 1 and parts[-2] == "requirements" and name.endswith(".txt")


def framework_versions(files: Iterable[tuple[str, str]], frameworks: Iterable[str]) -> tuple[dict, int]:
    """(framework → version or None for every framework in ``frameworks``, number of unparsable files).

    ``files`` are (repository path, text) pairs of dependency files; paths that are not dependency
    files are ignored.
    """
    wanted = set(frameworks)
    best: dict[str, tuple] = {}
    errors = 0
    ordered = sorted((p for p in files if is_dependency_file(p[0])), key=lambda p: (p[0].count("/"), p[0]))
    for order, (path, text) in enumerate(ordered):
        pins = parse(path, text)
        if pins is None:
            errors += 1
            continue
        for pin in pins:
            found = _framework_rank(pin.name)
            if not found or found[0] not in wanted or pin.version is None:
                continue
            fw, rank = found
            key = (-pin.strength, rank, order)
            if fw not in best or key < best[fw][0]:
                best[fw] = (key, pin.version)
    return {fw: best[fw][1] if fw in best else None for fw in sorted(wanted)}, errors


def parse(path: str, text: str) -> list[Pin] | None:
    """Every distribution a dependency file names, or None when the file does not parse."""
    name = path.rsplit("/", 1)[-1]
    try:
        if name == "Pipfile.lock":
            return _pipfile_lock(text)
        if name in LOCK_FILES:
            return _toml_lock(text)
        if name == "pyproject.toml":
            return _pyproject(text)
        if name == "Pipfile":
            return _pipfile(text)
        if name == "setup.cfg":
            return _setup_cfg(text)
        return _requirements(text)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
        MemoryError,
        configparser.Error,
    ):  # tomllib/json decode errors are ValueErrors
        return None


# -- formats ---------------------------------------------------------------------------------------------
def _requirements(text: str) -> list[Pin]:
    pins = []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line or line.startswith("-") or len(line) > _MAX_LINE:
            continue
        line = re.split(r"\s--?[A-Za-z]", line)[0]  # per-requirement options: --hash=…
        pin = requirement(line)
        if pin:
            pins.append(pin)
    return pins


def requirement(spec: str, strength_exact: int = PIN) -> Pin | None:
    """One PEP 508 requirement string; None when it is not one (URLs, junk)."""
    if not isinstance(spec, str) or len(spec) > _MAX_LINE:
        return None
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return None
    if req.url:
        return Pin(normalize(req.name), None, 0)
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return Pin(normalize(req.name), specs[0].version, strength_exact)
    if not specs:
        return Pin(normalize(req.name), None, 0)
    head = _NAME.match(spec.split(";", 1)[0])
    written = spec.split(";", 1)[0][head.end() :] if head else str(req.specifier)
    written = re.sub(r"\s+", "", written).strip("()") or str(req.specifier)
    return Pin(normalize(req.name), written, SPECIFIER)


def _loose(name: str, value) -> Pin | None:
    """A Pipfile/Poetry entry: "==1.0", "^1.0", "*", or a table with a version."""
    if isinstance(value, dict):
        value = value.get("version")
    if not isinstance(value, str) or not value.strip() or value.strip() == "*":
        return Pin(normalize(name), None, 0)
    value = re.sub(r"\s+", "", value)
    exact = re.fullmatch(r"(?:===?)?([0-9][A-Za-z0-9.+!-]*)", value)
    if exact and "*" not in value:
        return Pin(normalize(name), exact.group(1), PIN)
    return Pin(normalize(name), value, SPECIFIER)


def _pyproject(text: str) -> list[Pin]:
    data = tomllib.loads(text)
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    specs = list(_strings(project.get("dependencies")))
    for group in _dict(project.get("optional-dependencies")).values():
        specs += _strings(group)
    tool = _dict(data.get("tool"))
    specs += _strings(_dict(tool.get("uv")).get("dev-dependencies"))
    for group in _dict(_dict(tool.get("pdm")).get("dev-dependencies")).values():
        specs += _strings(group)
    for group in _dict(data.get("dependency-groups")).values():
        specs += _strings(group)  # {include-group = …} entries are not strings
    pins: list[Pin | None] = [p for p in (requirement(s) for s in specs) if p]
    poetry = _dict(tool.get("poetry"))
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables += [_dict(g).get("dependencies") for g in _dict(poetry.get("group")).values()]
    for table in tables:
        for name, value in _dict(table).items():
            if name.lower() != "python":
                pins.append(_loose(name, value))
    return [p for p in pins if p]


def _pipfile(text: str) -> list[Pin]:
    data = tomllib.loads(text)
    return [
        p
        for section in ("packages", "dev-packages")
        for name, value in _dict(data.get(section)).items()
        if (p := _loose(name, value))
    ]


def _setup_cfg(text: str) -> list[Pin]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    lines = parser.get("options", "install_requires", fallback="").splitlines()
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            lines += value.splitlines()
    return _requirements("\n".join(lines))


def _pipfile_lock(text: str) -> list[Pin]:
    data = json.loads(text)
    pins = []
    for section in ("default", "develop"):
        for name, entry in _dict(data.get(section)).items():
            version = _dict(entry).get("version")
            if isinstance(version, str) and version.startswith("=="):
                pins.append(Pin(normalize(name), version[2:], LOCK))
    return pins


def _toml_lock(text: str) -> list[Pin]:
    data = tomllib.loads(text)
    packages = data.get("package", [])
    return [
        Pin(normalize(p["name"]), str(p["version"]), LOCK)
        for p in packages
        if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("version"), (str, int, float))
    ]


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _strings(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
