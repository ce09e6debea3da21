"""stratum_assets: the Dagster asset graph that builds the Stratum benchmark dataset."""
