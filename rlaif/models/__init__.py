"""Model backends behind one small interface (placeholder until the backends land)."""
