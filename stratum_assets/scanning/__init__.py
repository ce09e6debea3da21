"""The scan stage, per manifest chunk: clone each repository, run the scanner on it, validate, store."""
