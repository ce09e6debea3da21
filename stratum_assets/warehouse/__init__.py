"""The warehouse stage: DuckDB views over what scanning wrote, blocks of whole partitions, the run log,
companion exports, status and publishing. Reads the stages below it; the storage primitives are ``storage/``."""
