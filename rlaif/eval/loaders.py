"""Load human-labelled preference pairs for evaluation.

Three input shapes are understood:

- the normalised pair format (``id``, ``prompt`` messages, ``chosen``, ``rejected``; TRL's
  conversational and standard preference columns are accepted too);
- raw Anthropic HH-RLHF records (``chosen``/``rejected`` transcripts with ``\\n\\nHuman:`` and
  ``\\n\\nAssistant:`` markers), from a local ``.jsonl``/``.jsonl.gz`` file or from the hub
  (``hf:Anthropic/hh-rlhf`` with a data dir);
- any JSONL whose columns an evaluation suite (``eval/suites/*.yaml``) maps onto ours.

Files are read by :mod:`rlaif.data` (:func:`~rlaif.data.iter_rows`,
:func:`~rlaif.data.iter_hub_rows`, :func:`~rlaif.data.split_hh_pair`). Records that cannot be
turned into a usable pair (a transcript whose two sides do not share the same conversation,
identical replies) are skipped and listed with their reason; malformed files raise
:class:`~rlaif.data.DataFileError` naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rlaif.data import DataFileError, conversation_from, iter_hub_rows, iter_rows, split_hh_pair
from rlaif.errors import RlaifError
from rlaif.eval.results import HumanAgreementMetrics
from rlaif.eval.suites import Suite, builtin_suites, find_suite, load_suite
from rlaif.models.types import Conversation

T = TypeVar("T")


@dataclass(frozen=True)
class LabelledPair:
    """A prompt, the response a human preferred (``chosen``) and the other one (``rejected``)."""

    id: str
    prompt: Conversation
    chosen: str
    rejected: str
    subset: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadedPairs:
    """Pairs loaded from one source, with what had to be skipped and why."""

    source: str
    pairs: list[LabelledPair]
    skipped: list[dict[str, str]] = field(default_factory=list)
    """``{"id", "reason"}`` for each record that could not be used."""
    total: int = 0
    """Records read before skipping and before any ``limit``."""
    human: HumanAgreementMetrics | None = None
    """Inter-annotator agreement, when the pairs come from a labels file
    (:func:`~rlaif.eval.agreement.humans.human_labelled_pairs`)."""

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for ``metrics.json``."""
        return {
            "source": self.source,
            "records": self.total,
            "pairs": len(self.pairs),
            "skipped": self.skipped,
        }


def pair_from_hh_transcripts(pair_id: str, chosen: str, rejected: str) -> LabelledPair:
    """Build a pair from the two transcripts of an HH-RLHF record.

    Raises ``ValueError`` with the reason when :func:`~rlaif.data.split_hh_pair` refuses the
    transcripts or they end in the same reply."""
    prompt, chosen_reply, rejected_reply = split_hh_pair(chosen, rejected)
    if chosen_reply == rejected_reply:
        raise ValueError("the two final replies are identical")
    return LabelledPair(pair_id, prompt, chosen_reply, rejected_reply)


def _as_reply(value: Any) -> str:
    """A response column: a string, or TRL's conversational ``[{"role": "assistant", ...}]``."""
    if isinstance(value, str):
        return value
    messages = conversation_from(value, "assistant")
    if len(messages) != 1 or messages[0]["role"] != "assistant":
        raise ValueError("a conversational response must hold exactly one assistant message")
    return messages[0]["content"]


def _column(record: Mapping[str, Any], name: str) -> Any:
    if name not in record:
        raise ValueError(f"missing column {name!r} (columns: {', '.join(map(str, record))})")
    return record[name]


def record_to_pair(record: Mapping[str, Any], suite: Suite, default_id: str) -> LabelledPair:
    """Turn one raw record into a pair following ``suite``'s format and column mapping.

    Raises ``ValueError`` with the reason when the record cannot be used."""
    cols = suite.columns
    pair_id = str(record.get(cols.id, default_id)) if cols.id else default_id
    subset = str(record.get(cols.subset, "") or "") if cols.subset else ""
    subset = subset or suite.subset or ""
    fmt = suite.format
    if fmt == "auto":
        fmt = "hh-rlhf" if cols.prompt not in record and cols.chosen in record else "pairs"
    if fmt == "hh-rlhf":
        pair = pair_from_hh_transcripts(
            pair_id, str(_column(record, cols.chosen)), str(_column(record, cols.rejected))
        )
        return LabelledPair(pair.id, pair.prompt, pair.chosen, pair.rejected, subset)
    prompt = conversation_from(_column(record, cols.prompt), "user")
    if cols.preferred is not None:
        first = _as_reply(_column(record, cols.response_1))
        second = _as_reply(_column(record, cols.response_2))
        verdict = str(_column(record, cols.preferred))
        if verdict == suite.preferred_values.response_1:
            chosen, rejected = first, second
        elif verdict == suite.preferred_values.response_2:
            chosen, rejected = second, first
        else:
            raise ValueError(f"label {verdict!r} names neither response (a tie or unknown value)")
    else:
        chosen = _as_reply(_column(record, cols.chosen))
        rejected = _as_reply(_column(record, cols.rejected))
    if chosen == rejected:
        raise ValueError("the two replies are identical")
    if not prompt:
        raise ValueError("empty prompt")
    metadata = {k: record[k] for k in suite.keep_columns if k in record}
    return LabelledPair(pair_id, prompt, chosen, rejected, subset, metadata)


def pairs_from_records(
    records: Iterable[tuple[str, dict[str, Any]]], suite: Suite, id_prefix: str
) -> LoadedPairs:
    """Convert records, skipping (and listing) the ones that are not usable pairs."""
    loaded = LoadedPairs(source=suite.source, pairs=[])
    seen: set[str] = set()
    for index, (where, record) in enumerate(records):
        loaded.total += 1
        default_id = f"{id_prefix}/{index}"
        try:
            pair = record_to_pair(record, suite, default_id)
        except ValueError as error:
            loaded.skipped.append(
                {
                    "id": str(record.get(suite.columns.id or "", default_id)),
                    "where": where,
                    "reason": str(error),
                }
            )
            continue
        if pair.id in seen:
            raise DataFileError(f"{where}: duplicate pair id {pair.id!r}")
        seen.add(pair.id)
        loaded.pairs.append(pair)
    if loaded.total == 0:
        raise DataFileError(f"{suite.source}: no records")
    if not loaded.pairs:
        reasons = "; ".join(sorted({s["reason"] for s in loaded.skipped})[:3])
        raise DataFileError(f"{suite.source}: no usable pair in {loaded.total} records ({reasons})")
    return loaded


def select_subset(items: Sequence[T], limit: int | None, seed: int) -> list[T]:
    """A seeded random subset of ``limit`` items, kept in their order (all items when ``limit``
    is ``None`` or not smaller than the set)."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 1:
        raise RlaifError(f"--limit must be at least 1, got {limit}")
    chosen = np.sort(np.random.default_rng(seed).choice(len(items), size=limit, replace=False))
    return [items[i] for i in chosen]


def load_labelled_pairs(
    data: str | Path,
    *,
    data_dir: str | None = None,
    split: str | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> LoadedPairs:
    """Load human-labelled pairs from a file, a suite (built-in name or YAML path) or
    ``hf:owner/name`` (with ``data_dir`` and ``split``), then keep a seeded random subset of
    ``limit`` pairs when asked."""
    suite = resolve_source(str(data), data_dir=data_dir, split=split)
    if suite.source.startswith("hf:"):
        repo = suite.source.removeprefix("hf:")
        records: Iterable[tuple[str, dict[str, Any]]] = iter_hub_rows(
            repo, data_dir=suite.data_dir, split=suite.split
        )
        prefix = suite.source.removeprefix("hf:") + (f"/{suite.data_dir}" if suite.data_dir else "")
        prefix += f"/{suite.split}"
    else:
        path = suite.resolve_path()
        records = iter_rows(path)
        prefix = path.name.split(".")[0]
    loaded = pairs_from_records(records, suite, suite.id_prefix or prefix)
    loaded.source = str(data)
    loaded.pairs = select_subset(loaded.pairs, limit, seed)
    return loaded


def resolve_source(
    data: str,
    *,
    data_dir: str | None = None,
    split: str | None = None,
    relative_to: Path | None = None,
) -> Suite:
    """The suite describing ``data``: a suite file or built-in suite name, else an ad hoc suite
    for a data file or hub id with automatic format detection.

    A relative path is looked up in ``relative_to`` (the folder of the config that names it)
    first, then in the working directory; a name that is no file there is a built-in suite."""
    if data.startswith("hf:"):
        return Suite(name=data, source=data, data_dir=data_dir, split=split or "test")
    path = _existing(Path(data).expanduser(), relative_to)
    if Path(data).suffix in {".yaml", ".yml"}:
        return load_suite(path or data)
    if path is not None:
        return Suite(name=path.stem, source=str(path))
    builtin = find_suite(data)
    if builtin is not None:
        return builtin
    where = f" (looked in {relative_to} and here)" if relative_to is not None else ""
    raise DataFileError(
        f"{data}: no such file{where}, hub id (hf:owner/name) or built-in suite "
        f"(built-in suites: {', '.join(builtin_suites()) or 'none'})"
    )


def _existing(path: Path, relative_to: Path | None) -> Path | None:
    """``path`` as found relative to ``relative_to``, then to the working directory."""
    bases = [relative_to] if relative_to is not None and not path.is_absolute() else []
    for candidate in [*(base / path for base in bases), path]:
        if candidate.exists():
            return candidate
    return None


def locate_labelled_data(data: str, *, relative_to: Path | None = None) -> str:
    """What to hand :func:`load_labelled_pairs` for ``data`` (a data file, a suite YAML, a
    built-in suite name or ``hf:owner/name``) named by a config in ``relative_to``: a path made
    absolute, or the name or hub id as it is. Raises :class:`~rlaif.data.DataFileError` when a
    local file, or the file a suite reads, is missing (a hub id is checked when it is read)."""
    suite = resolve_source(data, relative_to=relative_to)
    if not suite.source.startswith("hf:"):
        suite.resolve_path()  # the file a suite reads must be there too
    found = _existing(Path(data).expanduser(), relative_to)
    return str(found.resolve()) if found is not None else data


def labelled_pairs_file(data: str, *, relative_to: Path | None = None) -> Path:
    """The local pair file (``prompt`` messages, ``chosen``/``rejected``) that ``data`` names:
    the file itself, or the file a suite (built-in name or YAML) reads in that shape. What
    ``rlaif train rm --human-eval`` measures accuracy on; a hub suite or one that maps other
    columns raises :class:`~rlaif.data.DataFileError` (``rlaif eval rm`` reads any suite)."""
    suite = resolve_source(data, relative_to=relative_to)
    if not _local_plain_pairs(suite):
        raise DataFileError(
            f"{data}: not a local file of prompt/chosen/rejected pairs (a hub set or a suite "
            f"that maps other columns); measure the reward model on it with `rlaif eval rm "
            f"--data {data}`"
        )
    return suite.resolve_path()


def _local_plain_pairs(suite: Suite) -> bool:
    """Whether ``suite`` reads a local file of ``prompt``/``chosen``/``rejected`` pairs."""
    cols = suite.columns
    plain = (cols.prompt, cols.chosen, cols.rejected, cols.preferred) == (
        "prompt",
        "chosen",
        "rejected",
        None,
    )
    return plain and not suite.source.startswith("hf:") and suite.format != "hh-rlhf"


def pair_file(value: str | Path, *, option: str = "--pairs") -> Path:
    """The local pair file that ``option`` (``--pairs``) names: the file itself, or the file a
    suite (built-in name or YAML, resolved as ``--data`` resolves it: :func:`resolve_source`)
    reads, when that is a local file of prompt/chosen/rejected pairs. Anything else raises
    :class:`~rlaif.data.DataFileError` saying what ``option`` takes."""
    text = str(value)
    path = Path(text).expanduser()
    if path.exists() and path.suffix not in {".yaml", ".yml"}:
        return path
    try:
        suite = resolve_source(text)
    except DataFileError:
        raise DataFileError(f"file not found: {text} ({_pairs_takes(option)})") from None
    if not _local_plain_pairs(suite):
        raise DataFileError(
            f"{option} {text}: suite {suite.name} reads {suite.source}, not a local file of "
            f"prompt/chosen/rejected pairs ({_pairs_takes(option)}; --data takes any suite)"
        )
    return suite.resolve_path()


def _pairs_takes(option: str) -> str:
    """What ``option`` takes, naming the built-in suites of local pairs (read only for an
    error message)."""
    local = [
        name for name, file in builtin_suites().items() if _local_plain_pairs(load_suite(file))
    ]
    return (
        f"{option} takes a pair file, or a suite of local pairs such as "
        f"{', '.join(local) or 'a suite YAML'}"
    )
