"""What every stage asset does around its stage function: pick its shard, emit kept + rejects with the
standard metadata, and evaluate its checks. Orchestration only; the stage itself lives in `retool_data`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import polars as pl
from dagster import AssetCheckKey, AssetCheckResult, AssetExecutionContext, AssetKey, Output

from pipelines import checks, metadata
from pipelines.partitions import SHARD_COLUMN

TRACE_PREVIEW = ("id", "problem", "num_code_blocks", "trace")


def shard_rows(upstream: pl.LazyFrame | pl.DataFrame, context: AssetExecutionContext) -> pl.DataFrame:
    """This run's shard of an upstream frame (a filter pushed down to the parquet scan)."""
    frame = upstream.lazy().filter(pl.col(SHARD_COLUMN) == context.partition_key)
    return frame.collect()


def selected_only(context: AssetExecutionContext, events: Iterable[Any]) -> Iterator[Any]:
    """The events of a multi-asset (``can_subset=True``) that this run selected: materializing one asset of a
    stage's pair (e.g. `deduplicated_traces` without `dedup_rejects`, from the UI or `dagster asset materialize`)
    computes the stage and stores only that output and its checks."""
    outputs = context.op_execution_context.selected_output_names
    check_keys = context.selected_asset_check_keys
    for event in events:
        if isinstance(event, Output) and event.output_name not in outputs:
            continue
        if isinstance(event, AssetCheckResult):
            key = AssetCheckKey(AssetKey.from_coercible(event.asset_key), event.check_name)
            if key not in check_keys:
                continue
        yield event


def emit_stage(
    context: AssetExecutionContext,
    asset: str,
    rejects_asset: str,
    rows_in: int,
    kept: pl.DataFrame,
    rejected: pl.DataFrame,
    *,
    required: Mapping[str, pl.DataType],
    extra_metadata: Mapping[str, Any] | None = None,
    rate_checks: tuple[AssetCheckResult, ...] = (),
) -> Iterator[Any]:
    """Outputs (kept, rejects) with the standard metadata, then the stage's checks: those the run selected."""
    events = [
        Output(
            kept,
            output_name=asset,
            metadata={**metadata.stage_metadata(rows_in, kept, rejected), **(extra_metadata or {})},
        ),
        Output(
            rejected,
            output_name=rejects_asset,
            metadata={"rejects_by_reason": metadata.MetadataValue.json(metadata.reject_counts(rejected))},
        ),
        checks.schema_result(asset, kept, required),
        checks.conservation_result(asset, rows_in, kept.height, rejected.height),
        *rate_checks,
    ]
    yield from selected_only(context, events)


def concat_shards(
    frames: Mapping[str, pl.DataFrame], schema: Mapping[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """All shards of a partitioned asset, in shard order (columns missing in some shard filled with nulls).

    No shards (a source without usable rows) gives an empty frame with ``schema``'s columns, so the stages
    after it see a normal, empty input rather than a frame without columns."""
    ordered = [frames[k] for k in sorted(frames)]
    if not ordered:
        return pl.DataFrame(schema=dict(schema or {}))
    return pl.concat(ordered, how="diagonal_relaxed")
