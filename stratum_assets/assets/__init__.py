"""Thin Dagster wiring over the plain modules: one file per stage."""
