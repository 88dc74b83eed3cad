"""PPO step time: rlaif's own trainer against TRL 1.12's deleted ``trl.experimental.ppo``, on the
same policy, reward model, prompts, batch, settings and seed, in one run.

    python benchmarks/bench_ppo.py [--steps 6] [--batch 8] [--response-length 32] [--epochs 4]

TRL 1.12 is installed by this script into its own virtualenv (``.cache/bench-ppo-trl112``, torch
from the same local wheel), never into the project's. Three runs, each a fresh process, one after
the other: TRL 1.12 (policy + separate value model started from the reward model, as its PPO
requires), rlaif with ``value_model`` set to the same reward model (the same architecture), and
rlaif with its default value head on the policy. Reported per run: median seconds per step after
the first, response tokens per second, peak resident memory, the mean reward per step (the
learning curve) and where the time goes (generation, the no-grad rollout forwards, the reward
model, the update). The policy is the embedded SmolLM2-135M-Instruct; the reward model is the same
network with a score head drawn from seed 0; the prompts are the quickstart's PPO prompts
(``eval/prompts/red_team_train.jsonl`` then ``benign_train.jsonl``).

``--quickstart-steps`` instead compares the quickstart's PPO stage: TRL 1.12 at 4 epochs (the 8
steps it ran) against rlaif's default at 2 epochs (the 32 it runs), and how many rlaif steps fit
in TRL's time (``benchmarks/results/ppo_quickstart_steps.json``).

Each side runs this file with ``--side ours|trl112`` (the TRL side imports nothing from rlaif).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".cache" / "bench-ppo-trl112"
WORK = REPO / "runs" / "bench_ppo"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# ---- the rule reward of the learning-curve comparison (--curve) -----------------------------


def even_token_share(prompts: Any, completions: Any, completion_ids: Any, **_: Any) -> list[float]:
    """The share of a response's tokens whose id is even (rlaif's reward function form)."""
    return [sum(1 for t in ids if t % 2 == 0) / len(ids) for ids in completion_ids]


def even_token_share_module(window: int, vocab_size: int) -> Any:
    """The same reward in the form TRL 1.12's PPO reads a reward model (``base_model_prefix``
    backbone + ``score``): at each position, the share of even ids among the last ``window``
    tokens, which at the response's last token (no stop token, so every response is ``window``
    tokens) is exactly the response's share."""
    import torch
    from torch import nn

    class Counter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("target", torch.arange(vocab_size) % 2 == 0)

        def forward(self, input_ids: Any, attention_mask: Any, **_: Any) -> Any:
            from types import SimpleNamespace

            hits = (self.target[input_ids] & attention_mask.bool()).float()
            cumulative = nn.functional.pad(hits.cumsum(1), (window, 0))
            share = (cumulative[:, window:] - cumulative[:, :-window]) / window
            return SimpleNamespace(hidden_states=(share.unsqueeze(-1),))

    class Rule(nn.Module):
        base_model_prefix = "backbone"

        def __init__(self) -> None:
            super().__init__()
            self.backbone = Counter()
            self.score = nn.Identity()

    return Rule()


# ---- the TRL 1.12 side (runs inside VENV) ---------------------------------------------------


def run_trl112(args: argparse.Namespace) -> dict[str, Any]:
    """TRL 1.12's experimental PPOTrainer, as its ppo.py example builds it, timed per phase by
    wrapping the module's ``batch_generation`` (rollout generation) and ``get_reward`` (reward and
    value forwards) functions."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import trl.experimental.ppo.ppo_trainer as trl_ppo
    from datasets import Dataset
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        TrainerCallback,
    )

    spent = {"generation": 0.0, "reward_and_value": 0.0}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    trl_ppo.batch_generation = timed("generation", trl_ppo.batch_generation)
    trl_ppo.get_reward = timed("reward_and_value", trl_ppo.get_reward)

    class Steps(TrainerCallback):
        def __init__(self) -> None:
            self.wall: list[float] = []
            self.phases: list[dict[str, float]] = []
            self.last = 0.0

        def on_train_begin(self, *a: Any, **k: Any) -> None:
            self.last = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            now = time.perf_counter()
            self.wall.append(now - self.last)
            self.phases.append(dict(spent))
            spent.update(generation=0.0, reward_and_value=0.0)
            self.last = now

    tokenizer = AutoTokenizer.from_pretrained(args.policy, padding_side="left")
    if tokenizer.pad_token is None:  # the tiny models' tokenizer has one; SmolLM2's is set above
        raise SystemExit("the policy's tokenizer has no pad token")
    prompts = _read_jsonl(Path(args.prompts))
    ids = [
        tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        for row in prompts
    ]
    dataset = Dataset.from_dict({"input_ids": [list(i) for i in ids]})
    policy = AutoModelForCausalLM.from_pretrained(args.policy)
    ref = AutoModelForCausalLM.from_pretrained(args.policy)
    value = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
    if args.rule_reward:
        reward: Any = even_token_share_module(args.response_length, len(tokenizer))
    else:
        reward = AutoModelForSequenceClassification.from_pretrained(args.reward, num_labels=1)
    config = trl_ppo.PPOConfig(
        output_dir=args.out,
        total_episodes=args.steps * args.batch,
        per_device_train_batch_size=args.batch,
        learning_rate=args.learning_rate,
        response_length=args.response_length,
        temperature=args.temperature,
        kl_coef=args.kl_coef,
        num_ppo_epochs=args.epochs,
        stop_token=None if args.rule_reward else "eos",
        num_sample_generations=0,
        local_rollout_forward_batch_size=16,
        bf16=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
    )
    steps = Steps()
    trainer = trl_ppo.PPOTrainer(
        args=config,
        processing_class=tokenizer,
        model=policy,
        ref_model=ref,
        reward_model=reward,
        value_model=value,
        train_dataset=dataset,
        eval_dataset=dataset.select(range(8)),
        callbacks=[steps],
    )
    trainer.train()
    logs = [e for e in trainer.state.log_history if "objective/scores" in e]
    return {
        "wall": steps.wall,
        "phases": steps.phases,
        "scores": [e["objective/scores"] for e in logs],
        "kl": [e["objective/kl"] for e in logs],
    }


# ---- rlaif's side ---------------------------------------------------------------------------


def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    """``rlaif.train.train_ppo`` with the same settings (``--no-packing``: every training pass
    over the padded batch, as before rows were packed with their shared prefix run once)."""
    from rlaif.train import packing, train_ppo
    from rlaif.train.run_folder import StepTimer

    if args.no_packing:
        packing.MASKED_ATTENTION = ()

    timer = StepTimer()
    config = {
        "model": args.policy,
        "reward_model": args.reward,
        "dataset": args.prompts,
        "output_dir": args.out,
        "max_steps": args.steps,
        "per_device_train_batch_size": args.batch,
        "learning_rate": args.learning_rate,
        "response_length": args.response_length,
        "temperature": args.temperature,
        "kl_coef": args.kl_coef,
        "num_ppo_epochs": args.epochs,
        "precision": "fp32",
        "ratio_band": None,
        "seed": args.seed,
        "stop_at_eos": not args.rule_reward,
    }
    if args.value_model:
        config["value_model"] = args.reward
    train_ppo(config, callbacks=[timer], reward_fn=even_token_share if args.rule_reward else None)
    logs = [json.loads(line) for line in (Path(args.out) / "log_history.jsonl").open()]
    phases = ("generation", "forward", "reward", "update")
    return {
        "wall": timer.durations,
        "phases": [{k: e[f"time/{k}"] for k in phases} for e in logs],
        "scores": [e["objective/scores"] for e in logs],
        "kl": [e["objective/kl"] for e in logs],
        "response_tokens": [e["rollout/response_length"] * args.batch for e in logs],
    }


# ---- the orchestration ----------------------------------------------------------------------


def ensure_trl112() -> Path:
    """The TRL 1.12 virtualenv's python (created on first use)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        packages = ["trl==1.12.*", "transformers>=5,<6", "accelerate", "datasets", "safetensors"]
        subprocess.run([*pip, *packages], check=True)
    return python


def prepare_models(folder: Path) -> tuple[Path, Path]:
    """The policy with the pad token rlaif trains with (so both sides pad alike) and a reward
    model: the same network with a one-label score head drawn from seed 0."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from rlaif.models.local.loading import resolve
    from rlaif.train.loading import load_tokenizer, load_training_lm

    policy_dir, reward_dir = folder / "policy", folder / "reward"
    if (reward_dir / "model.safetensors").is_file():
        return policy_dir, reward_dir
    source = resolve("smollm2-135m-instruct").location
    tokenizer = load_tokenizer(source, padding_side="left")
    load_training_lm(source, tokenizer, dtype="float32").save_pretrained(policy_dir)
    tokenizer.save_pretrained(policy_dir)
    torch.manual_seed(0)
    reward = AutoModelForSequenceClassification.from_pretrained(policy_dir, num_labels=1)
    reward.config.pad_token_id = tokenizer.pad_token_id
    reward.save_pretrained(reward_dir)
    tokenizer.save_pretrained(reward_dir)
    return policy_dir, reward_dir


def prepare_prompts(folder: Path, count: int) -> Path:
    rows = _read_jsonl(REPO / "eval/prompts/red_team_train.jsonl")
    rows += _read_jsonl(REPO / "eval/prompts/benign_train.jsonl")
    path = folder / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:count]), encoding="utf-8")
    return path


def summarise(name: str, result: dict[str, Any], peak_mb: float) -> dict[str, Any]:
    steady = result["wall"][1:] or result["wall"]
    tokens = result.get("response_tokens")
    seconds = statistics.median(steady)
    phases = {k: round(statistics.median(p[k] for p in result["phases"][1:] or result["phases"]), 2)
              for k in result["phases"][0]}  # fmt: skip
    return {
        "run": name,
        "seconds_per_step": round(seconds, 2),
        "first_step_seconds": round(result["wall"][0], 2),
        "response_tokens_per_second": round(statistics.mean(tokens[1:] or tokens) / seconds, 1)
        if tokens
        else None,
        "peak_rss_mb": round(peak_mb),
        "phases_median_seconds": phases,
        "mean_reward_per_step": [round(s, 4) for s in result["scores"]],
        "kl_per_step": [round(k, 4) for k in result["kl"]],
    }


def sides(trl_python: Path, unshared: bool = False) -> list[tuple[str, str, list[str]]]:
    """The runs of each comparison: name, interpreter, side arguments (``unshared``: a fourth,
    rlaif's default over the padded batch, the baseline of packing)."""
    runs = [
        ("trl 1.12 (policy + value model)", str(trl_python), ["--side=trl112"]),
        ("rlaif (policy + value model)", sys.executable, ["--side=ours", "--value-model"]),
        ("rlaif (value head, default)", sys.executable, ["--side=ours"]),
    ]
    if unshared:
        extra = ["--side=ours", "--no-packing"]
        runs.append(("rlaif (value head, rows not packed)", sys.executable, extra))
    return runs


def settings(args: argparse.Namespace) -> list[str]:
    """The PPO settings both sides get, as arguments of this script."""
    return [
        f"--steps={args.steps}", f"--batch={args.batch}", f"--epochs={args.epochs}",
        f"--response-length={args.response_length}", f"--learning-rate={args.learning_rate}",
        f"--temperature={args.temperature}", f"--kl-coef={args.kl_coef}",
    ]  # fmt: skip


def run_side(name: str, python: str, arguments: list[str], result_file: Path) -> dict[str, Any]:
    """Run one side in a fresh process; its result and peak memory, or exit with its output."""
    command = [python, __file__, *arguments, f"--result={result_file}"]
    print("$", " ".join(command), flush=True)
    env = {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"{name} failed ({done.returncode})")
    payload: dict[str, Any] = json.loads(result_file.read_text())
    return payload


def orchestrate(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks.common import machine_info

    WORK.mkdir(parents=True, exist_ok=True)
    policy, reward = prepare_models(WORK / "models")
    prompts = prepare_prompts(WORK, args.steps * args.batch)
    common = [f"--policy={policy}", f"--reward={reward}", f"--prompts={prompts}", *settings(args)]
    rows = []
    for index, (name, python, extra) in enumerate(sides(ensure_trl112(), unshared=True)):
        arguments = [*common, *extra, f"--out={WORK / f'run{index}'}"]
        payload = run_side(name, python, arguments, WORK / f"run{index}.json")
        rows.append(summarise(name, payload["result"], payload["peak_rss_mb"]))
        print(json.dumps(rows[-1]), flush=True)
    baseline = rows[0]["seconds_per_step"]
    for row in rows:
        row["speed-up vs trl 1.12"] = round(baseline / row["seconds_per_step"], 2)
    report = {
        "command": "python benchmarks/bench_ppo.py " + " ".join(sys.argv[1:]),
        "machine": machine_info(),
        "settings": vars(args),
        "runs": rows,
    }
    target = REPO / "benchmarks" / "results" / "ppo.json"
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(rows, indent=2))


def orchestrate_quickstart_steps(args: argparse.Namespace) -> None:
    """What the quickstart's PPO stage can afford: TRL 1.12's step at 4 PPO epochs (its
    quickstart ran 8 steps) against rlaif's default step at 2 epochs (configs/quickstart-ppo.yaml,
    32 steps), same prompts, batch and response length, in one run; each stage's projected time
    is its first step plus the median step for the rest."""
    sys.path.insert(0, str(REPO))
    from benchmarks.common import machine_info

    WORK.mkdir(parents=True, exist_ok=True)
    policy, reward = prepare_models(WORK / "models")
    prompts = prepare_prompts(WORK, args.steps * args.batch)
    common = [f"--policy={policy}", f"--reward={reward}", f"--prompts={prompts}"]
    plan = [
        ("trl 1.12, 4 epochs", str(ensure_trl112()), ["--side=trl112"], 4, 8),
        ("rlaif default, 2 epochs", sys.executable, ["--side=ours"], 2, 32),
    ]
    rows = []
    for index, (name, python, extra, epochs, steps) in enumerate(plan):
        arguments = [*common, *settings(argparse.Namespace(**{**vars(args), "epochs": epochs}))]
        arguments += [*extra, f"--out={WORK / f'quickstart{index}'}"]
        payload = run_side(name, python, arguments, WORK / f"quickstart{index}.json")
        row = summarise(name, payload["result"], payload["peak_rss_mb"])
        row["quickstart_steps"] = steps
        row["projected_stage_seconds"] = round(
            row["first_step_seconds"] + (steps - 1) * row["seconds_per_step"], 1
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {
        "command": "python benchmarks/bench_ppo.py " + " ".join(sys.argv[1:]),
        "machine": machine_info(),
        "settings": vars(args),
        "runs": rows,
        "rlaif_steps_in_trl_time": round(
            1
            + (rows[0]["projected_stage_seconds"] - rows[1]["first_step_seconds"])
            / rows[1]["seconds_per_step"],
            1,
        ),
    }
    target = REPO / "benchmarks" / "results" / "ppo_quickstart_steps.json"
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report["runs"], indent=2), report["rlaif_steps_in_trl_time"])


def orchestrate_curve(args: argparse.Namespace) -> None:
    """Learning curves on a tiny random 2-layer model (built from a config, nothing downloaded)
    with the even-token rule reward, for seeds 0-2: TRL 1.12, rlaif with a value model, rlaif's
    default; the mean reward per step over the seeds."""
    sys.path.insert(0, str(REPO))
    from benchmarks.common import machine_info
    from rlaif.models.local.tiny import build_tiny_model

    folder = WORK / "curve"
    folder.mkdir(parents=True, exist_ok=True)
    policy = build_tiny_model(folder / "policy")
    value = build_tiny_model(folder / "value", sequence_classification=True, seed=3)
    prompts = folder / "prompts.jsonl"
    rows = [{"id": f"p{i}", "prompt": [{"role": "user", "content": f"Tell me about {i}"}]}
            for i in range(args.batch)]  # fmt: skip
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    common = [
        f"--policy={policy}", f"--reward={value}", f"--prompts={prompts}", "--rule-reward",
        *settings(args),
    ]  # fmt: skip
    runs = sides(ensure_trl112())
    curves: dict[str, list[list[float]]] = {name: [] for name, _, _ in runs}
    for seed in (0, 1, 2):
        for index, (name, python, extra) in enumerate(runs):
            label = f"s{seed}-{index}"
            arguments = [*common, *extra, f"--seed={seed}", f"--out={folder / label}"]
            payload = run_side(name, python, arguments, folder / f"{label}.json")
            curves[name].append(payload["result"]["scores"])
    summary = {
        name: [round(statistics.mean(step), 4) for step in zip(*runs, strict=True)]
        for name, runs in curves.items()
    }
    report = {
        "command": "python benchmarks/bench_ppo.py " + " ".join(sys.argv[1:]),
        "machine": machine_info(),
        "settings": vars(args),
        "mean_reward_per_step_over_seeds_0_1_2": summary,
        "per_seed": curves,
    }
    target = REPO / "benchmarks" / "results" / "ppo_curve.json"
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot_curves(summary, target.with_suffix(".png"))
    print(json.dumps(summary, indent=2))


def plot_curves(summary: dict[str, list[float]], path: Path) -> None:
    """The mean reward per step of each side, one line each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    for name, curve in summary.items():
        axes.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3, label=name)
    axes.set_xlabel("PPO step")
    axes.set_ylabel("mean reward (share of even token ids)")
    axes.set_title("PPO learning curves, tiny model, mean of 3 seeds")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", choices=["ours", "trl112"])
    parser.add_argument("--policy")
    parser.add_argument("--reward")
    parser.add_argument("--prompts")
    parser.add_argument("--out")
    parser.add_argument("--result")
    parser.add_argument("--value-model", action="store_true")
    parser.add_argument("--no-packing", action="store_true")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--response-length", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--kl-coef", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rule-reward", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--curve",
        action="store_true",
        help="compare learning curves on a tiny random model with a rule reward instead",
    )
    parser.add_argument(
        "--quickstart-steps",
        action="store_true",
        help="the PPO stage of configs/quickstart-ppo.yaml: TRL 1.12 at 4 epochs (8 steps fitted "
        "the stage's time) against rlaif's default at 2 epochs (32 steps), in one run",
    )
    args = parser.parse_args()
    if args.side is None:
        if args.curve:
            orchestrate_curve(args)
        elif args.quickstart_steps:
            orchestrate_quickstart_steps(args)
        else:
            orchestrate(args)
        return
    result = run_ours(args) if args.side == "ours" else run_trl112(args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.result).write_text(json.dumps({"result": result, "peak_rss_mb": peak_mb}))


if __name__ == "__main__":
    main()
