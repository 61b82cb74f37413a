"""LLM access for the curation stages: one `ChatBackend` interface over an OpenAI-compatible endpoint or vLLM
in-process, a response cache that doubles as the resume mechanism, and usage/cost accounting.

`make_chat_backend` is what the CLI and the Dagster resources call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retool_data.llm.cache import (
    NullCache,
    ResponseCache,
    ResponseStore,
    default_cache_dir,
    fingerprint,
    open_cache,
)
from retool_data.llm.client import AsyncChatClient, ClientConfig, OpenAIBackend
from retool_data.llm.types import ChatBackend, ChatRequest, ChatResponse, Pricing, UsageLedger

CHAT_BACKENDS = ("openai", "vllm")


def make_chat_backend(
    kind: str,
    *,
    model: str | None = None,
    endpoint: str | None = None,
    api_key: str | None = None,
    concurrency: int = 8,
    timeout_s: float = 600.0,
    max_retries: int = 6,
    pricing: Pricing | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: bool = True,
    vllm_kwargs: dict[str, Any] | None = None,
) -> ChatBackend:
    """A chat backend by name: ``openai`` (any OpenAI-compatible endpoint) or ``vllm`` (in-process)."""
    cache = open_cache(cache_dir, enabled=use_cache)
    if kind == "openai":
        cfg = ClientConfig(
            base_url=endpoint,
            model=model,
            api_key=api_key,
            concurrency=concurrency,
            timeout_s=timeout_s,
            max_retries=max_retries,
            pricing=pricing or Pricing(),
            progress=progress,
        )
        return OpenAIBackend(cfg, cache)
    if kind == "vllm":
        from retool_data.llm.vllm_backend import VLLMBackend

        if not model:
            raise ValueError("--backend vllm needs --model (a Hub id or a local path)")
        return VLLMBackend(model, cache, llm_kwargs=vllm_kwargs, pricing=pricing)
    raise ValueError(f"unknown chat backend {kind!r}; choose one of {CHAT_BACKENDS}")


__all__ = [
    "AsyncChatClient",
    "CHAT_BACKENDS",
    "ChatBackend",
    "ChatRequest",
    "ChatResponse",
    "ClientConfig",
    "NullCache",
    "OpenAIBackend",
    "Pricing",
    "ResponseCache",
    "ResponseStore",
    "UsageLedger",
    "default_cache_dir",
    "fingerprint",
    "make_chat_backend",
    "open_cache",
]
