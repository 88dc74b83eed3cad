"""The resumable dataset jobs: ``rlaif generate`` (K responses per prompt), ``rlaif critique``
(critique-and-revise into SFT records) and ``rlaif label`` (AI preference pairs).

Each takes an options model (what the CLI parses), runs on the :mod:`rlaif.runs` engine (in input
order, resumable, with a manifest and side files) and returns a summary. ``run_x`` blocks (also
inside a running event loop); ``run_x_async`` is the coroutine.
"""

from rlaif.datagen.critique import CritiqueOptions, run_critique, run_critique_async
from rlaif.datagen.generate import GenerateOptions, run_generate, run_generate_async
from rlaif.datagen.label import run_labelling, run_labelling_async
from rlaif.datagen.label_options import LabelOptions, LabelSummary

__all__ = [
    "CritiqueOptions",
    "GenerateOptions",
    "LabelOptions",
    "LabelSummary",
    "run_critique",
    "run_critique_async",
    "run_generate",
    "run_generate_async",
    "run_labelling",
    "run_labelling_async",
]
