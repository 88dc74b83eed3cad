"""Training configs: YAML + overrides, clear errors, and the pass-through to TRL configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlaif.config import parse_key_values
from rlaif.errors import ConfigError, RlaifError
from rlaif.train import config_class
from rlaif.train.config import build_trl_config, load_train_config
from rlaif.train.reward import RewardTrainConfig


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rm.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_with_nested_overrides(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "model: m\ndataset: d.jsonl\noutput_dir: out\nlora:\n  r: 4\n")
    config = load_train_config(
        RewardTrainConfig,
        path,
        overrides=["lora.alpha=16", "max_steps=3", "trl_args.warmup_steps=2", "label_mode=hard"],
    )
    assert config.lora is not None and (config.lora.r, config.lora.alpha) == (4, 16)
    assert config.max_steps == 3 and config.label_mode == "hard"
    assert config.trl_args == {"warmup_steps": 2}


def test_unknown_key_names_file_line_and_suggestion(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "model: m\ndataset: d.jsonl\noutput_dir: out\nlerning_rate: 0.1\n")
    with pytest.raises(RlaifError) as error:
        load_train_config(RewardTrainConfig, path)
    assert f"{path}:4" in str(error.value)
    assert "did you mean 'learning_rate'" in str(error.value)


def test_bad_override_value_is_reported_as_override(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "model: m\ndataset: d.jsonl\noutput_dir: out\n")
    with pytest.raises(ConfigError, match=r"override per_device_train_batch_size"):
        load_train_config(RewardTrainConfig, path, overrides=["per_device_train_batch_size=zero"])
    with pytest.raises(ConfigError, match="not key=value"):
        parse_key_values(["max_steps"], name="override", dotted=True)


def test_missing_required_field(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "model: m\noutput_dir: out\n")
    with pytest.raises(RlaifError, match="dataset: field required"):
        load_train_config(RewardTrainConfig, path)


def test_trl_args_pass_through_and_guard() -> None:
    from trl import RewardConfig

    ours = {"output_dir": "out", "learning_rate": 1e-4, "bf16": False, "report_to": "none"}
    args = build_trl_config(RewardConfig, ours, {"warmup_steps": 7})
    assert args.warmup_steps == 7 and args.learning_rate == 1e-4
    with pytest.raises(ConfigError, match="set from this config's own fields"):
        build_trl_config(RewardConfig, ours, {"learning_rate": 1.0})
    with pytest.raises(ConfigError, match="did you mean 'warmup_steps'"):
        build_trl_config(RewardConfig, ours, {"warmup_stepz": 1})


@pytest.mark.parametrize("algorithm", ["sft", "rm", "ppo", "dpo", "grpo", "rloo"])
def test_every_field_is_documented(algorithm: str) -> None:
    cls = config_class(algorithm)
    undocumented = [name for name, field in cls.model_fields.items() if not field.description]
    assert undocumented == []


def test_model_paths(tmp_path: Path) -> None:
    from rlaif.train.loading import resolve_model_path

    (tmp_path / "sft").mkdir()
    assert resolve_model_path(f"hf/{tmp_path / 'sft'}") == str(tmp_path / "sft")
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M-Instruct").startswith("HuggingFaceTB/")
    with pytest.raises(ConfigError, match="model folder not found"):
        resolve_model_path(str(tmp_path / "missing"))


def test_pad_token_is_never_eos(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from rlaif.models.local.tiny import CHAT_TEMPLATE, build_tiny_model
    from rlaif.train.loading import load_tokenizer, load_training_lm

    folder = build_tiny_model(tmp_path / "m")
    original = AutoTokenizer.from_pretrained(folder)
    original.pad_token = original.eos_token
    original.save_pretrained(folder)
    spare = load_tokenizer(str(folder))
    assert spare.pad_token == "<|pad|>" and len(spare) == len(original)

    # When every spare special token appears in the chat template, a new one is added and the
    # model's embeddings grow to cover it.
    original.chat_template = "<|pad|><|endoftext|>" + CHAT_TEMPLATE
    original.save_pretrained(folder)
    grown = load_tokenizer(str(folder))
    assert grown.pad_token == "<|rlaif_pad|>" and len(grown) == len(original) + 1
    model = load_training_lm(str(folder), grown, dtype="float32")
    assert model.get_input_embeddings().num_embeddings == len(grown)
    assert model.config.pad_token_id == grown.pad_token_id != grown.eos_token_id


def test_saved_config_redacts_secrets_and_prints_objects() -> None:
    from rlaif.train.run_folder import printable_config

    saved = printable_config(
        {
            "judge": {
                "model_options": {
                    "api_key": "sk-123",
                    "api_key_env": "OPENAI_API_KEY",
                    "choice_probs": print,
                }
            },
            "output_dir": Path("out"),
        }
    )
    options = saved["judge"]["model_options"]
    assert options["api_key"] == "<redacted>" and options["api_key_env"] == "OPENAI_API_KEY"
    assert options["choice_probs"].startswith("<built-in function print")
    assert saved["output_dir"] == "out"
