"""Hostile LLM replies (issue 15, item 11), injected by the scripted OpenAI-compatible server on 127.0.0.1.

Each case asserts nothing is lost: every row comes out of the stage kept or quarantined with the reason, nothing
raises, the response cache never fails on text, and a good reply beside the bad one is still used."""

from __future__ import annotations

import json
import os
from typing import Any

import polars as pl
import pytest

from retool_data.llm import OpenAIBackend, ResponseCache
from retool_data.llm.cache import fingerprint
from retool_data.llm.client import ClientConfig
from retool_data.llm.types import ChatRequest, ChatResponse
from retool_data.schema import REJECT_SCHEMA
from retool_data.stages.rewrite import rewrite
from retool_data.stages.verify import verify
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply, prompt_of
from tests.retool_data.stages.rows import frame, row

GOOD = (
    "Let me compute.\n<code>\n```python\nprint(12 * 7)\n```\n</code>\n<interpreter>\n84\n</interpreter>\n"
    "So 84.\n<answer>\\boxed{84}</answer>"
)
# What a careless server sends (Reply.overrides replaces parts of an otherwise valid chat completion).
HOSTILE: dict[str, Reply] = {
    "surrogate": Reply(text=GOOD.replace("So 84", "So \ud800 84")),
    "surrogate-pair-half": Reply(text="\udc00" + GOOD),
    "usage-lots": Reply(
        text=GOOD, overrides={"usage": {"prompt_tokens": "lots", "completion_tokens": "many"}}
    ),
    "usage-negative": Reply(
        text=GOOD, overrides={"usage": {"prompt_tokens": -5, "completion_tokens": 1e400}}
    ),
    "usage-list": Reply(text=GOOD, overrides={"usage": [1, 2]}),
    "usage-missing": Reply(text=GOOD, overrides={"usage": None}),
    "no-choices": Reply(text=GOOD, overrides={"choices": []}),
    "choices-missing": Reply(text=GOOD, overrides={"choices": None}),
    "content-null": Reply(
        overrides={"choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]}
    ),
    "content-list": Reply(
        overrides={"choices": [{"index": 0, "message": {"role": "assistant", "content": [{"text": GOOD}]}}]}
    ),
    "finish-int": Reply(
        overrides={
            "choices": [{"index": 0, "message": {"role": "assistant", "content": GOOD}, "finish_reason": 7}]
        }
    ),
    "nul-and-bidi": Reply(text=GOOD.replace("So 84", "So\u0000 \u202e84\u202c")),
    "malformed-json": Reply("malformed"),
}
# Replies a stage can still use (usage or finish_reason garbage only feeds accounting) vs. ones it must not.
USABLE = {"usage-lots", "usage-negative", "usage-list", "usage-missing", "finish-int", "nul-and-bidi"}


def scripted(body: dict[str, Any], seen: int) -> Reply:
    prompt = prompt_of(body)
    for name, reply in HOSTILE.items():
        if f"KIND-{name}." in prompt:
            return reply
    if "KIND-flaky." in prompt and seen == 0:
        return HOSTILE["surrogate"]  # bad once, then fine: a retry recovers it
    return Reply(text=GOOD)


def backend(server: FakeOpenAIServer, cache: Any = None, retries: int = 1) -> OpenAIBackend:
    cfg = ClientConfig(
        base_url=server.base_url,
        model="m",
        concurrency=4,
        timeout_s=2,
        max_retries=retries,
        backoff_base_s=0.01,
        backoff_max_s=0.02,
        progress=False,
    )
    return OpenAIBackend(cfg, cache)


def rows_for(*kinds: str) -> pl.DataFrame:
    return frame(
        [
            row(f"Problem KIND-{k}. What is 12 times 7?", "12 \\times 7 = 84", "\\boxed{84}", "84")
            for k in kinds
        ]
    )


def accounted(result, df: pl.DataFrame) -> None:
    result.check_invariant(df.height)
    assert sorted(result.kept["id"].to_list() + result.rejected["id"].to_list()) == sorted(df["id"].to_list())
    assert result.rejected.schema == REJECT_SCHEMA and result.rejected["detail"].null_count() == 0
    result.kept.write_parquet(os.devnull)  # storable: no lone surrogate reached a frame
    result.rejected.write_parquet(os.devnull)
    for payload in result.rejected["row"]:
        json.loads(payload)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_rewrite_stage_survives_each_hostile_reply(tmp_path, kind):
    df = rows_for(kind, "good")
    with FakeOpenAIServer(scripted) as server:
        b = backend(server, ResponseCache(tmp_path))
        result = rewrite(df, b)
    accounted(result, df)
    assert any("KIND-good." in p for p in result.kept["problem"])  # the good row beside it is kept
    if kind in USABLE:
        assert result.kept.height == 2 and result.rejected.height == 0
    else:
        assert result.kept.height == 1
        [(reason, detail)] = result.rejected.select("reason", "detail").rows()
        assert reason == "rewrite_error" and detail.startswith("bad_response: ")
    assert b.usage.errors == (0 if kind in USABLE else 1)


def test_lone_surrogate_reason_names_the_character_and_is_retried_then_quarantined(tmp_path):
    df = rows_for("surrogate")
    with FakeOpenAIServer(scripted) as server:
        b = backend(server, ResponseCache(tmp_path), retries=2)
        result = rewrite(df, b)
        attempts = len(server.records())
    accounted(result, df)
    offset = GOOD.index("So 84") + 3
    expected = f"bad_response: reply text holds a lone surrogate \\ud800 at offset {offset}"
    assert result.rejected["detail"][0] == expected
    assert (
        attempts == 3 and b.usage.retries == 2
    )  # retried (a sampled reply may come back clean), then recorded
    assert len(ResponseCache(tmp_path)) == 0  # nothing malformed was cached: a re-run asks again


def test_a_malformed_reply_that_recovers_on_retry_is_used(tmp_path):
    df = rows_for("flaky")
    with FakeOpenAIServer(scripted) as server:
        result = rewrite(df, backend(server, ResponseCache(tmp_path)))
    accounted(result, df)
    assert result.kept.height == 1 and "\ud800" not in result.kept["trace"][0]


def test_usage_garbage_counts_as_zero_and_the_reply_is_cached(tmp_path):
    df = rows_for("usage-lots")
    with FakeOpenAIServer(scripted) as server:
        b = backend(server, ResponseCache(tmp_path))
        result = rewrite(df, b)
        again = rewrite(df, backend(server, ResponseCache(tmp_path)))  # from the cache: nothing sent
        sent = len(server.records())
    accounted(result, df)
    assert b.usage.prompt_tokens == 0 and b.usage.completion_tokens == 0 and b.usage.errors == 0
    assert again.kept["trace"].equals(result.kept["trace"]) and sent == 1


def test_judge_reply_with_a_lone_surrogate_is_a_judge_error_not_a_crash(tmp_path):
    df = frame(
        [
            row(
                "Problem KIND-surrogate. Is 2 + 2 four?",
                "2 + 2 = 4",
                "The answer is four.",
                None,
                gold_solution="It is \\boxed{4}.",
            ),
            row("Problem KIND-good. Is 3 + 3 six?", "3 + 3 = 6", "\\boxed{6}", "6"),
        ]
    )
    with FakeOpenAIServer(scripted) as server:
        result = verify(df, backend(server, ResponseCache(tmp_path)), judge_attempts=2)
    accounted(result, df)
    [(reason, detail)] = result.rejected.select("reason", "detail").rows()
    assert reason == "judge_error" and "lone surrogate \\ud800" in detail


def test_cache_never_fails_on_text(tmp_path):
    cache = ResponseCache(tmp_path)
    texts = [
        "lone \ud800 high",
        "lone \udfff low",
        "nul \x00 byte",
        "bidi \u202e and zero width \u200b",
        "x" * 100_000,
    ]
    for i, text in enumerate(texts):
        request = ChatRequest.user(f"prompt {i} {text}")  # the prompt may hold it too
        key = fingerprint("m\ud800", request)
        cache.put(key, "m\ud800", request, ChatResponse(text=text, finish_reason="stop\udc00"))
        got = cache.get(key)
        assert got is not None and got.text == text and got.finish_reason == "stop\udc00" and got.cached
    assert len(cache) == len(texts)


def test_a_prompt_with_a_lone_surrogate_is_sent_and_cached(tmp_path):
    request = ChatRequest.user("Problem KIND-good. \ud800 what is 12 times 7?")
    with FakeOpenAIServer(scripted) as server:
        [reply] = backend(server, ResponseCache(tmp_path)).complete([request])
        [sent] = server.records()
    assert reply.ok and reply.text == GOOD
    assert "\\ud800 what is" in sent.prompt  # sent as its escape: the HTTP body must be valid UTF-8
    assert ResponseCache(tmp_path).get(fingerprint("m", request)).text == GOOD


def test_every_reply_malformed_still_gives_one_row_per_input(tmp_path):
    kinds = ["surrogate", "no-choices", "content-null", "malformed-json"]
    df = rows_for(*kinds)
    with FakeOpenAIServer(scripted) as server:
        result = rewrite(df, backend(server, ResponseCache(tmp_path), retries=0))
    accounted(result, df)
    assert result.kept.height == 0 and result.rejected["reason"].to_list() == ["rewrite_error"] * 4
