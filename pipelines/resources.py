"""Resources: everything the assets reach outside themselves, as typed, documented `ConfigurableResource`s.

Each resource is a thin adapter that builds the `retool_data` object the stage functions take (a chat backend,
a `sandbox.Sandbox`, a `FilterConfig`, ...). Defaults are the embedded default: the bundled sample, rules-only
verification, the heuristic rewriter, a local sandbox, local folders. `resources_from_env` reads the
non-secret settings from ``RETOOL_*`` variables when the definitions load; secrets (API keys, the Hub token)
go through `EnvVar`, so Dagster resolves them when a run starts and never stores their values. Every field
can also be overridden per run from the launchpad (``resources: {name: {config: {...}}}``).
docs/configuration.md lists every knob.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr

# FilterSettings lives beside (the decontamination layers brought a dozen settings); the assets import it from here
from pipelines.filter_settings import DEFAULT_BENCHMARKS
from pipelines.filter_settings import BenchmarksUnavailable as BenchmarksUnavailable
from pipelines.filter_settings import FilterSettings as FilterSettings
from pipelines.instance import project_dir
from pipelines.io import ParquetIOManager


class SourceSettings(ConfigurableResource):
    """What `source_problems` reads, and how it is cut into shards."""

    source: str = Field(
        "sample", description="sample | openthoughts | openthoughts3 | a .jsonl/.parquet file or folder"
    )
    limit: int | None = Field(None, description="Stop after this many kept rows (None: all).")
    revision: str | None = Field(
        None, description="Hub sources: commit sha or tag to pin (recorded for lineage)."
    )
    split: str = Field("train", description="Hub sources: the split to read.")
    streaming: bool = Field(True, description="Hub sources: stream instead of downloading the split first.")
    domains: list[str] | None = Field(["math"], description="Domains kept (None: every domain).")
    shard_size: int = Field(
        1000,
        ge=1,
        description="Problems per shard (partition) of the LLM and sandbox stages; all responses of a problem "
        "share its shard.",
    )
    max_responses: int | None = Field(
        None, ge=1, description="Teacher responses read per problem (None: all; the rest: excess_response)."
    )
    responses_per_problem: int | None = Field(
        1, ge=1, description="Verified responses kept per problem, first verified first (None: all)."
    )

    stream_to_disk: bool = Field(
        False,
        description="Ingest in memory bounded by `stream_batch_rows`, not by the source: rows are normalized and "
        "written to shard files batch by batch, and `source_problems` is written from those files (for "
        "OpenThoughts3-sized sources; the same rows, shards and quarantine as reading the source at once).",
    )
    stream_batch_rows: int = Field(20_000, ge=1, description="With stream_to_disk: rows per written batch.")

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "limit": self.limit,
            "domains": self.domains,
            "max_responses": self.max_responses,
        }
        if self.source in ("openthoughts", "openthoughts3"):
            options.update(split=self.split, streaming=self.streaming, revision=self.revision)
        return options

    def load(self) -> Any:
        """The source as a `StageResult` (kept problem rows, quarantined rows, lineage stats)."""
        from retool_data.sources import load_source

        return load_source(self.source, **self._options())

    def stream(self, out_dir: str) -> Any:
        """The source normalized into shard files under ``out_dir`` (a `StreamedSource`), batch by batch."""
        from retool_data.sources.stream import stream_source

        return stream_source(self.source, out_dir, shard_size=self.shard_size, batch_rows=self.stream_batch_rows,
                             **self._options())  # fmt: skip


class LLMEndpoint(ConfigurableResource):
    """One chat endpoint: an OpenAI-compatible server (`openai`) or vLLM in-process (`vllm`)."""

    backend: str = Field("none", description="openai | vllm, or the role's non-LLM default.")
    endpoint: str | None = Field(
        None, description="Base URL, e.g. http://127.0.0.1:8000/v1 (else $RETOOL_LLM_ENDPOINT)."
    )
    model: str | None = Field(
        None, description="Model name (openai) or Hub id/path (vllm) (else $RETOOL_LLM_MODEL)."
    )
    api_key: str | None = Field(
        None, description="Secret: set from the environment with EnvVar, never inline."
    )
    concurrency: int = Field(8, ge=1, description="Requests in flight at once.")
    timeout_s: float = Field(600.0, description="Seconds per HTTP attempt.")
    max_retries: int = Field(6, ge=0, description="Retries on 429/5xx/timeouts/connection errors.")
    temperature: float | None = Field(None, description="Sampling temperature (None: the stage's default).")
    max_tokens: int | None = Field(None, description="max_tokens per reply (None: the stage's default).")
    price_in_per_mtok: float = Field(0.0, description="USD per million prompt tokens (cost report).")
    price_out_per_mtok: float = Field(0.0, description="USD per million completion tokens (cost report).")
    cache_dir: str | None = Field(
        None,
        description="Response cache: a folder, or a postgresql:// URL shared by every worker (None: "
        "$RETOOL_CACHE_URL, else $RETOOL_CACHE_DIR, else ~/.cache).",
    )
    use_cache: bool = Field(
        True, description="Read and write the response cache (it is also the resume log)."
    )

    @property
    def uses_llm(self) -> bool:
        return self.backend in ("openai", "vllm")

    def chat_backend(self) -> Any:
        """The `retool_data.llm.ChatBackend` for this endpoint (None when the role runs without an LLM)."""
        if not self.uses_llm:
            return None
        from retool_data.llm import Pricing, make_chat_backend

        return make_chat_backend(
            self.backend,
            model=self.model,
            endpoint=self.endpoint,
            api_key=self.api_key,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            pricing=Pricing(self.price_in_per_mtok, self.price_out_per_mtok),
            cache_dir=self.cache_dir,
            use_cache=self.use_cache,
            progress=False,
        )

    def sampling_params(self, defaults: Mapping[str, Any]) -> dict[str, Any]:
        params = dict(defaults)
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


class VerifierLLM(LLMEndpoint):
    """The judge for answers the rules cannot decide. ``backend="none"``: rules only (no endpoint)."""

    backend: str = Field("none", description="none (rules only) | openai | vllm")
    judge_all: bool = Field(False, description="Send every row with a reference to the judge.")
    judge_mismatches: bool = Field(False, description="Give rule mismatches a second opinion from the judge.")
    response_format: str = Field(
        "none", description="none | json_object (llama.cpp) | json_schema (OpenAI, vLLM)"
    )


class RewriterLLM(LLMEndpoint):
    """The model that rewrites R1's reasoning into code-interleaved traces. ``heuristic``: no LLM."""

    backend: str = Field(
        "heuristic", description="heuristic (no LLM, code run in the sandbox) | openai | vllm"
    )


class SandboxResource(ConfigurableResource):
    """The code sandbox: the heuristic rewriter and the consistency check run here.

    Local (`sandbox.Sandbox`): one warm pool per run process, started on first use and closed when the run
    ends, so a shard's rewrite and consistency steps share it when they run in the same process (`retool-data
    run`, the in-process executor). With ``endpoints``: `retool_data.remote_sandbox.RemoteSandbox` over those
    `retool-data sandbox serve` hosts instead (a shared service for many workers; same verdicts).
    """

    endpoints: list[str] = Field(
        [],
        description="`retool-data sandbox serve` URLs (http://host:8080) to run code on instead of a local pool; "
        "requests go round-robin and skip an endpoint that is down.",
    )
    token: str | None = Field(None, description="Secret: the servers' token, EnvVar('RETOOL_SANDBOX_TOKEN').")
    workers: int = Field(2, ge=1, description="Warm worker processes.")
    timeout_s: float = Field(5.0, description="Wall-clock seconds per code block.")
    memory_mb: int = Field(1024, description="Memory limit per code block.")
    max_output_chars: int = Field(400, description="Interpreter output truncation (as in the RL rollout).")
    fail_shards: list[str] = Field(
        [],
        description="Fault injection, for tests and drills only: opening the sandbox for these shards raises, "
        "as a crashed sandbox host would. Leave empty.",
    )
    _pool: Any = PrivateAttr(default=None)

    def open(self, shard: str | None = None) -> Any:
        """The run's `sandbox.Sandbox` (started now if this is the first step that needs it)."""
        if shard is not None and shard in self.fail_shards:
            raise RuntimeError(f"injected sandbox failure for {shard} (SandboxResource.fail_shards)")
        if self._pool is None and self.endpoints:
            from retool_data.remote_sandbox import RemoteConfig, RemoteSandbox

            config = RemoteConfig(timeout_s=self.timeout_s, memory_mb=self.memory_mb)
            self._pool = RemoteSandbox(self.endpoints, token=self.token, config=config)
        if self._pool is None:
            from sandbox import Sandbox

            self._pool = Sandbox(
                workers=self.workers,
                timeout_s=self.timeout_s,
                memory_mb=self.memory_mb,
                max_output_chars=self.max_output_chars,
            )
        return self._pool

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class QualityThresholds(ConfigurableResource):
    """Rates the asset checks hold each stage to: below ``*_warn`` is a warning, below ``*_error`` an error."""

    verification_rate_warn: float = Field(0.5, description="Kept / rows in, verify stage: warn below.")
    verification_rate_error: float = Field(0.2, description="Kept / rows in, verify stage: error below.")
    consistency_pass_rate_warn: float = Field(0.8, description="Consistent / checked traces: warn below.")
    consistency_pass_rate_error: float = Field(0.5, description="Consistent / checked traces: error below.")
    min_rows_for_rates: int = Field(
        20, description="Shards with fewer rows pass the rate checks (too few to judge)."
    )
    min_exported_rows: int = Field(
        0,
        ge=0,
        description="The export's blocking `min_exported_rows` check fails below this many rows (0: an empty "
        "export, e.g. a source without usable rows, is a normal outcome).",
    )


class ExportSettings(ConfigurableResource):
    """Where `cold_start_dataset` writes the dataset (a local folder, rewritten whole on each export)."""

    out_dir: str = Field(description="Export folder: README.md card, data/ shards, verl/, hf_dataset/.")
    rows_per_shard: int = Field(50_000, description="Rows per data/train-*.parquet shard.")
    verl_data_source: str = Field(
        "lighteval/MATH", description="verl rows' data_source (selects verl's scorer)."
    )
    tool_protocol: str = Field(
        "retool",
        description="How SFT rows write tool calls: `retool` (<code>/<interpreter> tags) or `hermes` (<tool_call> "
        "turns, `tool` turns, `tools` schema; what verl's ReTool recipe trains on). retool_data.tool_protocol.",
    )
    pretty_name: str = Field("ReTool cold-start traces", description="The dataset card's title.")

    @property
    def hf_dataset_dir(self) -> str:
        """The export's `save_to_disk` copy: what the training assets read."""
        from retool_data.export import HF_DATASET_DIR

        return str(Path(self.out_dir) / HF_DATASET_DIR)


class HubSettings(ConfigurableResource):
    """Publishing the export to the Hugging Face Hub (`published_dataset`)."""

    repo_id: str | None = Field(
        None, description="Dataset repo, e.g. my-org/retool-coldstart (None: not published)."
    )
    token: str | None = Field(None, description="Secret: EnvVar('HF_TOKEN').")
    private: bool = Field(True, description="Create the repo private.")
    endpoint: str | None = Field(None, description="Hub endpoint (a mirror or a test server).")


class TrainingSettings(ConfigurableResource):
    """Recipes and output folders of the training assets (`sft_model`, `rl_model`, `eval_report`, `itool_rounds`).

    Each phase runs its recipe (configs/*.yaml) with the dataset, model and output folder filled in by the graph;
    the overrides use the `retool-data train` syntax (``["--max_steps", "100"]``) and win over both."""

    runs_dir: str = Field(description="Folder holding sft_model/, rl_model/, eval_report/, itool/.")
    sft_recipe: str = Field("configs/sft_cpu_smoke.yaml", description="SFT recipe (SFTRunConfig YAML).")
    grpo_recipe: str = Field("configs/grpo_cpu_smoke.yaml", description="GRPO recipe (GRPORunConfig YAML).")
    eval_recipe: str = Field(
        "configs/eval_cpu_smoke.yaml", description="Evaluation recipe (EvalConfig YAML)."
    )
    itool_recipe: str = Field(
        "configs/itool_cpu_smoke.yaml", description="iTool recipe (IToolRunConfig YAML)."
    )
    fc_itool_recipe: str = Field(
        "configs/itool_fc_cpu_smoke.yaml",
        description="iTool on function calling (IToolRunConfig YAML, environment: function_calling).",
    )
    sft_overrides: list[str] = Field(default_factory=list, description="Extra SFT arguments.")
    grpo_overrides: list[str] = Field(default_factory=list, description="Extra GRPO arguments.")
    eval_overrides: list[str] = Field(default_factory=list, description="Extra evaluation arguments.")
    itool_overrides: list[str] = Field(default_factory=list, description="Extra iTool arguments.")
    fc_itool_overrides: list[str] = Field(
        default_factory=list, description="Extra arguments of the function-calling iTool recipe."
    )


def _env_list(value: str | None, default: list[str]) -> list[str]:
    return default if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _secret(env: Mapping[str, str], *names: str) -> Any:
    """`EnvVar` of the first variable that is set (its value is read when a run starts), else None."""
    return next((EnvVar(n) for n in names if n in env), None)


def _endpoint(cls: type[LLMEndpoint], role: str, env: Mapping[str, str]) -> LLMEndpoint:
    prefix = f"RETOOL_{role}_"
    fields: dict[str, Any] = {
        "endpoint": env.get(prefix + "ENDPOINT"),
        "model": env.get(prefix + "MODEL"),
        "api_key": _secret(env, prefix + "API_KEY"),
    }
    if prefix + "BACKEND" in env:
        fields["backend"] = env[prefix + "BACKEND"]
    elif fields["endpoint"] or (cls is RewriterLLM and env.get("RETOOL_LLM_ENDPOINT")):
        # An endpoint is configured: use it, as `retool-data rewrite` does. The judge costs R1 calls, so only
        # its own RETOOL_VERIFIER_ENDPOINT turns it on, never the shared RETOOL_LLM_ENDPOINT.
        fields["backend"] = "openai"
    for name, cast in (("CONCURRENCY", int), ("PRICE_IN_PER_MTOK", float), ("PRICE_OUT_PER_MTOK", float)):
        if prefix + name in env:
            fields[name.lower()] = cast(env[prefix + name])
    if cls is VerifierLLM and prefix + "JUDGE_ALL" in env:  # workers rebuild resources from the environment
        fields["judge_all"] = env[prefix + "JUDGE_ALL"].strip().lower() in ("1", "true", "yes")
    return cls(**{k: v for k, v in fields.items() if v is not None})


def _optional_int(value: str | None) -> int | None:
    """An int from the environment; empty, ``none`` or ``all`` mean None."""
    return None if value is None or value.strip().lower() in ("", "none", "all") else int(value)


def default_output_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("RETOOL_OUTPUT_DIR") or project_dir() / "outputs").resolve()


def resources_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resources, configured from ``RETOOL_*`` variables (docs/configuration.md); defaults otherwise."""
    env = os.environ if env is None else env
    out = default_output_dir(env)
    return {
        "io_manager": ParquetIOManager(base_dir=env.get("RETOOL_STORAGE_URL") or str(out / "assets")),
        "source": SourceSettings(
            source=env.get("RETOOL_SOURCE", "sample"),
            revision=env.get("RETOOL_SOURCE_REVISION"),
            shard_size=int(env.get("RETOOL_SHARD_SIZE", 1000)),
            responses_per_problem=_optional_int(env.get("RETOOL_RESPONSES_PER_PROBLEM", "1")),
            stream_to_disk=env.get("RETOOL_STREAM_SOURCE", "").lower() in ("1", "true", "yes"),
        ),
        "verifier_llm": _endpoint(VerifierLLM, "VERIFIER", env),
        "rewriter_llm": _endpoint(RewriterLLM, "REWRITER", env),
        "sandbox": SandboxResource(
            endpoints=_env_list(env.get("RETOOL_SANDBOX_ENDPOINTS"), []),
            token=_secret(env, "RETOOL_SANDBOX_TOKEN"),
            workers=int(env.get("RETOOL_SANDBOX_WORKERS", 2)),
            timeout_s=float(env.get("RETOOL_SANDBOX_TIMEOUT_S", 5.0)),
            memory_mb=int(env.get("RETOOL_SANDBOX_MEMORY_MB", 1024)),
        ),
        "filters": FilterSettings(
            benchmarks=_env_list(env.get("RETOOL_BENCHMARKS"), DEFAULT_BENCHMARKS),
            benchmarks_dir=env.get("RETOOL_BENCHMARKS_DIR") or None,  # unset or empty: the pinned snapshots
        ),
        "quality": QualityThresholds(),
        "export": ExportSettings(out_dir=env.get("RETOOL_EXPORT_DIR") or str(out / "cold_start_dataset")),
        "training": TrainingSettings(
            runs_dir=env.get("RETOOL_RUNS_DIR") or str(out / "training"),
            **{
                f"{k}_recipe": env[f"RETOOL_{k.upper()}_RECIPE"]
                for k in ("sft", "grpo", "eval", "itool", "fc_itool")
                if f"RETOOL_{k.upper()}_RECIPE" in env
            },  # fmt: skip
        ),
        "hub": HubSettings(
            repo_id=env.get("RETOOL_HUB_REPO"),
            token=_secret(env, "HF_TOKEN"),
            endpoint=env.get("HF_ENDPOINT"),
        ),
    }
