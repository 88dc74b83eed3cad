"""Model backends behind one small interface.

``get_model("provider/model")`` returns a :class:`Model`: ``await model.generate(conversation,
config)`` for text, ``await model.choice_logprobs(conversation, choices)`` (or
``score_choices`` with token counts and cost) for one-pass verdicts where the backend supports
it. Providers: ``hf``, ``openai``, ``anthropic``, ``fake``; each SDK is imported only when its
provider is used. Every call goes through the response cache, retries, concurrency and rate
limits, and is counted in ``model.usage`` (see :func:`print_usage_summary`).
"""

from rlaif.models.base import AuthenticationError, Backend, BackendError, CapabilityError
from rlaif.models.cache import ResponseCache, cache_dir, open_cache
from rlaif.models.model import Model, blocking, get_model, run_sync
from rlaif.models.registry import register_backend
from rlaif.models.spec import ModelSpec
from rlaif.models.types import (
    ChoiceScores,
    Completion,
    Conversation,
    ConversationError,
    GenerateConfig,
    Message,
)
from rlaif.models.usage import Usage, print_usage_summary, usage_rows, usage_summary, usage_table

__all__ = [
    "AuthenticationError",
    "Backend",
    "BackendError",
    "CapabilityError",
    "ChoiceScores",
    "Completion",
    "Conversation",
    "ConversationError",
    "GenerateConfig",
    "Message",
    "Model",
    "ModelSpec",
    "ResponseCache",
    "Usage",
    "blocking",
    "cache_dir",
    "get_model",
    "open_cache",
    "print_usage_summary",
    "register_backend",
    "run_sync",
    "usage_rows",
    "usage_summary",
    "usage_table",
]
