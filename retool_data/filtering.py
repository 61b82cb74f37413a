"""The curation filters as one configurable chain: dedup -> decontaminate -> filter -> consistency -> quality.

Cheap rules run first so the sandbox only executes traces that could still be kept. Every stage goes through a
`Quarantine`, so the chain ends with the kept rows, every rejected row with its stage and reason, and a per-stage
summary; ``rows_in == kept + rejected`` is checked per stage and for the whole chain. The last stage scores
every kept trace's tool use (`stages.quality`): it adds the quality columns, and drops rows only when
``min_tool_use_score`` is set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from retool_data.quarantine import Quarantine
from retool_data.stages.consistency import consistency_stage
from retool_data.stages.decontam import DEFAULT_LAYERS, Decontaminator, decontaminate
from retool_data.stages.decontam_semantic import DEFAULT_MODEL
from retool_data.stages.dedup import dedup
from retool_data.stages.filters import DEFAULT_FATAL_CODES, TraceFilter
from retool_data.stages.quality import score_traces


@dataclass
class FilterConfig:
    """Every threshold of the chain; ``None`` switches a rule off (datatrove style)."""

    near_dup_threshold: float | None = 0.75
    benchmarks: tuple[str, ...] = ("aime24", "aime25", "amc23", "math500")
    decontam_ngram: int = 6
    decontam_min_containment: float | None = 0.5
    decontam_min_ratio: float | None = 95.0
    decontam_layers: tuple[str, ...] = DEFAULT_LAYERS  # + "judge" when a judge backend is given
    decontam_min_cosine: float | None = 0.75
    decontam_candidate_tfidf: float = 0.55
    decontam_judge_min_cosine: float = 0.65
    decontam_template_policy: str = "remove"
    decontam_min_template_words: int = 8
    decontam_embedding_model: str = DEFAULT_MODEL
    decontam_embedding_dtype: str = "auto"  # bfloat16 where the CPU multiplies it natively, else float32
    decontam_workers: int = 2  # processes for a large batch (decontam_parallel)
    fatal_codes: tuple[str, ...] | None = tuple(sorted(DEFAULT_FATAL_CODES))
    min_code_blocks: int | None = 1
    max_code_blocks: int | None = None
    min_tokens: int | None = None
    max_tokens: int | None = 16384
    tokenizer: str = "regex"
    check_answer: bool = True
    consistency: bool = True
    repair: bool = False
    concurrency: int = 32
    min_tool_use_score: float | None = None  # quarantine traces scoring below it (low_tool_use_score)
    sandbox: dict[str, Any] = field(
        default_factory=lambda: {"workers": 2, "timeout_s": 5.0, "memory_mb": 1024, "max_output_chars": 400}
    )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def decontaminator(
        self,
        benchmarks: dict[str, list[str]],
        answers: dict[str, list[str | None]] | None = None,
        judge: Any = None,
    ) -> Decontaminator:
        """The decontamination index these settings describe (the judge layer only with a ``judge`` backend)."""
        embedder = None
        if "semantic" in self.decontam_layers and self.decontam_min_cosine is not None:
            from retool_data.stages.decontam_semantic import Embedder

            embedder = Embedder(self.decontam_embedding_model, dtype=self.decontam_embedding_dtype)
        return Decontaminator(
            benchmarks,
            answers=answers,
            layers=tuple(self.decontam_layers) + (("judge",) if judge is not None else ()),
            ngram=self.decontam_ngram,
            min_containment=self.decontam_min_containment,
            min_ratio=self.decontam_min_ratio,
            min_cosine=self.decontam_min_cosine,
            candidate_tfidf=self.decontam_candidate_tfidf,
            judge=judge,
            judge_min_cosine=self.decontam_judge_min_cosine,
            template_policy=self.decontam_template_policy,
            min_template_words=self.decontam_min_template_words,
            embedder=embedder,
            workers=self.decontam_workers,
        )


def run_filters(
    df: pl.DataFrame,
    config: FilterConfig,
    *,
    benchmarks: dict[str, list[str]] | None = None,
    sandbox: Any = None,
    dedup_enabled: bool = True,
    benchmark_answers: dict[str, list[str | None]] | None = None,
    judge: Any = None,
) -> tuple[pl.DataFrame, Quarantine]:
    """Apply the chain; `benchmarks` (name -> problems) enables decontamination (answer-aware with
    `benchmark_answers`, with the LLM judge layer when `judge` is a chat backend), `sandbox` the consistency
    check."""
    stages: list[tuple[str, Any]] = []
    if dedup_enabled:
        stages.append(("dedup", lambda d: dedup(d, near_threshold=config.near_dup_threshold)))
    if benchmarks:
        index = config.decontaminator(benchmarks, benchmark_answers, judge)
        stages.append(("decontaminate", lambda d: decontaminate(d, index)))
    trace_filter = TraceFilter(
        fatal_codes=config.fatal_codes,
        min_code_blocks=config.min_code_blocks,
        max_code_blocks=config.max_code_blocks,
        min_tokens=config.min_tokens,
        max_tokens=config.max_tokens,
        check_answer=config.check_answer,
        tokenizer=config.tokenizer,
    )
    stages.append(("filter", trace_filter))
    if config.consistency:
        if sandbox is None:
            raise ValueError("the consistency check needs a sandbox (or set consistency=False)")
        stages.append(
            (
                "consistency",
                lambda d: consistency_stage(d, sandbox, repair=config.repair, concurrency=config.concurrency),
            )
        )
    stages.append(("quality", lambda d: score_traces(d, min_score=config.min_tool_use_score)))
    quarantine = Quarantine()
    kept = quarantine.run(df, stages)
    quarantine.check(df.height, kept.height)
    return kept, quarantine
