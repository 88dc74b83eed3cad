"""Reproducible speed and quality measurements; see README.md beside this file."""
