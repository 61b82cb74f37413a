"""Wall time of the whole curation on the bundled sample, as `retool-data run` executes it, and what sharding
costs: each shard is one Dagster run (instance writes, a sandbox pool per sandbox step), so a small shard size
adds a fixed overhead per shard on top of the stage work.

    python benchmarks/pipeline_run.py --shard-sizes 1000 20 10

Prints one row per shard size: shards, total seconds, ingest, mean per shard, combine.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, when run as a script



def one_run(shard_size: int, benchmarks: str) -> dict:
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.resources import resources_from_env
    from pipelines.runner import run_curation

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "RETOOL_OUTPUT_DIR": str(Path(tmp) / "out"),
            "RETOOL_BENCHMARKS": benchmarks,
            "RETOOL_BENCHMARKS_DIR": os.environ.get("RETOOL_BENCHMARKS_DIR", ""),
        }
        defs = build_definitions(resources_from_env({k: v for k, v in env.items() if v}))
        stamps: list[tuple[float, str]] = []
        with dg.instance_for_test(temp_dir=tmp) as instance:
            started = time.perf_counter()
            result = run_curation(
                defs,
                instance,
                source_config={"shard_size": shard_size},
                log=lambda line: stamps.append((time.perf_counter(), line)),
            )
            total = time.perf_counter() - started
        assert result.success, result.failed
        marks = [t for t, _ in stamps] + [started + total]
        steps = [(line.split(":")[0].split(" ")[0], marks[i + 1] - t) for i, (t, line) in enumerate(stamps)]
        shard_times = [s for name, s in steps if name.startswith("shard-")]
        return {
            "shard_size": shard_size,
            "shards": len(shard_times),
            "total_s": total,
            "ingest_s": dict(steps)["ingest"],
            "per_shard_s": sum(shard_times) / len(shard_times),
            "combine_s": dict(steps)["combine"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard-sizes", type=int, nargs="+", default=[1000, 20, 10])
    parser.add_argument("--benchmarks", default="aime24,aime25,amc23,math500")  # the pinned snapshots
    args = parser.parse_args()
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    print(
        f"{'shard size':>10} {'shards':>6} {'total s':>8} {'ingest s':>9} {'per shard s':>12} {'combine s':>10}"
    )
    for size in args.shard_sizes:
        r = one_run(size, args.benchmarks)
        print(
            f"{r['shard_size']:>10} {r['shards']:>6} {r['total_s']:>8.1f} {r['ingest_s']:>9.1f} "
            f"{r['per_shard_s']:>12.1f} {r['combine_s']:>10.1f}"
        )


if __name__ == "__main__":
    main()
