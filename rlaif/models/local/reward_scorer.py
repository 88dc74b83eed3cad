"""Scoring conversations with a reward model (pairwise accuracy: :mod:`rlaif.data.accuracy`).

:class:`RewardScorer` is shared by ``rlaif train rm`` (held-out and human-label accuracy after
training) and ``rlaif eval rm`` / ``rlaif eval policy``, so the same model gives the same scores
everywhere. It tokenizes a conversation exactly as TRL's ``RewardTrainer`` saw its training
pairs: ``apply_chat_template(prompt + reply, tokenize=True, return_dict=True)`` (TRL 1.12's
``data_utils._tokenize`` for conversational data: no generation prompt, no extra special tokens),
pads on the right and reads the score head's output (the model picks the last non-pad token).
Sequences longer than ``max_length`` keep their end, where the reward is read (TRL drops such
pairs from training instead). A tokenizer without a chat template (which ``train rm`` refuses)
scores ``role: content`` lines.

Nothing here imports torch or transformers at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlaif.errors import RlaifError

Conversation = list[dict[str, str]]
"""Chat messages (``role``/``content``) ending with the reply being scored."""


def encode_conversation(tokenizer: Any, conversation: Conversation) -> list[int]:
    """Token ids of a conversation as TRL's ``RewardTrainer`` tokenizes it (chat template, no
    generation prompt); ``role: content`` lines when the tokenizer has no chat template."""
    if getattr(tokenizer, "chat_template", None):
        encoded = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)
        return list(encoded["input_ids"])
    text = "\n".join(f"{m['role']}: {m['content']}" for m in conversation)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


class RewardScorer:
    """Scores conversations with a one-label sequence-classification reward model."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        """Longest sequence scored; longer ones keep their last tokens (``None``: no limit)."""
        self.has_template = bool(getattr(tokenizer, "chat_template", None))
        self.truncated = 0
        """Sequences cut to ``max_length`` so far."""

    @classmethod
    def from_folder(
        cls,
        path: str | Path,
        *,
        device: str = "auto",
        max_length: int = 1024,
        trust_remote_code: bool = False,
    ) -> RewardScorer:
        """Load a saved reward model (``AutoModelForSequenceClassification``, one label) and its
        tokenizer; ``max_length`` is capped at the model's position embeddings."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise RlaifError(f"{folder}: not a model folder (no config.json)")
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, trust_remote_code=trust_remote_code, use_safetensors=True
        )
        if model.config.num_labels != 1:
            raise RlaifError(
                f"{folder}: a reward model has one output label, this one has "
                f"{model.config.num_labels}"
            )
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        limit = getattr(model.config, "max_position_embeddings", None) or max_length
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model.to(device).eval()
        return cls(model, tokenizer, max_length=min(max_length, limit))

    @property
    def device(self) -> str:
        """Where the model's weights are."""
        return str(next(self.model.parameters()).device)

    @staticmethod
    def conversation(prompt: Conversation, reply: str) -> Conversation:
        """The conversation scored for ``reply`` to ``prompt``."""
        return [*prompt, {"role": "assistant", "content": reply}]

    def encode(self, conversation: Conversation) -> list[int]:
        """Token ids of ``conversation``, cut from the left to ``max_length``."""
        ids = encode_conversation(self.tokenizer, conversation)
        if self.max_length is not None and len(ids) > self.max_length:
            self.truncated += 1
            ids = ids[-self.max_length :]
        return ids

    def score(
        self, conversations: Sequence[Conversation], *, batch_size: int = 8, progress: bool = False
    ) -> np.ndarray:
        """One scalar reward per conversation (right-padded batches of ``batch_size``)."""
        import torch
        from tqdm.auto import tqdm

        encoded = [self.encode(c) for c in conversations]
        pad_id = self.tokenizer.pad_token_id
        device = next(self.model.parameters()).device
        scores: list[float] = []
        was_training = self.model.training
        self.model.eval()
        steps = range(0, len(encoded), batch_size)
        with torch.no_grad():
            for start in tqdm(steps, desc="scoring", disable=not progress, leave=False):
                batch = encoded[start : start + batch_size]
                width = max(len(ids) for ids in batch)
                input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                attention = torch.zeros((len(batch), width), dtype=torch.long)
                for row, ids in enumerate(batch):
                    input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                    attention[row, : len(ids)] = 1
                logits = self.model(
                    input_ids=input_ids.to(device), attention_mask=attention.to(device)
                ).logits
                scores.extend(float(value) for value in logits[:, 0].float().cpu())
        self.model.train(was_training)
        return np.asarray(scores, dtype=float)
