"""The per-round evaluation step: the evaluation stage (`training.eval.run_eval`) on the held-out problems.

`evaluate_policy(config, policy, tokenizer, run_dir)` runs `run_eval` with the round's policy, the same backend kind
and sampling as the round's generation, and ``benchmarks=["heldout=<heldout_path>"]``; ``run_dir`` is a complete
evaluation run (``samples.jsonl``, ``report.json``/``.md``, ``plots/``; resumable) and the summary the iTool report
needs is returned: ``pass_rate`` (avg@k), ``pass_at_k``, the behaviour metrics.

The evaluation stage loads a checkpoint path, so a policy with adapters is merged first (`policy_checkpoint`):
under ``<output_dir>/policies/<hash>/``, kept for the vllm backend (which generates from it too), deleted after the
evaluation for hf (the chain rebuilds it; a 7B merge is ~15 GB).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from training.models.policy import PolicyRef, merge_policy

BACKEND_NAMES = {"hf": "hf", "vllm": "vllm", "vllm_server": "vllm-server"}
HELDOUT = "heldout"
DONE_MARKER = "merged.json"


def policy_checkpoint(config: Any, policy: PolicyRef, tokenizer: Any) -> tuple[str, bool]:
    """(a path `load_causal_lm` / vLLM can load, whether it was merged here). A policy without adapters is its
    base; otherwise the merged checkpoint under ``<output_dir>/policies/<hash>`` (reused when complete)."""
    if not policy.adapters:
        return policy.base, False
    digest = hashlib.sha256(json.dumps(policy.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    out = Path(config.output_dir) / "policies" / digest
    if not (out / DONE_MARKER).exists():
        merge_policy(policy, out, tokenizer)
        (out / DONE_MARKER).write_text(json.dumps(policy.to_dict()), encoding="utf-8")
    return str(out), True


def evaluate_policy(config: Any, policy: PolicyRef, tokenizer: Any, run_dir: str | Path) -> dict[str, Any]:
    """Held-out avg@k / pass@k / behaviour of ``policy`` through `run_eval` (see the module docstring)."""
    from training.eval.metrics import avg_key
    from training.eval.run import EvalConfig, run_eval

    checkpoint, merged = policy_checkpoint(config, policy, tokenizer)
    eval_config = EvalConfig(
        output_dir=str(run_dir),
        model=checkpoint,
        backend=BACKEND_NAMES[config.generation_backend],
        endpoint=config.vllm_server_url,
        tokenizer=config.tokenizer_name_or_path,
        benchmarks=[f"{HELDOUT}={config.heldout_path}"],
        max_problems=config.eval_max_problems,
        system_prompt=config.system_prompt,
        num_samples=config.eval_samples,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,
        seed=config.seed,
        max_completion_tokens=config.max_completion_tokens,
        max_tool_calls=config.max_tool_calls,
        sandbox_workers=config.sandbox_workers,
        sandbox_timeout_s=config.sandbox_timeout_s,
        sandbox_memory_mb=config.sandbox_memory_mb,
        sandbox_max_output_chars=config.sandbox_max_output_chars,
        hf_max_batch_size=config.hf_max_batch_size,
        device=config.device,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        vllm_max_model_len=config.vllm_max_model_len,
    )
    try:
        result = run_eval(eval_config)
    finally:
        if merged and config.generation_backend == "hf":
            shutil.rmtree(checkpoint, ignore_errors=True)
    metrics = result.report["benchmarks"][HELDOUT]
    k = config.eval_samples
    behaviour = {
        name: metrics.get(name)
        for name in ("response_length", "model_tokens", "code_ratio", "tool_calls", "code_success_rate",
                     "first_call_position", "first_call_ratio", "truncation_rate", "max_tool_calls_rate")
        if metrics.get(name) is not None
    }  # fmt: skip
    return {
        "problems": metrics.get("problems", 0),
        "samples": metrics.get("samples", 0),
        "pass_rate": metrics.get(avg_key(metrics) or "", 0.0),
        "pass_at_k": metrics.get(f"pass@{k}", metrics.get(avg_key(metrics) or "", 0.0)),
        "behaviour": behaviour,
        "report": result.files.get("json"),
    }
