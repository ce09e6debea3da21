"""``dagster asset materialize --select audit_report`` as the design card types it, from the project root.

Dagster's ``dev`` and ``definitions validate`` find this code location by themselves (``[tool.dg]`` in
pyproject.toml, else workspace.yaml), but ``dagster asset materialize`` and ``dagster asset list`` take
one only from ``-m``/``-f`` and otherwise stop with "Invalid set of CLI arguments for loading
repository/job". The project's install puts a one-line startup hook into its environment
(``stratum_assets_dagster_cli.pth``, written by :mod:`stratum_assets._build`) that calls
:func:`supply_code_location` when an interpreter starts: for those two commands run from the root of
this project without a code location of their own, it adds ``-m`` with the module pyproject.toml names
(``[tool.dg.project] code_location_target_module``), the one ``dg`` loads. Every other interpreter —
another command, another folder, another project — is left exactly as it was: the hook's own import of
this package is forgotten, so a later ``import stratum_assets`` finds whichever copy that interpreter's
path names first (a working copy run from its folder, mutmut's ``mutants/``), not the installed one.
"""

import os
import sys

# The dagster subcommands that load code only from a python pointer, and the options that give one.
POINTER_ONLY_COMMANDS = (["asset", "materialize"], ["asset", "list"])
TARGET_OPTIONS = ("-m", "--module-name", "-f", "--python-file", "--package-name", "--autoload-defs-module-name")
PROJECT_ROOT_MODULE = __name__.split(".")[0]


def supply_code_location() -> None:
    """The startup hook: never raises (it runs in every interpreter of the environment)."""
    try:
        module = code_location_to_supply(sys.orig_argv, sys.argv[1:], os.getcwd())
    except Exception:
        module = None
    if module:
        sys.argv.extend(["-m", module])
    else:
        _forget_this_package()


def _forget_this_package() -> None:
    """Drop the modules the hook's import loaded, as if it had never run."""
    for name in [n for n in sys.modules if n == PROJECT_ROOT_MODULE or n.startswith(f"{PROJECT_ROOT_MODULE}.")]:
        del sys.modules[name]


def code_location_to_supply(orig_argv: list[str], args: list[str], cwd: str) -> str | None:
    """The module to add to ``args``, or None: only for ``dagster asset materialize|list`` without a target,
    run where pyproject.toml makes this project a dg project."""
    if not is_dagster_cli(orig_argv) or args[:2] not in POINTER_ONLY_COMMANDS:
        return None
    if any(arg in TARGET_OPTIONS or arg.split("=", 1)[0] in TARGET_OPTIONS for arg in args):
        return None
    pyproject = os.path.join(cwd, "pyproject.toml")
    if not os.path.isfile(pyproject):
        return None
    import tomllib

    with open(pyproject, "rb") as file:
        project = tomllib.load(file).get("tool", {}).get("dg", {}).get("project", {})
    if project.get("root_module") != PROJECT_ROOT_MODULE:
        return None
    return project.get("code_location_target_module") or f"{PROJECT_ROOT_MODULE}.definitions"


def is_dagster_cli(orig_argv: list[str]) -> bool:
    """The interpreter runs Dagster's CLI: the ``dagster`` script, or ``python -m dagster``."""
    words = iter(orig_argv[1:])
    for word in words:
        if word in ("-X", "-W"):  # interpreter options whose value is the next word
            next(words, None)
        elif word == "-m" or word.startswith("-m"):
            return (word[2:] or next(words, "")) == "dagster"
        elif not word.startswith("-"):
            return os.path.basename(word) == "dagster"
    return False
