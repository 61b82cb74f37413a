"""The parquet IO manager: local folders (atomic writes) and fsspec URLs, partitions, polars 2 reads."""

import dagster as dg
import polars as pl
import pytest

from pipelines.io import ParquetIOManager

SHARDS = dg.StaticPartitionsDefinition(["shard-00000", "shard-00001"])


@dg.asset(partitions_def=SHARDS)
def part(context: dg.AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"shard": [context.partition_key] * 2, "x": [1, 2]})


@dg.asset
def combined(part: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return pl.concat([part[k] for k in sorted(part)])


@dg.asset(partitions_def=SHARDS)
def lazy_reader(context: dg.AssetExecutionContext, combined: pl.LazyFrame) -> pl.DataFrame:
    # how the shard stages read source_problems: a filter pushed down into the parquet scan
    return combined.filter(pl.col("shard") == context.partition_key).collect()


@pytest.mark.parametrize("url", ["local", "memory://retool-io-test"])
def test_round_trip_with_partitions(tmp_path, url):
    base = str(tmp_path / "store") if url == "local" else url
    resources = {"io_manager": ParquetIOManager(base_dir=base)}
    instance = dg.DagsterInstance.ephemeral()
    for key in SHARDS.get_partition_keys():
        assert dg.materialize([part], partition_key=key, resources=resources, instance=instance).success
    result = dg.materialize([part, combined], selection=[combined], resources=resources, instance=instance)
    assert result.output_for_node("combined")["shard"].to_list() == ["shard-00000"] * 2 + ["shard-00001"] * 2
    materialization = result.get_asset_materialization_events()[0].materialization
    assert materialization.metadata["dagster/row_count"].value == 4
    assert set(materialization.metadata) >= {"dagster/column_schema", "path"}
    if url == "local":
        files = sorted(p.relative_to(tmp_path / "store").as_posix() for p in (tmp_path / "store").rglob("*"))
        assert files == ["combined.parquet", "part", "part/shard-00000.parquet", "part/shard-00001.parquet"]


def test_a_single_partition_still_loads_as_a_dict(tmp_path):
    one = dg.StaticPartitionsDefinition(["shard-00000"])

    @dg.asset(partitions_def=one, name="part")
    def single(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return pl.DataFrame({"x": [1]})

    resources = {"io_manager": ParquetIOManager(base_dir=str(tmp_path))}
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        [single], partition_key="shard-00000", resources=resources, instance=instance
    ).success
    result = dg.materialize([single, combined], selection=[combined], resources=resources, instance=instance)
    assert result.output_for_node("combined")["x"].to_list() == [1]


def test_lazy_inputs_scan_under_polars_2(tmp_path):
    resources = {"io_manager": ParquetIOManager(base_dir=str(tmp_path))}
    instance = dg.DagsterInstance.ephemeral()
    for key in SHARDS.get_partition_keys():
        dg.materialize([part], partition_key=key, resources=resources, instance=instance)
    dg.materialize([part, combined], selection=[combined], resources=resources, instance=instance)
    result = dg.materialize(
        [part, combined, lazy_reader],
        selection=[lazy_reader],
        resources=resources,
        instance=instance,
        partition_key="shard-00001",
    )
    assert result.output_for_node("lazy_reader")["shard"].to_list() == ["shard-00001"] * 2


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    resources = {"io_manager": ParquetIOManager(base_dir=str(tmp_path))}

    @dg.asset(name="table")
    def good() -> pl.DataFrame:
        return pl.DataFrame({"x": [1, 2, 3]})

    assert dg.materialize([good], resources=resources).success
    before = (tmp_path / "table.parquet").read_bytes()

    def crash(self, *args, **kwargs):  # the disk fills up mid-write
        with open(args[0], "wb") as fh:
            fh.write(b"PAR1 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash)
    assert not dg.materialize([good], resources=resources, raise_on_error=False).success
    assert (tmp_path / "table.parquet").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]  # the partial temporary is gone
