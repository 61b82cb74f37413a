"""Streaming ingestion into shard files: the same rows, shards, ids and quarantine as reading the whole source
at once, also when a problem's later responses arrive after its shard's first part file was written."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.partitions import assign_shards
from retool_data.sources import normalize_candidates
from retool_data.sources.stream import openthoughts3_candidates, stream_to_shards


def ot3_row(problem: str, reply: str, domain: str = "math") -> dict:
    turns = [{"from": "human", "value": problem}, {"from": "gpt", "value": reply}]
    return {"conversations": turns, "domain": domain, "source": "synthetic", "difficulty": 5}


def reply(n: int, variant: int = 0) -> str:
    return f"<think>{n} plus {n} is {2 * n} (take {variant})</think>\nSo the answer is \\boxed{{{2 * n}}}."


def write_files(tmp_path) -> list:
    rows = [ot3_row(f"What is {n} + {n}?", reply(n)) for n in range(7)]
    rows += [ot3_row("What is 0 + 0?", reply(0, 1)), ot3_row("What is 3 + 3?", reply(3, 1))]  # late responses
    rows += [ot3_row("Write a sort.", "<think>code</think>done", domain="code"), {"domain": "math"}]
    rows += [ot3_row("What is 3 + 3?", reply(3, 1))]  # a duplicate response
    files = [tmp_path / "train-00000.parquet", tmp_path / "train-00001.parquet"]
    pq.write_table(pa.Table.from_pylist(rows[:6]), files[0])
    pq.write_table(pa.Table.from_pylist(rows[6:]), files[1])
    return files


def test_streamed_shards_equal_the_whole_source_read_at_once(tmp_path):
    files = write_files(tmp_path)
    whole = normalize_candidates(openthoughts3_candidates(files))
    want = assign_shards(whole.kept, 2)
    out = stream_to_shards(openthoughts3_candidates(files), tmp_path / "out", shard_size=2, batch_rows=3)
    got = out.scan().collect()
    assert (out.rows_in, out.kept, out.rejected) == (12, 9, 3) == (12, want.height, whole.rejected.height)
    assert (
        out.parts > 2
        and out.problems == 7
        and out.shards == ["shard-00000", "shard-00001", "shard-00002", "shard-00003"]
    )
    assert got.sort("id").equals(want.sort("id").select(got.columns))
    # a problem's late response went to its problem's shard, in a later part file of that shard's folder
    late = got.filter(pl.col("response_index") == 1)
    assert sorted(late["shard"].to_list()) == ["shard-00000", "shard-00001"]
    assert len(list((tmp_path / "out" / "problems" / "shard=shard-00000").glob("*.parquet"))) >= 2
    assert out.scan("shard-00001").collect()["shard"].unique().to_list() == ["shard-00001"]
    rejects = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet")
    assert sorted(rejects["reason"].to_list()) == sorted(whole.rejected["reason"].to_list())
    assert out.reject_counts == whole.reject_counts()
