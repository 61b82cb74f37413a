"""`lora_config`: which layers get adapters, for each way a recipe or the command line names them."""

from __future__ import annotations

import pytest
from peft import get_peft_model

from training.models.lora import LoraArguments, lora_config
from training.models.tiny import tiny_qwen2

LINEAR = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def _adapted(targets):
    model = get_peft_model(tiny_qwen2(64), lora_config(4, 8, 0.0, targets))
    return {name.split(".")[-1] for name, module in model.named_modules() if hasattr(module, "lora_A")}


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (None, LINEAR),
        (["all-linear"], LINEAR),  # what `--lora_target_modules all-linear` parses to
        (["q_proj"], {"q_proj"}),  # one module name stays a name (not a regex matching nothing)
        (["q_proj", "v_proj"], {"q_proj", "v_proj"}),
    ],
)
def test_target_modules(targets, expected):
    assert _adapted(targets) == expected


def test_arguments_build_the_config_only_with_use_peft():
    assert LoraArguments().lora_config() is None
    config = LoraArguments(
        use_peft=True, lora_r=8, lora_alpha=16, lora_target_modules=["v_proj"]
    ).lora_config()
    assert (config.r, config.lora_alpha, set(config.target_modules)) == (8, 16, {"v_proj"})
