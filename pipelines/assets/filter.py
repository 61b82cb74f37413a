"""The filters: per-shard format + execution consistency, then dedup and decontamination over all shards."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetOut, Failure, MetadataValue, multi_asset

from pipelines import checks, metadata
from pipelines.assets.stage_io import TRACE_PREVIEW, concat_shards, emit_stage
from pipelines.partitions import SHARD_COLUMN, SOURCE_SHARDS
from pipelines.resources import FilterSettings, QualityThresholds, SandboxResource, VerifierLLM


def _required() -> dict[str, pl.DataType]:
    from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, VERIFY_COLUMNS

    return {**PROBLEM_SCHEMA, **VERIFY_COLUMNS, **REWRITE_COLUMNS}


@multi_asset(
    can_subset=True,  # one asset of the pair alone (pipelines/assets/stage_io.selected_only)
    outs={
        "consistent_traces": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="filter",
            description="Traces that pass the format, tool-use, length and answer rules, and whose code blocks, "
            "run in order in one sandbox session, print what the trace says they print; each scored for how its "
            "code does the work (tool_use_score, useful_block_share, block_labels).",
            kinds={"polars", "python"},
        ),
        "consistency_rejects": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="quarantine",
            description="Traces dropped by the rules (stage `filter`), the execution check (stage `consistency`) or "
            "the tool-use score minimum (stage `quality`, when set).",
            kinds={"polars"},
        ),
    },
    partitions_def=SOURCE_SHARDS,
    pool="sandbox",
    check_specs=checks.stage_check_specs(
        "consistent_traces", "consistency_pass_rate", partitions_def=SOURCE_SHARDS
    ),
)
def consistent_traces(
    context: AssetExecutionContext,
    rewritten_traces: pl.DataFrame,
    filters: FilterSettings,
    sandbox: SandboxResource,
    quality: QualityThresholds,
) -> Iterator[Any]:
    from retool_data.stages.consistency import consistency_stage
    from retool_data.stages.quality import score_traces

    ruled = filters.trace_filter()(rewritten_traces)
    box = sandbox.open(context.partition_key)
    checked = consistency_stage(ruled.kept, box, repair=filters.repair, concurrency=filters.concurrency)
    scored = score_traces(checked.kept, min_score=filters.min_tool_use_score)
    rejected = pl.concat([ruled.rejected, checked.rejected, scored.rejected])
    rate = checks.rate_result(
        "consistent_traces",
        "consistency_pass_rate",
        checked.kept.height,
        ruled.kept.height,
        quality.consistency_pass_rate_warn,
        quality.consistency_pass_rate_error,
        quality.min_rows_for_rates,
    )
    yield from emit_stage(
        context,
        "consistent_traces",
        "consistency_rejects",
        rewritten_traces.height,
        scored.kept,
        rejected,
        required=_required(),
        extra_metadata={
            "checked_in_sandbox": MetadataValue.int(ruled.kept.height),
            "quality": metadata.compact_json(scored.stats["quality"]),
            **metadata.trace_plots(scored.kept),
            "preview": metadata.preview_table(scored.kept, TRACE_PREVIEW),
        },
        rate_checks=(rate,),
    )


def stale_shards(traces: pl.DataFrame, source_problems: pl.LazyFrame) -> list[str]:
    """Shards holding rows that are not in that shard of the current source: computed from an older ingest."""
    if traces.height == 0:
        return []
    current = source_problems.select("id", SHARD_COLUMN).collect()
    orphans = traces.select("id", SHARD_COLUMN).join(current, on=["id", SHARD_COLUMN], how="anti")
    return sorted(orphans[SHARD_COLUMN].unique().to_list())


@multi_asset(
    can_subset=True,  # one asset of the pair alone (pipelines/assets/stage_io.selected_only)
    outs={
        "deduplicated_traces": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="filter",
            description="All shards combined, exact and near-duplicate problems (MinHash/LSH) collapsed to the "
            "best row of each cluster.",
            kinds={"polars"},
        ),
        "dedup_rejects": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="quarantine",
            description="Duplicates dropped (duplicate_exact, duplicate_near).",
            kinds={"polars"},
        ),
    },
    check_specs=checks.stage_check_specs("deduplicated_traces"),
)
def deduplicated_traces(
    context: AssetExecutionContext,
    consistent_traces: dict[str, pl.DataFrame],
    source_problems: pl.LazyFrame,
    filters: FilterSettings,
) -> Iterator[Any]:
    from retool_data.stages.dedup import dedup

    traces = concat_shards(consistent_traces, {**_required(), SHARD_COLUMN: pl.String()})
    stale = stale_shards(traces, source_problems)
    if stale:
        raise Failure(
            f"shards {', '.join(stale)} of consistent_traces were computed from an older source_problems: "
            "re-materialize them (or run `retool-data run --resume`) before combining"
        )
    result = dedup(traces, near_threshold=filters.near_dup_threshold) if traces.height else None
    kept = result.kept if result else traces
    rejected = result.rejected if result else _no_rejects()
    yield from emit_stage(
        context,
        "deduplicated_traces",
        "dedup_rejects",
        traces.height,
        kept,
        rejected,
        required=_required(),
        extra_metadata={"shards_combined": MetadataValue.int(len(consistent_traces))},
    )


@multi_asset(
    can_subset=True,  # one asset of the pair alone (pipelines/assets/stage_io.selected_only)
    outs={
        "decontaminated_traces": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="filter",
            description="Traces whose problem restates no benchmark item (AIME, AMC, MATH-500 by default): "
            "exact, n-gram, fuzzy and embedding layers (optionally an LLM judge), answer-aware; kept rows "
            "carry their best score and nearest item.",
            kinds={"polars"},
        ),
        "decontam_rejects": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="quarantine",
            description="Problems that copy a benchmark item (benchmark_contamination) or, by policy, reuse its "
            "template with other numbers (template_variant); the row records item, layer and scores.",
            kinds={"polars"},
        ),
    },
    check_specs=checks.stage_check_specs("decontaminated_traces"),
)
def decontaminated_traces(
    context: AssetExecutionContext,
    deduplicated_traces: pl.DataFrame,
    filters: FilterSettings,
    verifier_llm: VerifierLLM,
) -> Iterator[Any]:
    from retool_data.stages.decontam import DECONTAM_COLUMNS, decontaminate

    sets = filters.load_benchmark_sets()
    judge = verifier_llm.chat_backend() if filters.decontam_judge else None
    if filters.decontam_judge and judge is None:
        raise Failure("decontam_judge is on but verifier_llm has no endpoint: set RETOOL_VERIFIER_ENDPOINT")
    result = decontaminate(deduplicated_traces, filters.decontaminator(sets, judge))
    config = result.stats["config"]
    yield from emit_stage(
        context,
        "decontaminated_traces",
        "decontam_rejects",
        deduplicated_traces.height,
        result.kept,
        result.rejected,
        required={**_required(), **DECONTAM_COLUMNS},
        extra_metadata={
            "benchmark_items": MetadataValue.json({k: len(s.items) for k, s in sets.items()}),
            # name, source (snapshot / local / hub), origin, rows, sha256: the run summary and the card show it
            "benchmarks": MetadataValue.json([s.provenance() for s in sets.values()]),
            "decontamination": MetadataValue.json(config),
            "decontam_stats": metadata.compact_json({k: v for k, v in result.stats.items() if k != "config"}),
            "plot/decontam_scores": metadata.decontam_scores_plot(result.kept, result.rejected, config),
            "closest_kept_rows": metadata.closest_kept_table(result.kept),
            **(metadata.usage_metadata(judge.usage.as_dict(), judge.name) if judge is not None else {}),
        },
    )


def _no_rejects() -> pl.DataFrame:
    from retool_data.schema import REJECT_SCHEMA, empty_frame

    return empty_frame(REJECT_SCHEMA)
