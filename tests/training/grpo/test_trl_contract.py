"""The TRL interfaces this project relies on, pinned: when a TRL release changes them, these fail with a message
that names what changed (pyproject caps `trl` below the next minor release until they pass again).

`training.grpo.rollout_func.RetoolRolloutFunc` depends on how `GRPOTrainer._generate` calls ``rollout_func``
(experimental in TRL) and on trainer internals; iTool's preference step on `trl.experimental.cpo` and DPO's
collator. The static checks read TRL's own signatures and source; the last test runs a real (tiny) GRPO step
through a recording ``rollout_func`` and reward to check the data flow end to end.
"""

from __future__ import annotations

import inspect
import re
import tomllib
import typing

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(300)


def _trl_requirement() -> Requirement:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(Requirement(d) for d in deps if Requirement(d).name == "trl")


def test_installed_trl_is_in_the_range_pyproject_allows_and_that_range_is_capped():
    import trl

    req = _trl_requirement()
    assert Version(trl.__version__) in req.specifier, f"TRL {trl.__version__} is outside pyproject's {req}"
    assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"


def test_grpo_trainer_takes_a_rollout_func_with_the_prompts_and_trainer_signature():
    from trl import GRPOTrainer
    from trl.trainer import grpo_trainer

    params = inspect.signature(GRPOTrainer.__init__).parameters
    assert "rollout_func" in params, "GRPOTrainer(rollout_func=...) is gone"
    assert params["rollout_func"].default is None
    alias = grpo_trainer.RolloutFunc  # Callable[[list[str], GRPOTrainer], dict[str, Any]]
    (arg_types, returns) = typing.get_args(alias)
    assert len(arg_types) == 2 and typing.get_origin(returns) is dict, f"RolloutFunc is now {alias}"


def test_generate_calls_rollout_func_and_routes_its_keys_as_we_rely_on():
    from trl import GRPOTrainer

    src = inspect.getsource(GRPOTrainer._generate)
    assert "self.rollout_func(prompts, self)" in src, (
        "rollout_func is no longer called as f(prompts, trainer)"
    )
    required = re.search(r"required_keys = \{([^}]*)\}", src)
    assert required is not None, "rollout_func's required keys are no longer a literal set in _generate"
    assert {k.strip().strip("\"'") for k in required.group(1).split(",")} == {
        "prompt_ids",
        "completion_ids",
        "logprobs",
    }
    # env_mask -> tool_mask (the loss mask of interpreter tokens); the other keys -> reward kwargs
    assert 'extra_fields.pop("env_mask"' in src, "env_mask is no longer taken as TRL's tool_mask"
    scoring = inspect.getsource(GRPOTrainer._generate_and_score_completions)
    assert "extra_fields" in scoring and "inp[key] = values[i]" in scoring, (
        "extra rollout keys no longer reach rewards"
    )


def test_trainer_internals_the_rollout_reads_exist():
    from trl import GRPOTrainer
    from trl.models.utils import unwrap_model_for_generation

    unwrap = inspect.signature(unwrap_model_for_generation).parameters
    for name in ("gather_deepspeed3_params", "generation_kwargs", "gradient_checkpointing_kwargs"):
        assert name in unwrap, f"unwrap_model_for_generation lost {name}"
    assert "_log_completion_extra" in vars(GRPOTrainer)
    init_src = inspect.getsource(GRPOTrainer.__init__)
    for attr in ("self._metrics", "self.vllm_generation", "self.chat_template_kwargs", "self.eos_token_ids"):
        assert attr in init_src, f"GRPOTrainer no longer sets {attr}"


def test_preference_trainers_itool_uses_exist():
    from trl import DPOConfig, DPOTrainer  # noqa: F401
    from trl.experimental.cpo import CPOConfig, CPOTrainer  # noqa: F401
    from trl.trainer.dpo_trainer import DataCollatorForPreference  # noqa: F401
    from trl.trainer.utils import pad  # noqa: F401

    assert "simpo" in inspect.getsource(CPOConfig), "CPOConfig no longer offers loss_type='simpo'"


def test_a_real_step_calls_rollout_func_with_repeated_prompts_and_passes_its_keys_to_rewards(tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from retool_data.templates import build_prompt_messages
    from sandbox import Sandbox
    from tests.training.grpo_helpers import code_turn, qwen2_style_tokenizer, scripted_model
    from training.grpo.rollout_func import RetoolRolloutFunc

    tok = qwen2_style_tokenizer()
    model = scripted_model(tok, [[code_turn("print(2 + 2)"), "So <answer>\\boxed{4}</answer>"]])
    problems = ["What is 2 + 2?", "What is 1 + 3?"]
    dataset = Dataset.from_list([{"prompt": build_prompt_messages(p), "answer": "4"} for p in problems])
    calls, seen = [], []

    def spy_reward(completions, **kwargs):
        seen.append({"n": len(completions), **kwargs})
        return [0.0] * len(completions)

    with Sandbox(workers=2, timeout_s=5.0) as sb:
        inner = RetoolRolloutFunc(tok, sb, max_tool_calls=2)

        def rollout(prompts, trainer):
            calls.append((prompts, trainer))
            return inner(prompts, trainer)

        args = GRPOConfig(
            output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2, max_completion_length=120,
            max_steps=1, logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, bf16=False, seed=0,
        )  # fmt: skip
        trainer = GRPOTrainer(
            model=model, reward_funcs=[spy_reward], args=args, train_dataset=dataset, processing_class=tok,
            rollout_func=rollout,
        )  # fmt: skip
        trainer.train()

    (prompts, who), *_ = calls
    assert who is trainer
    assert len(prompts) == 4 and all(isinstance(p, list) and p[-1]["role"] == "user" for p in prompts)
    assert prompts[0] == prompts[1] and prompts[2] == prompts[3]  # each prompt repeated num_generations times
    results = inner.last_batch.results
    assert all(r.num_tool_calls == 1 for r in results)
    kwargs = seen[0]
    assert kwargs["n"] == 4 and kwargs["answer"] == ["4"] * 4
    assert kwargs["model_text"] == [r.model_text for r in results]  # our extra keys arrive as reward kwargs
    assert kwargs["num_tool_calls"] == [1] * 4 and "env_mask" not in kwargs  # env_mask was taken as tool_mask
