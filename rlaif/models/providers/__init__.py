"""The providers: one module per backend, each registering itself under its provider name.

``hf`` (a local Hugging Face model, the embedded GGUF models included), ``openai`` (the OpenAI
API and any OpenAI-compatible server), ``anthropic`` and ``fake`` (scripted, for tests). The
registry (:mod:`rlaif.models.registry`) imports a provider's module the first time a model of it
is asked for, so an SDK is imported only when its provider is used; nothing else imports these
modules. ``sdk_clients`` holds what the two API providers share.
"""
