"""`rewritten_traces`: each shard's verified reasoning rewritten into code-interleaved ReTool traces."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetOut, MetadataValue, multi_asset

from pipelines import checks, metadata
from pipelines.assets.stage_io import TRACE_PREVIEW, emit_stage
from pipelines.partitions import SOURCE_SHARDS
from pipelines.resources import RewriterLLM, SandboxResource


@multi_asset(
    can_subset=True,  # one asset of the pair alone (pipelines/assets/stage_io.selected_only)
    outs={
        "rewritten_traces": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="rewrite",
            description="Verified problems with R1's reasoning rewritten as a ReTool trace (text, <code>, "
            "<interpreter>, <answer>) by the rewriter LLM (the paper's cold-start template), or, with no "
            "endpoint, by the heuristic rewriter whose code runs in the sandbox. Adds REWRITE_COLUMNS.",
            kinds={"polars", "openai"},
        ),
        "rewrite_rejects": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="quarantine",
            description="Problems the rewrite dropped (no_code, unparseable_reply, invalid_trace, rewrite_error, ...).",
            kinds={"polars"},
        ),
    },
    partitions_def=SOURCE_SHARDS,
    pool="llm",
    check_specs=checks.stage_check_specs("rewritten_traces", partitions_def=SOURCE_SHARDS),
)
def rewritten_traces(
    context: AssetExecutionContext,
    verified_problems: pl.DataFrame,
    rewriter_llm: RewriterLLM,
    sandbox: SandboxResource,
) -> Iterator[Any]:
    from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, VERIFY_COLUMNS
    from retool_data.trace_quality import score_trace, summarize

    chat = rewriter_llm.chat_backend()
    if chat is None:
        from retool_data.stages.heuristic_rewrite import heuristic_rewrite

        result = heuristic_rewrite(verified_problems, sandbox.open(context.partition_key))
    else:
        from retool_data.stages.rewrite import DEFAULT_REWRITE_PARAMS, rewrite

        result = rewrite(verified_problems, chat, params=rewriter_llm.sampling_params(DEFAULT_REWRITE_PARAMS))
    yield from emit_stage(
        context,
        "rewritten_traces",
        "rewrite_rejects",
        verified_problems.height,
        result.kept,
        result.rejected,
        required={**PROBLEM_SCHEMA, **VERIFY_COLUMNS, **REWRITE_COLUMNS},
        extra_metadata={
            **metadata.usage_metadata(
                chat.usage.as_dict() if chat else None, chat.name if chat else "heuristic"
            ),
            "status": MetadataValue.json(result.stats.get("status", {})),
            "code_blocks": MetadataValue.int(int(result.kept["num_code_blocks"].sum() or 0)),
            "quality": metadata.compact_json(
                summarize(score_trace(t) for t in result.kept["trace"].to_list())
            ),
            **metadata.trace_plots(result.kept),
            "preview": metadata.preview_table(result.kept, TRACE_PREVIEW),
        },
    )
