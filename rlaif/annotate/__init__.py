"""Human labels on your own pairs: ``rlaif annotate serve``, a pairwise annotation page.

:func:`serve` starts the page over any pair file (:func:`load_annotation_pairs`), and every label
is appended to a labels file as it is given (:class:`LabelStore`, records
:class:`~rlaif.data.HumanLabel`); ``rlaif eval agreement`` measures judges against them.
"""

from rlaif.annotate.app import create_app
from rlaif.annotate.guidelines import guidelines_text
from rlaif.annotate.pairs import load_annotation_pairs
from rlaif.annotate.server import serve
from rlaif.annotate.store import AnnotationError, LabelInput, LabelStore

__all__ = [
    "AnnotationError",
    "LabelInput",
    "LabelStore",
    "create_app",
    "guidelines_text",
    "load_annotation_pairs",
    "serve",
]
