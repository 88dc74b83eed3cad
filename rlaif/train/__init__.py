"""Training through TRL, one module per algorithm (placeholder until the training layer)."""
