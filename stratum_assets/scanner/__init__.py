"""The static scanner engine: a checkout in, a ping out (Python facts, capabilities, model, rules, scores, topology).

It imports nothing from the scan stage, the warehouse or Dagster; the scan stage (``scanning``)
runs it in child processes and validates what it prints against ``ping``.
"""
