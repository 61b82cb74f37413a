"""Cold-start SFT with TRL on ReTool traces, interpreter output masked from the loss.

    retool-data train sft --config configs/sft_cpu_smoke.yaml [--any_SFTRunConfig_field value ...]
    accelerate launch --config_file configs/accelerate/zero3.yaml -m training.sft --config configs/sft_qwen2.5_7b.yaml

Rows are tokenized here (`tokenize_trace`: prompt, then each model/interpreter span separately) and handed to
`SFTTrainer` pre-tokenized as `input_ids` + `assistant_masks`; TRL folds the mask into `-100` labels, so its
`assistant_only_loss` stays off. See docs/training.md for the masking rule.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retool_data.recipe_paths import resolve_recipe_argv
from training.sft.config import SFTRunConfig
from training.sft.tokenization import TraceMaskError, tokenize_trace

__all__ = [
    "SFTRunConfig",
    "SFTRunResult",
    "TraceMaskError",
    "cli",
    "main",
    "parse_config",
    "run_sft",
    "tokenize_trace",
]

CLI_DESCRIPTION = (
    "Cold-start SFT on ReTool traces with the interpreter output masked from the loss. `--config recipe.yaml` "
    "sets any of the options below (see configs/sft_*.yaml); options on the command line override it."
)
RUN_CONFIG_FILE = "run_config.yaml"
FINGERPRINT_FILE = "dataset_fingerprint.json"
RESULT_FILE = "sft_result.json"
LOSS_PLOT_FILE = "loss_curve.png"


@dataclass
class SFTRunResult:
    """What a run produced; also written to `output_dir/sft_result.json`."""

    output_dir: str
    loss_history: list[tuple[int, float]]
    global_step: int
    tokens_seen: int  # tokens fed to the model (prompt + trace, no padding), all epochs, all ranks
    loss_tokens: int  # tokens with loss weight 1 in the prepared dataset (one epoch)
    masked_token_share: float  # share of dataset tokens with weight 0 (prompt + interpreter blocks)
    interpreter_token_share: float
    data_stats: dict[str, Any] = field(default_factory=dict)
    dataset_fingerprint: dict[str, Any] = field(default_factory=dict)
    train_runtime_s: float = 0.0
    resumed_from: str | None = None
    loss_curve_png: str | None = None
    tensorboard_dir: str | None = None  # the TensorBoard event files (report_to: tensorboard)

    @property
    def first_loss(self) -> float:
        return self.loss_history[0][1]

    @property
    def final_loss(self) -> float:
        return self.loss_history[-1][1]


def parse_config(argv: list[str] | None = None, prog: str | None = None) -> SFTRunConfig:
    """`--config recipe.yaml` plus CLI overrides (TRL's TrlParser; unknown keys are an error)."""
    from trl import TrlParser

    parser = TrlParser([SFTRunConfig], prog=prog, description=CLI_DESCRIPTION)
    (config,) = parser.parse_args_and_config(
        args=resolve_recipe_argv(sys.argv[1:] if argv is None else argv)  # recipe paths: from its folder
    )
    return config


def run_sft(config: SFTRunConfig, callbacks: list[Any] | None = None) -> SFTRunResult:
    """Tokenize the dataset with interpreter masks, train with SFTTrainer, save model + tokenizer + run config +
    dataset fingerprint (+ loss plot) into `config.output_dir`. The function a Dagster asset calls."""
    from transformers import set_seed
    from trl import SFTTrainer

    from training.models.loading import load_causal_lm, load_tokenizer
    from training.sft.data import dataset_fingerprint, load_sft_dataset, prepare_sft_dataset

    set_seed(config.seed)
    tokenizer = load_tokenizer(
        config.tokenizer_name_or_path or config.model_name_or_path, config.chat_template_path
    )
    raw = load_sft_dataset(config.dataset_name_or_path, config.dataset_split, config.max_samples)
    fingerprint = dataset_fingerprint(raw, config.dataset_name_or_path, config.messages_column)
    if config.curriculum != "none":
        raw, fingerprint["curriculum"] = order_by_curriculum(raw, config)
    with config.main_process_first(desc="tokenize SFT traces"):
        train_dataset, stats = prepare_sft_dataset(
            raw,
            tokenizer,
            max_length=config.max_length,
            overlong_policy=config.overlong_policy,
            messages_column=config.messages_column,
            end_of_turn=config.end_of_turn,
            num_proc=config.dataset_num_proc,
        )
    if stats.rows_kept == 0:
        raise ValueError(f"no trainable rows in {config.dataset_name_or_path}: dropped {stats.dropped}")
    fingerprint = {**fingerprint, "tokenization": stats.to_dict(), "max_length": config.max_length}

    resume = config.resolve_resume()
    if config.process_index == 0:  # written before training, so a crashed run still says what it was
        _write_start_files(config, fingerprint)
    init_kwargs = config.model_init_kwargs
    model = load_causal_lm(config.model_name_or_path, **(init_kwargs or {}))
    config.model_init_kwargs = None  # already applied above; SFTTrainer would warn that it ignores them
    try:
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=train_dataset,
            processing_class=tokenizer,
            peft_config=config.lora_config(),
            callbacks=callbacks,
        )
    finally:
        config.model_init_kwargs = init_kwargs
    train_output = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(config.output_dir)  # model (or adapter) + tokenizer

    history = trainer.state.log_history
    result = SFTRunResult(
        output_dir=str(config.output_dir),
        loss_history=[(int(h["step"]), float(h["loss"])) for h in history if "loss" in h and "step" in h],
        global_step=trainer.state.global_step,
        tokens_seen=int(
            max([trainer.state.num_input_tokens_seen, *(h.get("num_tokens", 0) for h in history)], default=0)
        ),
        loss_tokens=stats.loss_tokens,
        masked_token_share=stats.masked_token_share,
        interpreter_token_share=stats.interpreter_tokens / stats.total_tokens,
        data_stats=stats.to_dict(),
        dataset_fingerprint=fingerprint,
        train_runtime_s=float(train_output.metrics.get("train_runtime", 0.0)),
        resumed_from=resume,
    )
    if trainer.is_world_process_zero():
        _write_result_files(config, result)
    return result


def order_by_curriculum(dataset: Any, config: SFTRunConfig) -> tuple[Any, dict[str, Any]]:
    """The rows in curriculum order (`training.sft.curriculum`) and a summary of it for the fingerprint."""
    from training.sft.curriculum import curriculum_order, difficulty_scores, load_pass_rates, summarize

    rates = load_pass_rates(config.curriculum_pass_rates) if config.curriculum_pass_rates else None
    wanted = (
        "id",
        config.difficulty_column,
        "trace",
        config.messages_column,
        "num_code_blocks",
        "trace_tokens",
    )
    rows = list(dataset.select_columns([c for c in dict.fromkeys(wanted) if c in dataset.column_names]))
    if config.messages_column != "messages":
        rows = [{**r, "messages": r.get(config.messages_column)} for r in rows]
    scores = difficulty_scores(rows, rates, config.difficulty_column)
    order = curriculum_order(scores, config.curriculum, config.curriculum_stages, config.seed)
    return dataset.select(order), summarize(scores, order, config.curriculum)


def _write_start_files(config: SFTRunConfig, fingerprint: dict[str, Any]) -> None:
    import yaml

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    recipe = yaml.safe_dump(config.to_recipe_dict(), sort_keys=True, allow_unicode=True)
    (out / RUN_CONFIG_FILE).write_text(recipe, encoding="utf-8")
    (out / FINGERPRINT_FILE).write_text(
        json.dumps(fingerprint, indent=2, ensure_ascii=False), encoding="utf-8"
    )


def _write_result_files(config: SFTRunConfig, result: SFTRunResult) -> None:
    from training.plots import tensorboard_dir

    out = Path(config.output_dir)
    result.tensorboard_dir = tensorboard_dir(out)
    if config.loss_plot and result.loss_history:
        from training.plots import plot_loss_curve

        title = f"SFT loss: {Path(str(config.model_name_or_path)).name}"
        result.loss_curve_png = str(plot_loss_curve(result.loss_history, out / LOSS_PLOT_FILE, title))
    (out / RESULT_FILE).write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False), encoding="utf-8")


def main(config: SFTRunConfig) -> SFTRunResult:
    """Entry point: train, then print a one-screen summary."""
    result = run_sft(config)
    stats = result.data_stats
    print(
        f"SFT done: {result.global_step} steps, loss {result.first_loss:.4f} -> {result.final_loss:.4f}, "
        f"rows kept {stats['rows_kept']}/{stats['rows_in']} (truncated {stats['rows_truncated']}, "
        f"dropped {stats['dropped']}), masked-token share {result.masked_token_share:.1%}, "
        f"saved to {result.output_dir}"
        if result.loss_history
        else f"SFT done: {result.global_step} steps, saved to {result.output_dir}"
    )
    return result


def cli(argv: list[str] | None = None, prog: str | None = None) -> SFTRunResult:
    return main(parse_config(argv if argv is not None else sys.argv[1:], prog=prog))


if __name__ == "__main__":
    cli()
