"""The offline GitHub: a synthetic universe and a loopback server that speaks GitHub's API and git.

A tool beside the product, for tests, demos, benchmarks and the offline default build; it also
holds the synthetic ping generator the audit tests and benchmarks use (``synthetic_pings``).
"""
