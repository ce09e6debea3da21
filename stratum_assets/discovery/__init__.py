"""Discovery: from strata configuration to candidate repositories with their source metadata."""
