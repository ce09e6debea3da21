"""What the build keeps in the Dagster instance: the concurrency pools, the claims that let a dead run be
found and failed, and the Postgres event log that makes pool claims atomic across machines."""
