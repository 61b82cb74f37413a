"""SFTRunConfig: YAML + CLI overrides through TrlParser, errors that say what to set, and the shipped recipes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from training.sft.config import SFTRunConfig
from training.sft.train import parse_config

CONFIGS = REPO_ROOT / "configs"
BASE = {
    "model_name_or_path": "m",
    "dataset_name_or_path": "d",
    "bf16": False,
    "use_cpu": True,
    "report_to": "none",
}


def test_yaml_then_cli_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model_name_or_path": "some/model",
                "dataset_name_or_path": "data.jsonl",
                "learning_rate": 3e-4,
                "max_length": 512,
                "use_peft": True,
                "lora_target_modules": ["q_proj", "v_proj"],
                "bf16": False,
                "output_dir": str(tmp_path / "out"),
            }
        )
    )
    config = parse_config(
        ["--config", str(recipe), "--learning_rate", "1e-5", "--overlong_policy", "truncate"]
    )
    assert isinstance(config, SFTRunConfig)
    assert config.learning_rate == 1e-5 and config.max_length == 512 and config.overlong_policy == "truncate"
    assert config.use_peft and config.lora_target_modules == ["q_proj", "v_proj"]
    with pytest.raises(ValueError, match="not used"):  # a field that does not exist is an error, not ignored
        parse_config(["--config", str(recipe), "--no_such_field", "1"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"model_name_or_path": None}, "Set model_name_or_path"),
        ({"dataset_name_or_path": None}, "Set dataset_name_or_path"),
        ({"assistant_only_loss": True}, "Set assistant_only_loss: false"),
        ({"completion_only_loss": True}, "Leave completion_only_loss unset"),
        ({"dataset_kwargs": {"skip_prepare_dataset": True}}, "Remove dataset_kwargs.skip_prepare_dataset"),
        ({"packing": True, "packing_strategy": "wrapped"}, "Set packing_strategy: bfd"),
        ({"overlong_policy": "cut"}, "Set overlong_policy to one of"),
        ({"chat_template_path": "Qwen/Qwen2.5-7B-Instruct"}, "Set chat_template_path to a .jinja"),
        ({"max_samples": 0}, "Set max_samples to a positive"),
        (
            {"curriculum": "easy_to_hard", "packing": False, "shuffle_dataset": True},
            "Set shuffle_dataset: false with a curriculum",
        ),
    ],
)
def test_post_init_says_what_to_set(tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        SFTRunConfig(output_dir=str(tmp_path), **{**BASE, **override})


def test_resume_modes(tmp_path):
    config = SFTRunConfig(output_dir=str(tmp_path), resume_from_checkpoint="auto", **BASE)
    assert config.resolve_resume() is None  # nothing yet: start fresh
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-10").mkdir()
    assert config.resolve_resume() == str(tmp_path / "checkpoint-10")
    config.resume_from_checkpoint = "last"
    assert config.resolve_resume() == str(tmp_path / "checkpoint-10")
    config.resume_from_checkpoint = str(tmp_path / "checkpoint-2")
    assert config.resolve_resume() == str(tmp_path / "checkpoint-2")
    empty = SFTRunConfig(output_dir=str(tmp_path / "empty"), resume_from_checkpoint="last", **BASE)
    with pytest.raises(ValueError, match="holds no checkpoint"):
        empty.resolve_resume()


def test_recipe_dict_round_trips(tmp_path):
    config = SFTRunConfig(
        output_dir=str(tmp_path), eos_token="<|im_end|>", lora_target_modules=["q_proj"], **BASE
    )
    (tmp_path / "run_config.yaml").write_text(yaml.safe_dump(config.to_recipe_dict()))
    again = parse_config(["--config", str(tmp_path / "run_config.yaml")])
    assert again.to_recipe_dict() == config.to_recipe_dict()
    assert again.eos_token == "<|im_end|>" and "hub_token" not in config.to_recipe_dict()


@pytest.mark.parametrize("recipe", sorted(p.name for p in CONFIGS.glob("sft_*.yaml")))
def test_shipped_recipes_parse(recipe, tmp_path):
    # GPU recipes ask for bf16; parse them here with it off (this machine has no GPU), everything else as shipped
    config = parse_config(
        ["--config", str(CONFIGS / recipe), "--bf16", "false", "--output_dir", str(tmp_path)]
    )
    assert config.model_name_or_path and config.dataset_name_or_path and config.max_length
    assert not config.assistant_only_loss
    if "qwen" in recipe:
        assert config.model_init_kwargs["dtype"] == "bfloat16" and config.packing


def test_accelerate_configs_are_zero3_and_fsdp2():
    zero3 = yaml.safe_load((CONFIGS / "accelerate" / "zero3.yaml").read_text())
    fsdp = yaml.safe_load((CONFIGS / "accelerate" / "fsdp2.yaml").read_text())
    assert zero3["distributed_type"] == "DEEPSPEED" and zero3["deepspeed_config"]["zero_stage"] == 3
    assert fsdp["distributed_type"] == "FSDP" and fsdp["fsdp_config"]["fsdp_version"] == 2
    # transformers refuses FSDP activation checkpointing together with the training argument
    seven_b = yaml.safe_load((CONFIGS / "sft_qwen2.5_7b.yaml").read_text())
    assert fsdp["fsdp_config"]["fsdp_activation_checkpointing"] and not seven_b["activation_checkpointing"]


def test_smoke_recipe_points_at_bundled_data():
    smoke = yaml.safe_load((CONFIGS / "sft_cpu_smoke.yaml").read_text())
    assert (CONFIGS / smoke["dataset_name_or_path"]).is_file()  # relative paths: from the recipe's folder
    assert Path(smoke["model_name_or_path"]).name.endswith(".gguf")
