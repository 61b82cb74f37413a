"""Guided rollouts: a rollout that teacher-forces a reference trace's model turns runs its code in the real sandbox
and sits beside sampled rollouts in the same batch (the GRPO smoke's tool path, issue 18 item 7)."""

from __future__ import annotations

import json
import math

import pytest

from retool_data.trace import format_interpreter_block
from sandbox import Sandbox
from tests.conftest import REPO_ROOT
from tests.training.grpo_helpers import chat_prompt_ids, qwen2_style_tokenizer, scripted_model
from training.rollout.backends.hf import TransformersBackend
from training.rollout.guidance import guide_turn_ids, guide_turns
from training.rollout.loop import RolloutConfig, run_rollouts
from training.rollout.rewards import answer_reward

pytestmark = pytest.mark.timeout(300)

SMOKE = [
    json.loads(line)
    for line in (REPO_ROOT / "training/data/grpo_smoke_problems.jsonl").read_text().splitlines()
]


@pytest.fixture(scope="module")
def tok():
    return qwen2_style_tokenizer()


def test_turns_end_at_code_stops_and_rebuild_the_trace_with_the_interpreter_blocks():
    trace = "A.\n<code>\n```python\nx = 2\nprint(x)\n```\n</code>\n<interpreter>\n2\n</interpreter>\nB.\n<code>\n```python\nprint(x + 1)\n```\n</code>\n<interpreter>\n3\n</interpreter>\nSo <answer>\\boxed{3}</answer>"
    turns = guide_turns(trace)
    assert [t.endswith("</code>") for t in turns] == [True, True, False]
    assert turns[0].startswith("A.") and turns[2] == "So <answer>\\boxed{3}</answer>"
    rebuilt = (
        turns[0] + format_interpreter_block("2\n") + turns[1] + format_interpreter_block("3\n") + turns[2]
    )
    assert rebuilt == trace
    assert guide_turns("No code, just <answer>\\boxed{1}</answer>") == [
        "No code, just <answer>\\boxed{1}</answer>"
    ]


def test_every_smoke_problem_has_a_guide_whose_code_prints_its_interpreter_text():
    with Sandbox(workers=2) as sb:
        for row in SMOKE:
            turns = guide_turns(row["trace"])
            assert len(turns) == 2 and row["answer"] in turns[-1], row["id"]
            code = row["trace"].split("```python\n", 1)[1].split("\n```", 1)[0]
            assert format_interpreter_block(sb.run(code).output) in row["trace"], row["id"]


def test_a_guided_rollout_runs_its_code_and_sits_beside_sampled_ones(tok):
    row = SMOKE[0]
    model = scripted_model(tok, [["I think it is <answer>\\boxed{80}</answer>"]])
    backend = TransformersBackend(model, tok)
    prompt = chat_prompt_ids(tok, row["problem"])
    forced = [guide_turn_ids(row["trace"], tok, tok.eos_token_id), None]
    with Sandbox(workers=2) as sb:
        batch = run_rollouts(
            backend, sb, tok, [prompt, prompt], RolloutConfig(max_completion_tokens=200), forced=forced
        )
    guided, sampled = batch.results
    assert (
        guided.text == row["trace"] and guided.end == "eos" and guided.completion_ids[-1] == tok.eos_token_id
    )
    assert [c.output for c in guided.tool_calls] == ["84\n"] and [c.status for c in guided.tool_calls] == [
        "ok"
    ]
    assert [s.kind for s in guided.spans] == ["model", "interpreter", "model"]
    for (
        span
    ) in guided.spans:  # forced turns are trained (mask 1) with no sampler log-prob; the interpreter is not
        mask = guided.env_mask[span.start : span.end]
        lps = guided.logprobs[span.start : span.end]
        if span.kind == "interpreter":
            assert mask == [0] * len(mask) and lps == [0.0] * len(lps)
        else:
            assert mask == [1] * len(mask) and all(math.isnan(x) for x in lps)
    assert sampled.num_tool_calls == 0 and sampled.text == "I think it is <answer>\\boxed{80}</answer>"
    assert all(not math.isnan(x) for x in sampled.logprobs)
    assert answer_reward([guided.text, sampled.text], answer=[row["answer"]] * 2) == [1.0, -1.0]


def test_per_sample_schedule_forces_turns_without_asking_the_server(tok):
    from tests.training.rollout.backends.test_vllm import FakeVLLMServer
    from training.rollout.backends.vllm import VLLMServerBackend
    from training.rollout.generation import SamplingSettings

    row = SMOKE[3]
    server = FakeVLLMServer(tok, ["It is <answer>\\boxed{80}</answer>"])
    backend = VLLMServerBackend(server.url, tok, SamplingSettings(), [tok.eos_token_id])
    prompt = chat_prompt_ids(tok, row["problem"])
    forced = [None, guide_turn_ids(row["trace"], tok, tok.eos_token_id)]
    try:
        with Sandbox(workers=2) as sb:
            config = RolloutConfig(max_completion_tokens=200)
            sampled, guided = run_rollouts(backend, sb, tok, [prompt, prompt], config, forced=forced).results
    finally:
        backend.close()
        server.close()
    assert len(server.bodies) == 1  # only the sampled rollout's turn went to the server
    assert guided.text == row["trace"] and [c.output for c in guided.tool_calls] == ["1000\n"]
    assert all(math.isnan(x) for x, m in zip(guided.logprobs, guided.env_mask, strict=True) if m)
    assert sampled.text == "It is <answer>\\boxed{80}</answer>" and set(sampled.logprobs) == {-0.25}
