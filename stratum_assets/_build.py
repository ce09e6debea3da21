"""Packaging only (``[tool.setuptools.cmdclass]`` in pyproject.toml): the install also writes the startup hook
of :mod:`stratum_assets.dagster_cli_default` into the environment's site-packages.

A ``.pth`` file at the root of the wheel lands in site-packages; an editable install (PEP 660) ignores
``build_lib`` and packs what is under the install command's ``install_lib`` instead, so both get it.
"""

from pathlib import Path

from setuptools.command.build_py import build_py

HOOK_FILE = "stratum_assets_dagster_cli.pth"
# One line: site runs a .pth line that starts with "import" in every interpreter of the environment.
HOOK_LINE = "import stratum_assets.dagster_cli_default as _d; _d.supply_code_location()\n"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        roots = {self.build_lib}
        if getattr(self, "editable_mode", False):
            roots.add(self.get_finalized_command("install").install_lib)
        for root in roots:
            Path(root).mkdir(parents=True, exist_ok=True)
            Path(root, HOOK_FILE).write_text(HOOK_LINE)
