"""Driving builds from the terminal: a full build or a backfill (``build_driver``), the worker processes that
run partitions with retries (``partition_workers``), stopping on a signal (``stopping``) and the one-line
problems the commands print (``problems``). Above the code location: it builds runs from ``definitions``."""
