"""Model backends behind one small interface.

``get_model("provider/model")`` returns a :class:`Model`: ``await model.generate(conversation,
config)`` for text, ``await model.choice_logprobs(conversation, choices)`` for one-pass
verdicts where the backend supports it. Providers: ``hf``, ``openai``, ``anthropic``, ``fake``;
each SDK is imported only when its provider is used.
"""

from rlaif.models.base import Backend, BackendError, CapabilityError
from rlaif.models.model import Model, ModelSpec, Usage, get_model
from rlaif.models.registry import register_backend
from rlaif.models.types import Completion, Conversation, GenerateConfig, Message

__all__ = [
    "Backend",
    "BackendError",
    "CapabilityError",
    "Completion",
    "Conversation",
    "GenerateConfig",
    "Message",
    "Model",
    "ModelSpec",
    "Usage",
    "get_model",
    "register_backend",
]
