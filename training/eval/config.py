"""`EvalConfig`: one evaluation run (`training.eval.run_eval`, ``retool-data eval run``). Every field is a
command-line option (``--field value``) and a key of a ``--config`` YAML (configs/eval_*.yaml).

Defaults follow the paper's evaluation: 32 samples per problem at temperature 1.0, top-p 0.7, a 16384-token
response budget with the code interpreter (at most 8 calls, verl's ReTool recipe), on AIME24, AIME25 and AMC23.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from retool_data.templates import RL_TEMPLATE, TEMPLATES, TEXT_TEMPLATE, PromptTemplate

BACKENDS = ("hf", "openai", "vllm-server", "vllm")

# Fields that decide what a sample is: a run directory's samples are only resumed under the same values.
SAMPLE_FIELDS = (
    "model",
    "tokenizer",
    "chat_template_path",
    "system_prompt",
    "prompt_template",
    "use_tools",
    "max_tool_calls",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "seed",
    "sandbox_timeout_s",
    "sandbox_memory_mb",
    "sandbox_max_output_chars",
)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class EvalConfig:
    output_dir: str = field(
        metadata=_help("Run directory: samples.jsonl, eval_config.json, report.* and plots/.")
    )
    model: str = field(
        metadata=_help(
            "The policy: Hub id, local directory or .gguf file (also pkg:<package>/<file>.gguf). Loaded by the hf "
            "and vllm backends; for endpoints, the checkpoint the server serves (its tokenizer is loaded locally)."
        )
    )
    backend: str = field(
        default="hf",
        metadata=_help(
            "hf: transformers generate (CPU/GPU). openai: any OpenAI-compatible /v1/completions with text prompts "
            "(llama.cpp, vLLM, ...). vllm-server: vLLM's /v1/completions with token-id prompts (exact ids). "
            "vllm: offline vllm.LLM (GPU extra)."
        ),
    )
    endpoint: str | None = field(
        default=None, metadata=_help("Base URL of the server (openai, vllm-server).")
    )
    served_model: str | None = field(
        default=None, metadata=_help("Model name in API requests (default: the first of GET /v1/models).")
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata=_help("Environment variable holding the endpoint's API key, if any."),
    )
    tokenizer: str | None = field(default=None, metadata=_help("Tokenizer source (default: model)."))
    chat_template_path: str | None = field(
        default=None, metadata=_help("A .jinja chat template, for tokenizers without one.")
    )
    label: str | None = field(
        default=None, metadata=_help("Run name in reports (default: the output_dir name).")
    )
    # ------------------------------------------------------------------------------------------- data
    benchmarks: list[str] = field(
        default_factory=lambda: ["aime24", "aime25", "amc23"],
        metadata=_help(
            "Benchmarks: registered names (aime24, aime25, amc23, math500; pinned in the package), "
            "NAME=PATH, or a .jsonl/.json/.parquet path with problem/answer columns."
        ),
    )
    benchmarks_dir: str | None = field(
        default=None,
        metadata=_help(
            "Local copies: <dir>/<name>/test.jsonl or <dir>/<name>.jsonl, or 'hub' (env RETOOL_BENCHMARKS_DIR)."
        ),
    )
    training_data: list[str] = field(
        default_factory=list,
        metadata=_help(
            "Datasets the model was trained on (export folder, .parquet, .jsonl, save_to_disk folder): a warning "
            "and a report entry for each evaluated problem close to a training row (docs/evaluation.md)."
        ),
    )
    max_problems: int | None = field(
        default=None, metadata=_help("Only the first N problems of each benchmark (smoke runs).")
    )
    # ------------------------------------------------------------------------------------------- prompt
    use_tools: bool = field(
        default=True,
        metadata=_help("Run the code interpreter. False = text-only baseline (no </code> stop)."),
    )
    prompt_template: str | None = field(
        default=None,
        metadata=_help(
            f"User-turn template id (default: {RL_TEMPLATE.id} with tools, {TEXT_TEMPLATE.id} without); "
            f"known: {', '.join(TEMPLATES)}."
        ),
    )
    system_prompt: str | None = field(
        default=None, metadata=_help("Optional system turn (the paper uses none).")
    )
    # ------------------------------------------------------------------------------------------- sampling
    num_samples: int = field(default=32, metadata=_help("Samples per problem (k of avg@k)."))
    temperature: float = field(default=1.0, metadata=_help("Sampling temperature."))
    top_p: float = field(default=0.7, metadata=_help("Nucleus sampling."))
    top_k: int = field(default=0, metadata=_help("Top-k sampling (0 = off)."))
    min_p: float | None = field(default=None, metadata=_help("Min-p sampling (None = off)."))
    repetition_penalty: float = field(default=1.0, metadata=_help("Repetition penalty (1 = off)."))
    seed: int = field(
        default=0, metadata=_help("Base seed; each sample's seed derives from it and the sample's key.")
    )
    pass_ks: list[int] | None = field(
        default=None,
        metadata=_help("k values for pass@k and maj@k (default: 1, 2, 4, ... up to num_samples)."),
    )
    # ------------------------------------------------------------------------------------------- rollout
    max_completion_tokens: int = field(
        default=16384, metadata=_help("Response budget in tokens, interpreter output included.")
    )
    max_tool_calls: int = field(default=8, metadata=_help("Code blocks run per response (0 = none)."))
    sandbox_workers: int | None = field(
        default=None, metadata=_help("Sandbox processes (default: CPU count).")
    )
    sandbox_timeout_s: float = field(default=5.0, metadata=_help("Per code block wall-clock limit."))
    sandbox_memory_mb: int = field(default=1024, metadata=_help("Per code block memory limit."))
    sandbox_max_output_chars: int = field(default=400, metadata=_help("Interpreter output kept (head+tail)."))
    # ------------------------------------------------------------------------------------------- execution
    batch_size: int = field(
        default=64,
        metadata=_help("Samples per rollout batch (all are in flight at once; each is saved when done)."),
    )
    hf_max_batch_size: int | None = field(
        default=None, metadata=_help("hf: rows per generate() call (default: the whole batch).")
    )
    device: str | None = field(default=None, metadata=_help("hf: torch device (default: cuda if available)."))
    dtype: str | None = field(
        default=None, metadata=_help("hf: weights dtype (default float32; bfloat16 on GPU).")
    )
    max_concurrency: int = field(default=32, metadata=_help("Endpoints: requests in flight."))
    request_timeout_s: float = field(default=600.0, metadata=_help("Endpoints: seconds per request."))
    vllm_tensor_parallel_size: int = field(default=1, metadata=_help("vllm: GPUs per model."))
    vllm_gpu_memory_utilization: float = field(default=0.9, metadata=_help("vllm: share of GPU memory."))
    vllm_max_model_len: int | None = field(
        default=None, metadata=_help("vllm: context length (default: model's).")
    )

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {self.backend!r}")
        if self.backend in ("openai", "vllm-server") and not self.endpoint:
            raise ValueError(f"backend {self.backend!r} needs endpoint (the server's base URL)")
        if self.num_samples < 1 or self.batch_size < 1 or self.max_completion_tokens < 1:
            raise ValueError("num_samples, batch_size and max_completion_tokens must be >= 1")
        if self.max_tool_calls < 0:
            raise ValueError("max_tool_calls must be >= 0 (0: no code runs)")
        if self.pass_ks is not None and any(k < 1 for k in self.pass_ks):
            raise ValueError("pass_ks must be >= 1")
        if not self.benchmarks:
            raise ValueError("benchmarks is empty")
        self.template  # noqa: B018 - validates prompt_template

    @property
    def template(self) -> PromptTemplate:
        if self.prompt_template is None:
            return RL_TEMPLATE if self.use_tools else TEXT_TEMPLATE
        if self.prompt_template not in TEMPLATES:
            raise ValueError(f"unknown prompt_template {self.prompt_template!r}; known: {sorted(TEMPLATES)}")
        return TEMPLATES[self.prompt_template]

    @property
    def run_label(self) -> str:
        from pathlib import Path

        return self.label or Path(self.output_dir).resolve().name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> dict[str, Any]:
        """The values a resumed run must share (`SAMPLE_FIELDS`, with the resolved template id)."""
        out = {k: getattr(self, k) for k in SAMPLE_FIELDS}
        out["prompt_template"] = self.template.id
        out["tokenizer"] = self.tokenizer or self.model
        return out
