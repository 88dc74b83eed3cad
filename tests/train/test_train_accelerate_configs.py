"""The shipped accelerate configs parse as accelerate configs and name only known options
(DeepSpeed is not installed here, so they are validated by parsing, not by launching)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
EXPECTED = {
    "ddp.yaml": ("MULTI_GPU", {}),
    "deepspeed_zero2.yaml": ("DEEPSPEED", {"zero_stage": 2}),
    "deepspeed_zero3.yaml": ("DEEPSPEED", {"zero_stage": 3, "zero3_init_flag": True}),
    "fsdp.yaml": ("FSDP", {"fsdp_version": 2}),
}


def test_every_config_is_expected() -> None:
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_parses_with_known_options(name: str) -> None:
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    path = CONFIGS / name
    config = load_config_from_file(str(path))  # rejects unknown top-level keys
    distributed_type, settings = EXPECTED[name]
    assert config.distributed_type.value == distributed_type
    nested = {**(config.deepspeed_config or {}), **(config.fsdp_config or {})}
    assert settings.items() <= nested.items()
    # accelerate launch turns each nested key into the launcher option of the same name.
    options = {action.dest for action in launch_command_parser()._actions}
    raw = yaml.safe_load(path.read_text())
    unknown = [
        k
        for section in ("deepspeed_config", "fsdp_config")
        for k in raw.get(section, {})
        if k not in options
    ]
    assert unknown == []
