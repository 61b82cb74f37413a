"""`source_problems` with `stream_to_disk` (issue 19, item 5): the asset the stages read is the same rows, shards,
partitions and quarantine as the in-memory ingest, written from batch files rather than from one frame."""

import dagster as dg
import polars as pl

from pipelines.definitions import build_definitions
from pipelines.resources import resources_from_env


def _ingest(tmp_path, name: str, stream: bool) -> tuple[pl.DataFrame, pl.DataFrame, dict, list[str]]:
    env = {"RETOOL_OUTPUT_DIR": str(tmp_path / name), "RETOOL_SHARD_SIZE": "20"}
    if stream:
        env["RETOOL_STREAM_SOURCE"] = "1"
    defs = build_definitions(resources_from_env(env))
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance)
        assert result.success
        meta = {
            m.asset_key.to_user_string(): m.metadata
            for m in (
                e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            )
        }["source_problems"]
        checks = result.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks)
        shards = instance.get_dynamic_partitions("source_shards")
    store = tmp_path / name / "assets"
    return pl.read_parquet(store / "source_problems.parquet"), pl.read_parquet(store / "ingest_rejects.parquet"), \
        meta, shards  # fmt: skip


def test_a_streamed_ingest_writes_what_the_in_memory_ingest_writes(tmp_path):
    whole, whole_rejects, whole_meta, whole_shards = _ingest(tmp_path, "memory", stream=False)
    streamed, rejects, meta, shards = _ingest(tmp_path, "stream", stream=True)
    assert meta["streamed_to_disk"].value is True and whole_meta["streamed_to_disk"].value is False
    assert streamed.height == whole.height > 40 and shards == whole_shards == [
        "shard-00000",
        "shard-00001",
        "shard-00002",
    ]
    assert streamed.sort("id").equals(whole.sort("id").select(streamed.columns))
    assert rejects.height == whole_rejects.height > 0
    assert sorted(rejects["reason"]) == sorted(whole_rejects["reason"])
    for key in ("rows_in", "kept", "rejected", "problems", "shards"):
        assert meta[key].value == whole_meta[key].value, key
