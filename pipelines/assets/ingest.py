"""`source_problems`: the source read into the problem schema and cut into fixed-size shards."""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetOut, MetadataValue, Output, multi_asset

from pipelines import checks, metadata
from pipelines.assets.stage_io import selected_only
from pipelines.partitions import SHARD_COLUMN, assign_shards, shard_keys, sync_shard_partitions
from pipelines.resources import SourceSettings
from retool_data.schema import PROBLEM_SCHEMA, REJECT_SCHEMA, empty_frame

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
    yield from selected_only(context, _source_problems(context, source))


def _source_problems(context: AssetExecutionContext, source: SourceSettings) -> Iterator[Any]:
    if source.stream_to_disk:
        yield from _streamed_source_problems(context, source)
        return
    result = source.load()
    if result.kept.height == 0:  # a normal outcome: no shards, and the run ends with an empty export
        context.log.warning(f"source {source.source!r} yielded no usable rows: {result.reject_counts()}")
    kept = assign_shards(result.kept, source.shard_size)
    rows_in = int(result.stats["rows_in"])  # counted by the reader from its input, not from these outputs
    yield from _outputs(context, source, kept, result.rejected, rows_in, result.stats)


def _streamed_source_problems(context: AssetExecutionContext, source: SourceSettings) -> Iterator[Any]:
    """The same outputs from shard files written batch by batch: the kept rows go to the IO manager as a lazy
    scan (sunk to parquet in streaming mode), so no step holds the whole source in memory."""
    with tempfile.TemporaryDirectory(prefix="retool-ingest-") as staging:
        streamed = source.stream(staging)
        if streamed.kept == 0:
            context.log.warning(f"source {source.source!r} yielded no usable rows: {streamed.reject_counts}")
        # dagster stores each output as it is yielded, so the staged files outlive their reads
        kept = (
            streamed.scan()
            if streamed.kept
            else pl.DataFrame(schema={**PROBLEM_SCHEMA, SHARD_COLUMN: pl.String()})
        )
        rejects = list(Path(staging, "rejects").glob("*.parquet"))
        rejected = pl.read_parquet(rejects) if streamed.rejected else empty_frame(REJECT_SCHEMA)
        yield from _outputs(
            context, source, kept, rejected, streamed.rows_in, streamed.stats, keys=streamed.shards
        )


def _outputs(
    context: AssetExecutionContext,
    source: SourceSettings,
    kept: pl.DataFrame | pl.LazyFrame,
    rejected: pl.DataFrame,
    rows_in: int,
    stats: dict[str, Any],
    keys: list[str] | None = None,
) -> Iterator[Any]:
    keys = shard_keys(kept) if keys is None else keys
    added, removed = sync_shard_partitions(context.instance, keys)
    kept_rows = int(stats.get("kept", 0)) if isinstance(kept, pl.LazyFrame) else kept.height
    problems = int(stats.get("problems", kept_rows))
    head = kept.head(metadata.PREVIEW_ROWS).collect() if isinstance(kept, pl.LazyFrame) else kept
    context.log.info(
        f"{kept_rows} rows ({problems} problems) in {len(keys)} shard(s); partitions +{len(added)} -{len(removed)}"
    )
    yield Output(
        kept,
        output_name="source_problems",
        metadata={
            **metadata.stage_counts(rows_in, kept_rows, rejected),
            "problems": MetadataValue.int(problems),
            "shards": MetadataValue.int(len(keys)),
            "shard_size": MetadataValue.int(source.shard_size),
            "streamed_to_disk": MetadataValue.bool(isinstance(kept, pl.LazyFrame)),
            "source": metadata.compact_json({k: v for k, v in stats.items() if k != "reject_counts"}),
            "preview": metadata.preview_table(head, PROBLEM_PREVIEW),
        },
    )
    yield Output(
        rejected,
        output_name="ingest_rejects",
        metadata={"rejects_by_reason": MetadataValue.json(metadata.reject_counts(rejected))},
    )
    yield checks.schema_result("source_problems", head, {**PROBLEM_SCHEMA, SHARD_COLUMN: pl.String()})
    yield checks.conservation_result("source_problems", rows_in, kept_rows, rejected.height)
