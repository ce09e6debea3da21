"""The project's own import graph, read from the source (issue 31's plan, docs/plans/issue-31-house.md).

For every module of stratum_assets/ and stratum_sandbox/: each import of a project module, with file:line and
whether it sits at module level or inside a function (a deferred import still couples the rooms). Relative
imports are resolved; ``from pkg import name`` resolves to ``pkg.name`` when that is a module, else to ``pkg``.

    python docs/plans/issue31_imports.py            # the graph, one module per block
    python docs/plans/issue31_imports.py --cross    # only product<->emulator imports
    python docs/plans/issue31_imports.py --tsv      # importer, line, imported, scope (one row per import)

Plain stdlib; run from the repository root.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stratum_assets", "stratum_sandbox")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The longest prefix of ``name`` that is a module of ours."""
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or name


def imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[int, str, str]]:
    """(line, imported module, 'top' | 'deferred') for each project import of ``module``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    deferred_lines = {
        child.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.walk(node)
        if isinstance(child, (ast.Import, ast.ImportFrom))
    }
    rows = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] in PACKAGES:
                scope = "deferred" if node.lineno in deferred_lines else "top"
                rows.append((node.lineno, _resolve(name, known), scope))
    return sorted(set(rows))


def main(argv: list[str]) -> None:
    known = modules()
    for module, path in known.items():
        rel = path.relative_to(ROOT)
        rows = imports(module, path, known)
        if "--tsv" in argv:
            for line, target, scope in rows:
                print(f"{module}\t{rel}:{line}\t{target}\t{scope}")
        elif "--cross" in argv:
            for line, target, scope in rows:
                if module.split(".")[0] != target.split(".")[0]:
                    print(f"{rel}:{line}\t{module} -> {target}\t({scope})")
        else:
            print(f"{module}  ({rel})")
            for line, target, scope in rows:
                print(f"    :{line:<4} {target}{'   [deferred]' if scope == 'deferred' else ''}")


if __name__ == "__main__":
    main(sys.argv[1:])
