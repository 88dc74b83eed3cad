"""The AI-judge layer: critique-and-revise, pairwise judging, prompt framing, verdict parsing."""
