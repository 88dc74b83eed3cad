"""rlaif: reinforcement learning from AI feedback in the Constitutional-AI style.

Write principles in YAML, let an AI judge critique, revise and compare responses against them,
train policies on the AI labels through TRL, and measure how far the judge agrees with humans.

Heavy dependencies (torch, transformers, TRL) are imported only by the modules that need them,
so ``import rlaif`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # typing only: the exports load on first use, keeping `import rlaif` light
    from rlaif.constitution import Constitution, Principle, load_constitution
    from rlaif.datagen import run_labelling
    from rlaif.eval import run_agreement
    from rlaif.judge import Critic, PairwiseJudge
    from rlaif.models import get_model
    from rlaif.pipeline import run_pipeline
    from rlaif.train import run_training

__all__ = [
    "Constitution",
    "Critic",
    "PairwiseJudge",
    "Principle",
    "__version__",
    "get_model",
    "load_constitution",
    "run_agreement",
    "run_labelling",
    "run_pipeline",
    "run_training",
]

_LAZY = {
    "Constitution": "rlaif.constitution",
    "Principle": "rlaif.constitution",
    "load_constitution": "rlaif.constitution",
    "get_model": "rlaif.models",
    "Critic": "rlaif.judge",
    "PairwiseJudge": "rlaif.judge",
    "run_labelling": "rlaif.datagen",
    "run_agreement": "rlaif.eval",
    "run_pipeline": "rlaif.pipeline",
    "run_training": "rlaif.train",
}


def __getattr__(name: str) -> Any:
    """Import public objects on first use so that ``import rlaif`` stays cheap."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'rlaif' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
