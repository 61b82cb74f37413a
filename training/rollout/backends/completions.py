"""`OpenAICompletionsBackend`: the rollout's generation backend on any OpenAI-compatible ``/v1/completions``
endpoint with text prompts (llama.cpp's server, llama-cpp-python, vLLM, SGLang, TGI, ...).

`training.rollout.backends.vllm.VLLMServerBackend` sends token-id prompts and reads token ids back, which only vLLM does;
llama-cpp-python's server takes a string prompt and returns text without ids. This backend is the text-level
path of the same interface: the context ids are decoded to text (special tokens kept, so the chat template's
markers reach the server verbatim), the server continues it with ``stop=["</code>"]``, and the returned text is
re-tokenized with the local tokenizer and cut by `finish_continuation`, the stop rule every backend applies.
The rollout loop itself is unchanged: it still appends the interpreter block and continues from the ids.

What the server does not say, it is told or inferred (`continuation_from_text_choice`):

* The stop string. OpenAI semantics drop it from the text; vLLM keeps it when asked
  (``include_stop_str_in_output``, sent always, ignored elsewhere). When it is missing and
  ``finish_reason == "stop"``, vLLM's ``stop_reason`` says which stop matched; servers without it (llama.cpp)
  report ``"stop"`` for both EOS and a stop string, so a turn whose text ends inside an open ``<code>`` block is
  taken to have stopped at ``</code>`` (which is appended), anything else to have ended with EOS.
* EOS: no id comes back, so the first EOS id is appended (the token-level backends keep it too).
* Log-probs: none (``Continuation.logprobs is None``); evaluation does not need them.

Exactness: the server tokenizes the decoded context itself, so a context whose ids are not the canonical
tokenization of its text (a stop cut inside a merged BPE token) may be seen slightly differently than the
token-level backends would; lengths are counted with the local tokenizer. Use ``vllm serve`` with
`VLLMServerBackend` when ids must match exactly (RL); this backend is for evaluation and local endpoints.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from training.rollout.generation import (
    CODE_STOP,
    Continuation,
    GenerationRequest,
    SamplingSettings,
    finish_continuation,
)

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
T = TypeVar("T")


def text_completion_payload(
    model: str, prompt: str, request: GenerationRequest, sampling: SamplingSettings
) -> dict[str, Any]:
    """One ``POST /v1/completions`` body. Sampling knobs that servers default differently (llama.cpp: top-k 40,
    min-p 0.05, repeat penalty 1.1) are always sent, under both vLLM's and llama.cpp's names."""
    body: dict[str, Any] = {
        "model": model,
        "prompt": prompt,
        "max_tokens": request.max_new_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,  # 0 = off for vLLM >= 0.8 and llama.cpp
        "min_p": sampling.min_p or 0.0,
        "repetition_penalty": sampling.repetition_penalty,
        "repeat_penalty": sampling.repetition_penalty,
        "n": 1,
        "stream": False,
        **sampling.extra,
    }
    if request.stop:
        body["stop"] = list(request.stop)
        body["include_stop_str_in_output"] = True
    if request.seed is not None:
        body["seed"] = request.seed
    return body


def _inside_open_code(text: str) -> bool:
    return text.rfind("<code>") > text.rfind(CODE_STOP)


def _stopped_at(choice: Mapping[str, Any], text: str, stop: Sequence[str]) -> str | None:
    """The stop string the server cut at but left out of ``text``, or None (EOS, or the stop is in the text)."""
    if not stop or any(text.endswith(s) for s in stop):
        return None
    reason = choice.get("stop_reason")
    if isinstance(reason, str):
        return reason if reason in stop else None
    if "stop_reason" in choice:  # vLLM: None (EOS) or an int (a stop token id): not a stop string
        return None
    if CODE_STOP in stop and _inside_open_code(text):
        return CODE_STOP
    return None


def continuation_from_text_choice(
    choice: Mapping[str, Any],
    request: GenerationRequest,
    tokenizer: Any,
    eos_token_ids: Sequence[int],
) -> Continuation:
    """Map one completions ``choice`` (``text``, ``finish_reason``, maybe ``stop_reason``) to a `Continuation`
    in local token ids, cut by `finish_continuation`."""
    text = str(choice.get("text") or "")
    finish = choice.get("finish_reason")
    ids: list[int]
    if finish == "length":
        ids = list(tokenizer.encode(text, add_special_tokens=False))
    else:
        missing_stop = _stopped_at(choice, text, request.stop)
        if missing_stop is not None:
            ids = list(tokenizer.encode(text + missing_stop, add_special_tokens=False))
        elif any(text.endswith(s) for s in request.stop):
            ids = list(tokenizer.encode(text, add_special_tokens=False))
        else:  # the model ended its answer
            ids = [*tokenizer.encode(text, add_special_tokens=False), int(eos_token_ids[0])]
    return finish_continuation(ids, tokenizer, request, eos_token_ids, None)


class CompletionsClient:
    """HTTP to an OpenAI-compatible ``/v1/completions``: the served model, and posts retried on transient failures.

    Shared by `OpenAICompletionsBackend` (text prompts) and `training.rollout.backends.vllm.VLLMServerBackend` (token ids):
    connection errors and 408/429/5xx are retried ``max_retries`` times with exponential backoff, other statuses
    raise at once. ``pool``: ``max_concurrency`` threads that run the blocking calls (`in_pool` awaits one from
    the event loop), so at most that many requests are in flight, whichever schedule the rollout uses.
    """

    def __init__(
        self, base_url: str, *, timeout_s: float, max_concurrency: int, max_retries: int, api_key: str | None
    ) -> None:
        import httpx

        base = base_url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else f"{base}/v1"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
        self.http = httpx.Client(timeout=timeout_s, headers=headers, limits=limits)
        self.max_retries = max_retries
        self.requests_sent = 0
        self.retries = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(max_concurrency, thread_name_prefix="completions")

    async def in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the client's threads, awaited without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def served_model(self) -> str:
        resp = self.http.get(f"{self.base_url}/models")
        resp.raise_for_status()
        return str(resp.json()["data"][0]["id"])

    def post(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The ``choices`` of one completions request."""
        import httpx

        for attempt in range(self.max_retries + 1):
            self.requests_sent += 1
            try:
                resp = self.http.post(f"{self.base_url}/completions", json=payload)
            except httpx.TransportError as e:
                error = f"{type(e).__name__}: {e}"
            else:
                if resp.status_code == 200:
                    return [dict(c) for c in resp.json().get("choices") or []]
                error = f"HTTP {resp.status_code}: {resp.text[:300]}"
                if resp.status_code not in RETRY_STATUS:
                    raise RuntimeError(f"completions server error {error}")
            if attempt < self.max_retries:
                self.retries += 1
                log.warning("completions request failed (%s); retry %d", error, attempt + 1)
                time.sleep(min(30.0, 0.5 * 2**attempt))
        raise RuntimeError(f"completions server failed after {self.max_retries} retries: {error}")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()


class OpenAICompletionsBackend:
    """Generation through an OpenAI-compatible ``/v1/completions`` with text prompts (see the module docstring).

    One HTTP request per rollout and turn, ``max_concurrency`` in flight; the rollout loop awaits each sample's
    turn on its own (`agenerate_one`), so samples do not wait for each other's turns. Transient failures (connection
    errors, 408/429/5xx) are retried ``max_retries`` times with backoff, then raised (an evaluation keeps what it
    saved and resumes).
    """

    def __init__(
        self,
        base_url: str,
        tokenizer: Any,
        sampling: SamplingSettings,
        eos_token_ids: Sequence[int],
        *,
        model: str | None = None,
        timeout_s: float = 600.0,
        max_concurrency: int = 16,
        max_retries: int = 3,
        api_key: str | None = None,
    ) -> None:
        if not list(eos_token_ids):
            raise ValueError("OpenAICompletionsBackend needs at least one EOS token id")
        self.client = CompletionsClient(
            base_url,
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            api_key=api_key,
        )
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.eos_token_ids = [int(i) for i in eos_token_ids]
        self.max_concurrency = max_concurrency
        self.model = model or self.client.served_model()

    def _one(self, request: GenerationRequest) -> Continuation:
        if request.max_new_tokens <= 0:
            return finish_continuation([], self.tokenizer, request, self.eos_token_ids, None)
        prompt = self.tokenizer.decode(request.context_ids, skip_special_tokens=False)
        choices = self.client.post(text_completion_payload(self.model, prompt, request, self.sampling))
        if len(choices) != 1:
            raise RuntimeError(f"completions server returned {len(choices)} choices for 1 prompt")
        return continuation_from_text_choice(choices[0], request, self.tokenizer, self.eos_token_ids)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]:
        return list(self.client.pool.map(self._one, requests))

    async def agenerate_one(self, request: GenerationRequest) -> Continuation:
        return await self.client.in_pool(self._one, request)

    def close(self) -> None:
        self.client.close()
