"""Models a job opens itself, closed when it ends; models the caller passed in stay open."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from rlaif.models import Model, get_model


async def open_model(
    stack: AsyncExitStack, given: Model | None, name: str, **options: Any
) -> Model:
    """``given`` when the caller passed a model (the caller closes it), else the model named
    ``name`` (with ``options``), opened on ``stack`` so that it is closed when the stack
    unwinds."""
    if given is not None:
        return given
    opened: Model = await stack.enter_async_context(get_model(name, **options))
    return opened
