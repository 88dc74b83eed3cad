"""Policy evaluation (``rlaif eval policy``): is the policy more harmless without becoming
useless? Generation on red-team and benign prompt sets, refusal rates by a lexical rule and a
classifier (:mod:`~rlaif.eval.policy.refusal`), judge win rates and Elo
(:mod:`~rlaif.eval.policy.elo`), reward-model scores, the typed results
(:mod:`~rlaif.eval.policy.results`) and the report."""

from rlaif.eval.policy.metrics import LEXICAL_RULE, reading
from rlaif.eval.policy.report import policy_report
from rlaif.eval.policy.results import PolicyMetrics
from rlaif.eval.policy.run import PolicyEvalSettings, run_policy_eval

__all__ = [
    "LEXICAL_RULE",
    "PolicyEvalSettings",
    "PolicyMetrics",
    "policy_report",
    "reading",
    "run_policy_eval",
]
