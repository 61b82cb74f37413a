"""Throughput of the curation filters on synthetic rewritten traces, and decontamination at scale.

    python benchmarks/filter_throughput.py --rows 10000 --decontam-rows 100000 \\
        --benchmarks-dir ../shared/data/benchmarks

Prints, per stage and for the whole chain, rows/s on ``--rows`` synthetic traces (dedup -> decontaminate ->
format/length/answer filter -> execution consistency through the real sandbox -> trace-quality scores), then the
time to decontaminate ``--decontam-rows`` problems against AIME24/AIME25/AMC23 (+ MATH-500 when present). Targets: >= 200 rows/s for
the chain with 2 sandbox workers, < 60 s for 100k problems.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from retool_data.benchmark_sets import load_benchmark, load_benchmarks  # noqa: E402
from retool_data.quarantine import Quarantine  # noqa: E402
from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, VERIFY_COLUMNS, conform, problem_id  # noqa: E402
from retool_data.stages.consistency import consistency_stage  # noqa: E402
from retool_data.stages.decontam import Decontaminator, decontaminate  # noqa: E402
from retool_data.stages.dedup import dedup  # noqa: E402
from retool_data.stages.filters import TraceFilter  # noqa: E402
from retool_data.stages.quality import score_traces  # noqa: E402
from retool_data.trace import format_code_block  # noqa: E402

# fmt: off
WORDS = (
    "triangle", "circle", "integer", "prime", "sum", "product", "sequence", "ratio", "area", "perimeter",
    "probability", "digit", "remainder", "polynomial", "root", "real", "complex", "matrix", "vector",
    "angle", "chord", "tangent", "radius", "square", "cube", "divisor", "multiple", "function", "value",
    "minimum", "maximum", "number", "positive", "negative", "even", "odd", "consecutive", "arithmetic",
    "geometric", "series", "term", "coefficient", "equation", "inequality", "solution", "point", "line",
    "plane", "distance", "midpoint", "slope",
)
FILLER = (
    "let", "be", "the", "of", "and", "such", "that", "find", "compute", "determine", "how", "many",
    "what", "is", "if", "for", "each", "with", "in", "a", "an",
)
# fmt: on


def synthetic_problem(rng: random.Random) -> str:
    words = [rng.choice(WORDS if rng.random() < 0.5 else FILLER) for _ in range(rng.randint(25, 60))]
    nums = [str(rng.randint(2, 10_000)) for _ in range(rng.randint(2, 5))]
    for n in nums:
        words.insert(rng.randrange(len(words)), f"${n}$")
    return " ".join(words).capitalize() + "?"


def synthetic_trace(rng: random.Random) -> tuple[str, str, bool]:
    """A trace (1-4 blocks sharing state), its answer, and whether a written output was planted wrong (3% of
    blocks get a changed last digit)."""
    a, b = rng.randint(2, 999), rng.randint(2, 999)
    blocks = [(f"a = {a}\nb = {b}\nprint(a * b)", str(a * b))]
    value = a * b
    for _ in range(rng.randint(0, 3)):
        k = rng.randint(2, 50)
        kind = rng.choice(["add", "mod", "fraction", "sympy"])
        if kind == "add":
            value += k
            blocks.append((f"value = a * b + {value - a * b}\nprint(value)", str(value)))
        elif kind == "mod":
            blocks.append((f"print(a * b % {k})", str((a * b) % k)))
        elif kind == "fraction":
            from fractions import Fraction

            blocks.append((f"from fractions import Fraction\nprint(Fraction(a, {k}))", str(Fraction(a, k))))
        else:
            blocks.append(("import sympy as sp\nprint(sp.gcd(a, b))", str(__import__("math").gcd(a, b))))
    parts = ["We compute step by step."]
    planted = False
    for code, out in blocks:
        if rng.random() < 0.03:
            planted = True
            out = out[:-1] + str((int(out[-1]) + 1) % 10) if out[-1].isdigit() else out + "0"
        parts += [format_code_block(code), f"<interpreter>\n{out}\n</interpreter>", "That checks out."]
    answer = blocks[-1][1]
    return "\n".join(parts) + f"\n<answer>\\boxed{{{answer}}}</answer>", answer, planted


def synthetic_frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        problem = synthetic_problem(rng)
        trace, answer, planted = synthetic_trace(rng)
        rows.append(
            {
                "id": problem_id(problem),
                "dataset": "synthetic",
                "source": "synthetic",
                "source_id": str(i),
                "problem": problem,
                "gold_answer": answer,
                "teacher_answer": answer,
                "verify_verdict": "correct",
                "trace": trace,
                "rewrite_backend": "heuristic",
                "rewrite_status": "ok",
                "num_code_blocks": trace.count("<code>"),
                "planted_error": planted,
            }
        )
    return conform(pl.DataFrame(rows), {**PROBLEM_SCHEMA, **VERIFY_COLUMNS, **REWRITE_COLUMNS})


def timed(label: str, fn, rows: int):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    out = fn()
    took = time.perf_counter() - start
    print(f"{label:>24}: {took:7.2f} s  {rows / took:9.0f} rows/s")
    return out, took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--decontam-rows", type=int, default=100_000)
    ap.add_argument(
        "--benchmarks-dir",
        type=Path,
        default=Path(os.environ.get("RETOOL_BENCHMARKS_DIR", "../shared/data/benchmarks")),
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=48)
    ap.add_argument("--no-consistency", action="store_true")
    args = ap.parse_args()

    names = [n for n in ("aime24", "aime25", "amc23", "math500") if (args.benchmarks_dir / n).exists()]
    bench = load_benchmarks(names, local_dir=args.benchmarks_dir)
    print(
        f"cpus={os.cpu_count()} rows={args.rows} benchmarks={names} ({sum(map(len, bench.values()))} items)"
    )
    df, _ = timed("generate", lambda: synthetic_frame(args.rows), args.rows)
    index = Decontaminator(bench)
    q = Quarantine()
    total = 0.0
    stages = [
        ("dedup", dedup),
        ("decontaminate", lambda d: decontaminate(d, index)),
        ("filter", TraceFilter()),
    ]
    current = df
    for name, stage in stages:
        result, took = timed(name, lambda s=stage, c=current: s(c), current.height)
        current = q.record(name, current.height, result)
        total += took
    if not args.no_consistency:
        from sandbox import Sandbox

        def children_cpu() -> float:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            return usage.ru_utime + usage.ru_stime

        settings = {"workers": args.workers, "timeout_s": 5.0, "memory_mb": 1024, "max_output_chars": 400}
        before = children_cpu()
        with Sandbox(**settings) as sb:  # start + stop alone: subtracted from the CPU per row below
            sb.run("print(1)")
        startup_cpu = children_cpu() - before
        before, ours = children_cpu(), time.process_time()
        with Sandbox(**settings) as sb:
            sb.run("print(1)")
            result, took = timed(
                "consistency",
                lambda: consistency_stage(current, sb, concurrency=args.concurrency),
                current.height,
            )
        cpu = children_cpu() - before - startup_cpu + time.process_time() - ours
        blocks = sum(len(b) for b in result.kept["consistency_blocks"].to_list()) + result.rejected.height
        print(f"{'':>24}  ~{blocks / took:9.0f} code blocks/s ({blocks / current.height:.2f} per trace)")
        print(
            f"{'':>24}  CPU {1000 * cpu / current.height:.1f} ms/row (sandbox + caller): "
            f"~{os.cpu_count() / (cpu / current.height):.0f} rows/s on {os.cpu_count()} idle cores"
        )
        planted = set(current.filter(pl.col("planted_error"))["source_id"].to_list())
        caught = {json.loads(r)["source_id"] for r in result.rejected["row"].to_list()}
        print(
            f"{'':>24}  planted output errors caught: {len(planted & caught)}/{len(planted)}, "
            f"consistent traces rejected: {len(caught - planted)}"
        )
        current = q.record("consistency", current.height, result)
        total += took
    # the chain's last stage (retool_data.filtering.run_filters): every kept trace's tool-use score
    result, took = timed("quality", lambda: score_traces(current), current.height)
    current = q.record("quality", current.height, result)
    total += took
    q.check(df.height, current.height)
    print(
        f"{'chain':>24}: {total:7.2f} s  {df.height / total:9.0f} rows/s  (kept {current.height}/{df.height})"
    )
    for s in q.summary():
        print(f"{'':>24}  {s['stage']}: {s['reasons']}")

    rng = random.Random(1)
    # Realistic text where the files exist: other eval sets' problems with their numbers redrawn.
    other = [
        r["problem"]
        for n in ("olympiadbench", "gsm8k", "minerva_math", "gaokao2023en")
        if (args.benchmarks_dir / n).exists()
        for r in load_benchmark(n, args.benchmarks_dir / n)
    ]
    problems = [
        re.sub(r"\d+", lambda m: str(rng.randint(1, 999)), rng.choice(other))
        if other and i % 2
        else synthetic_problem(rng)
        for i in range(args.decontam_rows)
    ]
    real = [p for ps in bench.values() for p in ps]
    for i in rng.sample(range(len(problems)), min(100, len(problems))):  # plant some real copies
        problems[i] = rng.choice(real).replace("$", "")
    start = time.perf_counter()
    index = Decontaminator(bench)
    hits = sum(index.match(p) is not None for p in problems)
    took = time.perf_counter() - start
    print(
        f"{'decontaminate':>24}: {took:7.2f} s  {len(problems) / took:9.0f} problems/s  "
        f"({len(problems)} problems, {hits} hits; 100 planted copies, the rest real leaks such as gaokao's AMC23)"
    )


if __name__ == "__main__":
    main()
