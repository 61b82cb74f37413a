"""Our verl recipe (``configs/verl_*.yaml``) and the Hydra overrides of verl's ``ppo_trainer`` config it becomes.

The keys and their values follow verl's ReTool recipe launch scripts (``recipe/retool/run_qwen2_7b_dapo.sh`` for
GRPO, ``run_qwen2-32b_ppo.sh`` for PPO) one for one: multi-turn rollout on vLLM in async mode with the tool agent
loop (Hermes tool calls, our sandbox through verl's SandboxFusionTool), DAPO's asymmetric clipping, no KL, and for
PPO a critic (GAE with gamma = lam = 1, critic warm-up). What differs: the data are our export's
``verl/train.parquet`` (``agent_name: tool_agent`` already in the rows, so no custom dataset class) and the reward
is `training.verl.reward.compute_score`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

ALGORITHMS = ("ppo", "grpo")
REWARD_MODULE = "pkg://training.verl.reward"  # verl's load_module resolves pkg:// in the installed package


@dataclass
class VerlRecipe:
    """Every field of a ``configs/verl_*.yaml`` recipe (defaults: verl's ReTool 7B DAPO script)."""

    model_path: str = (
        "Qwen/Qwen2.5-7B-Instruct"  # the SFT'd checkpoint (trained on a `--tool-protocol hermes` export)
    )
    critic_model_path: str | None = None  # PPO only; None: the actor's checkpoint, as verl's recipe does
    train_files: list[str] = field(default_factory=lambda: ["outputs/cold_start_dataset/verl/train.parquet"])
    val_files: list[str] = field(
        default_factory=list
    )  # none: validation off (trainer.val_before_train=False)
    sandbox_url: str = "http://127.0.0.1:8080/run_code"
    sandbox_workers: int = 128
    sandbox_rate_limit: int = 128
    sandbox_timeout_s: int = 30
    sandbox_memory_mb: int = 1024
    max_turns: int = 16
    max_prompt_length: int = 2048
    max_response_length: int = 16384
    train_batch_size: int = 64
    ppo_mini_batch_size: int = 16
    n_resp_per_prompt: int = 16  # GRPO group size (PPO samples one response per prompt)
    n_resp_per_prompt_val: int = 30
    actor_lr: float = 1e-6
    critic_lr: float = 2e-6
    critic_warmup: int = 20
    clip_ratio_low: float = 0.2
    clip_ratio_high: float = 0.28
    tool_call_bonus: float = 0.1  # verl's ReTool shaping of wrong answers; 0 turns it off
    infer_tp: int = 4
    train_sp: int = 4
    offload: bool = True
    gpu_memory_utilization: float = 0.9
    n_gpus_per_node: int = 8
    nnodes: int = 1
    project_name: str = "retool"
    experiment_name: str = "qwen2.5-7b"
    default_local_dir: str = "checkpoints/verl"
    logger: list[str] = field(default_factory=lambda: ["console", "tensorboard"])
    save_freq: int = 20
    test_freq: int = 10
    total_epochs: int = 1
    overrides: list[str] = field(default_factory=list)  # further `key=value` Hydra overrides, appended last

    @classmethod
    def from_yaml(cls, path: str | Path) -> VerlRecipe:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown recipe keys {unknown}; known: {sorted(known)}")
        return cls(**data)

    def __post_init__(self) -> None:
        for name in ("train_files", "val_files", "logger", "overrides"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, [value])
        if not self.train_files:
            raise ValueError("train_files is empty: set it to the export's verl/train.parquet")
        bad = [o for o in self.overrides if "=" not in o]
        if bad:
            raise ValueError(f"overrides must be key=value Hydra overrides, got {bad}")


_BARE = re.compile(r"^[A-Za-z0-9_./:@+-]+$")


def hydra_value(value: Any) -> str:
    """A value in Hydra's override grammar: lists as ``['a','b']``, strings quoted unless plainly safe."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) if not isinstance(v, str) else _quoted(v) for v in value) + "]"
    text = str(value)
    return text if _BARE.match(text) and text.lower() not in ("null", "true", "false") else _quoted(text)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def verl_settings(recipe: VerlRecipe, algorithm: str, tool_config_path: str | Path) -> dict[str, Any]:
    """The ``key: value`` settings (dotted verl config keys, in the recipe scripts' order)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}")
    r = recipe
    actor_tokens = (r.max_prompt_length + r.max_response_length) * (2 if algorithm == "ppo" else 1)
    s: dict[str, Any] = {
        "algorithm.adv_estimator": "gae" if algorithm == "ppo" else "grpo",
        "algorithm.use_kl_in_reward": False,
        "algorithm.kl_ctrl.kl_coef": 0.0,
    }
    if algorithm == "ppo":
        s |= {"algorithm.gamma": 1.0, "algorithm.lam": 1.0}
    s |= {
        "data.train_files": list(r.train_files),
        "data.val_files": list(r.val_files or r.train_files),
        "data.return_raw_chat": True,  # the agent loop re-applies the chat template with the tool schemas
        "data.train_batch_size": r.train_batch_size,
        "data.max_prompt_length": r.max_prompt_length,
        "data.max_response_length": r.max_response_length,
        "data.filter_overlong_prompts": True,
        "data.truncation": "error",
        "custom_reward_function.path": REWARD_MODULE,
        "custom_reward_function.name": "compute_score",
        "+custom_reward_function.reward_kwargs.tool_call_bonus": r.tool_call_bonus,
        "actor_rollout_ref.model.path": r.model_path,
        "actor_rollout_ref.model.use_remove_padding": True,
        "actor_rollout_ref.model.enable_gradient_checkpointing": True,
        "actor_rollout_ref.actor.use_kl_loss": False,
        "actor_rollout_ref.actor.kl_loss_coef": 0.0,
        "actor_rollout_ref.actor.clip_ratio_low": r.clip_ratio_low,
        "actor_rollout_ref.actor.clip_ratio_high": r.clip_ratio_high,
        "actor_rollout_ref.actor.clip_ratio_c": 10.0,
        "actor_rollout_ref.actor.optim.lr": r.actor_lr,
        "actor_rollout_ref.actor.use_dynamic_bsz": True,
        "actor_rollout_ref.actor.ppo_mini_batch_size": r.ppo_mini_batch_size,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": actor_tokens,
        "actor_rollout_ref.actor.ulysses_sequence_parallel_size": r.train_sp,
        "actor_rollout_ref.actor.fsdp_config.param_offload": r.offload,
        "actor_rollout_ref.actor.fsdp_config.optimizer_offload": r.offload,
    }
    if algorithm == "grpo":
        s["actor_rollout_ref.ref.log_prob_max_token_len_per_gpu"] = actor_tokens * 4
    s |= {
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.rollout.mode": "async",
        "actor_rollout_ref.rollout.tensor_model_parallel_size": r.infer_tp,
        "actor_rollout_ref.rollout.multi_turn.enable": True,
        "actor_rollout_ref.rollout.multi_turn.max_user_turns": r.max_turns,
        "actor_rollout_ref.rollout.multi_turn.max_assistant_turns": r.max_turns,
        "actor_rollout_ref.rollout.multi_turn.tool_config_path": str(tool_config_path),
        "actor_rollout_ref.rollout.multi_turn.format": "hermes",
        "actor_rollout_ref.rollout.gpu_memory_utilization": r.gpu_memory_utilization,
        "actor_rollout_ref.rollout.n": r.n_resp_per_prompt if algorithm == "grpo" else 1,
        "actor_rollout_ref.rollout.val_kwargs.top_p": 0.6,
        "actor_rollout_ref.rollout.val_kwargs.temperature": 1.0,
        "actor_rollout_ref.rollout.val_kwargs.n": r.n_resp_per_prompt_val,
    }
    if algorithm == "ppo":
        critic_tokens = (r.max_prompt_length + r.max_response_length) * 4
        critic_path = r.critic_model_path or r.model_path
        s |= {
            "critic.optim.lr": r.critic_lr,
            "critic.model.use_remove_padding": True,
            "critic.model.path": critic_path,
            "critic.model.enable_gradient_checkpointing": True,
            "critic.ppo_max_token_len_per_gpu": critic_tokens,
            "critic.ulysses_sequence_parallel_size": r.train_sp,
            "critic.model.fsdp_config.param_offload": r.offload,
            "critic.model.fsdp_config.optimizer_offload": r.offload,
            "trainer.critic_warmup": r.critic_warmup,
        }
    s |= {
        "trainer.logger": list(r.logger),
        "trainer.project_name": r.project_name,
        "trainer.experiment_name": f"{r.experiment_name}_{algorithm}",
        "trainer.n_gpus_per_node": r.n_gpus_per_node,
        "trainer.val_before_train": bool(r.val_files),
        "trainer.nnodes": r.nnodes,
        "trainer.save_freq": r.save_freq,
        "trainer.default_local_dir": f"{r.default_local_dir}/{r.experiment_name}_{algorithm}",
        "trainer.test_freq": r.test_freq if r.val_files else -1,
        "trainer.total_epochs": r.total_epochs,
    }
    return s


def hydra_overrides(recipe: VerlRecipe, algorithm: str, tool_config_path: str | Path) -> list[str]:
    """``key=value`` overrides for ``python -m verl.trainer.main_ppo``, the recipe's own ``overrides`` last."""
    settings = verl_settings(recipe, algorithm, tool_config_path)
    return [f"{k}={hydra_value(v)}" for k, v in settings.items()] + list(recipe.overrides)
