"""What the tests and the benchmarks share and the product never runs.

Synthetic pings at any size (``synthetic_pings``), loopback servers' ports and waits (``loopback``), checkouts
of the offline universe written without cloning (``checkouts``) and the pairwise score of near-duplicate
clusters against their ground truth (``clusters``). Not shipped: the package is excluded from the install, and
pytest collects nothing here (no module is named ``test_*``). The benchmarks import it from the project root.
"""
