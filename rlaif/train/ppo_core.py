"""The arithmetic of PPO, as plain tensor functions: per-token KL and rewards, GAE, whitening,
the clipped policy and value losses, and the adaptive KL coefficient.

Every function takes a boolean ``mask`` (``True`` on response tokens that count) and, where a
mean or variance is taken over the batch, an optional ``reduce`` that sums a tensor over every
process (``accelerator.reduce(..., "sum")``), so that two processes with half the batch each
compute the same statistics as one process with all of it.

References: Schulman et al. 2017 (the clipped surrogate), Schulman et al. 2016 (GAE), Ziegler
et al. 2019 (per-token KL penalty, adaptive KL controller), http://joschu.net/blog/kl-approx.html
(the k1 and k3 estimators).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

Reduce = Callable[[torch.Tensor], torch.Tensor]
"""Sums a tensor over all processes (the identity on one process)."""


def _identity(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


def masked_sum_and_count(
    values: torch.Tensor, mask: torch.Tensor, reduce: Reduce = _identity
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of ``values`` where ``mask`` holds, and how many positions that is, over all
    processes."""
    total = reduce((values * mask).sum())
    count = reduce(mask.sum().to(values.dtype))
    return total, count


def masked_mean(
    values: torch.Tensor, mask: torch.Tensor, reduce: Reduce = _identity
) -> torch.Tensor:
    """Mean of ``values`` over the masked positions of every process."""
    total, count = masked_sum_and_count(values, mask, reduce)
    return total / count.clamp(min=1)


def masked_whiten(
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    shift_mean: bool = True,
    reduce: Reduce = _identity,
) -> torch.Tensor:
    """``values`` scaled to unit variance over the masked positions (and centred, unless
    ``shift_mean`` is false); unmasked positions are set to 0."""
    mean = masked_mean(values, mask, reduce)
    centred = values - mean
    variance = masked_mean(centred**2, mask, reduce)
    _, count = masked_sum_and_count(values, mask, reduce)
    if count > 1:  # Bessel's correction, as TRL and the reference implementations do
        variance = variance * count / (count - 1)
    whitened = centred * torch.rsqrt(variance + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def kl_per_token(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: Literal["k1", "k3"]
) -> torch.Tensor:
    """Per-token estimate of KL(policy ‖ reference) from the sampled tokens' log-probabilities:
    ``k1`` is ``log p - log q`` (unbiased), ``k3`` is ``(r - 1) - log r`` with ``r = q / p``
    (unbiased, lower variance, never negative)."""
    log_ratio = ref_logprobs - logprobs
    if estimator == "k1":
        return -log_ratio
    return log_ratio.exp() - 1 - log_ratio


def token_rewards(
    scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, kl_coef: float
) -> torch.Tensor:
    """Per-token rewards: ``-kl_coef * kl`` on every response token, plus the sequence's score on
    its last token."""
    rewards = -kl_coef * kl * mask
    last = mask.long().sum(dim=1).clamp(min=1) - 1
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores.to(rewards.dtype)
    return rewards


def generalized_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(γ, λ) advantages and the returns ``advantages + values``, computed backwards over each
    response; the value after a response's last token is 0 (the episode ends there)."""
    rewards = rewards * mask
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    next_value = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * running
        # Positions past a response's end contribute nothing and pass nothing back.
        running = running * mask[:, t]
        advantages[:, t] = running
        next_value = values[:, t]
    return advantages, (advantages + values) * mask


@dataclass
class PolicyLoss:
    """The clipped surrogate of one micro-batch, summed over its tokens, with its statistics."""

    loss_sum: torch.Tensor
    """``Σ max(-A·r, -A·clip(r, 1-ε, 1+ε))`` over the masked tokens (divide by the token count)."""
    unclipped_sum: torch.Tensor
    """``Σ -A·r``: the objective without clipping (equal to ``loss_sum`` while no ratio is
    clipped)."""
    ratio: torch.Tensor
    """Per-token probability ratio ``π_new / π_old``."""
    clipped: torch.Tensor
    """Per-token flag: the clipped term was the larger loss."""
    approx_kl: torch.Tensor
    """Per-token ``½ (log r)²``, an estimate of KL(old ‖ new)."""


def clipped_policy_loss(
    new_logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    cliprange: float,
) -> PolicyLoss:
    """Schulman et al.'s clipped surrogate on per-token log-ratios."""
    log_ratio = (new_logprobs - old_logprobs) * mask
    ratio = log_ratio.exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - cliprange, 1.0 + cliprange)
    loss = torch.maximum(unclipped, clipped)
    return PolicyLoss(
        loss_sum=(loss * mask).sum(),
        unclipped_sum=(unclipped * mask).sum(),
        ratio=ratio,
        clipped=(clipped > unclipped) & mask.bool(),
        approx_kl=0.5 * log_ratio**2,
    )


def clipped_value_loss(
    new_values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    cliprange_value: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``Σ ½ max((v - R)², (clip(v, v_old ± ε) - R)²)`` over the masked tokens, and the per-token
    flag of where the clipped term was larger."""
    clipped_values = old_values + (new_values - old_values).clamp(-cliprange_value, cliprange_value)
    unclipped = (new_values - returns) ** 2
    clipped = (clipped_values - returns) ** 2
    loss = 0.5 * torch.maximum(unclipped, clipped)
    return (loss * mask).sum(), (clipped > unclipped) & mask.bool()


class KLController:
    """The KL coefficient: fixed, or adapted towards ``target`` nats a response as in Ziegler et
    al. 2019 (the error is clipped to ±20% and scaled by ``episodes / horizon``)."""

    def __init__(self, coef: float, target: float | None = None, horizon: int = 10_000) -> None:
        self.value = coef
        self.target = target
        self.horizon = horizon

    def update(self, mean_kl: float, episodes: int) -> None:
        """Move the coefficient after a batch of ``episodes`` whose mean KL was ``mean_kl``."""
        if self.target is None:
            return
        error = min(max(mean_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * episodes / self.horizon
