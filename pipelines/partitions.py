"""Shards: fixed-size slices of the ingested source, as Dagster dynamic partitions.

`source_problems` reads the whole source once, gives every kept row a ``shard`` column (the ``i``-th problem, in
order of first appearance, goes to ``shard-{i // shard_size:05d}`` with all its responses, so verification can
pick each problem's first verified response inside one shard) and registers exactly those keys as partitions of
`SOURCE_SHARDS`, removing keys the new plan no longer has. The LLM and sandbox stages run per shard
(one run per partition), so a failed shard is re-run alone; the filters after them combine all shards.

Why dynamic partitions: the number of shards is only known once the source has been read (58 sample rows
make one shard; OpenThoughts-114k's math rows make ~90 at the default size), and a fixed-size shard keeps a
failure, a retry and an LLM bill bounded. The shard is stored in the data itself, so the stages never need
to know the shard size, and changing it only takes effect at the next ingest.
"""

from __future__ import annotations

import polars as pl
from dagster import DagsterInstance, DynamicPartitionsDefinition

SHARDS_NAME = "source_shards"
SHARD_COLUMN = "shard"
SOURCE_SHARDS = DynamicPartitionsDefinition(name=SHARDS_NAME)


def shard_key(index: int) -> str:
    return f"shard-{index:05d}"


def assign_shards(df: pl.DataFrame, shard_size: int) -> pl.DataFrame:
    """``df`` with a ``shard`` column: consecutive blocks of ``shard_size`` problems (rows grouped by
    ``problem_id``, else ``id``), numbered in order of each problem's first row; a problem's responses share one."""
    from retool_data.schema import problem_keys

    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    key, row = "__problem", "__row"
    first = pl.col(row).min().over(key)  # the position of each row's problem's first row
    index = (first.rank("dense").cast(pl.Int64) - 1) // shard_size
    shard = pl.format("shard-{}", index.cast(pl.String).str.zfill(5)).alias(SHARD_COLUMN)
    numbered = df.with_columns(problem_keys(df).alias(key)).with_row_index(row)
    return numbered.with_columns(shard).drop(key, row)


def shard_keys(df: pl.DataFrame) -> list[str]:
    return sorted(df[SHARD_COLUMN].unique().to_list()) if df.height else []


def sync_shard_partitions(instance: DagsterInstance, keys: list[str]) -> tuple[list[str], list[str]]:
    """Make the registered shard partitions exactly ``keys``; return (added, removed)."""
    existing = set(instance.get_dynamic_partitions(SHARDS_NAME))
    added = [k for k in keys if k not in existing]
    removed = sorted(existing - set(keys))
    if added:
        instance.add_dynamic_partitions(SHARDS_NAME, added)
    for key in removed:
        instance.delete_dynamic_partition(SHARDS_NAME, key)
    return added, removed
