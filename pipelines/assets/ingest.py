"""`source_problems`: the source read into the problem schema and cut into fixed-size shards."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetOut, MetadataValue, Output, multi_asset

from pipelines import checks, metadata
from pipelines.assets.stage_io import selected_only
from pipelines.partitions import SHARD_COLUMN, assign_shards, shard_keys, sync_shard_partitions
from pipelines.resources import SourceSettings

PROBLEM_PREVIEW = ("id", "source", "problem", "gold_answer")


@multi_asset(
    can_subset=True,  # one asset of the pair alone (pipelines/assets/stage_io.selected_only)
    outs={
        "source_problems": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="ingest",
            description="Problems with teacher reasoning (PROBLEM_SCHEMA) read from the configured source, each "
            "row assigned to a fixed-size shard (`shard`); registers the shards as partitions of the stages.",
            kinds={"polars", "huggingface"},
            # small row groups (with statistics) let each shard's run read back only its own rows
            metadata={"row_group_size": 1000},
        ),
        "ingest_rejects": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="quarantine",
            description="Source rows quarantined on ingestion (REJECT_SCHEMA, stage `ingest`), with the reason.",
            kinds={"polars"},
        ),
    },
    check_specs=checks.stage_check_specs("source_problems"),
)
def source_problems(context: AssetExecutionContext, source: SourceSettings) -> Iterator[Any]:
    from retool_data.schema import PROBLEM_SCHEMA

    result = source.load()
    if result.kept.height == 0:  # a normal outcome: no shards, and the run ends with an empty export
        context.log.warning(f"source {source.source!r} yielded no usable rows: {result.reject_counts()}")
    kept = assign_shards(result.kept, source.shard_size)
    keys = shard_keys(kept)
    added, removed = sync_shard_partitions(context.instance, keys)
    problems = int(result.stats.get("problems", kept.height))
    context.log.info(
        f"{kept.height} rows ({problems} problems) in {len(keys)} shard(s); partitions +{len(added)} -{len(removed)}"
    )
    rows_in = int(result.stats["rows_in"])  # counted by the reader from its input, not from these outputs
    events = [
        Output(
            kept,
            output_name="source_problems",
            metadata={
                **metadata.stage_metadata(rows_in, kept, result.rejected),
                "problems": MetadataValue.int(problems),
                "shards": MetadataValue.int(len(keys)),
                "shard_size": MetadataValue.int(source.shard_size),
                "source": metadata.compact_json(
                    {k: v for k, v in result.stats.items() if k != "reject_counts"}
                ),
                "preview": metadata.preview_table(kept, PROBLEM_PREVIEW),
            },
        ),
        Output(
            result.rejected,
            output_name="ingest_rejects",
            metadata={"rejects_by_reason": MetadataValue.json(metadata.reject_counts(result.rejected))},
        ),
        checks.schema_result("source_problems", kept, {**PROBLEM_SCHEMA, SHARD_COLUMN: pl.String()}),
        checks.conservation_result("source_problems", rows_in, kept.height, result.rejected.height),
    ]
    yield from selected_only(context, events)
