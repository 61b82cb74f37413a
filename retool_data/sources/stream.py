"""Streaming ingestion: a source of any size into shard files, in memory bounded by a batch, not the source.

`load_source` returns the whole source as one frame, which is what a run of a few hundred thousand rows wants.
OpenThoughts3-1.2M (about a million rows, long replies) does not fit in one worker's memory that way.
`stream_to_shards` applies the same rules (`RowNormalizer`: the same kept rows, ids, response numbering and
quarantine reasons as `normalize_candidates`) one candidate at a time and writes every ``batch_rows`` rows:

    <out>/problems/shard=shard-00000/part-00000.parquet   kept rows (PROBLEM_SCHEMA + ``shard``)
    <out>/rejects/part-00000.parquet                      quarantined rows (REJECT_SCHEMA)

Shards are assigned as `pipelines.partitions.assign_shards` does: the i-th problem (in order of its first row)
goes to ``shard-{i // shard_size:05d}`` with all its responses, also those that come much later in the source
(they land in a later part file of the same shard folder). What stays in memory across batches is one small
entry per problem (its shard and the digests of its responses), not the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl

from retool_data.schema import PROBLEM_SCHEMA
from retool_data.sources.records import DEFAULT_DOMAINS, Candidate, RowNormalizer, map_rows

SHARD_COLUMN = "shard"


def shard_name(index: int) -> str:
    """The shard key of the ``index``-th block of problems (the partition keys of `pipelines.partitions`)."""
    return f"shard-{index:05d}"


@dataclass
class StreamedSource:
    """What `stream_to_shards` wrote."""

    out_dir: Path
    rows_in: int = 0
    kept: int = 0
    rejected: int = 0
    problems: int = 0
    shards: list[str] = field(default_factory=list)
    parts: int = 0
    reject_counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)  # lineage, as `load_source`'s result stats

    def problems_glob(self) -> str:
        return str(self.out_dir / "problems" / "*" / "*.parquet")

    def scan(self, shard: str | None = None) -> pl.LazyFrame:
        """The kept rows (of one shard), lazily: each shard's folder is read alone."""
        where = self.out_dir / "problems" / (f"{SHARD_COLUMN}={shard}" if shard else "*") / "*.parquet"
        return pl.scan_parquet(str(where), hive_partitioning=False)


def stream_to_shards(
    candidates: Iterable[Candidate],
    out_dir: str | Path,
    *,
    shard_size: int = 1000,
    batch_rows: int = 20_000,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    max_responses: int | None = None,
    limit: int | None = None,
    stats: dict[str, Any] | None = None,
) -> StreamedSource:
    """Normalize ``candidates`` and write them as shard part files under ``out_dir`` (see the module docstring).

    ``limit`` stops after that many kept rows (as `normalize_candidates`); ``stats`` (the reader's lineage) is
    completed with the counts, as `load_source` completes its result's stats."""
    if shard_size < 1 or batch_rows < 1:
        raise ValueError("shard_size and batch_rows must be >= 1")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    out = StreamedSource(Path(out_dir))
    (out.out_dir / "problems").mkdir(parents=True, exist_ok=True)
    (out.out_dir / "rejects").mkdir(parents=True, exist_ok=True)
    norm = RowNormalizer(domains, max_responses)
    ordinal: dict[str, int] = {}  # problem id -> its position in order of first appearance
    buffer: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    shards: set[str] = set()

    def flush() -> None:
        if buffer:
            frame = pl.DataFrame(buffer, schema={**PROBLEM_SCHEMA, SHARD_COLUMN: pl.String()})
            for (shard,), rows in frame.partition_by(SHARD_COLUMN, as_dict=True, maintain_order=True).items():
                folder = out.out_dir / "problems" / f"{SHARD_COLUMN}={shard}"
                folder.mkdir(exist_ok=True)
                rows.write_parquet(folder / f"part-{out.parts:05d}.parquet", statistics=True)
            buffer.clear()
        if norm.rejected:
            rejects = norm.rejects_frame()
            reasons.update(rejects["reason"].to_list())
            out.rejected += rejects.height
            rejects.write_parquet(out.out_dir / "rejects" / f"part-{out.parts:05d}.parquet")
            norm.rejected.clear()
        out.parts += 1

    for cand in candidates if limit != 0 else ():
        row = norm.push(cand)
        if row is not None:
            index = ordinal.setdefault(row["problem_id"], len(ordinal)) // shard_size
            row[SHARD_COLUMN] = shard_name(index)
            shards.add(row[SHARD_COLUMN])
            buffer.append(row)
            out.kept += 1
        if len(buffer) + len(norm.rejected) >= batch_rows:
            flush()
        if limit is not None and out.kept >= limit:
            break
    flush()
    out.rows_in, out.problems, out.shards = norm.rows_in, len(ordinal), sorted(shards)
    out.reject_counts = dict(sorted(reasons.items()))
    out.stats = {
        **(stats or {}),
        "domains": None if norm.wanted is None else sorted(norm.wanted),
        "limit": limit,
        "max_responses": max_responses,
        "rows_in": out.rows_in,
        "kept": out.kept,
        "rejected": out.rejected,
        "problems": out.problems,
        "reject_counts": out.reject_counts,
        "shards": len(out.shards),
    }
    if out.rows_in != out.kept + out.rejected:
        raise AssertionError(
            f"rows not conserved: {out.rows_in} in, {out.kept} kept, {out.rejected} rejected"
        )
    return out


def stream_source(
    source: str, out_dir: str | Path, *, shard_size: int = 1000, batch_rows: int = 20_000, **options: Any
) -> StreamedSource:
    """`stream_to_shards` of a source named as `load_source` names it, with the same options."""
    from retool_data.sources.registry import open_source

    opened = open_source(source, **options)
    return stream_to_shards(opened.candidates, out_dir, shard_size=shard_size, batch_rows=batch_rows,
                            domains=opened.domains, max_responses=opened.max_responses, limit=opened.limit,
                            stats=opened.stats)  # fmt: skip


def openthoughts3_candidates(files: Iterable[str | Path], dataset: str | None = None) -> Iterator[Candidate]:
    """Candidates of local OpenThoughts3-1.2M parquet files (the Hub's layout), file by file, batch by batch."""
    from retool_data.sources.local import _parquet_rows
    from retool_data.sources.open_thoughts import OPENTHOUGHTS3, openthoughts3_fields

    rows = chain.from_iterable(_parquet_rows(Path(f)) for f in files)
    return map_rows(rows, openthoughts3_fields, dataset=dataset or OPENTHOUGHTS3, id_prefix="train/")
