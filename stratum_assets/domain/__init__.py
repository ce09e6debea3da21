"""The dataset's domain facts, each written once: frameworks, quality gates, chunk ids, repository identity.

Every stage reads these tables instead of keeping its own copy: discovery (which words name a
framework), the scanner (which imports and distributions are a framework), the audit (framework
targets, gates G1–G8, their thresholds, descriptions and advice), the assets, and beside the
product the offline GitHub and the synthetic ping generator. This package is the lowest layer:
it imports nothing from the rest of the project (nor Dagster), so anything may import it.
"""
