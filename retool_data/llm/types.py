"""The request/response records every chat backend speaks, and the usage/cost ledger.

A stage builds `ChatRequest`s, hands them to a backend (`ChatBackend.complete`), and gets back exactly one
`ChatResponse` per request, in order: a reply (`text`) or a recorded `error`, never an exception and never a
missing row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, str]


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make.

    ``params`` are the sampling parameters sent to the server (temperature, top_p, max_tokens, seed, stop,
    response_format); they are part of the cache key. ``template`` is the prompt template id (``name@version``)
    and ``attempt`` tells a deliberate retry (e.g. after a malformed judge reply) apart from the first try; both
    are part of the cache key too. ``tag`` (usually the row id) is only for logs.
    """

    messages: tuple[Message, ...]
    params: dict[str, Any] = field(default_factory=dict)
    template: str = ""
    attempt: int = 0
    tag: str = ""

    @staticmethod
    def user(
        prompt: str, params: dict[str, Any] | None = None, template: str = "", attempt: int = 0, tag: str = ""
    ) -> ChatRequest:
        return ChatRequest(({"role": "user", "content": prompt},), dict(params or {}), template, attempt, tag)


@dataclass(frozen=True)
class ChatResponse:
    """The outcome of one request: ``text`` on success, else ``error`` (``kind: message``)."""

    text: str | None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    cached: bool = False  # served from the response cache: no request was sent, nothing was paid
    attempts: int = 0  # HTTP attempts made for this response (0 when cached)

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


@dataclass(frozen=True)
class Pricing:
    """USD per million tokens; zero for local endpoints."""

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1e6


@dataclass
class UsageLedger:
    """Running totals for one backend: what was sent, what was reused from the cache, and what it cost.

    ``cost_usd`` counts only tokens actually paid for in this run; ``saved_usd`` is what the cache hits would
    have cost at the same prices.
    """

    pricing: Pricing = field(default_factory=Pricing)
    requests: int = 0  # responses produced (sent or cached)
    cached: int = 0
    sent: int = 0  # HTTP attempts, retries included
    retries: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0

    def record(self, resp: ChatResponse) -> None:
        self.requests += 1
        if resp.cached:
            self.cached += 1
            self.saved_usd += self.pricing.cost(resp.prompt_tokens, resp.completion_tokens)
            return
        self.sent += resp.attempts
        self.retries += max(0, resp.attempts - 1)
        if resp.error is not None:
            self.errors += 1
        self.prompt_tokens += resp.prompt_tokens
        self.completion_tokens += resp.completion_tokens
        self.cost_usd += self.pricing.cost(resp.prompt_tokens, resp.completion_tokens)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cached": self.cached,
            "sent": self.sent,
            "retries": self.retries,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "saved_usd": round(self.saved_usd, 6),
        }


class ChatBackend(Protocol):
    """What the verify and rewrite stages need from a model: a name for provenance and a batch call."""

    @property
    def name(self) -> str:  # e.g. "openai:deepseek-reasoner", "vllm:Qwen/Qwen2.5-32B-Instruct"
        ...

    @property
    def usage(self) -> UsageLedger: ...

    def complete(self, requests: Sequence[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        """One response per request, in order; failures are responses with ``error`` set, never exceptions."""
        ...
