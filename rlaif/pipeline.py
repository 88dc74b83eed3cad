"""Runs a pipeline YAML stage by stage (placeholder until the pipeline issue)."""
