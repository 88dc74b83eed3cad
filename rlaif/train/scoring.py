"""Scoring preference pairs with a reward model: pairwise accuracy on held-out AI labels and on
human-labelled pairs.

Conversations are tokenized exactly as TRL's ``RewardTrainer`` does (the chat template applied to
prompt + response). Sequences longer than ``max_length`` keep their end, where the reward is read.
"""

from __future__ import annotations

from typing import Any


def encode_conversation(tokenizer: Any, conversation: list[dict[str, str]]) -> list[int]:
    """Token ids of a conversation through the chat template (no generation prompt)."""
    encoded = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)
    return list(encoded["input_ids"])


def score_conversations(
    model: Any,
    tokenizer: Any,
    conversations: list[list[dict[str, str]]],
    *,
    max_length: int | None = None,
    batch_size: int = 8,
) -> tuple[list[float], int]:
    """Reward of each conversation and how many were cut to ``max_length`` (from the left)."""
    import torch

    encoded = [encode_conversation(tokenizer, c) for c in conversations]
    truncated = 0
    if max_length is not None:
        truncated = sum(len(ids) > max_length for ids in encoded)
        encoded = [ids[-max_length:] for ids in encoded]
    pad_id = tokenizer.pad_token_id
    device = next(model.parameters()).device
    scores: list[float] = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            batch = encoded[start : start + batch_size]
            width = max(len(ids) for ids in batch)
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            for row, ids in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention[row, : len(ids)] = 1
            logits = model(
                input_ids=input_ids.to(device), attention_mask=attention.to(device)
            ).logits
            scores.extend(float(value) for value in logits[:, 0].float().cpu())
    model.train(was_training)
    return scores, truncated


def pairwise_accuracy(
    model: Any,
    tokenizer: Any,
    rows: list[dict[str, Any]],
    *,
    max_length: int | None = None,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Share of pairs whose ``chosen`` response gets the higher reward (ties count as wrong)."""
    chosen = [row["prompt"] + row["chosen"] for row in rows]
    rejected = [row["prompt"] + row["rejected"] for row in rows]
    chosen_scores, cut_chosen = score_conversations(
        model, tokenizer, chosen, max_length=max_length, batch_size=batch_size
    )
    rejected_scores, cut_rejected = score_conversations(
        model, tokenizer, rejected, max_length=max_length, batch_size=batch_size
    )
    gaps = [c - r for c, r in zip(chosen_scores, rejected_scores, strict=True)]
    n = len(gaps)
    return {
        "accuracy": sum(gap > 0 for gap in gaps) / n if n else None,
        "n": n,
        "ties": sum(gap == 0 for gap in gaps),
        "mean_reward_gap": sum(gaps) / n if n else None,
        "truncated_sequences": cut_chosen + cut_rejected,
    }
