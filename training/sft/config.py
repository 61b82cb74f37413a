"""`SFTRunConfig`: TRL's `SFTConfig` plus the fields this project adds (model, dataset, masking, LoRA).

Loaded from a recipe YAML with command-line overrides through TRL's `TrlParser`::

    retool-data train sft --config configs/sft_cpu_smoke.yaml --max_steps 5 --output_dir runs/x

Every TrainingArguments/SFTConfig field (learning_rate, num_train_epochs, max_length, seed, output_dir,
gradient_checkpointing, resume_from_checkpoint, packing, ...) keeps its TRL name and meaning; only the fields below
are ours. `__post_init__` rejects TRL settings that would bypass or contradict the interpreter mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trl import SFTConfig

from training.models.checkpoints import recipe_dict, resolve_resume
from training.models.lora import LoraArguments
from training.sft.curriculum import CURRICULA

OVERLONG_POLICIES = ("drop", "truncate")


@dataclass
class SFTRunConfig(SFTConfig, LoraArguments):
    """Cold-start SFT on ReTool traces (interpreter output masked from the loss)."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Causal LM to fine-tune: a Hub id, a local directory, or a .gguf file path."},
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Tokenizer (Hub id, directory or .gguf file); defaults to model_name_or_path."},
    )
    dataset_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Training data: a `save_to_disk` directory, a .parquet file or directory of shards, a .jsonl/.json "
            "file, or a Hub dataset id. Rows need a `messages` column (system, user, assistant=trace), or "
            "`problem` + `trace` columns."
        },
    )
    dataset_split: str = field(default="train", metadata={"help": "Split to train on."})
    messages_column: str = field(
        default="messages",
        metadata={"help": "Column holding the chat; its last message is the assistant trace."},
    )
    max_samples: int | None = field(
        default=None, metadata={"help": "Train on the first N rows only (smoke runs); None = all rows."}
    )
    overlong_policy: str = field(
        default="drop",
        metadata={
            "help": "Rows longer than max_length: 'drop' them (counted), or 'truncate' them at the last tool call "
            "that fits (the sequence then ends at a `</code>`, where a rollout pauses). Never cut mid-segment.",
            "choices": list(OVERLONG_POLICIES),
        },
    )
    end_of_turn: str | None = field(
        default=None,
        metadata={
            "help": "Text that ends the assistant turn (weight 1). Default: what the chat template writes after the "
            "assistant content up to its first special token (e.g. '<|im_end|>'), else the tokenizer's eos_token."
        },
    )
    loss_plot: bool = field(
        default=True, metadata={"help": "Write loss_curve.png into output_dir after training."}
    )
    curriculum: str = field(
        default="none",
        metadata={
            "help": "Row order (iTool's easy-to-hard warm-up): 'none' (TRL's shuffled sampler), 'easy_to_hard' "
            "(sorted by difficulty, sequential), or 'staged' (stage s trains the easiest (s+1)/curriculum_stages "
            "of the rows, shuffled). Difficulty: the difficulty_column, else 1 - pass rate from "
            "curriculum_pass_rates, else code blocks and trace length (see docs/itool.md).",
            "choices": list(CURRICULA),
        },
    )
    curriculum_stages: int = field(default=3, metadata={"help": "Stages of the 'staged' curriculum."})
    difficulty_column: str = field(
        default="difficulty",
        metadata={"help": "Column with the source's own difficulty rating (higher = harder)."},
    )
    curriculum_pass_rates: str | None = field(
        default=None,
        metadata={
            "help": "A jsonl of `problem_id`, `pass_rate` rows (an iTool round's mining.jsonl): rows without a "
            "difficulty get 1 - pass rate, matched on their `id`."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model_name_or_path:
            raise ValueError("Set model_name_or_path (a Hub id, a local model directory, or a .gguf file).")
        if not self.dataset_name_or_path:
            raise ValueError(
                "Set dataset_name_or_path (the exported cold-start dataset: save_to_disk dir, parquet, jsonl, Hub id)."
            )
        if self.assistant_only_loss:
            raise ValueError(
                "Set assistant_only_loss: false. The loss mask comes from training.sft.tokenize_trace (pre-tokenized "
                "input_ids + assistant_masks); TRL's template-based assistant mask would not mask interpreter output."
            )
        if self.completion_only_loss:
            raise ValueError(
                "Leave completion_only_loss unset: rows are pre-tokenized with assistant_masks, which already give "
                "the prompt weight 0."
            )
        if (self.dataset_kwargs or {}).get("skip_prepare_dataset"):
            raise ValueError(
                "Remove dataset_kwargs.skip_prepare_dataset: TRL's preparation is what turns assistant_masks into "
                "-100 labels."
            )
        if self.packing and self.packing_strategy == "wrapped":
            raise ValueError(
                "Set packing_strategy: bfd (or bfd_split). 'wrapped' packing cuts sequences at arbitrary tokens, "
                "inside segments; bfd keeps each row whole (rows are already within max_length)."
            )
        if self.overlong_policy not in OVERLONG_POLICIES:
            raise ValueError(
                f"Set overlong_policy to one of {OVERLONG_POLICIES}, not {self.overlong_policy!r}."
            )
        if self.chat_template_path is not None and not self.chat_template_path.endswith((".jinja", ".j2")):
            raise ValueError(
                "Set chat_template_path to a .jinja/.j2 file, or unset it. Cloning a template from another tokenizer "
                "adds tokens after the dataset was tokenized."
            )
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError("Set max_samples to a positive row count, or leave it unset to use every row.")
        self.check_lora()
        self._check_curriculum()

    def _check_curriculum(self) -> None:
        if self.curriculum not in CURRICULA:
            raise ValueError(f"Set curriculum to one of {CURRICULA}, not {self.curriculum!r}.")
        if self.curriculum == "none":
            return
        if self.curriculum_stages < 1:
            raise ValueError("Set curriculum_stages to 1 or more.")
        if self.packing:
            raise ValueError(
                "Set packing: false with a curriculum: packing regroups rows into bins and loses their order."
            )
        if self.shuffle_dataset:
            raise ValueError(
                "Set shuffle_dataset: false with a curriculum: TRL would shuffle the rows the curriculum ordered."
            )
        if self.train_sampling_strategy not in ("random", "sequential"):
            raise ValueError(
                f"Unset train_sampling_strategy ({self.train_sampling_strategy!r}): a curriculum trains its rows "
                "in order (it sets 'sequential')."
            )
        self.train_sampling_strategy = "sequential"  # the curriculum already decided the order

    def to_recipe_dict(self) -> dict[str, Any]:
        """Every field, as a YAML mapping that `--config` reads back (TrainingArguments.to_dict masks all
        ``*_token`` fields; the real eos/pad tokens are restored and secrets like ``hub_token`` left out)."""
        return recipe_dict(self)

    def resolve_resume(self) -> str | None:
        """The checkpoint to resume from, per `resume_from_checkpoint` ('auto', 'last', a path, or unset)."""
        return resolve_resume(self.resume_from_checkpoint, self.output_dir)
