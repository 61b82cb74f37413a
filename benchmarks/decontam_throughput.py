"""Decontamination at scale: OpenThoughts-114k-shaped rows against AIME24/AIME25/AMC23/MATH-500, all layers.

    python benchmarks/decontam_throughput.py [--rows 114000] [--no-semantic] [--cache-dir DIR] [--workers 2]
        [--dtype auto|float32|bfloat16]

Rows: real problem statements of other evaluation sets shipped for the tests (OlympiadBench, GSM8K, Minerva,
Gaokao; `tests/data/benchmarks/`), drawn with replacement, numbers as written (redrawing them would make rows
less similar to the benchmarks than real ones and understate the embedding work): the mix of competition and word
problems, the lengths and the vocabulary of a math SFT corpus; plus the red-team copies and variants of the
shipped evaluation set planted at random positions. Gaokao holds ~30 reworded AMC 2023 problems (a real leak),
so its copies are found too. Prints wall and CPU seconds (user + sys from `getrusage`, this process and its
worker processes) of each step (index build, model load, benchmark embeddings from a cold and a warm cache,
matching every row: tokens, lexical layers, TF-IDF gate and problem embeddings), how many rows were embedded,
the time expected on two quiet cores, and what was found. Target: < 60 s for 114k rows on 2 cores, embeddings
included. The script runs against older code too (options it lacks are left out), for before/after figures.
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retool_data.benchmark_sets import load_benchmark_sets  # noqa: E402
from retool_data.stages.decontam import Decontaminator  # noqa: E402
from retool_data.stages.decontam_semantic import Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POOL = ("olympiadbench", "gsm8k", "minerva_math", "gaokao2023en")


def pool() -> list[str]:
    out = []
    for name in POOL:
        with gzip.open(
            ROOT / "tests" / "data" / "benchmarks" / f"{name}.jsonl.gz", "rt", encoding="utf-8"
        ) as fh:
            for line in fh:
                r = json.loads(line)
                out.append(r.get("problem") or r.get("question"))
    return [p for p in out if p]


def synthetic_rows(n: int, seed: int = 0) -> tuple[list[str], int]:
    rng = random.Random(seed)
    base = pool()
    rows = [rng.choice(base) for _ in range(n)]
    with gzip.open(ROOT / "benchmarks" / "decontam_eval" / "evalset.jsonl.gz", "rt", encoding="utf-8") as fh:
        planted = [json.loads(line)["problem"] for line in fh if '"clean"' not in line]
    for i, p in zip(rng.sample(range(n), min(len(planted), n)), planted, strict=False):
        rows[i] = p
    return rows, min(len(planted), n)


def cpu_seconds() -> float:
    """user + sys of this process and of its reaped children (the forked workers), every thread."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def build(args: argparse.Namespace, problems: dict, answers: dict, cache: Path) -> tuple[Decontaminator, Any]:
    layers = ("exact", "ngram", "fuzzy") if args.no_semantic else ("exact", "ngram", "fuzzy", "semantic")
    embedder = None
    options: dict[str, Any] = {}
    if not args.no_semantic:  # the options this checkout's code knows (the script also measures older code)
        takes_dtype = "dtype" in inspect.signature(Embedder).parameters
        embedder = Embedder(cache_dir=cache, **({"dtype": args.dtype} if takes_dtype else {}))
    if "workers" in inspect.signature(Decontaminator).parameters:
        options["workers"] = args.workers
    return Decontaminator(problems, answers=answers, layers=layers, embedder=embedder, **options), embedder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=114_000)
    ap.add_argument("--no-semantic", action="store_true", help="lexical layers only")
    ap.add_argument(
        "--cache-dir", type=Path, default=None, help="embedding cache (default: a fresh temp dir)"
    )
    ap.add_argument("--workers", type=int, default=2, help="processes for the corpus side (default 2)")
    ap.add_argument("--dtype", default="auto", help="embedding precision: auto, float32, bfloat16")
    args = ap.parse_args()
    rows, planted = synthetic_rows(args.rows)
    sets = load_benchmark_sets(("aime24", "aime25", "amc23", "math500"))
    problems = {n: s.problems for n, s in sets.items()}
    answers = {n: [it.answer for it in s.items] for n, s in sets.items()}
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="decontam-cache-"))

    steps: dict[str, tuple[float, float]] = {}  # step -> (wall s, CPU s)

    def step(name: str, fn: Callable[[], Any]) -> Any:
        c, t = cpu_seconds(), time.perf_counter()
        out = fn()
        steps[name] = (time.perf_counter() - t, cpu_seconds() - c)
        return out

    dc, embedder = step("index build", lambda: build(args, problems, answers, cache))
    if embedder is not None:  # split out the one-time costs: the model load and a cold benchmark cache
        step("model load (imports included)", embedder._load)
        step("benchmark embeddings, cold cache (600 items)", dc.item_vectors)
        dc._item_vectors = None
        step("benchmark embeddings, warm cache", dc.item_vectors)
    matches = step("match all rows", lambda: dc.nearest_many(rows))
    flagged = [m for m in matches if m is not None and m.reason]
    counted = {k: v for k, v in steps.items() if "warm" not in k}
    wall = sum(w for w, _ in counted.values())
    cpu = sum(c for _, c in counted.values())
    # the match step runs in `workers` processes; the other steps count as serial (the model's own two
    # threads in the benchmark embeddings make that an upper bound)
    parallel = min(max(getattr(dc, "workers", 1), 1), 2)  # older code: one process (torch threads aside)
    quiet = (
        sum(c for k, (_, c) in counted.items() if k != "match all rows")
        + steps["match all rows"][1] / parallel
    )
    print(f"{len(rows)} rows ({planted} planted red-team rows), layers {','.join(dc.layers)}, "
          f"workers {getattr(dc, 'workers', 1)}, embeddings {getattr(embedder, 'dtype', 'float32')}")  # fmt: skip
    for k, (w, c) in steps.items():
        print(f"  {k}: {w:.2f} s wall, {c:.2f} s CPU")
    print(
        f"  rows embedded: {dc.stats.get('embedded', 0)}; borderline rows re-checked in float32: "
        f"{dc.stats.get('rechecked_float32', 0)}"
    )
    print(f"  total, model load and cold cache included: {wall:.1f} s wall, {cpu:.1f} s CPU (user+sys, all "
          f"threads and worker processes); load average now {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"  expected on 2 quiet cores: {quiet:.1f} s (serial steps' CPU + match CPU / {parallel})")
    print(f"  whole process since start: {cpu_seconds():.1f} s CPU (interpreter start and imports included)")
    reasons: dict[str, int] = {}
    for m in flagged:
        reasons[f"{m.reason}/{m.layer}"] = reasons.get(f"{m.reason}/{m.layer}", 0) + 1
    print(f"  flagged {len(flagged)}: {json.dumps(reasons, sort_keys=True)}")


if __name__ == "__main__":
    main()
