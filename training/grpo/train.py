"""ReTool RL with TRL's GRPOTrainer and the multi-turn code-interpreter rollout (interpreter tokens masked).

    retool-data train grpo --config configs/grpo_cpu_smoke.yaml [--any_GRPORunConfig_field value ...]
    accelerate launch --config_file configs/accelerate/zero3.yaml -m training.grpo --config configs/grpo_qwen2.5_7b.yaml

Prompts are the paper's RL template (`retool_data.templates.RL_TEMPLATE`) around each problem; rewards are
`training.rollout.rewards` (default: the paper's +1/-1 on the final answer); rollouts are `training.grpo.rollout_func`.
See docs/training.md (GRPO).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retool_data.recipe_paths import resolve_recipe_argv
from retool_data.templates import build_prompt_messages
from training.grpo.config import GRPORunConfig
from training.grpo.datasets import is_verl_layout, verl_problems

__all__ = ["GRPORunConfig", "GRPORunResult", "cli", "load_problems", "main", "parse_config", "run_grpo"]

CLI_DESCRIPTION = (
    "ReTool RL: GRPO with the multi-turn code-interpreter rollout (interpreter tokens masked from the loss). "
    "`--config recipe.yaml` sets any of the options below (see configs/grpo_*.yaml); options on the command line "
    "override it."
)
RUN_CONFIG_FILE = "run_config.yaml"
RESULT_FILE = "grpo_result.json"
PLOTS_DIR = "plots"


@dataclass
class GRPORunResult:
    """What a run produced; also written to ``output_dir/grpo_result.json``."""

    output_dir: str
    global_step: int
    metrics_history: list[dict[str, Any]]  # the trainer's log history: one dict per logging step
    problems: int  # rows trained on
    dropped: dict[str, int] = field(default_factory=dict)  # rows left out, by reason
    train_runtime_s: float = 0.0
    resumed_from: str | None = None
    plots: dict[str, str] = field(default_factory=dict)  # curve name -> PNG (`training.plots.GRPO_CURVES`)
    tensorboard_dir: str | None = None  # the TensorBoard event files (report_to: tensorboard)

    def series(self, key: str) -> list[tuple[int, float]]:
        """(step, value) of one logged metric, e.g. ``series("retool/code_ratio")``."""
        return [
            (int(h["step"]), float(h[key])) for h in self.metrics_history if key in h and h[key] is not None
        ]


def load_problems(config: GRPORunConfig) -> tuple[Any, dict[str, int]]:
    """The RL dataset: ``prompt`` (`build_prompt_messages` of each problem) and ``answer``; rows without a problem
    or a gold answer are left out and counted by reason (``missing_problem``, ``missing_answer``). A set in verl's
    RL layout (DAPO-Math-17k by its Hub id, or our verl export) is mapped first (`training.grpo.datasets`);
    its repeated problems are counted as ``duplicate_problem``."""
    from training.sft.data import load_sft_dataset

    raw = load_sft_dataset(config.dataset_name_or_path, config.dataset_split, config.max_samples)
    duplicates, problem_col, answer_col = 0, config.problem_column, config.answer_column
    if is_verl_layout(
        raw.column_names, problem_col
    ):  # DAPO-Math-17k, our verl export: mapped to problem/answer
        (raw, duplicates), problem_col, answer_col = verl_problems(raw), "problem", "answer"
    wanted = (problem_col, answer_col, *([config.guide_column] if config.guide_column else []))
    missing = [c for c in wanted if c not in raw.column_names]
    if missing:
        raise ValueError(
            f"{config.dataset_name_or_path} has no column(s) {missing} (columns: {raw.column_names}); set "
            "problem_column / answer_column / guide_column"
        )
    dropped = {"missing_problem": 0, "missing_answer": 0, "duplicate_problem": duplicates}
    keep = []
    for i, row in enumerate(raw):
        if not str(row[problem_col] or "").strip():
            dropped["missing_problem"] += 1
        elif not str(row[answer_col] or "").strip():
            dropped["missing_answer"] += 1
        else:
            keep.append(i)
    system = config.system_prompt

    guide = config.guide_column

    def to_prompt(row: dict[str, Any]) -> dict[str, Any]:
        messages = build_prompt_messages(str(row[problem_col]), system_prompt=system)
        out = {"prompt": messages, "answer": str(row[answer_col]).strip()}
        return {**out, "guide": str(row.get(guide) or "")} if guide else out

    kept_columns = [c for c in raw.column_names if c == "id"]
    dataset = raw.select(keep).map(
        to_prompt, remove_columns=[c for c in raw.column_names if c not in kept_columns]
    )
    return dataset, {k: v for k, v in dropped.items() if v}


def parse_config(argv: list[str] | None = None, prog: str | None = None) -> GRPORunConfig:
    """``--config recipe.yaml`` plus CLI overrides (TRL's TrlParser; unknown keys are an error)."""
    from trl import TrlParser

    (config,) = TrlParser([GRPORunConfig], prog=prog, description=CLI_DESCRIPTION).parse_args_and_config(
        args=resolve_recipe_argv(sys.argv[1:] if argv is None else argv)  # recipe paths: from its folder
    )
    return config


def run_grpo(config: GRPORunConfig, callbacks: list[Any] | None = None) -> GRPORunResult:
    """Train with GRPOTrainer + the ReTool rollout, save the policy and tokenizer, the resolved recipe and the
    metrics history into ``config.output_dir``. The function the Dagster asset ``rl_model`` calls."""
    from transformers import set_seed
    from trl import GRPOTrainer

    from sandbox import Sandbox
    from training.grpo.rollout_func import RetoolRolloutFunc, prompt_key
    from training.models.loading import load_causal_lm, load_tokenizer
    from training.rollout.rewards import get_reward_funcs

    set_seed(config.seed)
    tokenizer = load_tokenizer(
        config.tokenizer_name_or_path or config.model_name_or_path, config.chat_template_path
    )
    dataset, dropped = load_problems(config)
    if len(dataset) == 0:
        raise ValueError(f"no usable problems in {config.dataset_name_or_path}: left out {dropped}")
    model = load_causal_lm(config.model_name_or_path, **(config.model_init_kwargs or {}))
    per_process = max(1, config.generation_batch_size // max(1, config.world_size))
    rollout = RetoolRolloutFunc(
        tokenizer,
        lambda: Sandbox(**config.sandbox_kwargs(per_process)),
        max_tool_calls=config.max_tool_calls,
        use_tools=config.use_tools,
        code_timeout_s=config.sandbox_timeout_s,
        max_batch_size=config.rollout_max_batch_size,
        guides={prompt_key(row["prompt"]): row["guide"] for row in dataset if row.get("guide")},
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=get_reward_funcs(config.rewards, config.reward_params()),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=config.lora_config(),
        rollout_func=rollout,
        callbacks=callbacks,
    )
    resume = config.resolve_resume()
    try:
        output = trainer.train(resume_from_checkpoint=resume)
    finally:
        rollout.close()
    trainer.save_model(config.output_dir)
    result = GRPORunResult(
        output_dir=str(config.output_dir),
        global_step=trainer.state.global_step,
        metrics_history=[dict(h) for h in trainer.state.log_history],
        problems=len(dataset),
        dropped=dropped,
        train_runtime_s=float(output.metrics.get("train_runtime", 0.0)),
        resumed_from=resume,
    )
    if trainer.is_world_process_zero():
        _write_run_files(config, result)
    return result


def _write_run_files(config: GRPORunConfig, result: GRPORunResult) -> None:
    import yaml

    from training.plots import plot_metric_curves, tensorboard_dir

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.curve_plots:
        title = f"GRPO {Path(str(config.model_name_or_path)).name}:"
        result.plots = plot_metric_curves(result.metrics_history, out / PLOTS_DIR, title_prefix=title)
    result.tensorboard_dir = tensorboard_dir(out)
    (out / RUN_CONFIG_FILE).write_text(
        yaml.safe_dump(config.to_recipe_dict(), sort_keys=True, allow_unicode=True)
    )
    (out / RESULT_FILE).write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False, default=str))


def main(config: GRPORunConfig) -> GRPORunResult:
    """Entry point: train, then print a one-screen summary of the last logged step."""
    result = run_grpo(config)
    last = next((h for h in reversed(result.metrics_history) if "retool/code_ratio" in h), {})
    summary = ", ".join(
        f"{k.removeprefix('retool/')} {last[k]:.3g}"
        for k in ("retool/accuracy", "retool/code_ratio", "retool/tool_calls", "retool/truncation_rate")
        if last.get(k) is not None
    )
    print(
        f"GRPO done: {result.global_step} steps on {result.problems} problems ({summary}); saved to {result.output_dir}"
    )
    return result


def cli(argv: list[str] | None = None, prog: str | None = None) -> GRPORunResult:
    return main(parse_config(argv if argv is not None else sys.argv[1:], prog=prog))


if __name__ == "__main__":
    cli()
