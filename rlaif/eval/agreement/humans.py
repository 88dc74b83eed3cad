"""Your own human labels as the reference of ``rlaif eval agreement``, and how far the
annotators agree with each other: the ceiling a judge is measured against.

A labels file (``rlaif annotate serve`` output, :class:`~rlaif.data.HumanLabel` lines) and the
pair file it was labelled on become the :class:`~rlaif.eval.loaders.LoadedPairs` every
agreement run measures judges on; the judges are then scored by the one agreement pipeline
(:func:`~rlaif.eval.agreement.run.run_agreement`).

From labels to one label per pair:

- The latest label of each annotator on each pair is in force
  (:func:`~rlaif.data.latest_human_labels`).
- A pair's label is the majority of its annotators (one annotator: theirs). A pair whose
  annotators split evenly (1–1, 2–2) has no majority: it is left out of the judges' agreement,
  counted (``tied_pairs``) and listed with the skipped records.
- Its strength is ``better`` when more of the annotators on the majority side said "better"
  than "slightly" better, else ``slightly better`` (a close call). It is the pair's ``subset``,
  so each judge's agreement is also given on clear and on close pairs.
- The soft human label, the share of annotators who preferred the majority's response, is kept
  in the pair's ``metadata["human_share"]``.

Inter-annotator agreement (:class:`~rlaif.eval.results.HumanAgreementMetrics`):

- each annotator against the majority of the *other* annotators of the pair (leave-one-out:
  counting the annotator's own vote in the majority would flatter them); pairs the others tie on
  or nobody else labelled do not count. Pooled over annotators, this is the human–human
  counterpart of a judge's agreement with the majority.
- Cohen's kappa for exactly two annotators (scikit-learn), Krippendorff's alpha (nominal, the
  ``krippendorff`` package) for three or more, both on the preferred response (1 or 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rlaif.data import DataFileError, HumanLabel, PairRecord, iter_human_labels
from rlaif.data.human_labels import latest_human_labels
from rlaif.errors import RlaifError
from rlaif.eval.agreement.metrics import kappa_estimate
from rlaif.eval.bootstrap import DEFAULT_RESAMPLES, Estimate, mean_estimate
from rlaif.eval.loaders import LabelledPair, LoadedPairs, select_subset
from rlaif.eval.results import STRENGTH_SUBSETS, AnnotatorAgreement, HumanAgreementMetrics

MAJORITY_RULE = (
    "latest label per annotator and pair; majority of annotators (a tie is left out of the "
    "judges' agreement); strength 'better' when most of the majority said better, else "
    "'slightly better'; annotators measured against the others' majority (leave-one-out)"
)
"""How the labels were reduced, as the report states it."""


@dataclass(frozen=True)
class PairVotes:
    """The labels in force on one pair, one per annotator."""

    pair_id: str
    labels: tuple[HumanLabel, ...]

    def count(self, response: int) -> int:
        """Annotators who preferred ``response`` (1 or 2)."""
        return sum(label.preferred == response for label in self.labels)

    @property
    def majority(self) -> Literal[1, 2] | None:
        """The response most annotators preferred (``None``: they tie)."""
        return _majority(self.labels)

    @property
    def strength(self) -> str | None:
        """``better`` or ``slightly better`` (see the module docstring); ``None`` on a tie."""
        winner = self.majority
        if winner is None:
            return None
        side = [label for label in self.labels if label.preferred == winner]
        clear = sum(label.strength == "better" for label in side)
        return STRENGTH_SUBSETS["better" if 2 * clear > len(side) else "slightly"]

    def others_majority(self, annotator: str) -> Literal[1, 2] | None:
        """The majority of the annotators other than ``annotator`` (``None``: none or a tie)."""
        return _majority([label for label in self.labels if label.annotator != annotator])


def _majority(labels: Sequence[HumanLabel]) -> Literal[1, 2] | None:
    ones = sum(label.preferred == 1 for label in labels)
    twos = len(labels) - ones
    if ones == twos:
        return None
    return 1 if ones > twos else 2


def pair_votes(labels: Iterable[HumanLabel]) -> dict[str, PairVotes]:
    """The labels in force of each labelled pair, by pair id (in order of first label)."""
    by_pair: dict[str, list[HumanLabel]] = {}
    for label in latest_human_labels(labels).values():
        by_pair.setdefault(label.pair_id, []).append(label)
    return {pair_id: PairVotes(pair_id, tuple(found)) for pair_id, found in by_pair.items()}


def read_checked_labels(
    labels: str | Path, pairs: Sequence[PairRecord], pairs_source: str
) -> list[HumanLabel]:
    """Every label of ``labels``; a label whose pair is not in ``pairs`` stops with its
    ``file:line``."""
    known = {pair.id for pair in pairs}
    read: list[HumanLabel] = []
    for where, label in iter_human_labels(labels):
        if label.pair_id not in known:
            raise DataFileError(
                f"{where}: pair id {label.pair_id!r} is not in {pairs_source} ({len(known)} "
                "pairs); give the pair file these labels were made on, read with the --seed "
                "`rlaif annotate serve` was given"
            )
        read.append(label)
    if not read:
        raise DataFileError(f"{labels}: no labels")
    return read


def labelled_pair(pair: PairRecord, votes: PairVotes) -> LabelledPair:
    """``pair`` with the majority's response as ``chosen`` (``votes`` must have a majority)."""
    winner = votes.majority
    if winner is None:
        raise ValueError(f"pair {pair.id!r} has no majority")
    chosen, rejected = (
        (pair.response_1, pair.response_2) if winner == 1 else (pair.response_2, pair.response_1)
    )
    return LabelledPair(
        id=pair.id,
        prompt=pair.prompt,
        chosen=chosen,
        rejected=rejected,
        subset=votes.strength or "",
        metadata={
            "human_preferred": winner,
            "human_votes": {"1": votes.count(1), "2": votes.count(2)},
            "human_share": votes.count(winner) / len(votes.labels),
        },
    )


def human_labelled_pairs(
    labels: str | Path,
    pairs: Sequence[PairRecord],
    *,
    pairs_source: str,
    limit: int | None = None,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> LoadedPairs:
    """The pairs of ``pairs`` that have labels in ``labels``, each with its majority label (see
    the module docstring), ready for :func:`~rlaif.eval.agreement.run.run_agreement`
    (``loaded=``); ``limit`` keeps a seeded random subset of the labelled pairs. The result's
    ``human`` holds the inter-annotator agreement on the same pairs."""
    read = read_checked_labels(labels, pairs, pairs_source)
    votes = pair_votes(read)
    ordered = select_subset([votes[p.id] for p in pairs if p.id in votes], limit, seed)
    by_id = {pair.id: pair for pair in pairs}
    loaded = LoadedPairs(source=str(labels), pairs=[], total=len(ordered))
    for pair_votes_ in ordered:
        pair = by_id[pair_votes_.pair_id]
        reason = None
        if pair_votes_.majority is None:
            reason = (
                f"annotators tie ({pair_votes_.count(1)} for response 1, "
                f"{pair_votes_.count(2)} for response 2): no majority"
            )
        elif pair.response_1 == pair.response_2:
            reason = "the two responses are identical"
        if reason is not None:
            loaded.skipped.append({"id": pair.id, "where": str(labels), "reason": reason})
            continue
        loaded.pairs.append(labelled_pair(pair, pair_votes_))
    if not loaded.pairs:
        raise DataFileError(
            f"{labels}: none of the {len(ordered)} labelled pairs has a majority label "
            "(every one is tied)"
        )
    loaded.human = inter_annotator_agreement(
        ordered,
        labels_file=str(labels),
        pairs_file=pairs_source,
        label_lines=len(read),
        pairs_in_file=len(pairs),
        seed=seed,
        n_resamples=n_resamples,
    )
    return loaded


def inter_annotator_agreement(
    votes: Sequence[PairVotes],
    *,
    labels_file: str,
    pairs_file: str,
    label_lines: int,
    pairs_in_file: int,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> HumanAgreementMetrics:
    """How far the annotators of ``votes`` agree: each against the others' majority, Cohen's
    kappa (two annotators) or Krippendorff's alpha (three or more), and the pair counts."""
    annotators: list[str] = []
    for pair in votes:
        annotators += [a.annotator for a in pair.labels if a.annotator not in annotators]
    boot = {"seed": seed, "n_resamples": n_resamples}
    notes = [MAJORITY_RULE]
    rows, pooled = [], []
    for annotator in annotators:
        own = [(p, label) for p in votes for label in p.labels if label.annotator == annotator]
        hits = [
            float(label.preferred == others)
            for p, label in own
            if (others := p.others_majority(annotator)) is not None
        ]
        pooled += hits
        rows.append(
            AnnotatorAgreement(
                annotator=annotator,
                n_labels=len(own),
                agreement_with_others=mean_estimate(hits, **boot),
                slightly_rate=sum(label.strength == "slightly" for _, label in own) / len(own),
            )
        )
    measured = [p for p in votes if p.majority is not None]
    kappa = alpha = None
    if len(annotators) == 2:
        kappa = two_annotator_kappa(votes, annotators, notes, **boot)
    elif len(annotators) > 2:
        alpha = nominal_alpha(votes, annotators, notes)
    else:
        notes.append("one annotator: no inter-annotator agreement can be measured")
    strengths = [p.strength for p in measured]
    return HumanAgreementMetrics(
        labels_file=labels_file,
        pairs_file=pairs_file,
        annotators=annotators,
        label_lines=label_lines,
        labels_in_force=sum(len(p.labels) for p in votes),
        pairs_in_file=pairs_in_file,
        pairs_labelled=len(votes),
        pairs_multiply_labelled=sum(len(p.labels) > 1 for p in votes),
        tied_pairs=len(votes) - len(measured),
        pairs_measured=len(measured),
        by_strength={name: strengths.count(name) for name in STRENGTH_SUBSETS.values()},
        both_unacceptable=sum(any(a.both_unacceptable for a in p.labels) for p in measured),
        agreement_with_majority=mean_estimate(pooled, **boot) if pooled else None,
        cohen_kappa=kappa,
        krippendorff_alpha=alpha,
        annotator_rows=rows,
        notes=notes,
    )


def two_annotator_kappa(
    votes: Sequence[PairVotes],
    annotators: Sequence[str],
    notes: list[str],
    *,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> Estimate | None:
    """Cohen's kappa of the two annotators on the pairs both labelled (``None`` with a note
    when they share no pair)."""
    first, second = [], []
    for pair in votes:
        by = {label.annotator: float(label.preferred) for label in pair.labels}
        if all(a in by for a in annotators):
            first.append(by[annotators[0]])
            second.append(by[annotators[1]])
    if not first:
        notes.append("Cohen's kappa: the two annotators share no pair")
        return None
    kappa = kappa_estimate(np.array(first), np.array(second), seed=seed, n_resamples=n_resamples)
    if kappa.value is None:
        notes.append("Cohen's kappa is undefined: both annotators gave one response every time")
    return kappa


def nominal_alpha(
    votes: Sequence[PairVotes], annotators: Sequence[str], notes: list[str]
) -> float | None:
    """Krippendorff's alpha (nominal) of the preferred responses, annotators × pairs, a pair
    an annotator did not label missing (``None`` with a note where it is undefined)."""
    data = np.full((len(annotators), len(votes)), np.nan)
    row = {name: i for i, name in enumerate(annotators)}
    for column, pair in enumerate(votes):
        for label in pair.labels:
            data[row[label.annotator], column] = label.preferred
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if not pairable.any():
        notes.append("Krippendorff's alpha: no pair has two annotators")
        return None
    values = data[:, pairable]
    if len(np.unique(values[~np.isnan(values)])) < 2:
        notes.append("Krippendorff's alpha is undefined: every label names the same response")
        return None
    try:
        import krippendorff  # imported only where three or more annotators are measured
    except ImportError:
        raise RlaifError(
            "Krippendorff's alpha needs the `krippendorff` package, a dependency of rlaif: "
            "pip install krippendorff"
        ) from None
    value = float(
        krippendorff.alpha(
            reliability_data=values, level_of_measurement="nominal", value_domain=[1.0, 2.0]
        )
    )
    return value if np.isfinite(value) else None
