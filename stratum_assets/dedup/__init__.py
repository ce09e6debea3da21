"""Code-level duplicates: fingerprints of a repository's Python sources, and the groups they form.

Copy-paste clones are not forks: GitHub's fork index misses them, and a copy with a slightly
changed topology slips past the topology hash. Two fingerprints catch them from the code itself:
an exact content hash (byte-identical copies) and a MinHash signature of normalised token
shingles (lightly edited copies), clustered with MinHash LSH.

Plain logic (stdlib and datasketch only, never Dagster): the scan stage computes fingerprints
beside each ping, the audit clusters them.
"""
