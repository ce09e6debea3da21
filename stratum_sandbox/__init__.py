"""The offline GitHub: a synthetic universe and a loopback server that speaks GitHub's API and git.

A tool beside the product, for tests, demos, benchmarks and the offline default build. It imports
only the product's bottom layers (``stratum_assets.domain``: the framework table;
``stratum_assets.storage``: atomic directory renames), so it runs, and is read, on its own; the product
reaches it only where the code location and the commands are assembled (``stratum_assets/offline_github.py``,
``stratum_assets/cli.py``). Both directions are import contracts in
pyproject.toml.
"""
