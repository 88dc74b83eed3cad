"""Human labels on your own pairs: ``rlaif annotate serve``, a pairwise annotation page.

:func:`serve` starts the page over any pair file (:func:`load_annotation_pairs`), and every label
is appended to a labels file as it is given (:class:`LabelStore`, records
:class:`~rlaif.data.HumanLabel`); ``rlaif eval agreement`` measures judges against them.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlaif.annotate.app import create_app
    from rlaif.annotate.guidelines import guidelines_text
    from rlaif.annotate.pairs import load_annotation_pairs
    from rlaif.annotate.server import serve
    from rlaif.annotate.store import AnnotationError, LabelInput, LabelStore

_HOMES = {
    "create_app": "app",
    "guidelines_text": "guidelines",
    "load_annotation_pairs": "pairs",
    "serve": "server",
    "AnnotationError": "store",
    "LabelInput": "store",
    "LabelStore": "store",
}


def __getattr__(name: str) -> Any:
    # The web stack (starlette, uvicorn) is imported on first use, not by every ``rlaif``
    # command that imports a constant from this package.
    if name in _HOMES:
        return getattr(import_module(f"rlaif.annotate.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'rlaif.annotate' has no attribute {name!r}")


__all__ = [
    "AnnotationError",
    "LabelInput",
    "LabelStore",
    "create_app",
    "guidelines_text",
    "load_annotation_pairs",
    "serve",
]
