"""`TransformersBackend`: the rollout's generation backend on plain `model.generate` (CPU or GPU).

All live rollouts of a turn go into one left-padded batch (or micro-batches of ``max_batch_size``). Each row
stops on its own: at EOS (transformers), at its own token budget, or when its decoded tail completes a stop
string (`StopOnText`); finished rows are padded until the batch ends, and `finish_continuation` cuts them.

Log-probs are those of the distribution each token was sampled from (temperature, top-k, top-p, min-p applied,
as vLLM's ``processed_logprobs``): the sampling warpers are passed to `generate` as our own processors followed by
a recorder, so no per-step vocabulary-sized scores are kept (only the current step's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.rollout.generation import Continuation, GenerationRequest, SamplingSettings, finish_continuation

_ENDERS_CACHE: dict[tuple[int, int, tuple[str, ...]], frozenset[int]] = {}


def _stopping_criteria_classes() -> tuple[type, type]:
    import torch
    from transformers import LogitsProcessor, StoppingCriteria

    class StopOnText(StoppingCriteria):
        """Per row: stop when the decoded generated tail contains a stop string, or the row's budget is spent.

        The tail is the last ``window`` generated tokens, enough to hold any stop string; the check runs after
        every token, so the first match is at the token that completes the stop. Only rows whose last token can
        complete a stop (its text holds a stop's last character: ``enders``) are decoded.
        """

        def __init__(
            self,
            tokenizer: Any,
            stop: Sequence[str],
            start: int,
            budgets: Sequence[int],
            enders: frozenset[int],
        ) -> None:
            self.tokenizer = tokenizer
            self.stop = tuple(s for s in stop if s)
            self.start = start
            self.window = max((len(s) for s in self.stop), default=0) + 2
            self.budgets = list(budgets)
            self.enders = enders

        def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
            generated = input_ids.shape[1] - self.start
            done = [generated >= b for b in self.budgets]
            if self.stop and generated > 0:
                rows = [r for r, t in enumerate(input_ids[:, -1].tolist()) if t in self.enders]
                if rows:
                    tails = input_ids[rows, max(self.start, input_ids.shape[1] - self.window) :].tolist()
                    for row, tail in zip(rows, tails, strict=True):
                        text = self.tokenizer.decode(tail, skip_special_tokens=False)
                        done[row] = done[row] or any(s in text for s in self.stop)
            return torch.tensor(done, device=input_ids.device)

    class SampledLogprobs(LogitsProcessor):
        """Records log p(sampled token) under the final (processed) distribution; must be the last processor.

        At step t it learns the token sampled at step t-1 (the last column of ``input_ids``) and reads its
        log-prob from the distribution it kept from step t-1.
        """

        def __init__(self) -> None:
            self.values: list[torch.Tensor] = []
            self.previous: torch.Tensor | None = None

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            if self.previous is not None:
                self.values.append(self.previous.gather(1, input_ids[:, -1:]).squeeze(1))
            self.previous = torch.log_softmax(scores.float(), dim=-1)
            return scores

        def per_token(self, sequences: torch.LongTensor, new_tokens: int) -> torch.Tensor:
            values = list(self.values)
            if len(values) < new_tokens and self.previous is not None:
                values.append(self.previous.gather(1, sequences[:, -1:].to(self.previous.device)).squeeze(1))
            if new_tokens == 0:
                return torch.zeros(sequences.shape[0], 0)
            return torch.stack(values[:new_tokens], dim=1).cpu()

    return StopOnText, SampledLogprobs


class TransformersBackend:
    """Continue token contexts with ``model.generate`` (sampling as `SamplingSettings`).

    model: any causal LM (already unwrapped from DDP/DeepSpeed; see `training.grpo.rollout_func`).
    eos_token_ids: ids that end a completion (default: the tokenizer's eos).
    max_batch_size: rows per `generate` call (None: every live rollout at once).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        sampling: SamplingSettings | None = None,
        *,
        eos_token_ids: Sequence[int] | None = None,
        max_batch_size: int | None = None,
        record_logprobs: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.sampling = sampling or SamplingSettings()
        ids = list(eos_token_ids) if eos_token_ids is not None else [tokenizer.eos_token_id]
        self.eos_token_ids = [int(i) for i in ids if i is not None]
        if not self.eos_token_ids:
            raise ValueError(
                "TransformersBackend needs an EOS token id (the tokenizer has none: pass eos_token_ids)"
            )
        pad = tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.eos_token_ids[0])
        self.max_batch_size = max_batch_size
        self.record_logprobs = record_logprobs

    def stop_enders(self, stop: Sequence[str]) -> frozenset[int]:
        """Token ids whose text holds the last character of a stop string: only these can complete a stop.
        One batched decode of the vocabulary per tokenizer and stop set, cached for the process (a backend is
        built per training step)."""
        key = (id(self.tokenizer), len(self.tokenizer), tuple(sorted(stop)))
        if key not in _ENDERS_CACHE:
            last_chars = {s[-1] for s in key[2] if s}
            texts = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))])
            _ENDERS_CACHE[key] = frozenset(i for i, t in enumerate(texts) if any(c in t for c in last_chars))
        return _ENDERS_CACHE[key]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]:
        step = self.max_batch_size or max(1, len(requests))
        out: list[Continuation] = []
        for i in range(0, len(requests), step):
            out.extend(self._generate_batch(list(requests[i : i + step])))
        return out

    def _warpers(self) -> list[Any]:
        from transformers import MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        s = self.sampling
        warpers: list[Any] = []  # transformers' own order: temperature, top-k, top-p, min-p
        if s.temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(s.temperature))
        if s.top_k:
            warpers.append(TopKLogitsWarper(s.top_k))
        if s.top_p < 1.0:
            warpers.append(TopPLogitsWarper(s.top_p))
        if s.min_p:
            warpers.append(MinPLogitsWarper(s.min_p))
        return warpers

    def _generate_batch(self, requests: list[GenerationRequest]) -> list[Continuation]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        stop_on_text_cls, logprobs_cls = _stopping_criteria_classes()
        live = [r for r in requests if r.max_new_tokens > 0]
        if not live:
            return [finish_continuation([], self.tokenizer, r, self.eos_token_ids, []) for r in requests]
        device = next(self.model.parameters()).device
        width = max(len(r.context_ids) for r in live)
        input_ids = torch.full((len(live), width), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(live), width), dtype=torch.long)
        for row, r in enumerate(live):  # left padding: every row's next token is at the same column
            input_ids[row, width - len(r.context_ids) :] = torch.tensor(r.context_ids, dtype=torch.long)
            attention[row, width - len(r.context_ids) :] = 1
        stop = sorted({s for r in live for s in r.stop})
        budgets = [r.max_new_tokens for r in live]
        criteria = StoppingCriteriaList(
            [stop_on_text_cls(self.tokenizer, stop, width, budgets, self.stop_enders(stop))]
        )
        recorder = logprobs_cls() if self.record_logprobs else None
        greedy = self.sampling.greedy
        processors = LogitsProcessorList([] if greedy else self._warpers())
        if recorder is not None:
            processors.append(recorder)
        config = GenerationConfig(
            **{
                "max_new_tokens": max(r.max_new_tokens for r in live),
                "do_sample": not greedy,
                "temperature": 1.0,  # the warpers above do the sampling transform, before the recorder
                "top_k": 0,
                "top_p": 1.0,
                "min_p": None,
                "repetition_penalty": self.sampling.repetition_penalty,
                "eos_token_id": self.eos_token_ids,
                "pad_token_id": self.pad_token_id,
                **self.sampling.extra,
            }
        )
        with torch.no_grad():
            sequences = self.model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=criteria,
            )
        sequences = sequences.cpu()
        new = sequences[:, width:]
        lps = recorder.per_token(sequences, new.shape[1]) if recorder is not None else None
        done = iter(
            finish_continuation(
                new[row].tolist(),
                self.tokenizer,
                r,
                self.eos_token_ids,
                None if lps is None else lps[row].tolist(),
            )
            for row, r in enumerate(live)
        )
        return [
            next(done)
            if r.max_new_tokens > 0
            else finish_continuation([], self.tokenizer, r, self.eos_token_ids, [])
            for r in requests
        ]
