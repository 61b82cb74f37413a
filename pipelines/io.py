"""Parquet storage for every asset: dagster-polars' `PolarsParquetIOManager`, with three changes.

- Reading works with polars 2: dagster-polars 0.27 still passes ``rechunk``/``retries`` to `pl.scan_parquet`,
  which polars 2 removed, so files are scanned here with only the storage options. URLs polars cannot scan
  natively (anything but local files, S3, GCS, Azure, HTTP and hf://) are read through fsspec, so any fsspec
  filesystem works as a store.
- Local files are written atomically (temporary file, then rename): a run killed mid-write leaves the
  previous materialization intact instead of a truncated parquet file. Remote URLs (``s3://``, ``gs://``)
  are written by fsspec, whose object stores only make an object visible once the upload completes.
- An input annotated ``dict[str, DataFrame]`` gets a dict even when the upstream has a single partition
  (the base class returns the bare frame then, so a one-shard source would break the combining assets), and an
  empty dict when it has none (a source without usable rows).
- Output metadata is the row count and the column schema only. The upstream default also stores the first
  rows and ``describe()`` of every column: megabytes of reasoning text per materialization, and a full
  scan of every column on large frames. The assets add their own previews of the columns people read.

Paths: ``<base_dir>/<asset>.parquet``, and ``<base_dir>/<asset>/<partition>.parquet`` for partitioned
assets. ``base_dir`` is a local folder or any fsspec URL; credentials for remote stores come from the usual
environment (e.g. ``AWS_ACCESS_KEY_ID``) or ``storage_options``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import polars as pl
from dagster import InputContext, MetadataValue, OutputContext
from dagster._core.storage.upath_io_manager import is_dict_type
from dagster_polars import PolarsParquetIOManager
from dagster_polars.io_managers.parquet import _remap_fsspec_storage_options
from dagster_polars.io_managers.utils import get_metadata_schema

if TYPE_CHECKING:
    from upath import UPath


# protocols polars (object_store) scans itself; others go through the path's fsspec filesystem
POLARS_NATIVE = {
    "",
    "file",
    "local",
    "s3",
    "s3a",
    "gs",
    "gcs",
    "gcp",
    "az",
    "azure",
    "abfs",
    "abfss",
    "adl",
    "http",
    "https",
    "hf",
}


def _protocol(path: UPath) -> str:
    return getattr(path, "protocol", "") or ""


def _is_local(path: UPath) -> bool:
    return _protocol(path) in ("", "file", "local")


class ParquetIOManager(PolarsParquetIOManager):
    """`PolarsParquetIOManager` that reads under polars 2, writes local files atomically, keeps metadata lean."""

    def scan_df_from_path(
        self, path: UPath, context: InputContext, partition_key: str | None = None
    ) -> pl.LazyFrame:
        if _protocol(path) not in POLARS_NATIVE:
            with path.open("rb") as fh:
                return pl.read_parquet(fh).lazy()
        options = _remap_fsspec_storage_options(self.storage_options) if not _is_local(path) else None
        return pl.scan_parquet(str(path), storage_options=options)

    def load_input(self, context: InputContext) -> Any:
        if (
            context.has_asset_key
            and context.has_asset_partitions
            and not context.asset_partition_keys
            and is_dict_type(context.dagster_type.typing_type)
        ):
            return {}  # a source with no usable rows has no shards: the combining assets get none, not None
        return super().load_input(context)

    def load_partitions(self, context: InputContext) -> Any:
        loaded = super().load_partitions(context)
        keys = context.asset_partition_keys
        if len(keys) == 1 and is_dict_type(context.dagster_type.typing_type):
            return {keys[0]: loaded}
        return loaded

    def write_df_to_path(self, context: OutputContext, df: pl.DataFrame, path: UPath) -> None:
        if isinstance(df, pl.LazyFrame):  # an output typed as a frame but produced lazily (a streamed source)
            self.sink_df_to_path(context, df, path)
        elif _is_local(path):
            _write_atomically(context, path, df.write_parquet)
        else:
            super().write_df_to_path(context, df, path)

    def sink_df_to_path(self, context: OutputContext, df: pl.LazyFrame, path: UPath) -> None:
        """A lazy frame (a streamed source) is sunk in polars' streaming engine: bounded memory, and, for local
        files, the same atomic rename as `write_df_to_path`."""
        if _is_local(path):
            _write_atomically(context, path, df.sink_parquet)
        else:
            super().sink_df_to_path(context, df, path)

    def get_metadata(self, context: OutputContext, obj: Any) -> dict[str, MetadataValue]:
        if obj is None:
            return {"missing": MetadataValue.bool(True)}
        metadata: dict[str, Any] = {"dagster/column_schema": get_metadata_schema(obj)}
        if isinstance(obj, pl.DataFrame):
            metadata["dagster/row_count"] = MetadataValue.int(obj.height)
        return metadata


def _write_atomically(context: OutputContext, path: UPath, write: Any) -> None:
    """``write(tmp, **parquet options)`` into a temporary file beside ``path``, then rename it into place."""
    meta = context.definition_metadata or {}
    target = os.fspath(path.path if hasattr(path, "path") else path)
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp-{os.getpid()}")
    try:
        write(
            tmp,
            compression=meta.get("compression", "zstd"),
            statistics=meta.get("statistics", True),
            row_group_size=meta.get("row_group_size"),
        )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
