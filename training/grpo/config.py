"""`GRPORunConfig`: TRL's `GRPOConfig` plus the fields ReTool's RL stage adds (model, problems, tools, sandbox,
rewards, LoRA).

Loaded from a recipe YAML with command-line overrides through TRL's `TrlParser`::

    retool-data train grpo --config configs/grpo_cpu_smoke.yaml --max_steps 3 --output_dir runs/x

Every GRPOConfig field keeps TRL's name and meaning (``loss_type``, ``beta``, ``num_generations``,
``max_completion_length`` - the whole completion budget, interpreter tokens included - ``temperature``,
``use_vllm``/``vllm_mode``, ``mask_truncated_completions``, ...). `__post_init__` rejects TRL settings that
would bypass the code-interpreter rollout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig

from training.models.checkpoints import recipe_dict, resolve_resume
from training.models.lora import LoraArguments
from training.rollout.rewards import REWARD_FUNCS


@dataclass
class GRPORunConfig(GRPOConfig, LoraArguments):
    """ReTool RL: GRPO with the multi-turn code-interpreter rollout, interpreter tokens masked from the loss."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Policy to train (usually the cold-start SFT output): a Hub id, a directory, or a .gguf."
        },
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Tokenizer (Hub id, directory or .gguf); defaults to model_name_or_path."},
    )
    chat_template_path: str | None = field(
        default=None, metadata={"help": "A .jinja chat template to use instead of the tokenizer's own."}
    )
    dataset_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Problems with gold answers: a save_to_disk directory, a .parquet file or directory, a .jsonl "
            "file, or a Hub dataset id. Needs `problem_column` and `answer_column`, or verl's RL layout "
            "(`prompt`, `reward_model`), e.g. the paper's RL set BytedTsinghua-SIA/DAPO-Math-17k."
        },
    )
    dataset_split: str = field(default="train", metadata={"help": "Split to train on."})
    problem_column: str = field(default="problem", metadata={"help": "Column with the problem statement."})
    answer_column: str = field(default="answer", metadata={"help": "Column with the gold final answer."})
    max_samples: int | None = field(
        default=None, metadata={"help": "Use the first N problems only (smoke runs); None = all."}
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "Optional system turn before the RL prompt (the paper uses none: the user turn is the "
            "RL template with the problem)."
        },
    )
    guide_column: str | None = field(
        default=None,
        metadata={
            "help": "Column with a reference ReTool trace per problem (e.g. `trace` of the export). When set, the "
            "first rollout of each group follows that trace's model turns (teacher forcing; its code still runs "
            "in the sandbox) beside the policy's own samples: off-policy guidance for a policy that cannot solve "
            "or call tools yet. Unset: every rollout is sampled."
        },
    )
    use_tools: bool = field(
        default=True,
        metadata={
            "help": "Run the code interpreter during rollouts. False = text-only RL (the paper's baseline)."
        },
    )
    max_tool_calls: int = field(
        default=8,
        metadata={
            "help": "Code blocks executed per rollout; the next </code> ends the rollout (verl's ReTool "
            "recipe: 8 turns)."
        },
    )
    rollout_max_batch_size: int | None = field(
        default=None,
        metadata={"help": "Rows per transformers generate() call in the rollout (None: all live rollouts)."},
    )
    sandbox_workers: int | None = field(
        default=None, metadata={"help": "Sandbox processes running code at once (None: the usable CPUs)."}
    )
    sandbox_timeout_s: float = field(
        default=5.0, metadata={"help": "Wall-clock limit per code block (seconds)."}
    )
    sandbox_memory_mb: int = field(default=1024, metadata={"help": "Memory limit per code block (MB)."})
    sandbox_max_output_chars: int = field(
        default=400, metadata={"help": "Interpreter output kept (head+tail, truncated with a marker)."}
    )
    sandbox_allow_degraded: bool = field(
        default=False,
        metadata={
            "help": "Run even if the kernel refuses an isolation layer (see docs/sandbox.md). Off: refuse."
        },
    )
    curve_plots: bool = field(
        default=True,
        metadata={
            "help": "Write plots/<curve>.png into output_dir after training: reward, code_ratio, tool_calls, "
            "response_length, truncation_rate per logged step."
        },
    )
    rewards: list[str] = field(
        default_factory=lambda: ["answer"],
        metadata={
            "help": f"Reward functions by name, summed with `reward_weights`: {sorted(REWARD_FUNCS)}. "
            "'answer' is the paper's +1/-1."
        },
    )
    format_penalty: float = field(
        default=0.5,
        metadata={"help": "Penalty of the 'format' reward for a trace that breaks the ReTool format."},
    )
    shaping_per_call: float = field(
        default=0.1, metadata={"help": "'tool_call_shaping': reward added per tool call on a wrong answer."}
    )
    shaping_cap: float = field(
        default=-0.6, metadata={"help": "'tool_call_shaping': the most a wrong answer can score."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model_name_or_path:
            raise ValueError(
                "Set model_name_or_path (the SFT checkpoint directory, a Hub id, or a .gguf file)."
            )
        if not self.dataset_name_or_path:
            raise ValueError(
                "Set dataset_name_or_path (problems with gold answers: save_to_disk dir, parquet, jsonl, Hub id)."
            )
        if self.max_tool_calling_iterations is not None:
            raise ValueError(
                "Unset max_tool_calling_iterations (TRL's own JSON tool-calling loop) and set max_tool_calls: the "
                "ReTool rollout runs <code> blocks itself."
            )
        if self.use_transformers_continuous_batching or self.use_transformers_paged:
            raise ValueError(
                "Set use_transformers_continuous_batching: false. The rollout generates turn by turn itself "
                "(transformers generate, or vLLM with use_vllm: true)."
            )
        if self.max_tool_calls < 0:
            raise ValueError("Set max_tool_calls to 0 or more (0 = code blocks end the rollout unexecuted).")
        if not self.rewards:
            raise ValueError("Set rewards to at least one reward name, e.g. [answer].")
        unknown = [r for r in self.rewards if r not in REWARD_FUNCS]
        if unknown:
            raise ValueError(f"Unknown rewards {unknown}: set rewards from {sorted(REWARD_FUNCS)}.")
        if self.reward_weights is not None and len(self.reward_weights) != len(self.rewards):
            raise ValueError(
                f"Set reward_weights to {len(self.rewards)} numbers (one per entry of rewards {self.rewards}), "
                "or leave it unset for weight 1 each."
            )
        if self.sandbox_timeout_s <= 0 or self.sandbox_memory_mb < 16:
            raise ValueError("Set sandbox_timeout_s > 0 and sandbox_memory_mb >= 16.")
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError("Set max_samples to a positive number of problems, or leave it unset.")
        self.check_lora()

    def reward_params(self) -> dict[str, dict[str, Any]]:
        """Factory arguments of the configurable rewards (see training.rollout.rewards)."""
        return {
            "format": {"penalty": self.format_penalty},
            "tool_call_shaping": {"per_call": self.shaping_per_call, "cap": self.shaping_cap},
        }

    def sandbox_kwargs(self, concurrent_rollouts: int) -> dict[str, Any]:
        """`sandbox.Sandbox` arguments; sessions are sized so no live rollout's session is evicted."""
        return {
            "workers": self.sandbox_workers,
            "timeout_s": self.sandbox_timeout_s,
            "memory_mb": self.sandbox_memory_mb,
            "max_output_chars": self.sandbox_max_output_chars,
            "max_sessions": max(64, 2 * concurrent_rollouts),
            "allow_degraded": self.sandbox_allow_degraded,
        }

    def to_recipe_dict(self) -> dict[str, Any]:
        """Every field as a YAML mapping `--config` reads back (tokens unmasked except secrets like hub_token)."""
        return recipe_dict(self)

    def resolve_resume(self) -> str | None:
        """The checkpoint to resume from, per `resume_from_checkpoint` ('auto', 'last', a path, or unset)."""
        return resolve_resume(self.resume_from_checkpoint, self.output_dir)
