"""The training configs shown in docs/training.md load as ``rlaif train`` loads them.

Each config block on that page is marked ``<!-- training-config: ALGO -->`` on the line before
its ```` ```yaml ```` fence. A block is validated by the loader ``rlaif train`` uses
(:func:`rlaif.train.load_train_config`: unknown keys, types, ranges) and, for the TRL-based
algorithms, by building the TRL config from it as training does
(:func:`rlaif.train.config.build_trl_config`: ``trl_args`` the TRL class does not know, such as
``warmup_ratio`` in transformers 5). Nothing is trained and no model is loaded.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from rlaif.errors import RlaifError
from rlaif.train import config_class, load_train_config
from rlaif.train.config import build_trl_config

DOC = Path(__file__).resolve().parents[1] / "docs" / "training.md"

MARKED_BLOCK = re.compile(
    r"^<!-- training-config: (?P<algo>[a-z]+) -->\n```yaml\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
TRAIN_COMMAND = re.compile(r"^rlaif train (?P<algo>[a-z]+) +--config +(?P<rest>.*)$", re.MULTILINE)

TRL_CONFIG_CLASSES = {
    "sft": "SFTConfig",
    "rm": "RewardConfig",
    "dpo": "DPOConfig",
    "grpo": "GRPOConfig",
    "rloo": "RLOOConfig",
}
# Our fields that the trainer modules pass to the TRL config besides ``base_trl_kwargs()`` (GRPO
# and RLOO have ``online_trl_kwargs()``), so a ``trl_args`` key that repeats one is caught too.
EXTRA_TRL_FIELDS = {
    "sft": ("max_length",),
    "rm": ("max_length", "center_rewards_coefficient"),
    "dpo": ("beta", "loss_type", "max_length"),
}


def _blocks() -> list[tuple[str, str]]:
    """``(algorithm, yaml text)`` of every marked config block of the page."""
    return [(m["algo"], m["body"]) for m in MARKED_BLOCK.finditer(DOC.read_text())]


def _commands() -> list[tuple[str, str, list[str]]]:
    """``(algorithm, config file name, overrides)`` of every ``rlaif train`` command line."""
    found = []
    for match in TRAIN_COMMAND.finditer(DOC.read_text()):
        words = shlex.split(match["rest"], comments=True)
        overrides = [w for w in words[1:] if "=" in w and not w.startswith("-")]
        found.append((match["algo"], words[0], overrides))
    return found


def _file_name(body: str) -> str | None:
    """The ``# name.yaml`` comment a block starts with."""
    first = body.splitlines()[0].strip() if body.strip() else ""
    return first[1:].strip() if first.startswith("#") and first.endswith(".yaml") else None


def validate(algorithm: str, path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """Load a config file as ``rlaif train ALGO --config PATH`` does, then build its TRL config
    (without a model, data or training); raises the error the command would print."""
    settings = load_train_config(config_class(algorithm), path, overrides=list(overrides))
    if algorithm in TRL_CONFIG_CLASSES:
        import trl

        trl_class = getattr(trl, TRL_CONFIG_CLASSES[algorithm])
        if hasattr(settings, "online_trl_kwargs"):
            ours = settings.online_trl_kwargs()
        else:
            ours = settings.base_trl_kwargs()
            ours.update({name: getattr(settings, name) for name in EXTRA_TRL_FIELDS[algorithm]})
        build_trl_config(trl_class, ours, settings.trl_args)
    return settings


def test_the_page_marks_its_configs() -> None:
    algorithms = [algo for algo, _ in _blocks()]
    assert {"sft", "rm", "ppo", "dpo"} <= set(algorithms), algorithms
    for algo, body in _blocks():
        assert _file_name(body), f"{algo} block does not start with a '# name.yaml' comment"


@pytest.mark.parametrize(
    ("algorithm", "body"), _blocks(), ids=[_file_name(b) or a for a, b in _blocks()]
)
def test_documented_config_validates(algorithm: str, body: str, tmp_path: Path) -> None:
    path = tmp_path / (_file_name(body) or f"{algorithm}.yaml")
    path.write_text(body)
    settings = validate(algorithm, path)
    assert settings.output_dir


def test_every_train_command_names_a_shown_config_and_valid_overrides(tmp_path: Path) -> None:
    shown = {_file_name(body): (algo, body) for algo, body in _blocks()}
    commands = _commands()
    assert commands
    for algorithm, name, overrides in commands:
        assert name in shown, f"`rlaif train {algorithm} --config {name}`: {name} is not shown"
        algo, body = shown[name]
        assert algo == algorithm, f"{name} is marked {algo} but used with `train {algorithm}`"
        path = tmp_path / name
        path.write_text(body)
        validate(algorithm, path, overrides)


def test_inputs_come_from_documented_commands() -> None:
    """Config paths are what an earlier documented command writes (judge.md's outputs) or what
    an earlier config on the page writes (its output_dir), or a built-in prompt set."""
    import yaml

    judge_doc = (DOC.parent / "judge.md").read_text()
    made = set(re.findall(r"--out (\S+)", judge_doc))
    outputs: set[str] = set()
    for algo, body in _blocks():
        data = yaml.safe_load(body)
        if algo == "grpo":  # shows the reference-column format, not a pipeline step
            continue
        for key in ("model", "reward_model", "dataset"):
            value = data.get(key)
            if value is None or not value.startswith("runs/"):
                continue
            assert value in made or value in outputs, (
                f"{algo}: {key}: {value} is made by no command"
            )
        outputs.add(data["output_dir"])


def test_the_check_catches_an_unknown_trl_argument(tmp_path: Path) -> None:
    path = tmp_path / "rm.yaml"
    path.write_text(
        "model: runs/sft\ndataset: runs/prefs.jsonl\noutput_dir: runs/rm\n"
        "trl_args: {lr_scheduler_type: cosine, warmup_ratio: 0.05}\n"
    )
    with pytest.raises(RlaifError, match="warmup_ratio"):
        validate("rm", path)
