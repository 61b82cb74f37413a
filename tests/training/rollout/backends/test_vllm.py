"""vLLM backends without a GPU: the request/response mappings, and the server backend against a local HTTP server
that answers like ``vllm serve``'s ``/v1/completions`` (token-id prompts, ``return_token_ids``), driving a full
rollout with the real sandbox."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from sandbox import Sandbox
from tests.training.grpo_helpers import chat_prompt_ids, code_turn, qwen2_style_tokenizer
from training.rollout.backends.vllm import (
    VLLMServerBackend,
    completions_payload,
    continuation_from_vllm_output,
    continuations_from_choices,
    group_requests,
    vllm_sampling_kwargs,
)
from training.rollout.generation import GenerationRequest, SamplingSettings
from training.rollout.loop import RolloutConfig, run_rollouts

pytestmark = pytest.mark.timeout(300)

SAMPLING = SamplingSettings(temperature=0.9, top_p=0.95, top_k=0, min_p=None, extra={"seed": 3})


@pytest.fixture(scope="module")
def tok():
    return qwen2_style_tokenizer()


def test_sampling_kwargs_stop_at_code_keep_the_stop_and_ask_for_sampled_logprobs():
    req = GenerationRequest([1, 2, 3], 77)
    kw = vllm_sampling_kwargs(req, SAMPLING, [2, 9])
    assert kw["stop"] == ["</code>"] and kw["include_stop_str_in_output"] is True
    assert kw["max_tokens"] == 77 and kw["n"] == 1 and kw["logprobs"] == 0
    assert kw["stop_token_ids"] == [2, 9]
    assert (kw["temperature"], kw["top_p"], kw["top_k"], kw["min_p"], kw["seed"]) == (0.9, 0.95, -1, 0.0, 3)


def test_colocated_output_maps_to_a_cut_continuation_with_sampled_logprobs(tok):
    text_ids = tok.encode("print(1)\n```\n</code>\nextra", add_special_tokens=False)
    nan_at = 1
    logprobs = [
        {t: SimpleNamespace(logprob=float("nan") if i == nan_at else -0.1 * i, rank=1), 12345: -9.0}
        for i, t in enumerate(text_ids)
    ]
    out = continuation_from_vllm_output(
        SimpleNamespace(token_ids=tuple(text_ids), logprobs=logprobs), GenerationRequest([1], 50), tok, [2]
    )
    assert out.finish_reason == "stop" and out.text.endswith("</code>\n") and "extra" not in out.text
    assert len(out.logprobs) == len(out.token_ids) < len(text_ids)
    assert math.isnan(out.logprobs[nan_at]) and out.logprobs[2] == pytest.approx(-0.2)


def test_completions_payload_and_choices_round_trip(tok):
    reqs = [GenerationRequest([5, 6], 40), GenerationRequest([7], 40)]
    body = completions_payload("m", reqs, SAMPLING, [2])
    assert body["prompt"] == [[5, 6], [7]] and body["return_token_ids"] and body["max_tokens"] == 40
    with pytest.raises(ValueError, match="share max_tokens"):
        completions_payload("m", [reqs[0], GenerationRequest([7], 39)], SAMPLING, [2])
    eos = tok.eos_token_id
    choices = [  # out of order on purpose: mapped back by index
        {
            "index": 1,
            "token_ids": [eos],
            "logprobs": {"tokens": [f"token_id:{eos}"], "token_logprobs": [-0.5]},
        },
        {
            "index": 0,
            "token_ids": None,
            "logprobs": {"tokens": ["token_id:40", "token_id:41"], "token_logprobs": [None, -1.0]},
        },
    ]
    first, second = continuations_from_choices(choices, reqs, tok, [eos])
    assert first.token_ids == [40, 41] and math.isnan(first.logprobs[0]) and first.logprobs[1] == -1.0
    assert (second.token_ids, second.finish_reason, second.logprobs) == ([eos], "eos", [-0.5])
    assert group_requests([reqs[0], GenerationRequest([1], 9), reqs[1]]) == [[0, 2], [1]]


HOLD_TIMEOUT_S = 30.0  # only reached when the rollout is wrongly in lockstep (the test then fails)


class FakeVLLMServer:
    """``vllm serve`` stand-in: replies with scripted turns chosen from the decoded prompt (a code turn, then an
    answer once the context holds an interpreter block), and records every request body."""

    def __init__(self, tok, turns: list[str]) -> None:
        self.tok, self.turns, self.bodies = tok, turns, []
        self.unavailable = 0  # answer this many POSTs with 503 first (a server still loading weights)
        # hold(prompt_text) -> an Event to wait for before answering (None: answer now); holds[i] is True when the
        # i-th held request was released by its event, False when it gave up waiting (HOLD_TIMEOUT_S)
        self.hold = lambda text: None
        self.holds: list[bool] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, payload):
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._reply({"data": [{"id": "fake-policy"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if server.unavailable > 0:
                    server.unavailable -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                server.bodies.append(body)
                event = server.hold(server.tok.decode(body["prompt"][0]))
                if event is not None:
                    server.holds.append(event.wait(HOLD_TIMEOUT_S))
                self._reply({"choices": [server.choice(i, p, body) for i, p in enumerate(body["prompt"])]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def choice(self, index: int, prompt_ids: list[int], body: dict) -> dict:
        turn = self.tok.decode(prompt_ids).count("</interpreter>")
        ids = self.tok.encode(self.turns[turn], add_special_tokens=False)
        if turn == len(self.turns) - 1:
            ids.append(self.tok.eos_token_id)
        ids = ids[: body["max_tokens"]]
        return {
            "index": index,
            "token_ids": ids,
            "finish_reason": "stop",
            "logprobs": {"tokens": [f"token_id:{t}" for t in ids], "token_logprobs": [-0.25] * len(ids)},
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_server_backend_drives_a_full_rollout(tok):
    server = FakeVLLMServer(tok, [code_turn("x = 6 * 7\nprint(x)"), "It is <answer>\\boxed{42}</answer>"])
    backend = VLLMServerBackend(server.url, tok, SAMPLING, [tok.eos_token_id])
    prompt = chat_prompt_ids(tok, "What is 6 times 7?")
    try:
        with Sandbox(workers=2) as sb:
            batch = run_rollouts(backend, sb, tok, [prompt, prompt], RolloutConfig(max_completion_tokens=300))
    finally:
        backend.close()
        server.close()
    assert backend.model == "fake-policy"
    for r in batch.results:
        assert [c.output for c in r.tool_calls] == ["42\n"] and r.end == "eos"
        assert len(r.completion_ids) == len(r.env_mask) == len(r.logprobs)
        assert all(lp == (-0.25 if m else 0.0) for lp, m in zip(r.logprobs, r.env_mask, strict=True))
    # one request per rollout and turn (each rollout runs its own loop): two first turns, two second turns
    assert len(server.bodies) == 4 and all(len(b["prompt"]) == 1 for b in server.bodies)
    first = [b for b in server.bodies if b["prompt"] == [prompt]]
    assert len(first) == 2 and all(b["max_tokens"] == 300 for b in first)
    assert all(b["stop"] == ["</code>"] and b["include_stop_str_in_output"] is True for b in first)
    r = batch.results[0]
    second = [b for b in server.bodies if b["prompt"] != [prompt]]
    assert [b["prompt"][0] for b in second] == [
        prompt + r.completion_ids[: r.spans[2].start]
    ] * 2  # ids as sampled
    assert [b["max_tokens"] for b in second] == [300 - r.spans[2].start] * 2


def test_server_backend_retries_a_server_that_is_briefly_unavailable(tok):
    server = FakeVLLMServer(tok, ["It is <answer>\\boxed{42}</answer>"])
    server.unavailable = 2
    backend = VLLMServerBackend(server.url + "/v1/", tok, SAMPLING, [tok.eos_token_id])  # either URL form
    try:
        with Sandbox(workers=1) as sb:
            batch = run_rollouts(
                backend, sb, tok, [chat_prompt_ids(tok, "6 x 7?")], RolloutConfig(max_completion_tokens=50)
            )
    finally:
        backend.close()
        server.close()
    assert batch.results[0].text.startswith("It is <answer>") and batch.results[0].end == "eos"
    assert (backend.client.retries, backend.client.requests_sent, len(server.bodies)) == (2, 3, 1)
