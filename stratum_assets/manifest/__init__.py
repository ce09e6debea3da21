"""The frozen, versioned manifest: which repositories the dataset scans, and in which chunks."""
