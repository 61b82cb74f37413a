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


def test_any_named_source_streams_to_the_rows_load_source_gives(tmp_path):
    """`stream_source` takes `load_source`'s names and options: the sample (with its malformed rows) and a local
    folder give the same kept rows, quarantine and lineage counts either way, also with a limit."""
    from retool_data.sources import load_source
    from retool_data.sources.stream import stream_source

    files = write_files(tmp_path)
    for name, options in [
        ("sample", {}),
        ("sample", {"limit": 5}),
        (str(files[0].parent), {"domains": None}),
    ]:
        whole = load_source(name, **options)
        out = stream_source(name, tmp_path / f"out-{len(list(tmp_path.iterdir()))}", shard_size=4, batch_rows=7,
                            **options)  # fmt: skip
        got = out.scan().collect() if out.kept else pl.DataFrame()
        assert (out.rows_in, out.kept, out.rejected) == (
            whole.stats["rows_in"],
            whole.kept.height,
            whole.rejected.height,
        ), name
        assert got.sort("id").drop("shard").equals(whole.kept.sort("id")), name
        assert out.reject_counts == whole.reject_counts()
        assert {k: out.stats[k] for k in ("reader", "dataset", "limit", "problems")} == {
            k: whole.stats[k] for k in ("reader", "dataset", "limit", "problems")
        }
    assert (
        load_source("sample").rejected.height > 0
    )  # the sample's malformed rows were part of the comparison


def test_open_source_refuses_options_a_source_does_not_take():
    import pytest

    from retool_data.sources import open_source

    with pytest.raises(ValueError, match="only for the Hub sources"):
        open_source("sample", revision="abc")
    with pytest.raises(ValueError, match="unknown source"):
        open_source("no/such/file.jsonl")
