"""The files a pipeline config names, checked before anything runs: a missing prompt set,
human-labelled set, gate data or accelerate config stops ``rlaif run`` (and ``--dry-run``) at
once with every missing input listed, rather than hours later or, for the human data, with a
skipped measurement and a note at the end."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import partial

from rlaif.errors import ConfigError, RlaifError
from rlaif.pipeline.context import StageContext


class MissingInputsError(ConfigError):
    """Inputs named by the config are not there; the message lists each one."""

    def __init__(self, missing: list[str]):
        self.missing = missing
        count = f"{len(missing)} input{'s' if len(missing) > 1 else ''}"
        lines = "\n".join(f"  {item}" for item in missing)
        super().__init__(f"{count} of this run not found (nothing was run):\n{lines}")


def missing_inputs(context: StageContext, active: Collection[str]) -> list[str]:
    """One line per input of the ``active`` stages that is not there: ``field: what is wrong``.
    (A constitution that is neither built in nor a file is reported when the config loads, at
    its line.)"""
    config = context.config
    stages = config.stages
    missing: list[str] = []

    def check(field: str, find: Callable[[], object], hint: str = "") -> None:
        try:
            find()
        except RlaifError as error:
            missing.append(f"{field}: {error}{hint}")

    for name in ("train", "test", "benign", "helpful"):
        relative = getattr(config.prompts, name)
        if relative is not None:
            check(f"prompts.{name}", partial(context.input_path, relative))
    if stages.eval.human_data is not None and {"eval", "rm"} & set(active):
        check(
            "stages.eval.human_data",
            partial(context.labelled_data, stages.eval.human_data),
            " (null skips the agreement and the reward model's accuracy on human labels)",
        )
    gate = stages.label.gate
    gated = gate.min_agreement is not None or gate.min_consistency is not None
    if "label" in active and gated:
        if gate.labels is not None and gate.pairs is not None:
            check("stages.label.gate.labels", partial(context.input_path, gate.labels))
            check("stages.label.gate.pairs", partial(context.input_path, gate.pairs))
        elif gate.data is not None:
            check("stages.label.gate.data", partial(context.labelled_data, gate.data))
        else:
            missing.append(
                "stages.label.gate.data: not set, but the gate needs human-labelled pairs "
                "(e.g. hh-harmless, the built-in suite, or labels with pairs)"
            )
    for stage in ("sft", "rm", "policy"):
        accelerate = getattr(stages, stage).accelerate_config
        if stage in active and accelerate is not None:
            check(f"stages.{stage}.accelerate_config", partial(context.input_path, accelerate))
    return missing
