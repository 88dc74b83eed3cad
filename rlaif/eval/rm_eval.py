"""Reward-model evaluation on human-labelled pairs (``rlaif eval rm``).

The reward model (an ``AutoModelForSequenceClassification`` folder with one label) scores the
prompt plus each reply, rendered with its tokenizer's chat template. Its verdict on a pair is the
Bradley–Terry probability ``sigmoid(score_1 - score_2)``, so the agreement metrics, calibration
and trivial baselines are the same as for judges. On top: the score margin distribution, how
strongly scores follow reply length, and an order/batching check (scores computed in a batch
must equal scores computed one by one, in reverse order — padding bugs show up here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit
from scipy.stats import spearmanr

from rlaif.errors import RlaifError
from rlaif.eval.agreement import judge_metrics, paired_difference
from rlaif.eval.baselines import trivial_baselines
from rlaif.eval.bootstrap import DEFAULT_RESAMPLES
from rlaif.eval.loaders import load_labelled_pairs
from rlaif.eval.plots import histogram_counts
from rlaif.eval.predictions import PairFrame, Predictions, assign_positions

ORDER_CHECK_PAIRS = 16
"""Pairs re-scored one by one, in reverse order, for the order/batching check."""
ORDER_CHECK_TOLERANCE = 1e-3
"""Largest score difference the check accepts (float32 batched vs unbatched noise)."""


class RewardScorer:
    """Scores conversations with a sequence-classification reward model."""

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "auto",
        max_length: int = 1024,
        trust_remote_code: bool = False,
    ):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise RlaifError(f"{folder}: not a model folder (no config.json)")
        self.tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            folder, trust_remote_code=trust_remote_code, use_safetensors=True
        )
        if self.model.config.num_labels != 1:
            raise RlaifError(
                f"{folder}: a reward model has one output label, this one has "
                f"{self.model.config.num_labels}"
            )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        # Keep the end of long conversations: the reply being scored is there.
        self.tokenizer.truncation_side = "left"
        self.tokenizer.padding_side = "right"
        limit = getattr(self.model.config, "max_position_embeddings", None) or max_length
        self.max_length = min(max_length, limit)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.model.to(device).eval()
        self.has_template = bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, prompt: list[dict[str, str]], reply: str) -> str:
        """The text scored for ``reply`` to ``prompt`` (chat template when the tokenizer has
        one, else ``role: content`` lines)."""
        conversation = [*prompt, {"role": "assistant", "content": reply}]
        if self.has_template:
            return str(self.tokenizer.apply_chat_template(conversation, tokenize=False))
        return "\n".join(f"{m['role']}: {m['content']}" for m in conversation)

    def score(self, texts: Sequence[str], *, batch_size: int = 8, progress: bool = True):
        """One scalar reward per text."""
        import torch
        from tqdm.auto import tqdm

        scores: list[float] = []
        steps = range(0, len(texts), batch_size)
        for start in tqdm(steps, desc="scoring", disable=not progress, leave=False):
            batch = list(texts[start : start + batch_size])
            encoded = self.tokenizer(
                batch,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_length,
                add_special_tokens=False,
            )
            with torch.no_grad():
                logits = self.model(**encoded.to(self.device)).logits
            scores.extend(logits[:, 0].float().cpu().tolist())
        return np.asarray(scores, dtype=float)


def order_check(scorer: RewardScorer, texts: Sequence[str], batched: np.ndarray) -> dict:
    """Re-score the first texts one by one in reverse order and compare with the batched
    scores."""
    subset = list(texts[: 2 * ORDER_CHECK_PAIRS])
    if not subset:
        return {"pairs": 0, "max_abs_difference": None, "verdict_flips": 0, "passed": None}
    alone = scorer.score(subset[::-1], batch_size=1, progress=False)[::-1]
    reference = batched[: len(subset)]
    diff = float(np.max(np.abs(alone - reference)))
    flips = int(
        np.sum(np.sign(alone[0::2] - alone[1::2]) != np.sign(reference[0::2] - reference[1::2]))
    )
    return {
        "pairs": len(subset) // 2,
        "max_abs_difference": diff,
        "verdict_flips": flips,
        "tolerance": ORDER_CHECK_TOLERANCE,
        "passed": bool(diff <= ORDER_CHECK_TOLERANCE and flips == 0),
    }


def evaluate_reward_model(
    model_path: str | Path,
    data: str,
    *,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 8,
    max_length: int = 1024,
    device: str = "auto",
    n_resamples: int = DEFAULT_RESAMPLES,
    data_dir: str | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """Pairwise accuracy, calibration, margins, length correlation and the order check of a
    reward model on human-labelled pairs; returns the ``metrics.json`` dictionary."""
    loaded = load_labelled_pairs(data, data_dir=data_dir, split=split, limit=limit, seed=seed)
    shown = assign_positions(loaded.pairs, seed)
    frame = PairFrame.from_shown(shown)
    scorer = RewardScorer(model_path, device=device, max_length=max_length)
    texts = [
        t
        for s in shown
        for t in (
            scorer.render(s.pair.prompt, s.response_1),
            scorer.render(s.pair.prompt, s.response_2),
        )
    ]
    scores = scorer.score(texts, batch_size=batch_size)
    score_1, score_2 = scores[0::2], scores[1::2]
    name = f"reward model {Path(model_path).name}"
    preds = Predictions(
        name=name,
        p_r1=expit(score_1 - score_2),
        kind="judge",
        mode="Bradley-Terry sigmoid(score difference)",
        errors=[None] * len(frame),
    )
    boot = {"seed": seed, "n_resamples": n_resamples}
    baselines = trivial_baselines(frame, seed)
    results = {p.name: judge_metrics(frame, p, **boot) for p in [preds, *baselines]}
    best = max(baselines, key=lambda b: results[b.name]["accuracy"]["value"] or 0.0)
    results[name]["vs_best_baseline"] = {
        "baseline": best.name,
        "accuracy_difference": paired_difference(frame, preds, best, **boot).model_dump(),
    }
    chosen = np.where(frame.chosen_is_1, score_1, score_2)
    rejected = np.where(frame.chosen_is_1, score_2, score_1)
    margins = chosen - rejected
    lengths = np.column_stack([frame.len_1, frame.len_2]).ravel()  # the order of ``scores``
    length_corr = spearmanr(scores, lengths) if np.ptp(scores) > 0 else None
    edges = np.histogram_bin_edges(np.concatenate([chosen, rejected]), bins=30)
    return {
        "kind": "rm",
        "model": str(model_path),
        "n_pairs": len(frame),
        "data": loaded.describe(),
        "judges": [name],
        "baselines": [b.name for b in baselines],
        "results": results,
        "margin": {
            "mean": float(margins.mean()),
            "median": float(np.median(margins)),
            "std": float(margins.std()),
            "fraction_positive": float(np.mean(margins > 0)),
            "histogram": histogram_counts(margins, 30),
        },
        "scores": {
            "chosen": {
                "mean": float(chosen.mean()),
                "std": float(chosen.std()),
                "histogram": histogram_counts(chosen, edges),
            },
            "rejected": {
                "mean": float(rejected.mean()),
                "std": float(rejected.std()),
                "histogram": histogram_counts(rejected, edges),
            },
        },
        "length_spearman": None
        if length_corr is None
        else {"rho": float(length_corr.statistic), "p_value": float(length_corr.pvalue)},
        "order_check": order_check(scorer, texts, scores),
        "settings": {
            "data": data,
            "limit": limit,
            "seed": seed,
            "batch_size": batch_size,
            "max_length": scorer.max_length,
            "device": scorer.device,
            "chat_template": scorer.has_template,
        },
        "bootstrap": {
            "seed": seed,
            "n_resamples": n_resamples,
            "confidence": 0.95,
            "method": "percentile, resampling pairs",
        },
    }
