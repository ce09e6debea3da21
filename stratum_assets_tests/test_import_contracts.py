"""The house's layers, declared once in pyproject.toml (``[tool.importlinter]``) and checked by import-linter.

Each room imports only the rooms below it (``exhaustive``: a new top-level module must be given a layer), the
plain code (the stages' logic, the engine, the offline GitHub) never imports Dagster, and the product and the
offline GitHub meet only where the code location and the commands are assembled: nothing below the code location
imports ``stratum_sandbox``, which imports only the product's bottom layers (domain facts, storage primitives).
The fast tier runs ``lint-imports`` on the checkout, so an upward import fails here before it tangles the
rooms; the other tests break a copy of the packages and watch each contract report it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = ("Layers: each room imports only the rooms below it", "Plain code never imports Dagster")
SEAM = (
    "The product below the code location does not import the offline GitHub",
    "The offline GitHub imports only the product's bottom layers",
)
CONTRACTS = LAYERS + SEAM


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the packages under ``root`` (first on the path, so a copy is read, not the install)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_contract_is_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in CONTRACTS:
        assert f"{contract} KEPT" in result.stdout, result.stdout


def _copy(tmp_path: Path) -> None:
    """The packages and their contracts, to break."""
    for package in ("stratum_assets", "stratum_sandbox"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_an_upward_import_dagster_in_plain_code_and_a_module_without_a_layer_are_each_reported(tmp_path):
    _copy(tmp_path)
    layout = tmp_path / "stratum_assets" / "storage" / "layout.py"
    layout.write_text(layout.read_text() + "\nfrom ..audit import report  # upward: storage reads the audit\n")
    chunks = tmp_path / "stratum_assets" / "domain" / "chunks.py"
    chunks.write_text(chunks.read_text() + "\nimport dagster  # plain code on Dagster\n")
    (tmp_path / "stratum_assets" / "helpers.py").write_text('"""A new top-level module in no layer."""\n')

    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    for contract in LAYERS:
        assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert "stratum_assets.storage.layout -> stratum_assets.audit" in result.stdout, result.stdout
    assert "stratum_assets.domain.chunks -> dagster" in result.stdout, result.stdout
    assert "stratum_assets.helpers" in result.stdout + result.stderr, result.stdout + result.stderr


def test_the_resources_starting_the_emulator_and_the_emulator_reading_a_stage_are_each_reported(tmp_path):
    """The import this seam took away (resources.py started the emulator itself) put back in a copy, and the
    emulator reaching above the storage primitives (into the scanner): each forbidden contract names its own,
    and nothing else breaks."""
    _copy(tmp_path)
    _append(
        tmp_path / "stratum_assets" / "resources.py",
        "\n\ndef _emulator():\n    from stratum_sandbox.server import GitHubEmulator\n    return GitHubEmulator\n",
    )
    _append(
        tmp_path / "stratum_sandbox" / "git_store.py",
        "\nfrom stratum_assets.scanner import rules  # a stage's engine, above the storage primitives\n",
    )

    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    for contract in SEAM:
        assert f"{contract} BROKEN" in result.stdout, result.stdout
    for contract in LAYERS:
        assert f"{contract} KEPT" in result.stdout, result.stdout
    assert "stratum_assets.resources -> stratum_sandbox.server" in result.stdout, result.stdout
    assert "stratum_sandbox.git_store -> stratum_assets.scanner" in result.stdout, result.stdout
