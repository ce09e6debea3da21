"""GitHub's API as the pipeline uses it: a rate-governed client, search past the 1,000-result cap, enrichment."""
