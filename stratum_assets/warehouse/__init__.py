"""Storage: atomic Parquet files for concurrently written data, DuckDB for the warehouse views."""
