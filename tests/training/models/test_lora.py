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


def test_why_not_trls_model_config_and_get_peft_config():
    """The reason `training.models.lora` exists, pinned: with TRL's ModelConfig + get_peft_config a single
    ``--lora_target_modules q_proj`` becomes the regex "q_proj" (adapting nothing), and no target modules means
    peft's per-architecture default (q_proj, v_proj for Qwen2), not every linear layer. When this fails, TRL has
    fixed it: switch to ModelConfig + get_peft_config."""
    from trl import ModelConfig, get_peft_config

    single = get_peft_config(ModelConfig(use_peft=True, lora_target_modules=["q_proj"]))
    assert single.target_modules == "q_proj"  # a string: peft full-matches it against dotted module paths
    with pytest.raises(ValueError, match="not found"):
        get_peft_model(tiny_qwen2(64), single)
    default = get_peft_model(tiny_qwen2(64), get_peft_config(ModelConfig(use_peft=True)))
    adapted = {n.split(".")[-1] for n, m in default.named_modules() if hasattr(m, "lora_A")}
    assert adapted != LINEAR and _adapted(None) == LINEAR
