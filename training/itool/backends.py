"""Generation backends for an iTool round's policy (mining, MCTS and evaluation share one per phase).

* ``hf``: the policy (base + merged adapter chain) in this process, `training.rollout.backends.hf.TransformersBackend`;
* ``vllm``: the policy merged into ``<output_dir>/policies/<hash>`` (`training.itool.evaluation.policy_checkpoint`) and
  served by an in-process ``vllm.LLM``
  (`training.rollout.backends.vllm.VLLMColocateBackend`); the engine is deleted and the GPU cache emptied on exit, so the
  preference training that follows has the memory;
* ``vllm_server``: any vLLM OpenAI-compatible ``/v1/completions`` (`VLLMServerBackend`); it must serve the
  round's policy (the run refuses to start a second round against the same server without a restart: see
  docs/itool.md).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

from training.models.policy import PolicyRef, load_policy
from training.rollout.generation import GenerationBackend, SamplingSettings
from training.sft.tokenization import end_of_turn_text


def eos_token_ids(tokenizer: Any) -> list[int]:
    """The tokenizer's EOS and the chat template's end-of-turn token (``<|im_end|>``) when it is one token."""
    ids = {int(tokenizer.eos_token_id)} if tokenizer.eos_token_id is not None else set()
    try:
        eot = tokenizer.encode(
            end_of_turn_text(tokenizer, [{"role": "user", "content": "x"}]), add_special_tokens=False
        )
    except ValueError:
        eot = []
    if len(eot) == 1:
        ids.add(int(eot[0]))
    if not ids:
        raise ValueError("the tokenizer has no EOS token and the chat template no single-token end of turn")
    return sorted(ids)


def sampling_settings(config: Any) -> SamplingSettings:
    return SamplingSettings(temperature=config.temperature, top_p=config.top_p, top_k=config.top_k)


@contextlib.contextmanager
def policy_backend(config: Any, policy: PolicyRef, tokenizer: Any) -> Iterator[GenerationBackend]:
    """A backend generating with ``policy`` (see the module docstring); resources are released on exit."""
    sampling, eos = sampling_settings(config), eos_token_ids(tokenizer)
    if config.generation_backend == "vllm_server":
        from training.rollout.backends.vllm import VLLMServerBackend

        backend = VLLMServerBackend(config.vllm_server_url, tokenizer, sampling, eos)
        try:
            yield backend
        finally:
            backend.close()
        return
    if config.generation_backend == "vllm":
        from vllm import LLM

        from training.itool.evaluation import policy_checkpoint
        from training.rollout.backends.vllm import VLLMColocateBackend

        checkpoint, _ = policy_checkpoint(config, policy, tokenizer)
        llm = LLM(
            model=checkpoint,
            tokenizer=config.tokenizer_name_or_path or checkpoint,
            gpu_memory_utilization=config.vllm_gpu_memory_utilization,
            max_model_len=config.vllm_max_model_len,
            seed=config.seed,
            enable_prefix_caching=True,  # MCTS and simulations share long prefixes
        )
        try:
            yield VLLMColocateBackend(llm, tokenizer, sampling, eos)
        finally:
            del llm
            _free_accelerator()
        return
    import torch

    from training.rollout.backends.hf import TransformersBackend

    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = {"dtype": "bfloat16"} if str(device).startswith("cuda") else {}  # float32 only where bf16 is slow
    model = load_policy(policy, **dtype).to(device).eval()
    try:
        yield TransformersBackend(
            model, tokenizer, sampling, eos_token_ids=eos, max_batch_size=config.hf_max_batch_size
        )
    finally:
        del model
        _free_accelerator()


def _free_accelerator() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a training dependency
        pass
