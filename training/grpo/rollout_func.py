"""The TRL side of the rollout: `RetoolRolloutFunc` is what ``GRPOTrainer(rollout_func=...)`` calls.

TRL 1.16 (``GRPOTrainer._generate``) calls ``rollout_func(prompts, trainer)`` with this process's slice of the
generation batch: one entry per completion to produce, each prompt already repeated ``num_generations`` times
by TRL's RepeatSampler. It must return ``prompt_ids``, ``completion_ids`` and ``logprobs`` (one list per
entry); ``env_mask`` becomes TRL's ``tool_mask`` (completion_mask * tool_mask is the loss mask, and the mask of
the vLLM importance-sampling ratio); every other key reaches the reward functions as a keyword argument. Among
them ``model_text``: the completion without its interpreter blocks, which the rewards score instead of TRL's
decoded completion (`training.rollout.rewards`), so program output can never pass for the model's answer.

Backends, chosen from the trainer's settings: ``use_vllm`` + ``vllm_mode="colocate"`` -> the trainer's own
`vllm.LLM`; ``"server"`` -> the vLLM server's ``/v1/completions``; otherwise transformers ``generate`` on the
unwrapped training model (same context as TRL's own generation). Log-probs: vLLM's sampled-token log-probs, or
the transformers backend's processed log-probs; 0.0 on interpreter tokens (masked everywhere TRL uses them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from training.rollout.generation import GenerationBackend, SamplingSettings
from training.rollout.loop import RolloutBatch, RolloutConfig, run_rollouts
from training.rollout.metrics import behaviour_metrics

log = logging.getLogger(__name__)

METRIC_PREFIX = "retool/"


def prompt_token_ids(
    tokenizer: Any, prompt: Any, chat_template_kwargs: dict[str, Any] | None = None
) -> list[int]:
    """Token ids of a prompt: a list of chat messages (rendered with the chat template and the assistant header)
    or a plain string (tokenized as is)."""
    if isinstance(prompt, str):
        return list(tokenizer.encode(prompt, add_special_tokens=False))
    out = tokenizer.apply_chat_template(
        list(prompt),
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        **(chat_template_kwargs or {}),
    )
    return list(out["input_ids"])


class RetoolRolloutFunc:
    """``rollout_func`` for TRL's GRPOTrainer: ReTool's multi-turn code-interpreter rollout.

    tokenizer: the policy's tokenizer. sandbox: a `sandbox.Sandbox`, or a zero-argument factory called on first
    use in each process (the pool then lives with the trainer process). max_tool_calls: code blocks executed per
    rollout. use_tools=False: plain single-turn generation (text-only baseline). max_batch_size: rows per
    transformers ``generate`` call. backend_factory(trainer, sampling, eos_ids): overrides the backend choice.
    """

    def __init__(
        self,
        tokenizer: Any,
        sandbox: Any,
        *,
        max_tool_calls: int = 8,
        use_tools: bool = True,
        code_timeout_s: float | None = None,
        max_batch_size: int | None = None,
        backend_factory: Callable[[Any, SamplingSettings, list[int]], GenerationBackend] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self._sandbox = sandbox
        self.max_tool_calls = max_tool_calls
        self.use_tools = use_tools
        self.code_timeout_s = code_timeout_s
        self.max_batch_size = max_batch_size
        self.backend_factory = backend_factory
        self._owns_sandbox = callable(sandbox) and not hasattr(sandbox, "arun")
        self._server_backend: Any = None
        self.last_batch: RolloutBatch | None = None  # the latest call's rollouts (for callbacks and tests)

    @property
    def sandbox(self) -> Any:
        if callable(self._sandbox) and not hasattr(self._sandbox, "arun"):
            self._sandbox = self._sandbox()
        return self._sandbox

    def close(self) -> None:
        """Close the sandbox this function created (not one passed in ready-made) and the HTTP client."""
        if self._owns_sandbox and hasattr(self._sandbox, "close"):
            self._sandbox.close()
        if self._server_backend is not None:
            self._server_backend.close()
            self._server_backend = None

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        mode = "train" if trainer.model.training else "eval"
        kwargs = getattr(trainer, "chat_template_kwargs", None) or {}
        prompt_ids = [prompt_token_ids(self.tokenizer, p, kwargs) for p in prompts]
        config = RolloutConfig(
            max_completion_tokens=int(trainer.max_completion_length),
            max_tool_calls=self.max_tool_calls,
            use_tools=self.use_tools,
            code_timeout_s=self.code_timeout_s,
        )
        sampling = SamplingSettings.from_trl_args(trainer.args)
        eos_ids = [int(i) for i in trainer.eos_token_ids]
        with self._backend(trainer, sampling, eos_ids) as backend:
            batch = run_rollouts(
                backend,
                self.sandbox,
                self.tokenizer,
                prompt_ids,
                config,
                all_done=getattr(backend, "all_done", None),
            )
        self.last_batch = batch
        self._log(trainer, mode, batch)
        results = batch.results
        log_extra = getattr(trainer, "_log_completion_extra", None)  # columns of TRL's completions table
        if callable(log_extra):
            log_extra("num_tool_calls", [r.num_tool_calls for r in results])
            log_extra("code_errors", [r.code_errors for r in results])
            log_extra("rollout_end", [r.end for r in results])
        have_logprobs = all(r.logprobs is not None for r in results)
        return {
            "prompt_ids": [r.prompt_ids for r in results],
            "completion_ids": [r.completion_ids for r in results],
            "logprobs": [r.logprobs for r in results] if have_logprobs else None,
            "env_mask": [r.env_mask for r in results],
            "model_text": [r.model_text for r in results],
            "num_tool_calls": [r.num_tool_calls for r in results],
            "code_errors": [r.code_errors for r in results],
            "truncated": [r.truncated for r in results],
            "rollout_end": [r.end for r in results],
        }

    # ------------------------------------------------------------------------------------------ backends

    @contextlib.contextmanager
    def _backend(
        self, trainer: Any, sampling: SamplingSettings, eos_ids: list[int]
    ) -> Iterator[GenerationBackend]:
        if self.backend_factory is not None:
            yield self.backend_factory(trainer, sampling, eos_ids)
        elif getattr(trainer, "use_vllm", False) and trainer.vllm_mode == "colocate":
            yield from self._vllm_colocate(trainer, sampling, eos_ids)
        elif getattr(trainer, "use_vllm", False):
            yield self._vllm_server(trainer, sampling, eos_ids)
        else:
            yield from self._transformers(trainer, sampling, eos_ids)

    def _transformers(self, trainer: Any, sampling: SamplingSettings, eos_ids: list[int]) -> Iterator[Any]:
        import torch
        from trl.models.utils import unwrap_model_for_generation

        from training.rollout.backends.hf import TransformersBackend

        args = trainer.args
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=args.ds3_gather_for_generation,
                generation_kwargs=getattr(trainer, "generation_kwargs", None),
                gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs,
            ) as unwrapped,
            torch.no_grad(),
            trainer._dist.summon_full_params(trainer.model_wrapped, recurse=False),
        ):
            yield TransformersBackend(
                unwrapped, self.tokenizer, sampling, eos_token_ids=eos_ids, max_batch_size=self.max_batch_size
            )

    def _vllm_colocate(self, trainer: Any, sampling: SamplingSettings, eos_ids: list[int]) -> Iterator[Any]:
        from training.rollout.backends.vllm import VLLMColocateBackend

        gen = trainer.vllm_generation
        if gen.enable_sleep_mode:  # as VLLMGeneration.generate: level-2 sleep dropped the weights
            if getattr(gen, "_llm_weights_sleeping", False):
                gen.sync_weights()
            gen.llm.wake_up(tags=["kv_cache"])
        try:
            yield VLLMColocateBackend(
                gen.llm, self.tokenizer, sampling, eos_ids, getattr(gen, "tp_group", None)
            )
        finally:
            if gen.enable_sleep_mode:
                gen.llm.sleep(level=2)
                gen._llm_weights_sleeping = True

    def _vllm_server(self, trainer: Any, sampling: SamplingSettings, eos_ids: list[int]) -> Any:
        from training.rollout.backends.vllm import VLLMServerBackend

        # Every process talks to the server itself; wait until the main process has pushed this step's weights.
        trainer.accelerator.wait_for_everyone()
        if self._server_backend is None:
            args = trainer.args
            url = args.vllm_server_base_url or f"http://{args.vllm_server_host}:{args.vllm_server_port}"
            self._server_backend = VLLMServerBackend(
                url, self.tokenizer, sampling, eos_ids, timeout_s=max(600.0, args.vllm_server_timeout)
            )
        self._server_backend.sampling = sampling
        return self._server_backend

    # ------------------------------------------------------------------------------------------- metrics

    def _log(self, trainer: Any, mode: str, batch: RolloutBatch) -> None:
        """Behaviour metrics over all processes' rollouts into the trainer's step logs (``retool/...``)."""
        from accelerate.utils import gather_object

        summaries = gather_object([r.summary() for r in batch.results])
        timing = gather_object([(batch.generation_s, batch.sandbox_s)])
        metrics = behaviour_metrics(summaries)
        generation_s = max(t[0] for t in timing)
        sandbox_s = max(t[1] for t in timing)
        metrics["generation_s"] = generation_s
        metrics["sandbox_s"] = sandbox_s
        metrics["sandbox_wait_share"] = (
            sandbox_s / (generation_s + sandbox_s) if generation_s + sandbox_s else 0.0
        )
        for name, value in metrics.items():
            trainer._metrics[mode][METRIC_PREFIX + name].append(float(value))
