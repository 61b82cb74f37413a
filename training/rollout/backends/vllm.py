"""vLLM generation backends for the rollout: colocated (`vllm.LLM` inside the trainer, TRL's
``vllm_mode="colocate"``) and server (TRL's ``vllm_mode="server"``, or any vLLM OpenAI-compatible endpoint).

Each turn is one request per live rollout: the token context (never re-tokenized), ``max_tokens`` = the rollout's
remaining budget, ``stop=["</code>"]`` with ``include_stop_str_in_output`` (the stop belongs to the model's turn),
EOS ids as ``stop_token_ids``, and ``logprobs=0`` (the sampled token's log-prob; TRL starts vLLM with
``logprobs_mode="processed_logprobs"``, so they include temperature and top-p/top-k, which is what TRL's
importance-sampling correction expects). vLLM's text is ignored: `finish_continuation` cuts and decodes the ids
with the same rule as every backend.

The request/response mappings are plain functions (`vllm_sampling_kwargs`, `completions_payload`,
`continuation_from_vllm_output`, `continuations_from_choices`) so they are tested without a GPU; vLLM itself is
imported only when a colocated backend builds its `SamplingParams`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.rollout.generation import Continuation, GenerationRequest, SamplingSettings, finish_continuation


def vllm_sampling_kwargs(
    request: GenerationRequest, sampling: SamplingSettings, eos_token_ids: Sequence[int]
) -> dict[str, Any]:
    """`vllm.SamplingParams` keyword arguments for one turn of one rollout."""
    kwargs: dict[str, Any] = {
        "n": 1,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k if sampling.top_k else -1,
        "min_p": sampling.min_p or 0.0,
        "repetition_penalty": sampling.repetition_penalty,
        "max_tokens": request.max_new_tokens,
        "stop": list(request.stop),
        "include_stop_str_in_output": True,
        "stop_token_ids": list(eos_token_ids),
        "logprobs": 0,
        "skip_special_tokens": False,
        **sampling.extra,
    }
    if request.seed is not None:  # a per-request seed (evaluation) wins over a run-wide one in `extra`
        kwargs["seed"] = request.seed
    return kwargs


def _logprob_value(entry: Any) -> float:
    value = entry.logprob if hasattr(entry, "logprob") else entry
    return float("nan") if value is None else float(value)


def sampled_logprobs(token_ids: Sequence[int], logprobs: Sequence[Any] | None) -> list[float] | None:
    """The sampled tokens' log-probs from vLLM's per-position dicts ``{token_id: Logprob}`` (NaN kept as NaN,
    which TRL neutralises in its importance ratio)."""
    if logprobs is None:
        return None
    return [_logprob_value(pos[tok]) for tok, pos in zip(token_ids, logprobs, strict=False)]


def continuation_from_vllm_output(
    output: Any, request: GenerationRequest, tokenizer: Any, eos_token_ids: Sequence[int]
) -> Continuation:
    """A `vllm.CompletionOutput` (``token_ids``, ``logprobs``) -> `Continuation`."""
    ids = [int(t) for t in output.token_ids]
    return finish_continuation(ids, tokenizer, request, eos_token_ids, sampled_logprobs(ids, output.logprobs))


def completions_payload(
    model: str,
    requests: Sequence[GenerationRequest],
    sampling: SamplingSettings,
    eos_token_ids: Sequence[int],
) -> dict[str, Any]:
    """One ``POST /v1/completions`` body for requests that share ``max_new_tokens`` and ``stop``."""
    first = requests[0]
    if any(_group_key(r) != _group_key(first) for r in requests):
        raise ValueError(
            "one completions request must share max_tokens, stop and seed; group the requests first"
        )
    body = vllm_sampling_kwargs(first, sampling, eos_token_ids)
    return {
        "model": model,
        "prompt": [list(r.context_ids) for r in requests],
        "return_token_ids": True,
        "return_tokens_as_token_ids": True,
        **body,
    }


def continuations_from_choices(
    choices: Sequence[dict[str, Any]],
    requests: Sequence[GenerationRequest],
    tokenizer: Any,
    eos_token_ids: Sequence[int],
) -> list[Continuation]:
    """Map a completions response's ``choices`` (ordered by ``index``) back to the requests."""
    ordered = sorted(choices, key=lambda c: int(c.get("index", 0)))
    if len(ordered) != len(requests):
        raise ValueError(f"server returned {len(ordered)} choices for {len(requests)} prompts")
    out = []
    for choice, request in zip(ordered, requests, strict=True):
        ids = choice.get("token_ids")
        lp = choice.get("logprobs") or None
        if ids is None:
            if lp is None or "tokens" not in lp:
                raise ValueError("the server returned no token ids: run vLLM with return_token_ids support")
            ids = [int(str(t).removeprefix("token_id:")) for t in lp["tokens"]]
        values = None
        if lp is not None and lp.get("token_logprobs") is not None:
            values = [float("nan") if v is None else float(v) for v in lp["token_logprobs"]]
            values = values[: len(ids)] if len(values) >= len(ids) else None
        out.append(finish_continuation([int(t) for t in ids], tokenizer, request, eos_token_ids, values))
    return out


def _group_key(r: GenerationRequest) -> tuple[int, tuple[str, ...], int | None]:
    return (r.max_new_tokens, r.stop, r.seed)


def group_requests(requests: Sequence[GenerationRequest]) -> list[list[int]]:
    """Indices of requests grouped by (max_new_tokens, stop, seed), in first-seen order (a seed is per HTTP
    request, so seeded requests travel alone)."""
    groups: dict[tuple[int, tuple[str, ...], int | None], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(_group_key(r), []).append(i)
    return list(groups.values())


class VLLMColocateBackend:
    """Generation on a colocated `vllm.LLM` (TRL: ``trainer.vllm_generation.llm``).

    With ``tensor_parallel_size > 1`` every rank of a TP group must call ``llm.generate`` with the same prompts:
    pass the group as ``tp_group``; requests are gathered across it each turn and `all_done` keeps ranks in step.
    """

    def __init__(
        self,
        llm: Any,
        tokenizer: Any,
        sampling: SamplingSettings,
        eos_token_ids: Sequence[int],
        tp_group: Any = None,
    ) -> None:
        self.llm = llm
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.eos_token_ids = list(eos_token_ids)
        self.tp_group = tp_group

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]:
        from vllm import SamplingParams

        local = list(requests)
        everyone = local
        offset = 0
        if self.tp_group is not None:
            import torch.distributed as dist

            gathered: list[Any] = [None] * dist.get_world_size(group=self.tp_group)
            dist.all_gather_object(gathered, local, group=self.tp_group)
            rank = dist.get_rank(group=self.tp_group)
            offset = sum(len(g) for g in gathered[:rank])
            everyone = [r for g in gathered for r in g]
        if not everyone:
            return []
        params = [
            SamplingParams(**vllm_sampling_kwargs(r, self.sampling, self.eos_token_ids)) for r in everyone
        ]
        prompts = [{"prompt_token_ids": list(r.context_ids)} for r in everyone]
        outputs = self.llm.generate(prompts, sampling_params=params, use_tqdm=False)
        mine = outputs[offset : offset + len(local)]
        return [
            continuation_from_vllm_output(o.outputs[0], r, self.tokenizer, self.eos_token_ids)
            for o, r in zip(mine, local, strict=True)
        ]

    def all_done(self, local_done: bool) -> bool:
        if self.tp_group is None:
            return local_done
        import torch
        import torch.distributed as dist

        flag = torch.tensor([0 if local_done else 1], device="cuda" if torch.cuda.is_available() else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.tp_group)
        return int(flag.item()) == 0


class VLLMServerBackend:
    """Generation through a vLLM server's OpenAI-compatible ``/v1/completions`` (token-id prompts).

    Every process posts its own requests (no collectives). In the rollout loop each sample posts its own turn
    (`agenerate_one`, one prompt per request, ``max_concurrency`` in flight) as soon as its previous turn and code
    block are done, and vLLM's continuous batching batches whatever is in flight; `generate` (one batched call per
    turn, requests with the same budget sharing one HTTP call) remains for callers that want a whole turn at once.

    Kept rather than TRL's `VLLMClient.generate` (the same ``/v1/completions`` call): that client is one blocking
    batch call on a `requests.Session` that refuses to start without vLLM installed here (evaluating against a
    remote server does not need it), with no retries and no API key, while the per-sample loop needs many single
    requests in flight; GRPOTrainer keeps VLLMClient for what it is for, the weight sync.
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
        from training.rollout.backends.completions import CompletionsClient

        self.client = CompletionsClient(
            base_url,
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            api_key=api_key,
        )
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.eos_token_ids = list(eos_token_ids)
        self.max_concurrency = max_concurrency
        self.model = model or self.client.served_model()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]:
        requests = list(requests)
        out: list[Continuation | None] = [None] * len(requests)
        groups = [g for g in group_requests(requests) if requests[g[0]].max_new_tokens > 0]
        for i, r in enumerate(requests):
            if r.max_new_tokens <= 0:
                out[i] = finish_continuation([], self.tokenizer, r, self.eos_token_ids, [])
        payloads = [
            completions_payload(self.model, [requests[i] for i in g], self.sampling, self.eos_token_ids)
            for g in groups
        ]
        responses = list(self.client.pool.map(self.client.post, payloads))
        for g, choices in zip(groups, responses, strict=True):
            conts = continuations_from_choices(
                choices, [requests[i] for i in g], self.tokenizer, self.eos_token_ids
            )
            for i, c in zip(g, conts, strict=True):
                out[i] = c
        return [c for c in out if c is not None]

    def _one(self, request: GenerationRequest) -> Continuation:
        if request.max_new_tokens <= 0:
            return finish_continuation([], self.tokenizer, request, self.eos_token_ids, [])
        choices = self.client.post(
            completions_payload(self.model, [request], self.sampling, self.eos_token_ids)
        )
        (out,) = continuations_from_choices(choices, [request], self.tokenizer, self.eos_token_ids)
        return out

    async def agenerate_one(self, request: GenerationRequest) -> Continuation:
        return await self.client.in_pool(self._one, request)

    def close(self) -> None:
        self.client.close()
