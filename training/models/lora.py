"""The LoRA fields shared by the SFT and GRPO configs (one definition, one `lora_config()`).

Kept rather than TRL's `ModelConfig` + `get_peft_config`: the same field names, but ModelConfig's loading fields
(dtype, revision, 4/8-bit) would be settable and ignored by our GGUF-aware loader, and it turns
``--lora_target_modules q_proj`` into a regex that matches no module (and no targets into peft's per-model
default rather than every linear layer); `tests/training/models/test_lora.py` pins both, so it fails once TRL fixes
them and this module can go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ALL_LINEAR = "all-linear"  # peft's keyword for every linear layer but the output head


def lora_config(
    r: int,
    alpha: int,
    dropout: float,
    target_modules: Sequence[str] | None = None,
    modules_to_save: list[str] | None = None,
) -> Any:
    """A causal-LM `peft.LoraConfig`; no target modules (or ``all-linear``, from a recipe or the command line,
    where it arrives as a one-item list) adapts every linear layer."""
    from peft import LoraConfig

    targets = list(target_modules or [])
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=ALL_LINEAR if targets in ([], [ALL_LINEAR]) else targets,
        modules_to_save=modules_to_save,
        task_type="CAUSAL_LM",
    )


@dataclass
class LoraArguments:
    use_peft: bool = field(
        default=False, metadata={"help": "Train LoRA adapters (peft) instead of all weights."}
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "Module names to adapt (e.g. q_proj v_proj); None = every linear layer ('all-linear')."
        },
    )
    lora_modules_to_save: list[str] | None = field(
        default=None,
        metadata={"help": "Modules trained fully alongside the adapters (e.g. lm_head embed_tokens)."},
    )

    def check_lora(self) -> None:
        if self.use_peft and self.lora_r < 1:
            raise ValueError("Set lora_r to a positive rank (e.g. 16).")

    def lora_config(self) -> Any:
        """The peft LoraConfig for `use_peft`, else None (full fine-tuning)."""
        if not self.use_peft:
            return None
        return lora_config(
            self.lora_r,
            self.lora_alpha,
            self.lora_dropout,
            self.lora_target_modules,
            self.lora_modules_to_save,
        )
