"""The real `openai` client against a scripted server on 127.0.0.1: faults, retries, cache, accounting."""

from __future__ import annotations

import time
from typing import Any

import pytest

from retool_data.llm.cache import ResponseCache, fingerprint
from retool_data.llm.client import ClientConfig, OpenAIBackend, parse_retry_after
from retool_data.llm.types import ChatRequest, Pricing
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply, prompt_of


def config(server: FakeOpenAIServer, **kw: Any) -> ClientConfig:
    base: dict[str, Any] = dict(
        base_url=server.base_url,
        model="fake-model",
        api_key="k",
        concurrency=4,
        timeout_s=2.0,
        max_retries=4,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        progress=False,
    )
    return ClientConfig(**{**base, **kw})


def faulty(body: dict[str, Any], seen: int) -> Reply:
    """The first attempt(s) of some prompts fail in a scripted way; every prompt eventually succeeds."""
    p = prompt_of(body)
    text = f"answer:{p}"
    if p.startswith("rate") and seen == 0:
        return Reply("status", status=429, headers={"Retry-After": "0.4"})
    if p.startswith("e500") and seen < 2:
        return Reply("status", status=500)
    if p.startswith("e503") and seen == 0:
        return Reply("status", status=503, headers={"retry-after-ms": "50"})
    if p.startswith("hang") and seen == 0:
        return Reply("hang")
    if p.startswith("drop") and seen == 0:
        return Reply("drop")
    if p.startswith("malformed") and seen == 0:
        return Reply("malformed")
    if p.startswith("always500"):
        return Reply("status", status=500)
    if p.startswith("bad400"):
        return Reply("status", status=400, text="context length exceeded")
    return Reply(text=text)


KINDS = ["ok", "rate", "e500", "e503", "hang", "drop", "malformed"]


def test_every_fault_is_retried_until_a_reply(tmp_path):
    requests = [ChatRequest.user(f"{kind}-{i}", tag=str(i)) for i in range(6) for kind in KINDS]
    with FakeOpenAIServer(faulty) as server:
        backend = OpenAIBackend(config(server, timeout_s=0.5), ResponseCache(tmp_path))
        t0 = time.monotonic()
        out = backend.complete(requests)
        elapsed = time.monotonic() - t0
        records = server.records()
    assert len(out) == len(requests)
    assert [r.text for r in out] == [f"answer:{q.messages[0]['content']}" for q in requests]
    assert all(r.error is None for r in out)
    by_kind = {
        k: [r for q, r in zip(requests, out, strict=True) if q.messages[0]["content"].startswith(k)]
        for k in KINDS
    }
    assert all(r.attempts == 1 for r in by_kind["ok"])
    assert all(r.attempts == 3 for r in by_kind["e500"])
    for kind in ("rate", "e503", "hang", "drop", "malformed"):
        assert all(r.attempts == 2 for r in by_kind[kind]), kind
    # Retry-After was honoured: the retry of a rate-limited prompt came >= 0.4 s after its 429
    for i in range(6):
        times = [r.t for r in records if r.prompt == f"rate-{i}"]
        assert len(times) == 2 and times[1] - times[0] >= 0.4
    assert elapsed < 15
    usage = backend.usage.as_dict()
    assert usage["requests"] == len(requests) and usage["errors"] == 0
    assert usage["sent"] == len(records)
    assert usage["retries"] == len(records) - len(requests)


def test_persistent_failures_end_as_recorded_errors():
    requests = [ChatRequest.user(p) for p in ("ok-1", "always500-1", "bad400-1", "ok-2")]
    with FakeOpenAIServer(faulty) as server:
        out = OpenAIBackend(config(server, max_retries=2)).complete(requests)
        sent = [r.prompt for r in server.records()]
    assert [r.ok for r in out] == [True, False, False, True]
    assert out[1].error.startswith("http_500") and out[1].attempts == 3
    assert out[2].error.startswith("http_400") and out[2].attempts == 1  # a 400 is not retried
    assert sent.count("always500-1") == 3 and sent.count("bad400-1") == 1


def test_unreachable_endpoint_is_an_error_not_an_exception():
    cfg = ClientConfig(
        base_url="http://127.0.0.1:9/v1",
        model="m",
        max_retries=1,
        backoff_base_s=0.01,
        timeout_s=1.0,
        progress=False,
    )
    out = OpenAIBackend(cfg).complete([ChatRequest.user("x")])
    assert out[0].error is not None and out[0].error.startswith("connection") and out[0].attempts == 2


def test_cache_serves_reruns_and_no_cache_resends(tmp_path):
    requests = [ChatRequest.user(f"q{i}", params={"temperature": 0.6}, template="t@1") for i in range(10)]
    with FakeOpenAIServer(faulty) as server:
        first = OpenAIBackend(config(server), ResponseCache(tmp_path)).complete(requests)
        assert len(server.records()) == 10
        again = OpenAIBackend(config(server), ResponseCache(tmp_path))
        second = again.complete(requests)
        assert len(server.records()) == 10  # nothing re-sent
        assert [r.text for r in second] == [r.text for r in first] and all(r.cached for r in second)
        assert again.usage.cached == 10 and again.usage.sent == 0
        OpenAIBackend(config(server)).complete(requests)  # no cache given: NullCache
        assert len(server.records()) == 20


def test_duplicate_requests_in_a_batch_are_sent_once():
    requests = [ChatRequest.user("same")] * 5 + [ChatRequest.user("other")]
    with FakeOpenAIServer(faulty) as server:
        out = OpenAIBackend(config(server)).complete(requests)
        assert len(server.records()) == 2
    assert [r.text for r in out] == ["answer:same"] * 5 + ["answer:other"]


def test_fingerprint_covers_model_messages_params_template_attempt():
    base = ChatRequest.user("p", params={"temperature": 0.6}, template="t@1")
    keys = {
        fingerprint("m", base),
        fingerprint("m2", base),
        fingerprint("m", ChatRequest.user("p2", params={"temperature": 0.6}, template="t@1")),
        fingerprint("m", ChatRequest.user("p", params={"temperature": 0.7}, template="t@1")),
        fingerprint("m", ChatRequest.user("p", params={"temperature": 0.6}, template="t@2")),
        fingerprint("m", ChatRequest.user("p", params={"temperature": 0.6}, template="t@1", attempt=1)),
    }
    assert len(keys) == 6
    # the tag (row id, for logs) does not change what is asked
    assert fingerprint("m", base) == fingerprint(
        "m", ChatRequest.user("p", {"temperature": 0.6}, "t@1", tag="x")
    )


def test_cost_accounting_uses_server_usage():
    pricing = Pricing(prompt_per_mtok=1.0, completion_per_mtok=2.0)
    with FakeOpenAIServer(faulty) as server:
        backend = OpenAIBackend(config(server, pricing=pricing))
        out = backend.complete([ChatRequest.user("one two three")])
    assert out[0].prompt_tokens == 3 and out[0].completion_tokens == 3  # "answer:one two three"
    assert backend.usage.cost_usd == pytest.approx((3 * 1.0 + 3 * 2.0) / 1e6)


def test_parse_retry_after_forms():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({}) is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < parse_retry_after({"retry-after": future}) <= 30


def test_missing_endpoint_or_model_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("RETOOL_LLM_ENDPOINT", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="no endpoint"):
        ClientConfig(model="m").resolved()
    monkeypatch.delenv("RETOOL_LLM_MODEL", raising=False)
    with pytest.raises(ValueError, match="no model"):
        ClientConfig(base_url="http://x/v1").resolved()


def test_requests_run_concurrently_up_to_the_limit():
    # 32 requests, 0.5 s each, 16 at a time: two waves, ~1 s; one at a time would take 16 s
    with FakeOpenAIServer(faulty, latency=0.5) as server:
        backend = OpenAIBackend(config(server, concurrency=16, timeout_s=10))
        t0 = time.monotonic()
        out = backend.complete([ChatRequest.user(f"c{i}") for i in range(32)])
        elapsed = time.monotonic() - t0
    assert all(r.ok for r in out)
    assert 1.0 <= elapsed < 3.0
