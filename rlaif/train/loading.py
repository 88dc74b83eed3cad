"""Loading models and tokenizers for training, with a padding token distinct from EOS.

TRL's PPO masks every position whose id equals the pad id, and SFT drops pad positions from the
loss: a tokenizer whose pad token is its EOS token (SmolLM2's is) would hide the end-of-turn
tokens in prompts and never teach the model to stop. :func:`load_tokenizer` therefore picks an
existing special token that the chat template never writes (SmolLM2's ``<|endoftext|>``), or adds
a ``<|pad|>`` token when there is none, and every model loaded here is resized to match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlaif.errors import ConfigError
from rlaif.models.local import CATALOG, resolve

PAD_TOKEN = "<|pad|>"


def resolve_model_path(name: str) -> str:
    """A local folder or hub id for ``name``, resolved like the ``hf/`` backend does (the prefix
    is optional): an embedded catalog name such as ``smollm2-135m-instruct`` (converted from its
    wheel on first use), a ``.gguf`` file, a folder, or a hub id (``owner/name``)."""

    if name.startswith("hf/"):
        name = name[3:]
    folder = Path(name).expanduser()
    if name not in CATALOG and not folder.exists() and folder.suffix.lower() != ".gguf":
        looks_local = name.startswith((".", "/", "~")) or name.count("/") != 1
        if looks_local or folder.parent.is_dir():
            raise ConfigError(f"model folder not found: {name} (hub ids are written owner/name)")
    return resolve(name).location


def load_tokenizer(name: str, *, padding_side: str = "right", trust_remote_code: bool = False):
    """The model's tokenizer with a pad token that is not its EOS token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        resolve_model_path(name), trust_remote_code=trust_remote_code
    )
    tokenizer.padding_side = padding_side
    if tokenizer.chat_template is None:
        raise ConfigError(f"the tokenizer of {name} has no chat template")
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        spare = _spare_special_token(tokenizer)
        if spare is not None:
            tokenizer.pad_token = spare
        else:
            fresh = PAD_TOKEN if PAD_TOKEN not in tokenizer.get_vocab() else "<|rlaif_pad|>"
            tokenizer.add_special_tokens({"pad_token": fresh})
    return tokenizer


def _spare_special_token(tokenizer: Any) -> str | None:
    """An existing special token that is neither EOS nor BOS and that the chat template does
    not write, usable as padding without growing the vocabulary."""
    sample = [
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "v"},
    ]
    rendered = tokenizer.apply_chat_template(sample, tokenize=False, add_generation_prompt=True)
    vocab = tokenizer.get_vocab()
    taken = {tokenizer.eos_token, tokenizer.bos_token}
    for candidate in (PAD_TOKEN, tokenizer.unk_token, "<|endoftext|>", "<pad>", "[PAD]"):
        usable = candidate and candidate in vocab and candidate not in taken
        if usable and candidate not in rendered:
            return str(candidate)
    return None


def torch_dtype(name: str) -> Any:
    """The torch dtype for a ``model_dtype`` setting (``auto`` is passed through)."""
    import torch

    return name if name == "auto" else getattr(torch, name)


def load_training_lm(name: str, tokenizer: Any, *, dtype: str, trust_remote_code: bool = False):
    """A causal language model to train, resized to the tokenizer (which carries a dedicated pad
    token, see :func:`load_tokenizer`) and told its pad id. Inference loads models with
    :func:`rlaif.models.local.load_inference_lm` instead."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        resolve_model_path(name), dtype=torch_dtype(dtype), trust_remote_code=trust_remote_code
    )
    return match_tokenizer(model, tokenizer)


def load_reward_model(name: str, tokenizer: Any, *, dtype: str, trust_remote_code: bool = False):
    """A one-label sequence classifier (a fresh score head when ``name`` is a causal LM)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        resolve_model_path(name),
        num_labels=1,
        dtype=torch_dtype(dtype),
        trust_remote_code=trust_remote_code,
    )
    return match_tokenizer(model, tokenizer)


def match_tokenizer(model: Any, tokenizer: Any) -> Any:
    """Grow the embeddings to cover added tokens and set the pad id everywhere it is read."""
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.config.pad_token_id = tokenizer.pad_token_id
    generation_config = getattr(model, "generation_config", None)
    if generation_config is not None:
        generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def check_same_tokenizer(policy_tokenizer: Any, other_name: str, role: str) -> None:
    """Refuse a reward/value model whose own tokenizer differs from the policy's (PPO scores the
    policy's token ids directly)."""
    folder = Path(resolve_model_path(other_name))
    if not folder.is_dir() or not any(folder.glob("tokenizer*")):
        return
    other = load_tokenizer(other_name)
    if other.get_vocab() != policy_tokenizer.get_vocab():
        raise ConfigError(
            f"the {role} ({other_name}) has a different tokenizer from the policy; PPO needs "
            "them to share one (train the reward model from the SFT policy)"
        )
