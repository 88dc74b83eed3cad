"""The AI-judge layer: critique-and-revise, pairwise judging, prompt framing, verdict parsing."""

from rlaif.judge.framing import FramedPair, frame_pair
from rlaif.judge.judgment import Judgment, Vote

__all__ = ["FramedPair", "Judgment", "Vote", "frame_pair"]
