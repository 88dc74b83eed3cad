"""Record schemas, resumable writers, loaders and exporters (placeholder until the judge layer)."""
