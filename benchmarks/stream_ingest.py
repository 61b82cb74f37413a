"""Streaming ingestion of an OpenThoughts3-1.2M-sized source into shards: rows/s and peak RSS.

    python benchmarks/stream_ingest.py [--rows 1200000] [--reply-chars 1500] [--files 12]

Writes synthetic rows in OpenThoughts3's schema (``conversations`` [human, gpt with <think>], ``domain`` 70% math /
20% code / 10% science, ``source``, ``difficulty``; 4 responses per math problem, spread over the files as in
the real set) as parquet files, then ingests them in a fresh process (so its peak RSS is the ingestion's alone):
``stream_to_shards`` (bounded memory), and, with ``--whole-rows N``, the whole-frame path (`normalize_candidates`
+ `assign_shards`, what `source_problems` does by default) on the first N rows for comparison, and, with
``--asset``, the Dagster asset itself (`source_problems` with ``stream_to_disk``: the ingest job on an in-memory
instance, the kept rows sunk from the shard files into the asset's parquet).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_source(folder: Path, rows: int, files: int, reply_chars: int) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    filler = "Let me verify: 12 * 7 = 84, and 84 / 4 = 21. " * max(1, reply_chars // 44)
    per_file = -(-rows // files)
    paths = []
    for f in range(files):
        start, stop = f * per_file, min(rows, (f + 1) * per_file)
        conversations, domains = [], []
        for i in range(start, stop):
            domain = "math" if i % 10 < 7 else ("code" if i % 10 < 9 else "science")
            # response r of problem p sits a quarter of the source after response r-1: far apart, other files
            problem = (i % (rows // 4)) if domain == "math" else i
            human = f"Problem {problem} ({domain}): compute {problem} * 3 + 1."
            gpt = f"<think>{filler} take {i}</think>\nSo it is \\boxed{{{problem * 3 + 1}}}."
            conversations.append([{"from": "human", "value": human}, {"from": "gpt", "value": gpt}])
            domains.append(domain)
        n = stop - start
        table = pa.table(
            {
                "conversations": conversations,
                "domain": domains,
                "source": ["synthetic"] * n,
                "difficulty": pa.array([5] * n, pa.int64()),
            }
        )
        path = folder / f"train-{f:05d}-of-{files:05d}.parquet"
        pq.write_table(table, path, row_group_size=10_000)
        paths.append(path)
    return paths


def ingest(mode: str, files: list[str], out: str, limit: int | None) -> dict:
    from itertools import islice

    if mode == "asset":
        return ingest_asset(files, out)
    from retool_data.sources.stream import openthoughts3_candidates, stream_to_shards

    started = time.perf_counter()
    candidates = openthoughts3_candidates(files)
    if limit:
        candidates = islice(candidates, limit)
    if mode == "stream":
        result = stream_to_shards(candidates, out, shard_size=1000, batch_rows=20_000)
        rows_in, kept, shards = result.rows_in, result.kept, len(result.shards)
    else:
        from pipelines.partitions import assign_shards, shard_keys
        from retool_data.sources import normalize_candidates

        whole = normalize_candidates(candidates)
        kept_frame = assign_shards(whole.kept, 1000)
        rows_in, kept, shards = whole.stats["rows_in"], kept_frame.height, len(shard_keys(kept_frame))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"mode": mode, "rows_in": rows_in, "kept": kept, "shards": shards, "seconds": round(seconds, 1),
            "rows_per_s": round(rows_in / seconds), "peak_rss_mb": round(peak_mb)}  # fmt: skip


def ingest_asset(files: list[str], out: str) -> dict:
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.resources import resources_from_env

    env = {"RETOOL_SOURCE": str(Path(files[0]).parent), "RETOOL_STREAM_SOURCE": "1", "RETOOL_OUTPUT_DIR": out}
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        result = (
            build_definitions(resources_from_env(env))
            .resolve_job_def("ingest_job")
            .execute_in_process(instance=instance)
        )
        shards = len(instance.get_dynamic_partitions("source_shards"))
    seconds = time.perf_counter() - started
    meta = next(
        e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "source_problems"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows_in = meta["rows_in"].value
    return {"mode": "asset", "rows_in": rows_in, "kept": meta["kept"].value, "shards": shards,
            "seconds": round(seconds, 1), "rows_per_s": round(rows_in / seconds), "peak_rss_mb": round(peak_mb)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--reply-chars", type=int, default=1500)
    parser.add_argument(
        "--whole-rows", type=int, default=0, help="Also the whole-frame path on this many rows."
    )
    parser.add_argument("--asset", action="store_true", help="Also the Dagster asset (stream_to_disk).")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "FILES_JSON", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, files, out = args.child
        print(json.dumps(ingest(mode, json.loads(files), out, args.limit or None)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        (Path(tmp) / "source").mkdir()  # alone in its folder: the asset reads the folder
        files = [str(p) for p in write_source(Path(tmp) / "source", args.rows, args.files, args.reply_chars)]
        size = sum(Path(f).stat().st_size for f in files) / 2**20
        print(
            f"source: {args.rows} rows in {args.files} files, {size:.0f} MiB parquet ({time.perf_counter() - t0:.0f} s)"
        )
        runs = (
            [("stream", 0)]
            + ([("stream", args.whole_rows), ("whole", args.whole_rows)] if args.whole_rows else [])
            + ([("asset", 0)] if args.asset else [])
        )
        for mode, limit in runs:
            out = Path(tmp) / f"out-{mode}-{limit}"
            cmd = [
                sys.executable,
                __file__,
                "--child",
                mode,
                json.dumps(files),
                str(out),
                "--limit",
                str(limit),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            print(done.stdout.strip())


if __name__ == "__main__":
    main()
