"""The house's layers: no import runs from a lower layer back up to a higher one.

Read from the source (every ``import`` and ``from … import`` of every module, relative ones
resolved), so a new upward import fails here before it tangles the rooms.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A module may import its own layer and the ones below, never one above.
LAYERS = (
    {"stratum_assets", "stratum_assets.domain"},  # facts: frameworks, gates, chunk ids, repo_hash; the version
    {"stratum_assets.github", "stratum_assets.scanner"},  # GitHub's API; the scanner engine
    {"stratum_assets.discovery", "stratum_assets.manifest", "stratum_assets.scanning", "stratum_assets.warehouse",
     "stratum_assets.audit"},  # each stage's plain logic, testable without Dagster
    {"stratum_sandbox"},  # the offline GitHub and synthetic pings: built from the stages' data shapes
    {"stratum_assets.resources", "stratum_assets.pools", "stratum_assets.dead_runs",
     "stratum_assets.postgres_event_log"},  # Dagster resources, helpers, instance storage
    {"stratum_assets.assets"},  # thin Dagster wiring
    {"stratum_assets.definitions", "stratum_assets.celery_location", "stratum_assets.partition_pool",
     "stratum_assets.build_driver", "stratum_assets.runner", "stratum_assets.cli", "stratum_assets.stopping",
     "stratum_assets.problems"},  # code locations, commands
)
WITHOUT_DAGSTER = 4  # layers below this index never import dagster


def _layer(module: str) -> int:
    """The layer of the longest listed prefix of ``module``."""
    best, depth = None, -1
    for index, rooms in enumerate(LAYERS):
        for room in rooms:
            if (module == room or module.startswith(room + ".")) and room.count(".") > depth:
                best, depth = index, room.count(".")
    if best is None:
        raise AssertionError(f"{module} is in no layer: add its room to LAYERS")
    return best


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("stratum_assets", "stratum_sandbox"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names |= {f"{base}.{alias.name}" for alias in node.names} if not node.module or node.level else {base}
    return names


def _ours(name: str) -> bool:
    return name.split(".")[0] in ("stratum_assets", "stratum_sandbox")


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_no_module_imports_from_a_higher_layer(module, path):
    own = _layer(module)
    upward = sorted(n for n in _imports(module, path) if _ours(n) and _layer(_importable(n)) > own)
    assert upward == [], f"{module} (layer {own}) imports from higher layers: {upward}"


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_plain_modules_do_not_import_dagster(module, path):
    if _layer(module) >= WITHOUT_DAGSTER:
        return
    assert not {n for n in _imports(module, path) if n.split(".")[0].startswith("dagster")}, module


def _importable(name: str) -> str:
    """``pkg.mod.attr`` → ``pkg.mod`` when ``attr`` is a name inside the module, not a module itself."""
    parts = name.split(".")
    while len(parts) > 1:
        candidate = ROOT.joinpath(*parts)
        if candidate.is_dir() or candidate.with_suffix(".py").exists():
            return ".".join(parts)
        parts.pop()
    return parts[0]


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule itself: an engine module that imports the scan stage is caught."""
    engine = tmp_path / "engine.py"
    engine.write_text("from ..scanning.storage import ping_row\nfrom . import rules\n")
    imported = _imports("stratum_assets.scanner.engine", engine)
    assert imported == {"stratum_assets.scanning.storage.ping_row", "stratum_assets.scanner.rules"}
    assert _layer(_importable("stratum_assets.scanning.storage.ping_row")) > _layer("stratum_assets.scanner.engine")
