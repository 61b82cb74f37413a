"""Async chat client on the `openai` SDK: bounded concurrency, retries, a per-request timeout, cost accounting.

Any OpenAI-compatible server works (DeepSeek's API, ``vllm serve``, llama.cpp, SGLang, ...). The SDK's own
retries are off (``max_retries=0``): retrying here lets us honour ``Retry-After`` across all workers, count
attempts, and turn a request that keeps failing into a recorded error instead of an exception.

Retried: 429, 408, 409, 5xx, timeouts, connection errors (refused, reset, dropped mid-response) and bodies that
are not a chat completion (malformed JSON, no choices, no text, text with a lone surrogate: `parse_chat_reply`).
Not retried: other 4xx (bad request, auth, unknown model). Malformed ``usage`` counters count as 0 (they only
feed the cost ledger). Whatever happens, each request ends as one `ChatResponse` (a reply or an error).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from retool_data.aio import run_sync
from retool_data.llm.cache import NullCache, ResponseStore, fingerprint
from retool_data.llm.types import ChatRequest, ChatResponse, Pricing, UsageLedger
from retool_data.textnorm import escape_surrogates, lone_surrogate

log = logging.getLogger("retool_data.llm")
T = TypeVar("T")

ENDPOINT_ENV = "RETOOL_LLM_ENDPOINT"
MODEL_ENV = "RETOOL_LLM_MODEL"
API_KEY_ENV = "RETOOL_LLM_API_KEY"


@dataclass
class ClientConfig:
    """Where and how to send requests. Unset endpoint/model/key fall back to the environment."""

    base_url: str | None = None  # e.g. "https://api.deepseek.com/v1", "http://127.0.0.1:8000/v1"
    model: str | None = None
    api_key: str | None = None  # else $RETOOL_LLM_API_KEY, else $OPENAI_API_KEY, else "EMPTY" (local servers)
    concurrency: int = 8
    timeout_s: float = 600.0  # per HTTP attempt, the whole response included
    max_retries: int = 6  # attempts = 1 + max_retries
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 300.0  # a server asking for a longer pause gets this much
    pricing: Pricing = field(default_factory=Pricing)
    progress: bool = True

    def resolved(self) -> ClientConfig:
        base_url = self.base_url or os.environ.get(ENDPOINT_ENV) or os.environ.get("OPENAI_BASE_URL")
        model = self.model or os.environ.get(MODEL_ENV)
        if not base_url:
            raise ValueError(f"no endpoint: pass --endpoint (base_url) or set ${ENDPOINT_ENV}")
        if not model:
            raise ValueError(f"no model: pass --model or set ${MODEL_ENV}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        key = self.api_key or os.environ.get(API_KEY_ENV) or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        return ClientConfig(**{**self.__dict__, "base_url": base_url, "model": model, "api_key": key})


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class _Fatal(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date); None if absent."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def _classify(exc: BaseException) -> _Retryable | _Fatal:
    import openai

    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        headers = getattr(exc.response, "headers", None)
        if status == 429:
            return _Retryable("rate_limited", str(exc), parse_retry_after(headers))
        if status >= 500 or status in (408, 409):
            return _Retryable(f"http_{status}", str(exc), parse_retry_after(headers))
        return _Fatal(f"http_{status}", str(exc))
    if isinstance(exc, (openai.APITimeoutError, TimeoutError)):
        return _Retryable("timeout", str(exc) or "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return _Retryable("connection", f"{exc}: {cause!r}" if cause else str(exc))
    if isinstance(exc, (ValueError, openai.APIResponseValidationError)):  # JSONDecodeError is a ValueError
        return _Retryable("bad_response", f"{type(exc).__name__}: {exc}")
    return _Fatal("client_error", f"{type(exc).__name__}: {exc}")


def _token_count(usage: Any, name: str) -> int:
    """A usage counter as a non-negative int; anything else (``"lots"``, -3, 1e400, a list) counts as 0.

    Usage only feeds the cost ledger: a server's garbage there must not throw away a reply already paid for."""
    value = getattr(usage, name, None) if not isinstance(usage, dict) else usage.get(name)
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value < 2**62:
        return value
    if value is not None:
        log.warning("ignoring malformed usage.%s: %.60r", name, value)
    return 0


def _valid_unicode(value: Any) -> Any:
    """`value` with lone surrogates in its strings written as ``\\udXXX`` escapes: the HTTP client encodes the
    body as UTF-8 and would fail on them, on every retry (a prompt should never hold one, but must not crash)."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_unicode(v) for v in value]
    return value


def _failed(error: str, attempts: int) -> ChatResponse:
    """An error response whose message is valid Unicode (it may quote a malformed reply), capped in size."""
    error = escape_surrogates(error[:2000])
    return ChatResponse(text=None, error=error, attempts=attempts)


def parse_chat_reply(resp: Any) -> ChatResponse:
    """A `ChatResponse` from a chat-completion body, or `_Retryable("bad_response", why)`.

    Malformed is retried (a sampled reply may come back well formed) and, when it persists, becomes the
    request's recorded error, which the stage quarantines with this reason: no choices, no text content,
    text that is not valid Unicode (a lone surrogate, which no parquet or SQLite column can hold)."""
    choices = getattr(resp, "choices", None)
    first = choices[0] if isinstance(choices, list) and choices else None
    message = getattr(first, "message", None)
    if message is None:
        raise _Retryable("bad_response", f"no choices in reply: {str(resp)[:200]!r}")
    text = getattr(message, "content", None)
    if not isinstance(text, str):
        raise _Retryable("bad_response", f"reply has no text content (content is {type(text).__name__})")
    at = lone_surrogate(text)
    if at is not None:
        escaped = escape_surrogates(text[at])
        raise _Retryable("bad_response", f"reply text holds a lone surrogate {escaped} at offset {at}")
    finish = getattr(first, "finish_reason", None)
    usage = getattr(resp, "usage", None)
    return ChatResponse(
        text=text,
        prompt_tokens=_token_count(usage, "prompt_tokens"),
        completion_tokens=_token_count(usage, "completion_tokens"),
        finish_reason=finish if isinstance(finish, str) else None,
    )


class AsyncChatClient:
    """Sends `ChatRequest`s to one model; one `ChatResponse` per request, written to the cache first."""

    def __init__(
        self, config: ClientConfig, cache: ResponseStore | None = None, usage: UsageLedger | None = None
    ):
        self.config = config.resolved()
        self.cache = cache if cache is not None else NullCache()
        self.usage = usage if usage is not None else UsageLedger(pricing=self.config.pricing)
        self._paused_until = 0.0  # a Retry-After pauses every worker, not just the one that got the 429

    @property
    def model(self) -> str:
        assert self.config.model is not None
        return self.config.model

    def _make_sdk(self) -> Any:
        import httpx
        import openai

        c = self.config.concurrency
        http = openai.DefaultAsyncHttpxClient(
            limits=httpx.Limits(max_connections=c, max_keepalive_connections=c)
        )
        return openai.AsyncOpenAI(
            base_url=self.config.base_url,
            api_key=self.config.api_key,
            max_retries=0,
            timeout=self.config.timeout_s,
            http_client=http,
        )

    async def _send(self, sdk: Any, req: ChatRequest) -> ChatResponse:
        from openai.types.chat import ChatCompletion

        # The SDK's generic `post` (same auth, headers, error classes and reply model as
        # `chat.completions.create`) without `create`'s typed-params transform, which costs ~1 ms of CPU per
        # request walking TypedDict annotations: the server validates the body anyway.
        body = _valid_unicode({"model": self.model, "messages": list(req.messages), **req.params})
        try:
            async with asyncio.timeout(self.config.timeout_s):
                resp = await sdk.post("/chat/completions", cast_to=ChatCompletion, body=body)
        except (_Retryable, _Fatal):
            raise
        except Exception as exc:  # noqa: BLE001 - classified, never swallowed
            raise _classify(exc) from exc
        return parse_chat_reply(resp)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            wait = min(retry_after, self.config.max_retry_after_s)
            return wait + random.uniform(0, min(1.0, 0.1 * wait + 0.01))
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(cap / 2, cap)  # "equal jitter": never hammer, never synchronise

    async def complete_one(self, sdk: Any, req: ChatRequest, key: str | None = None) -> ChatResponse:
        key = key or fingerprint(self.model, req)
        hit = self.cache.get(key)
        if hit is not None and hit.text is not None and lone_surrogate(hit.text) is None:
            return hit
        attempts = 0
        while True:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            attempts += 1
            try:
                resp = await self._send(sdk, req)
            except _Fatal as err:
                return _failed(f"{err.kind}: {err}", attempts)
            except _Retryable as err:
                if attempts > self.config.max_retries:
                    log.warning("request %s failed after %d attempts: %s", req.tag, attempts, err.kind)
                    return _failed(f"{err.kind}: {err}", attempts)
                wait = self._backoff(attempts, err.retry_after)
                if err.retry_after is not None:
                    self._paused_until = max(self._paused_until, time.monotonic() + wait)
                log.debug("request %s: %s, retry %d in %.2fs", req.tag, err.kind, attempts, wait)
                await asyncio.sleep(wait)
                continue
            except Exception as exc:  # noqa: BLE001 - a surprise must not take the whole batch down
                log.exception("request %s: unexpected error", req.tag)
                return _failed(f"client_error: {type(exc).__name__}: {exc}", attempts)
            resp = ChatResponse(
                text=resp.text,
                prompt_tokens=resp.prompt_tokens,
                completion_tokens=resp.completion_tokens,
                finish_reason=resp.finish_reason,
                attempts=attempts,
            )
            self.cache.put(key, self.model, req, resp)  # durable before anyone sees the reply
            return resp

    async def complete_all(self, requests: Sequence[ChatRequest], desc: str = "") -> list[ChatResponse]:
        """Every request answered (reply or error), in input order; identical requests are sent once."""
        from tqdm.auto import tqdm

        keys = [fingerprint(self.model, r) for r in requests]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        unique = sorted(first.values())
        results: dict[int, ChatResponse] = {}
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in unique:
            queue.put_nowait(i)
        bar = tqdm(total=len(unique), desc=desc or self.model, disable=not self.config.progress, leave=False)
        sdk = self._make_sdk()

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                resp = await self.complete_one(sdk, requests[i], keys[i])
                results[i] = resp
                self.usage.record(resp)
                bar.update(1)
                bar.set_postfix(cached=self.usage.cached, errors=self.usage.errors, refresh=False)

        try:
            n = min(self.config.concurrency, max(1, len(unique)))
            await asyncio.gather(*(worker() for _ in range(n)))
        finally:
            bar.close()
            await sdk.close()
        return [results[first[k]] for k in keys]


class OpenAIBackend:
    """`ChatBackend` over any OpenAI-compatible endpoint."""

    def __init__(self, config: ClientConfig, cache: ResponseStore | None = None) -> None:
        self.client = AsyncChatClient(config, cache)

    @property
    def name(self) -> str:
        return f"openai:{self.client.model}"

    @property
    def usage(self) -> UsageLedger:
        return self.client.usage

    def complete(self, requests: Sequence[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        if not requests:
            return []
        return run_sync(self.client.complete_all(requests, desc=desc))

    async def acomplete(self, requests: Sequence[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        return await self.client.complete_all(requests, desc=desc) if requests else []
