"""The server backends run every sample's generate -> execute -> continue loop on its own (issue 18, item 4).

Proof by ordering, not by timing: the server holds the *slow* sample's first reply until the *fast* sample has
finished its whole rollout (two turns and a real sandbox call), which only a per-sample schedule allows. A lockstep
loop would wait for the held reply before the fast sample's second turn, the hold would give up after its timeout
(only then is any wall clock involved), and the test fails on ``released``.
"""

from __future__ import annotations

import threading

import pytest

from retool_data.trace import format_interpreter_block
from sandbox import Sandbox
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply
from tests.training.grpo_helpers import chat_prompt_ids, code_turn, qwen2_style_tokenizer
from tests.training.rollout.backends.test_vllm import FakeVLLMServer
from training.rollout.backends.completions import OpenAICompletionsBackend
from training.rollout.backends.vllm import VLLMServerBackend
from training.rollout.generation import SamplingSettings
from training.rollout.loop import RolloutConfig, RolloutResult, run_rollouts

pytestmark = pytest.mark.timeout(300)

SLOW, FAST = "What is 2 + 3?", "What is 6 times 7?"


@pytest.fixture(scope="module")
def tok():
    return qwen2_style_tokenizer()


def assert_masks_exact(tok, r: RolloutResult) -> None:
    """Interpreter spans are exactly the formatted sandbox output, masked; model spans are trained."""
    assert len(r.completion_ids) == len(r.env_mask)
    calls = iter(r.tool_calls)
    for span in r.spans:
        ids = r.completion_ids[span.start : span.end]
        if span.kind == "interpreter":
            block = format_interpreter_block(next(calls).output)
            assert span.text == block and ids == tok.encode(block, add_special_tokens=False)
            assert r.env_mask[span.start : span.end] == [0] * len(ids)
        else:
            assert r.env_mask[span.start : span.end] == [1] * len(ids)


def run_slow_and_fast(tok, backend, fast_done: threading.Event) -> tuple[list[RolloutResult], list[int]]:
    finished: list[int] = []

    def on_done(index: int, result: RolloutResult) -> None:
        finished.append(index)
        if index == 1:  # the fast sample ended: release the slow sample's first reply
            fast_done.set()

    prompts = [chat_prompt_ids(tok, SLOW), chat_prompt_ids(tok, FAST)]
    with Sandbox(workers=2) as sb:
        batch = run_rollouts(
            backend, sb, tok, prompts, RolloutConfig(max_completion_tokens=300), on_done=on_done
        )
    return batch.results, finished


def test_openai_backend_a_held_sample_does_not_delay_the_others(tok):
    fast_done = threading.Event()

    def responder(body: dict, seen: int) -> Reply:
        prompt = str(body["prompt"])
        if "<interpreter>" in prompt:  # the answer turn
            return Reply(
                text="So <answer>\\boxed{"
                + prompt.rsplit("<interpreter>\n", 1)[1].split("\n")[0]
                + "}</answer>"
            )
        if SLOW in prompt:
            return Reply(text=code_turn("print(2 + 3)"), hold=fast_done)
        return Reply(text=code_turn("print(6 * 7)"))

    with FakeOpenAIServer(responder) as server:
        backend = OpenAICompletionsBackend(server.base_url, tok, SamplingSettings(), [tok.eos_token_id])
        try:
            (slow, fast), finished = run_slow_and_fast(tok, backend, fast_done)
        finally:
            backend.close()
        (held,) = [r for r in server.records() if r.released is not None]
    assert held.released, "the slow sample's reply was not released by the fast sample finishing: lockstep"
    assert finished == [1, 0]
    assert [c.output for c in fast.tool_calls] == ["42\n"] and fast.text.endswith("\\boxed{42}</answer>")
    assert [c.output for c in slow.tool_calls] == ["5\n"] and slow.text.endswith("\\boxed{5}</answer>")
    for r in (slow, fast):
        assert r.end == "eos"
        assert_masks_exact(tok, r)


def test_vllm_server_backend_a_held_sample_does_not_delay_the_others(tok):
    fast_done = threading.Event()
    server = FakeVLLMServer(tok, [code_turn("print(6 * 7)"), "It is <answer>\\boxed{42}</answer>"])
    server.hold = lambda text: fast_done if SLOW in text and "<interpreter>" not in text else None
    backend = VLLMServerBackend(server.url, tok, SamplingSettings(), [tok.eos_token_id])
    try:
        (slow, fast), finished = run_slow_and_fast(tok, backend, fast_done)
    finally:
        backend.close()
        server.close()
    assert server.holds == [True], (
        "the slow sample's reply was not released by the fast sample finishing: lockstep"
    )
    assert finished == [1, 0]
    for r in (slow, fast):
        assert [c.output for c in r.tool_calls] == ["42\n"] and r.end == "eos"
        assert len(r.logprobs) == len(r.completion_ids)
        assert all(lp == (-0.25 if m else 0.0) for lp, m in zip(r.logprobs, r.env_mask, strict=True))
        assert_masks_exact(tok, r)
