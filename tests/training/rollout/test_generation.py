"""The backend side of the rollout: the shared stop rule, and transformers generation (batched rows with their
own budgets and stops, log-probs of the distribution actually sampled from)."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import Qwen2ForCausalLM

from tests.training.grpo_helpers import (
    chat_prompt_ids,
    code_turn,
    qwen2_style_tokenizer,
    scripted_model,
    tiny_qwen2_config,
)
from training.rollout.backends.hf import TransformersBackend
from training.rollout.generation import GenerationRequest, SamplingSettings, finish_continuation


@pytest.fixture(scope="module")
def tok():
    return qwen2_style_tokenizer()


def ids(tok, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False)


def request(max_new: int = 100, stop=("</code>",)) -> GenerationRequest:
    return GenerationRequest(context_ids=[1], max_new_tokens=max_new, stop=tuple(stop))


def test_stop_keeps_the_completing_token_and_drops_later_ones(tok):
    generated = ids(tok, "x = 1\n```\n</code>\nmore text")
    out = finish_continuation(generated, tok, request(), [tok.eos_token_id], [-0.5] * len(generated))
    assert out.finish_reason == "stop"
    assert out.text == "x = 1\n```\n</code>\n"  # the last kept token is ">\n": stop and newline share it
    assert out.token_ids == generated[: len(out.token_ids)] and len(out.logprobs) == len(out.token_ids)


def test_eos_before_stop_wins_and_is_kept(tok):
    generated = [*ids(tok, "done"), tok.eos_token_id, *ids(tok, "</code>")]
    out = finish_continuation(generated, tok, request(), [tok.eos_token_id])
    assert (out.finish_reason, out.token_ids[-1], out.text) == ("eos", tok.eos_token_id, "done")


def test_budget_cuts_before_a_late_stop(tok):
    generated = ids(tok, "a long line of words then </code>")
    out = finish_continuation(generated, tok, request(max_new=3), [tok.eos_token_id], [0.0] * len(generated))
    assert out.finish_reason == "length" and out.token_ids == generated[:3] and len(out.logprobs) == 3


def test_no_stop_strings_means_no_stop(tok):
    generated = ids(tok, "<code>\nprint(1)\n</code> and on")
    out = finish_continuation(generated, tok, request(stop=()), [tok.eos_token_id])
    assert out.finish_reason == "length" and out.token_ids == generated


def test_logprobs_must_match_the_tokens(tok):
    with pytest.raises(ValueError, match="log-probs"):
        finish_continuation(ids(tok, "abc"), tok, request(), [tok.eos_token_id], [0.0])


def test_batched_rows_stop_on_their_own_and_respect_their_own_budgets(tok):
    scripts = [
        [code_turn("print(1)", after=" trailing words")],
        ["no code here at all, just a long answer " * 3],
    ]
    model = scripted_model(tok, scripts)
    backend = TransformersBackend(model, tok)
    prompt = chat_prompt_ids(tok, "Hi")
    a = GenerationRequest(prompt, 200)
    b = GenerationRequest(prompt + ids(tok, "no code"), 7)  # a longer context (left padding), a small budget
    out_a, out_b = backend.generate([a, b])
    assert out_a.finish_reason == "stop" and out_a.text.endswith("</code>") and "trailing" not in out_a.text
    assert out_b.finish_reason == "length" and len(out_b.token_ids) == 7
    assert scripts[1][0].startswith("no code" + out_b.text)  # continued from its context, not from scratch
    assert all(lp == pytest.approx(0.0, abs=1e-4) for lp in out_a.logprobs)  # the script is deterministic


def test_logprobs_are_those_of_the_processed_sampling_distribution(tok):
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(tiny_qwen2_config(len(tok))).eval()
    prompt = chat_prompt_ids(tok, "Say something")
    temperature = 0.7
    backend = TransformersBackend(
        model, tok, SamplingSettings(temperature=temperature), eos_token_ids=[10**6]
    )
    (out,) = backend.generate([GenerationRequest(prompt, 12, stop=())])
    assert len(out.token_ids) == len(out.logprobs) == 12
    with torch.no_grad():
        logits = model(torch.tensor([prompt + out.token_ids])).logits[0, len(prompt) - 1 : -1].float()
    expected = torch.log_softmax(logits / temperature, dim=-1).gather(1, torch.tensor(out.token_ids)[:, None])
    assert out.logprobs == pytest.approx(expected.squeeze(1).tolist(), abs=1e-4)

    # top_k=1 leaves one token in the sampling distribution: every sampled token had probability 1
    greedyish = TransformersBackend(model, tok, SamplingSettings(top_k=1), eos_token_ids=[10**6])
    (out,) = greedyish.generate([GenerationRequest(prompt, 6, stop=())])
    assert all(math.isclose(lp, 0.0, abs_tol=1e-6) for lp in out.logprobs)


def test_a_request_with_no_budget_returns_nothing(tok):
    model = Qwen2ForCausalLM(tiny_qwen2_config(len(tok)))
    (out,) = TransformersBackend(model, tok).generate([GenerationRequest([1, 2], 0)])
    assert (out.token_ids, out.finish_reason) == ([], "length")
