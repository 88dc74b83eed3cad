"""The pairs to annotate, read from any pair file the project writes or reads.

:func:`load_annotation_pairs` looks at the first record and reads the file with the project's
own loader for that shape:

- ``response_1``/``response_2`` pairs (``rlaif label --pairs`` input) and preference records or
  human-labelled pairs (``chosen``/``rejected``): :func:`~rlaif.data.load_pairs`, which puts
  ``chosen``/``rejected`` in a seeded random order so position does not give the label away;
- candidates (``rlaif generate`` output, ``responses`` holding K >= 2 responses):
  :func:`~rlaif.data.load_candidates`, then the same pairs ``rlaif label --candidates`` judges
  with the same ``seed`` and ``max_pairs_per_prompt``: every pair ``i < j`` when K <= 4, else
  ``max_pairs_per_prompt`` of them drawn at random, each with the id ``<candidate id>/<i>-<j>``
  and ``response_1``/``response_2`` being responses ``i`` and ``j``;
- Anthropic's raw HH-RLHF transcripts (``chosen``/``rejected`` strings, no ``prompt``):
  :func:`~rlaif.data.load_hh_rlhf`.

The same file read with the same settings always gives the same pairs in the same numbering, so
the labels' ``preferred`` (1 or 2) can be matched to the pairs again later.
"""

from __future__ import annotations

import random
from pathlib import Path

from rlaif.data import (
    DataFileError,
    PairRecord,
    iter_rows,
    load_candidates,
    load_hh_rlhf,
    load_pairs,
)
from rlaif.judge.strategies import pair_indices

DEFAULT_MAX_PAIRS_PER_PROMPT = 6
"""Pairs built from one candidate record with more than 4 responses (``rlaif label``'s
default)."""


def pair_format(path: str | Path) -> str:
    """The shape of a pair file, from its first record: ``candidates``, ``hh-rlhf`` or
    ``pairs`` (``response_1``/``response_2`` or ``chosen``/``rejected``)."""
    for _, row in iter_rows(path):
        if "responses" in row:
            return "candidates"
        if "prompt" not in row and isinstance(row.get("chosen"), str):
            return "hh-rlhf"
        return "pairs"
    raise DataFileError(f"{path}: no records")


def pairs_from_candidates(
    path: str | Path, *, seed: int = 0, max_pairs_per_prompt: int = DEFAULT_MAX_PAIRS_PER_PROMPT
) -> list[PairRecord]:
    """The pairs ``rlaif label --candidates`` builds from a candidates file (see the module
    docstring); a record with fewer than two responses is refused."""
    pairs = []
    for candidate in load_candidates(path):
        if len(candidate.responses) < 2:
            raise DataFileError(
                f"{path}: candidate {candidate.id!r} has {len(candidate.responses)} response(s); "
                "a pair needs two"
            )
        rng = random.Random(f"{seed}:{candidate.id}")
        for i, j in pair_indices(len(candidate.responses), max_pairs_per_prompt, rng):
            pairs.append(
                PairRecord(
                    id=f"{candidate.id}/{i}-{j}",
                    prompt=candidate.prompt,
                    response_1=candidate.responses[i],
                    response_2=candidate.responses[j],
                    metadata={"source_id": candidate.id, "indices": [i, j]},
                )
            )
    return pairs


def load_annotation_pairs(
    path: str | Path, *, seed: int = 0, max_pairs_per_prompt: int = DEFAULT_MAX_PAIRS_PER_PROMPT
) -> list[PairRecord]:
    """The pairs of any pair file (see the module docstring), in file order."""
    fmt = pair_format(path)
    if fmt == "candidates":
        pairs = pairs_from_candidates(path, seed=seed, max_pairs_per_prompt=max_pairs_per_prompt)
    elif fmt == "hh-rlhf":
        pairs = load_hh_rlhf(path, seed=seed)
    else:
        pairs = load_pairs(path, seed=seed)
    if not pairs:
        raise DataFileError(f"{path}: no pairs to annotate")
    return pairs
