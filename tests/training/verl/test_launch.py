"""`retool-data train verl`: the recipe becomes verl's tool config, Hydra overrides and a launch script (no verl
needed: what verl makes of them is tests/training/verl/test_verl_bridge.py)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from retool_data.cli import app
from retool_data.tool_protocol import code_interpreter_schema
from tests.conftest import REPO_ROOT
from training.verl.config import VerlRecipe, hydra_overrides, hydra_value
from training.verl.launch import prepare


def _settings(overrides: list[str]) -> dict[str, str]:
    return dict(o.split("=", 1) for o in overrides)


@pytest.mark.parametrize("config", ["configs/verl_qwen2.5_7b.yaml", "configs/verl_qwen2.5_32b.yaml"])
def test_cli_writes_tool_config_overrides_and_script(tmp_path: Path, config: str) -> None:
    out = tmp_path / "verl"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "verl",
            "--algorithm",
            "ppo",
            "--config",
            str(REPO_ROOT / config),
            "--out",
            str(out),
            "trainer.total_training_steps=5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "python3 -m verl.trainer.main_ppo" in result.output
    tools = yaml.safe_load((out / "tool_config.yaml").read_text())["tools"]
    recipe = yaml.safe_load((REPO_ROOT / config).read_text())
    assert tools[0]["class_name"] == "verl.tools.sandbox_fusion_tools.SandboxFusionTool"
    assert tools[0]["config"]["sandbox_fusion_url"] == recipe["sandbox_url"]
    assert tools[0]["tool_schema"] == code_interpreter_schema()
    lines = (out / "ppo.overrides").read_text().splitlines()
    s = _settings(lines)
    assert s["algorithm.adv_estimator"] == "gae" and s["critic.model.path"] == recipe["model_path"]
    assert s["actor_rollout_ref.rollout.multi_turn.tool_config_path"] == str(
        (out / "tool_config.yaml").resolve()
    )
    assert s["actor_rollout_ref.rollout.multi_turn.max_user_turns"] == str(recipe["max_turns"])
    assert s["trainer.nnodes"] == str(recipe.get("nnodes", 1))
    assert lines[-1] == "trainer.total_training_steps=5"  # extra arguments come last
    # the script is valid bash and holds exactly the command, each override one shell word
    script = (out / "ppo.sh").read_text()
    assert subprocess.run(["bash", "-n", str(out / "ppo.sh")], check=False).returncode == 0
    words = shlex.split(script.split("set -euo pipefail\n", 1)[1].replace("\\\n", " "))
    assert words == ["python3", "-m", "verl.trainer.main_ppo", *lines, "$@"]


def test_grpo_and_ppo_differ_where_verls_recipe_does(tmp_path: Path) -> None:
    recipe = VerlRecipe(model_path="m", critic_model_path="c", train_files=["t.parquet"])
    grpo = _settings(hydra_overrides(recipe, "grpo", tmp_path / "tools.yaml"))
    ppo = _settings(hydra_overrides(recipe, "ppo", tmp_path / "tools.yaml"))
    assert grpo["algorithm.adv_estimator"] == "grpo" and grpo["actor_rollout_ref.rollout.n"] == "16"
    assert not any(k.startswith("critic.") for k in grpo) and "trainer.critic_warmup" not in grpo
    assert ppo["actor_rollout_ref.rollout.n"] == "1" and ppo["critic.model.path"] == "c"
    assert ppo["algorithm.gamma"] == ppo["algorithm.lam"] == "1.0"
    assert int(ppo["actor_rollout_ref.actor.ppo_max_token_len_per_gpu"]) == 2 * (2048 + 16384)
    assert grpo["custom_reward_function.path"] == "pkg://training.verl.reward"
    assert grpo["trainer.val_before_train"] == "False" and grpo["trainer.test_freq"] == "-1"  # no val_files


def test_hydra_values_quote_what_the_grammar_needs() -> None:
    assert hydra_value(["a/b.parquet", "c d"]) == "['a/b.parquet','c d']"
    assert hydra_value("null") == "'null'" and hydra_value("x=y") == "'x=y'" and hydra_value(True) == "True"
    assert hydra_value(1e-6) == "1e-06" and hydra_value("it's") == "'it\\'s'"


def test_recipe_errors_name_what_to_fix(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text("model_path: m\nmax_turn: 3\n")
    with pytest.raises(ValueError, match=r"unknown recipe keys \['max_turn'\]"):
        VerlRecipe.from_yaml(bad)
    with pytest.raises(ValueError, match="key=value"):
        VerlRecipe(overrides=["trainer.nnodes"])
    with pytest.raises(ValueError, match="algorithm must be one of"):
        hydra_overrides(VerlRecipe(), "dpo", "t.yaml")
    with pytest.raises(ValueError, match="/run_code"):
        prepare(VerlRecipe(sandbox_url="http://127.0.0.1:8080"), "grpo", tmp_path)


def test_ray_address_submits_a_ray_job(tmp_path: Path) -> None:
    launch = prepare(VerlRecipe(), "grpo", tmp_path, ray_address="http://head:8265")
    assert launch.command[:5] == ["ray", "job", "submit", "--address=http://head:8265", "--"]
    assert launch.command[5:8] == ["python3", "-m", "verl.trainer.main_ppo"]


def test_flags_that_are_not_overrides_are_refused_before_anything_runs(tmp_path: Path) -> None:
    # (the GPU run that --run starts is documented in docs/training.md, not faked here)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retool_data",
            "train",
            "verl",
            "--algorithm",
            "grpo",
            "--config",
            "configs/verl_qwen2.5_7b.yaml",
            "--out",
            str(tmp_path),
            "--run",
            "-I-am-not-an-override",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "Hydra overrides are key=value" in proc.stderr
    assert not (tmp_path / "grpo.sh").exists()
