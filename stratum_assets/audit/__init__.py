"""The audit: report sections, quality gates G1-G8, train/test split, label-audit sample."""
