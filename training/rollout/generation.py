"""The generation-backend interface of the rollout, and the one stop rule every backend applies.

A backend continues token contexts and nothing else (`GenerationBackend.generate`): the tool loop, masks and
budget live in `training.rollout`. Implementations: `training.rollout.backends.hf.TransformersBackend` (CPU/GPU),
`training.rollout.backends.vllm.VLLMColocateBackend` and `VLLMServerBackend` (GPU; the latter is any vLLM
OpenAI-compatible ``/v1/completions`` endpoint). The server backends are also `PerSampleBackend`s (one request
per sample in flight), which lets the loop run every sample on its own schedule.

The stop rule (`finish_continuation`): a turn stops at the first token whose decoded text completes a stop
string (``</code>``). BPE can merge the stop with what follows (``>\\n``): that token is kept whole, so the
characters of that token after ``</code>`` stay in the model's turn (its id was sampled, its log-prob is real)
and every later token is dropped. Text is always ``decode(kept ids)``, never a backend's own string, so ids,
log-probs and text agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

CODE_STOP = "</code>"
FinishReason = Literal["stop", "eos", "length"]


@dataclass(frozen=True)
class SamplingSettings:
    """Sampling parameters shared by every backend (TRL's names). ``extra`` goes to the backend as-is
    (``generation_kwargs``): for vLLM e.g. ``seed``; for transformers any GenerationConfig field."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float | None = None
    repetition_penalty: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    @classmethod
    def from_trl_args(cls, args: Any) -> SamplingSettings:
        """From a TRL GRPOConfig (temperature, top_p, top_k, min_p, repetition_penalty, generation_kwargs)."""
        extra = args.generation_kwargs if isinstance(args.generation_kwargs, dict) else {}
        return cls(
            temperature=float(args.temperature),
            top_p=float(args.top_p),
            top_k=int(args.top_k or 0),
            min_p=args.min_p,
            repetition_penalty=float(args.repetition_penalty),
            extra=dict(extra),
        )


@dataclass(frozen=True)
class GenerationRequest:
    """Continue ``context_ids`` by at most ``max_new_tokens`` tokens, stopping after any of ``stop`` or EOS.

    ``seed`` (optional) seeds this request's sampling where the backend can seed one request (vLLM, OpenAI-style
    servers), so a sample does not depend on what it was batched with (evaluation resumes sample by sample).
    """

    context_ids: list[int]
    max_new_tokens: int
    stop: tuple[str, ...] = (CODE_STOP,)
    seed: int | None = None


@dataclass(frozen=True)
class Continuation:
    """What a backend generated for one request, already cut by `finish_continuation`.

    ``text`` is ``decode(token_ids)`` without special tokens; ``logprobs`` (one per token, the sampling
    distribution's log-prob after temperature/top-k/top-p) is None when the backend cannot give them.
    """

    token_ids: list[int]
    text: str
    finish_reason: FinishReason
    logprobs: list[float] | None = None


class GenerationBackend(Protocol):
    """Anything that continues token contexts: transformers `generate`, vLLM (colocated or a server), an
    OpenAI-compatible completions endpoint. One call per turn with every live rollout's request."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]: ...


class PerSampleBackend(GenerationBackend, Protocol):
    """A backend that can also continue one request at a time without blocking the event loop (a server with
    continuous batching): the rollout loop then runs each sample's generate -> execute -> continue loop on its own
    (`training.rollout.loop`), so no sample waits for the slowest one of its turn."""

    async def agenerate_one(self, request: GenerationRequest) -> Continuation: ...


class Tokenizer(Protocol):
    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = ...) -> str: ...


def _stop_end(tokenizer: Tokenizer, ids: Sequence[int], stop: Sequence[str]) -> int | None:
    """Number of leading tokens up to and including the one that completes the first stop string, or None.

    Binary search on the prefix length: once a prefix's decoded text holds a stop string every longer prefix
    does too (decoding is prefix-stable for byte-level BPE; the stop strings are ASCII).
    """
    if not stop or not ids:
        return None

    def hit(n: int) -> bool:
        text = tokenizer.decode(ids[:n], skip_special_tokens=False)
        return any(s in text for s in stop)

    if not hit(len(ids)):
        return None
    lo, hi = 1, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if hit(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def finish_continuation(
    token_ids: Sequence[int],
    tokenizer: Tokenizer,
    request: GenerationRequest,
    eos_token_ids: Sequence[int],
    logprobs: Sequence[float] | None = None,
) -> Continuation:
    """Cut generated ids at the first EOS (kept), the token completing a stop string (kept), or the budget,
    whichever comes first; clip the log-probs the same way; decode the text from the kept ids."""
    ids = list(token_ids)
    eos = set(eos_token_ids)
    eos_end = next((i + 1 for i, t in enumerate(ids) if t in eos), None)
    stop_end = _stop_end(tokenizer, ids[:eos_end] if eos_end else ids, request.stop)
    finish: FinishReason
    if stop_end is not None:
        end, finish = stop_end, "stop"
    elif eos_end is not None:
        end, finish = eos_end, "eos"
    else:  # the backend ran out of tokens (budget, or the model's context)
        end, finish = len(ids), "length"
    if end > request.max_new_tokens:
        end, finish = request.max_new_tokens, "length"
    ids = ids[:end]
    lps = None if logprobs is None else [float(x) for x in list(logprobs)[:end]]
    if lps is not None and len(lps) != len(ids):
        raise ValueError(f"backend returned {len(lps)} log-probs for {len(ids)} tokens")
    return Continuation(ids, tokenizer.decode(ids, skip_special_tokens=True), finish, lps)
