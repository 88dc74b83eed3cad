"""The AI-judge layer: critique-and-revise, pairwise judging, prompt framing, verdict parsing.

- :class:`PairwiseJudge`: ``await judge.compare(prompt, response_1, response_2) -> Judgment``
  (both orders, principle ensembles, soft labels), built from :class:`JudgeSettings`.
- :class:`JudgeMode`: how a judge turns a pair into votes (``logprob``, ``generate``, ``cot``,
  ``pointwise``: :mod:`rlaif.judge.modes`); :class:`ComparisonMode` to write one that compares.
- :class:`Critic`: ``await critic.run(prompt, response, prompt_id=...) -> SFTRecord``.
- :class:`JudgeReward`: the judge as a TRL GRPO/RLOO reward function.
- :class:`AgreementGate` / :func:`check_agreement_gate`: refuse a judge whose measured agreement
  with human labels is below a threshold (a labelling job checks its gate before any call).

The resumable jobs behind ``rlaif generate``, ``critique`` and ``label`` live in
:mod:`rlaif.datagen`; the engine they run on in :mod:`rlaif.runs`.
"""

from rlaif.judge.critic import Critic, revision_counts
from rlaif.judge.framing import FramedPair, frame_pair
from rlaif.judge.gate import AgreementGate, AgreementGateError, check_agreement_gate
from rlaif.judge.judgment import Judgment, Vote
from rlaif.judge.modes import ComparisonMode, JudgeMode
from rlaif.judge.pairwise import PairwiseJudge
from rlaif.judge.reward import JudgeReward
from rlaif.judge.sampling import ContrastiveAffixes, SamplingSettings
from rlaif.judge.settings import JudgeSettings

__all__ = [
    "AgreementGate",
    "AgreementGateError",
    "ComparisonMode",
    "ContrastiveAffixes",
    "Critic",
    "FramedPair",
    "JudgeMode",
    "JudgeReward",
    "JudgeSettings",
    "Judgment",
    "PairwiseJudge",
    "SamplingSettings",
    "Vote",
    "check_agreement_gate",
    "frame_pair",
    "revision_counts",
]
