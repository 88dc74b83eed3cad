"""``rlaif train ...`` on the command line, and multi-process training under accelerate."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rlaif.cli.app import app

REPO = Path(__file__).resolve().parents[2]


def _rm_yaml(tmp_path: Path, policy: Path, data_dir: Path) -> Path:
    path = tmp_path / "rm.yaml"
    path.write_text(
        f"model: {policy}\n"
        f"dataset: {data_dir / 'prefs.jsonl'}\n"
        f"output_dir: {tmp_path / 'from_yaml'}\n"
        "max_steps: 2\nper_device_train_batch_size: 4\nmax_length: 128\nlearning_rate: 0.001\n",
        encoding="utf-8",
    )
    return path


def test_train_help_lists_every_algorithm() -> None:
    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for name in ("sft", "rm", "ppo", "dpo", "grpo", "rloo"):
        assert name in result.output


def test_cli_rm_with_overrides_and_human_eval(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = _rm_yaml(tmp_path, tiny_policy, data_dir)
    out = tmp_path / "overridden"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "rm",
            "--config",
            str(config),
            f"output_dir={out}",
            "label_mode=hard",
            "--human-eval",
            str(data_dir / "prefs.jsonl"),
            "human_eval_limit=5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "accuracy on human: " in result.output and "(n=5)" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["label_mode"] == "hard" and metrics["global_step"] == 2
    saved = (out / "rlaif_train.yaml").read_text()
    assert "label_mode: hard" in saved and "human_eval_limit: 5" in saved


def test_cli_config_error_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("model: m\ndataset: d\noutput_dir: o\nmax_step: 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "sft", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}:4" in result.output and "did you mean 'max_steps'" in result.output
    assert "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch_two_processes(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``accelerate launch`` two CPU processes running ``python -m rlaif <arguments>``."""
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()),
        "-m", "rlaif", *arguments,
    ]  # fmt: skip
    # accelerate's --cpu flag starts a single process; on a machine without GPUs the
    # multi-process launcher plus ACCELERATE_USE_CPU gives CPU data parallelism over gloo.
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_accelerate_two_processes_train_reward_model(
    tiny_policy: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = _rm_yaml(tmp_path, tiny_policy, data_dir)
    out = tmp_path / "ddp"
    done = _launch_two_processes("train", "rm", "--config", str(config), f"output_dir={out}")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["global_step"] == 2
    assert (out / "model.safetensors").is_file()
    assert done.stdout.count("rm: 2 steps") == 1


@pytest.mark.slow
def test_accelerate_two_processes_ppo_stops_together_and_saves_the_policy(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "ppo"
    _launch_two_processes(
        "train", "ppo", f"model={tiny_policy}", f"reward_model={tiny_reward_model}",
        f"dataset={data_dir / 'prompts.jsonl'}", f"output_dir={out}", "max_steps=5",
        "per_device_train_batch_size=4", "response_length=8", "learning_rate=0.01",
        "kl_budget=0.001", "ratio_band=null",
    )  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2
    assert metrics["stopped_early"]["metric"] == "objective/kl"
    assert metrics["global_step"] == metrics["stopped_early"]["step"] < 5
    _, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]


def test_two_processes_make_the_same_ppo_update_as_one(
    tiny_policy: Path, tiny_reward_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    """The same global batch of 8 greedy rollouts, split over two gloo processes or held by one:
    the logged statistics agree to 1e-4 (relative) and every weight to 5e-4, 5% of the learning
    rate (Adam's first step moves a weight by about the learning rate whatever its gradient, so a
    gradient that is 0 up to float rounding may move either way by up to that much). Measured in
    fp32: 2e-5 and 2.3e-4 at most on an AVX-512 CPU, whose kernels reduce in another order."""
    from safetensors.torch import load_file

    common = [
        f"model={tiny_policy}", f"reward_model={tiny_reward_model}",
        f"dataset={data_dir / 'prompts.jsonl'}", "max_steps=1", "sample=false",
        "response_length=8", "learning_rate=0.01", "num_ppo_epochs=2", "ratio_band=null",
        "precision=fp32",  # the arithmetic compared, not a CPU's bf16 rounding (AVX512-BF16)
    ]  # fmt: skip
    two, one = tmp_path / "two", tmp_path / "one"
    _launch_two_processes(
        "train", "ppo", *common, "per_device_train_batch_size=4", f"output_dir={two}"
    )
    result = CliRunner().invoke(
        app, ["train", "ppo", *common, "per_device_train_batch_size=8", f"output_dir={one}"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((two / "metrics.json").read_text())["processes"] == 2
    before = load_file(str(tiny_policy / "model.safetensors"))
    after_two = load_file(str(two / "model.safetensors"))
    after_one = load_file(str(one / "model.safetensors"))
    moved = max((after_one[k] - before[k]).abs().max().item() for k in before if k in after_one)
    assert moved > 1e-3
    for name, tensor in after_one.items():
        assert torch.allclose(tensor, after_two[name], atol=5e-4), name
    logged = [json.loads((out / "log_history.jsonl").read_text()) for out in (one, two)]
    for key in ("objective/scores", "loss/policy_avg", "loss/value_avg", "val/ratio"):
        assert logged[0][key] == pytest.approx(logged[1][key], rel=1e-4, abs=1e-7), key
