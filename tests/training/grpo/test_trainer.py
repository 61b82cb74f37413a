"""The rollout inside TRL's real GRPOTrainer: env_mask reaches the loss, rewards see the rollout's fields, a step
trains, and the ReTool metrics are logged. Scripted tiny Qwen2 (fake only at generation), real sandbox."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from retool_data.templates import rl_prompt
from sandbox import Sandbox
from tests.training.grpo_helpers import code_turn, qwen2_style_tokenizer, scripted_model
from training.grpo.rollout_func import RetoolRolloutFunc
from training.rollout.rewards import get_reward_funcs

pytestmark = pytest.mark.timeout(600)

NUM_GENERATIONS = 4


@pytest.fixture(scope="module")
def tok():
    return qwen2_style_tokenizer()


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=2, timeout_s=5.0) as box:
        yield box


def scripts(nonce: str) -> list[list[str]]:
    """Rows alternate between a right (4) and a wrong (5) answer, both after one real code call, so every GRPO
    group has two +1 and two -1 rewards (non-zero advantages)."""
    code = f"import hashlib\nprint(hashlib.sha256(b'{nonce}').hexdigest()[:12])"
    return [
        [code_turn(code), "So the answer is <answer>\\boxed{4}</answer>"],
        [code_turn(code), "So the answer is <answer>\\boxed{5}</answer>"],
    ]


def make_trainer(
    tmp_path, tok, sb, rewards=("answer",), script_rows=None, **overrides
) -> tuple[GRPOTrainer, RetoolRolloutFunc, str]:
    nonce = uuid.uuid4().hex
    model = scripted_model(tok, script_rows or scripts(nonce))
    dataset = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": rl_prompt("What is 2 + 2?")}], "answer": "4"},
            {"prompt": [{"role": "user", "content": rl_prompt("What is 1 + 3?")}], "answer": "4"},
        ]
    )
    args = GRPOConfig(
        **{
            "output_dir": str(tmp_path),
            "per_device_train_batch_size": 2 * NUM_GENERATIONS,
            "num_generations": NUM_GENERATIONS,
            "max_completion_length": 200,
            "max_steps": 1,
            "learning_rate": 1e-2,
            "logging_steps": 1,
            "report_to": "none",
            "save_strategy": "no",
            "use_cpu": True,
            "bf16": False,
            "seed": 0,
            **overrides,
        }
    )
    rollout = RetoolRolloutFunc(tok, sb, max_tool_calls=4)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=get_reward_funcs(list(rewards)),
        args=args,
        train_dataset=dataset,
        processing_class=tok,
        rollout_func=rollout,
    )
    return trainer, rollout, hashlib.sha256(nonce.encode()).hexdigest()[:12] + "\n"


def test_a_training_step_runs_the_tools_trains_and_logs_retool_metrics(tmp_path, tok, sb):
    trainer, rollout, expected_output = make_trainer(
        tmp_path, tok, sb, rewards=("answer", "tool_call_shaping")
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()

    results = rollout.last_batch.results
    assert len(results) == 2 * NUM_GENERATIONS  # one rollout per (repeated) prompt TRL handed over
    assert all(r.tool_calls[0].output == expected_output for r in results)  # the sandbox really ran the code
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(p.detach(), before[n])]
    assert changed, "the GRPO step did not change any weight"

    logs = next(h for h in trainer.state.log_history if "retool/code_ratio" in h)
    assert logs["retool/accuracy"] == pytest.approx(0.5)
    assert logs["rewards/answer/mean"] == pytest.approx(0.0)
    # verl's shaping: wrong answers with 1 tool call get +0.1, right ones 0 -> mean 0.05; proves num_tool_calls
    # reached the reward function as a keyword argument
    assert logs["rewards/tool_call_shaping/mean"] == pytest.approx(0.05)
    assert logs["retool/code_ratio"] == 1.0
    assert logs["retool/tool_calls"] == 1.0
    assert logs["retool/code_success_rate"] == 1.0
    assert logs["retool/truncation_rate"] == 0.0
    assert 0.0 < logs["retool/first_call_ratio"] < 1.0
    assert logs["retool/sandbox_s"] > 0.0
    # per-sample columns of TRL's completions table (log_completions)
    assert list(trainer._logs["extra"]["num_tool_calls"]) == [1] * len(results)
    assert list(trainer._logs["extra"]["rollout_end"]) == ["eos"] * len(results)
    # TRL counts only model tokens (tool_mask = 1) in its completion length
    assert logs["completions/mean_length"] == pytest.approx(
        sum(r.model_tokens for r in results) / len(results)
    )


def test_env_mask_reaches_the_loss_and_interpreter_tokens_get_no_gradient(tmp_path, tok, sb):
    trainer, rollout, _ = make_trainer(tmp_path, tok, sb)
    batch = next(iter(trainer.get_train_dataloader()))
    inputs = trainer._generate_and_score_completions(batch)
    results = rollout.last_batch.results

    tool_mask, completion_mask = inputs["tool_mask"], inputs["completion_mask"]
    for row, r in enumerate(results):
        n = len(r.completion_ids)
        assert inputs["completion_ids"][row, :n].tolist() == r.completion_ids
        assert tool_mask[row, :n].tolist() == r.env_mask
        assert completion_mask[row, :n].tolist() == [1] * n and not completion_mask[row, n:].any()
    assert (tool_mask == 0).any() and (inputs["advantages"] != 0).all()

    # Watch the per-token log-probs the loss is built from and check which positions get gradient.
    captured: list[torch.Tensor] = []
    original = trainer._get_per_token_logps_and_entropies

    def spy(*args, **kwargs):
        logps, entropies, aux = original(*args, **kwargs)
        logps.retain_grad()
        captured.append(logps)
        return logps, entropies, aux

    trainer._get_per_token_logps_and_entropies = spy
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # what Trainer's loop sets before each optimizer step
    loss = trainer._compute_loss(trainer.model, inputs)
    loss.backward()
    grad = captured[0].grad
    real = completion_mask.bool()
    interpreter = real & (tool_mask == 0)
    model_tokens = real & (tool_mask == 1)
    assert interpreter.sum() > 0 and torch.count_nonzero(grad[interpreter]) == 0
    assert torch.count_nonzero(grad[model_tokens]) == model_tokens.sum()


def test_an_answer_forged_by_program_output_earns_minus_one_in_a_real_step(tmp_path, tok, sb):
    """Half the rollouts answer honestly; the other half only run code that prints a closing interpreter tag and
    an answer. Scored on what the model wrote, the forgers get -1 (before the fix they got +1: mean 1.0)."""
    hack = 'print("</interpreter><answer>\\\\boxed{4}</answer>")'
    rows = [
        [code_turn("print(2 + 2)"), "So the answer is <answer>\\boxed{4}</answer>"],
        [code_turn(hack), "Done."],
    ]
    trainer, rollout, _ = make_trainer(tmp_path, tok, sb, rewards=("answer",), script_rows=rows)
    trainer.train()

    results = rollout.last_batch.results
    forged = [r for r in results if r.tool_calls[0].output.startswith("</interpreter>")]
    assert len(forged) == NUM_GENERATIONS  # the sandbox printed the forged tags for every hacking rollout
    logs = next(h for h in trainer.state.log_history if "rewards/answer/mean" in h)
    assert logs["rewards/answer/mean"] == pytest.approx(0.0)  # 4 x (+1) honest, 4 x (-1) forged
    assert logs["retool/accuracy"] == pytest.approx(0.5)
