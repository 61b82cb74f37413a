"""Decontamination at scale: OpenThoughts-114k-shaped rows against AIME24/AIME25/AMC23/MATH-500, all layers.

    python benchmarks/decontam_throughput.py [--rows 114000] [--no-semantic] [--cache-dir DIR]

Rows: real problem statements of other evaluation sets shipped for the tests (OlympiadBench, GSM8K, Minerva,
Gaokao; `tests/data/benchmarks/`), drawn with replacement, numbers as written (redrawing them would make rows
less similar to the benchmarks than real ones and understate the embedding work): the mix of competition and word
problems, the lengths and the vocabulary of a math SFT corpus; plus the red-team copies and variants of the
shipped evaluation set planted at random positions. Gaokao holds ~30 reworded AMC 2023 problems (a real leak),
so its copies are found too. Prints the time of each step (tokens + lexical layers, TF-IDF gate,
model load, benchmark embeddings from a cold and a warm cache, problem embeddings), how many rows were embedded,
and what was found. Target: < 60 s for 114k rows on 2 cores, embeddings included.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=114_000)
    ap.add_argument("--no-semantic", action="store_true", help="lexical layers only")
    ap.add_argument(
        "--cache-dir", type=Path, default=None, help="embedding cache (default: a fresh temp dir)"
    )
    args = ap.parse_args()
    rows, planted = synthetic_rows(args.rows)
    sets = load_benchmark_sets(("aime24", "aime25", "amc23", "math500"))
    problems = {n: s.problems for n, s in sets.items()}
    answers = {n: [it.answer for it in s.items] for n, s in sets.items()}
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="decontam-cache-"))
    layers = ("exact", "ngram", "fuzzy") if args.no_semantic else ("exact", "ngram", "fuzzy", "semantic")

    c0, t0 = time.process_time(), time.perf_counter()
    embedder = None if args.no_semantic else Embedder(cache_dir=cache)
    dc = Decontaminator(problems, answers=answers, layers=layers, embedder=embedder)
    t_index = time.perf_counter() - t0
    timings: dict[str, float] = {}
    if embedder is not None:  # split out the one-time costs: the model load and a cold benchmark cache
        t = time.perf_counter()
        embedder._load()
        timings["model load"] = time.perf_counter() - t
        t = time.perf_counter()
        dc.item_vectors()
        timings["benchmark embeddings, cold cache (600 items)"] = time.perf_counter() - t
        dc._item_vectors = None
        t = time.perf_counter()
        dc.item_vectors()
        timings["benchmark embeddings, warm cache"] = time.perf_counter() - t
    t = time.perf_counter()
    matches = dc.nearest_many(rows)
    t_match = time.perf_counter() - t
    cpu = (
        time.process_time() - c0
    )  # every thread's CPU seconds: a figure the machine's other load hardly moves
    flagged = [m for m in matches if m is not None and m.reason]
    total = t_index + t_match + sum(v for k, v in timings.items() if "warm" not in k)
    print(f"{len(rows)} rows ({planted} planted red-team rows), layers {','.join(dc.layers)}")
    print(f"  index build: {t_index:.2f} s")
    for k, v in timings.items():
        print(f"  {k}: {v:.2f} s")
    print(f"  match all rows: {t_match:.2f} s ({dc.stats.get('embedded', 0)} rows embedded)")
    print(f"  total, model load and cold cache included: {total:.1f} s; with a warm cache: "
          f"{total - timings.get('benchmark embeddings, cold cache (600 items)', 0):.1f} s")  # fmt: skip
    print(f"  CPU time of all of it (both cores' seconds, all threads): {cpu:.1f} s")
    reasons: dict[str, int] = {}
    for m in flagged:
        reasons[f"{m.reason}/{m.layer}"] = reasons.get(f"{m.reason}/{m.layer}", 0) + 1
    print(f"  flagged {len(flagged)}: {json.dumps(reasons, sort_keys=True)}")


if __name__ == "__main__":
    main()
