"""The AI-judge layer: critique-and-revise, pairwise judging, prompt framing, verdict parsing.

- :class:`PairwiseJudge`: ``await judge.compare(prompt, response_1, response_2) -> Judgment``
  (both orders, principle ensembles, soft labels; ``logprob``, ``generate`` or ``cot`` mode).
- :class:`Critic`: ``await critic.run(prompt, response, prompt_id=...) -> SFTRecord``.
- :class:`JudgeReward`: the judge as a TRL GRPO/RLOO reward function.
- :func:`run_labelling`, :func:`run_generate`, :func:`run_critique`: the resumable runs behind
  ``rlaif label``, ``rlaif generate`` and ``rlaif critique``.
"""

from rlaif.judge.critic import Critic
from rlaif.judge.framing import FramedPair, frame_pair
from rlaif.judge.judgment import Judgment, Vote
from rlaif.judge.labelling import LabelOptions, LabelSummary, run_labelling
from rlaif.judge.pairwise import PairwiseJudge
from rlaif.judge.reward import JudgeReward
from rlaif.judge.runs import CritiqueOptions, GenerateOptions, run_critique, run_generate
from rlaif.judge.sampling import ContrastiveAffixes, SamplingSettings

__all__ = [
    "ContrastiveAffixes",
    "Critic",
    "CritiqueOptions",
    "FramedPair",
    "GenerateOptions",
    "JudgeReward",
    "Judgment",
    "LabelOptions",
    "LabelSummary",
    "PairwiseJudge",
    "SamplingSettings",
    "Vote",
    "frame_pair",
    "run_critique",
    "run_generate",
    "run_labelling",
]
