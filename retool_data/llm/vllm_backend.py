"""vLLM in-process backend: ``vllm.LLM(...).chat(...)`` over batches, behind the same `ChatBackend` interface.

For teams with their own GPUs and no server: the whole batch goes to vLLM's scheduler at once (much faster than
HTTP at the same concurrency). vLLM is in the ``gpu`` extra and imported only when the first batch runs.

The request/response mapping (`sampling_kwargs`, `response_from_output`) is pure so it is tested without vLLM.
Replies are cached with the same fingerprint as the HTTP backend (same model name → same key), chunk by chunk,
so a killed run loses at most one chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retool_data.llm.cache import NullCache, ResponseStore, fingerprint
from retool_data.llm.types import ChatRequest, ChatResponse, Pricing, UsageLedger

# OpenAI-style parameter name -> vLLM SamplingParams field
_PARAM_MAP = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "repetition_penalty": "repetition_penalty",
    "n": "n",
}


def sampling_kwargs(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(SamplingParams kwargs, JSON schema or None)`` for OpenAI-style params; unknown names are an error."""
    kwargs: dict[str, Any] = {}
    schema: dict[str, Any] | None = None
    for name, value in params.items():
        if name == "response_format":
            schema = _json_schema(value)
        elif name in _PARAM_MAP:
            kwargs[_PARAM_MAP[name]] = [value] if name == "stop" and isinstance(value, str) else value
        else:
            raise ValueError(
                f"sampling parameter {name!r} has no vLLM equivalent (known: {sorted(_PARAM_MAP)})"
            )
    if kwargs.get("n", 1) != 1:
        raise ValueError("only n=1 is supported: one reply per request")
    return kwargs, schema


def _json_schema(response_format: dict[str, Any]) -> dict[str, Any]:
    kind = response_format.get("type")
    if kind == "json_schema":
        return dict(response_format["json_schema"]["schema"])
    if kind == "json_object":
        return dict(response_format.get("schema") or {"type": "object"})
    raise ValueError(f"unsupported response_format type {kind!r}")


def response_from_output(output: Any) -> ChatResponse:
    """A vLLM ``RequestOutput`` (one completion) as a `ChatResponse`."""
    if not getattr(output, "outputs", None):
        return ChatResponse(text=None, error="vllm: request produced no output", attempts=1)
    first = output.outputs[0]
    return ChatResponse(
        text=first.text,
        prompt_tokens=len(output.prompt_token_ids or []),
        completion_tokens=len(first.token_ids or []),
        finish_reason=first.finish_reason,
        attempts=1,
    )


def _sampling_params(kwargs: dict[str, Any], schema: dict[str, Any] | None) -> Any:
    import vllm
    from vllm import SamplingParams

    if schema is None:
        return SamplingParams(**kwargs)
    params_mod = vllm.sampling_params
    if hasattr(params_mod, "StructuredOutputsParams"):  # vLLM >= 0.11
        return SamplingParams(**kwargs, structured_outputs=params_mod.StructuredOutputsParams(json=schema))
    return SamplingParams(**kwargs, guided_decoding=params_mod.GuidedDecodingParams(json=schema))


class VLLMBackend:
    """`ChatBackend` running ``vllm.LLM`` in this process (``--backend vllm``)."""

    def __init__(
        self,
        model: str,
        cache: ResponseStore | None = None,
        *,
        chunk_size: int = 512,
        llm_kwargs: dict[str, Any] | None = None,
        pricing: Pricing | None = None,
    ) -> None:
        self.model = model
        self.cache = cache if cache is not None else NullCache()
        self.chunk_size = chunk_size
        self.llm_kwargs = dict(llm_kwargs or {})
        self._usage = UsageLedger(pricing=pricing or Pricing())
        self._engine: Any = None

    @property
    def name(self) -> str:
        return f"vllm:{self.model}"

    @property
    def usage(self) -> UsageLedger:
        return self._usage

    def _llm(self) -> Any:
        if self._engine is None:
            try:
                import vllm
            except ImportError as exc:
                raise RuntimeError("--backend vllm needs vLLM: pip install 'retool-data[gpu]'") from exc
            self._engine = vllm.LLM(model=self.model, **self.llm_kwargs)
        return self._engine

    def complete(self, requests: Sequence[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        results: list[ChatResponse | None] = [None] * len(requests)
        todo: list[int] = []
        for i, req in enumerate(requests):
            hit = self.cache.get(fingerprint(self.model, req))
            if hit is not None:
                results[i] = hit
                self._usage.record(hit)
            else:
                todo.append(i)
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            for i, resp in zip(chunk, self._generate([requests[i] for i in chunk]), strict=True):
                self.cache.put(fingerprint(self.model, requests[i]), self.model, requests[i], resp)
                self._usage.record(resp)
                results[i] = resp
        return [r if r is not None else ChatResponse(text=None, error="vllm: not run") for r in results]

    def _generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        sampling = []
        for req in requests:
            kwargs, schema = sampling_kwargs(req.params)
            sampling.append(_sampling_params(kwargs, schema))
        outputs = self._llm().chat(
            [list(r.messages) for r in requests], sampling_params=sampling, use_tqdm=True
        )
        return [response_from_output(o) for o in outputs]
