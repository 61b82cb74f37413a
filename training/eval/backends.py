"""Build the generation backend an evaluation runs on. Every backend is one of the rollout's own
(`training.rollout.generation.GenerationBackend`), so evaluation runs exactly the GRPO rollout loop.

| ``backend`` | class | where |
|---|---|---|
| ``hf`` | `training.rollout.backends.hf.TransformersBackend` | the model loaded in-process (CPU or GPU) |
| ``openai`` | `training.rollout.backends.completions.OpenAICompletionsBackend` | any OpenAI-compatible ``/v1/completions`` |
| ``vllm-server`` | `training.rollout.backends.vllm.VLLMServerBackend` | ``vllm serve`` (token-id prompts, exact ids) |
| ``vllm`` | `training.rollout.backends.vllm.VLLMColocateBackend` on an offline ``vllm.LLM`` | GPU (the ``gpu`` extra) |
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from training.eval.config import EvalConfig
from training.rollout.generation import GenerationBackend, SamplingSettings


def sampling_settings(config: EvalConfig) -> SamplingSettings:
    return SamplingSettings(
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,
        min_p=config.min_p,
        repetition_penalty=config.repetition_penalty,
    )


def eos_token_ids(tokenizer: Any, model: Any = None) -> list[int]:
    """The tokenizer's EOS plus the EOS ids of ``model`` (a model or a GenerationConfig); Qwen2.5-Instruct ends
    turns with either ``<|im_end|>`` or ``<|endoftext|>``, and a turn that ends with an id missing here would
    be counted as truncated."""
    ids = [tokenizer.eos_token_id]
    gen = getattr(model, "generation_config", model)
    extra = getattr(gen, "eos_token_id", None) if gen is not None else None
    ids += extra if isinstance(extra, list) else [extra]
    return list(dict.fromkeys(int(i) for i in ids if i is not None))


def generation_config_of(name_or_path: str) -> Any:
    """The checkpoint's GenerationConfig (its EOS ids), or None when it has none (e.g. a .gguf file)."""
    from transformers import GenerationConfig

    from training.models.loading import pretrained_source

    source, extra = pretrained_source(name_or_path)
    if extra:  # GGUF: the tokenizer's EOS is the model's
        return None
    try:  # a local directory, or a Hub id already in the cache (never a download for this)
        return GenerationConfig.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError):
        return None


def vllm_engine_kwargs(config: EvalConfig) -> dict[str, Any]:
    """`vllm.LLM` arguments of an offline evaluation."""
    kwargs: dict[str, Any] = {
        "model": config.model,
        "tokenizer": config.tokenizer or config.model,
        "seed": config.seed,
        "tensor_parallel_size": config.vllm_tensor_parallel_size,
        "gpu_memory_utilization": config.vllm_gpu_memory_utilization,
        "enable_prefix_caching": True,  # k samples of a problem share the prompt; turns share their prefix
    }
    if config.vllm_max_model_len is not None:
        kwargs["max_model_len"] = config.vllm_max_model_len
    if config.dtype is not None:
        kwargs["dtype"] = config.dtype
    return kwargs


def _model_eos(config: EvalConfig, tokenizer: Any) -> list[int]:
    """EOS ids from the checkpoint's generation config (the model or tokenizer directory, or the HF cache), else
    the tokenizer's."""
    sources = [config.model, *([config.tokenizer] if config.tokenizer else [])]
    gen = next((g for g in map(generation_config_of, sources) if g is not None), None)
    return eos_token_ids(tokenizer, gen)


def make_backend(config: EvalConfig, tokenizer: Any) -> tuple[GenerationBackend, Callable[[], None], str]:
    """(backend, close, name): ``name`` is recorded in the report (``hf:<model>``, ``openai:<served model>``...)."""
    sampling = sampling_settings(config)

    api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
    if config.backend == "hf":
        return _hf(config, tokenizer, sampling)
    if config.backend in ("openai", "vllm-server"):
        # the same HTTP client either way: text prompts (any OpenAI-compatible server) or token ids (vLLM only)
        from training.rollout.backends.completions import OpenAICompletionsBackend
        from training.rollout.backends.vllm import VLLMServerBackend

        cls = OpenAICompletionsBackend if config.backend == "openai" else VLLMServerBackend
        backend = cls(
            str(config.endpoint),
            tokenizer,
            sampling,
            _model_eos(config, tokenizer),
            model=config.served_model,
            timeout_s=config.request_timeout_s,
            max_concurrency=config.max_concurrency,
            api_key=api_key,
        )
        return backend, backend.close, f"{config.backend}:{backend.model}"
    from vllm import LLM

    from training.rollout.backends.vllm import VLLMColocateBackend

    llm = LLM(
        **vllm_engine_kwargs(config)
    )  # downloads the checkpoint first, so its generation config is cached
    return (
        VLLMColocateBackend(llm, tokenizer, sampling, _model_eos(config, tokenizer)),
        lambda: None,
        f"vllm:{config.model}",
    )


def _hf(
    config: EvalConfig, tokenizer: Any, sampling: SamplingSettings
) -> tuple[Any, Callable[[], None], str]:
    import torch
    from transformers import set_seed

    from training.models.loading import load_causal_lm
    from training.rollout.backends.hf import TransformersBackend

    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = config.dtype or ("bfloat16" if device.startswith("cuda") else "float32")
    model = load_causal_lm(config.model, dtype=dtype).to(device)
    model.eval()
    set_seed(config.seed)  # transformers samples a batch from one RNG: per-request seeds do not apply
    backend = TransformersBackend(
        model,
        tokenizer,
        sampling,
        eos_token_ids=eos_token_ids(tokenizer, model),
        max_batch_size=config.hf_max_batch_size,
        record_logprobs=False,
    )
    return backend, lambda: None, f"hf:{config.model}"
