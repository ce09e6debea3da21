"""stratum_assets: the Dagster asset graph that builds the Stratum benchmark dataset."""

__version__ = "0.1.0"
