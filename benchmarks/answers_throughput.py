"""Throughput of `is_equivalent` / `are_equivalent` on a GRPO-like mix of final answers.

    python benchmarks/answers_throughput.py --rows 100000 --workers 2

Rows come in groups of 8 predictions per gold answer (like GRPO samples per prompt): ~35% spelled exactly
like the gold, ~25% equivalent but spelled differently (``\\dfrac``, decimals, thousands separators,
``\\sqrt{8}`` vs ``2\\sqrt{2}``, reordered sets, units, ...), ~40% wrong. Gold kinds follow competition-math
answers: mostly integers, then fractions, radicals, expressions, intervals, sets, percents, units. Prints
rows/s for a cold batch, a warm (cached) batch and one-call-per-row, how the pairs were decided, and the
agreement with the generator's own labels.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retool_data.answers import AnswerChecker


def _int(r: random.Random) -> tuple[str, list[str], list[str]]:
    n = r.randint(0, 999) if r.random() < 0.7 else r.randint(1000, 10**7)
    same = (
        [str(n), f"{n:,}", rf"\boxed{{{n}}}", f"{n}."]
        if n >= 1000
        else [rf"\boxed{{{n}}}", f"{n}.", f"{n:03d}"]
    )
    return str(n), same, [str(n + r.choice([-10, -1, 1, 2, 100])), str(-n or 1)]


def _fraction(r: random.Random) -> tuple[str, list[str], list[str]]:
    a, b = r.randint(1, 99), r.choice([2, 3, 4, 5, 7, 8, 9, 16, 25, 32])
    same = [rf"\dfrac{{{a}}}{{{b}}}", f"{a}/{b}", rf"\frac{{{2 * a}}}{{{2 * b}}}"]
    if 10**6 % b == 0:
        same.append(str(a / b))
    wrong = [rf"\frac{{{a + 1}}}{{{b}}}", f"{a / b + 0.1:.1f}"] + (
        [rf"\frac{{{b}}}{{{a}}}"] if a != b else []
    )
    return rf"\frac{{{a}}}{{{b}}}", same, wrong


def _radical(r: random.Random) -> tuple[str, list[str], list[str]]:
    a, b = r.randint(2, 9), r.choice([2, 3, 5, 6, 7, 10])
    same = [rf"\sqrt{{{a * a * b}}}", rf"{a} \sqrt{{{b}}}", rf"\sqrt{{{b}}} \cdot {a}"]
    return rf"{a}\sqrt{{{b}}}", same, [rf"{a}\sqrt{{{b + 1}}}", rf"{a + 1}\sqrt{{{b}}}", str(a * b)]


def _expression(r: random.Random) -> tuple[str, list[str], list[str]]:
    a = r.randint(1, 9)
    same = [f"x(x+{a})", f"{a}x + x^2", f"x^{{2}}+{a}x"]
    return f"x^2+{a}x", same, [f"x^2+{a + 1}x", f"x^2-{a}x", f"x(x-{a})"]


def _interval(r: random.Random) -> tuple[str, list[str], list[str]]:
    a, b = sorted(r.sample(range(-20, 20), 2))
    same = [rf"\left({a}, {b}\right]", f"({a},{b}]", rf"x \in ({a}, {b}]"]
    return f"({a}, {b}]", same, [f"[{a}, {b}]", f"({a}, {b})", f"({a}, {b + 1}]"]


def _set(r: random.Random) -> tuple[str, list[str], list[str]]:
    xs = r.sample(range(-9, 30), 3)
    perm = r.sample(xs, 3)
    same = [r"\{" + ", ".join(map(str, perm)) + r"\}", ", ".join(map(str, perm))]
    wrong = [
        r"\{" + ", ".join(map(str, xs[:2] + [xs[2] + 1])) + r"\}",
        r"\{" + ", ".join(map(str, xs[:2])) + r"\}",
    ]
    return r"\{" + ", ".join(map(str, xs)) + r"\}", same, wrong


def _percent(r: random.Random) -> tuple[str, list[str], list[str]]:
    p = r.choice([5, 10, 12.5, 20, 25, 40, 50, 75])
    return rf"{p}\%", [f"{p}%", str(p), str(p / 100)], [str(p + 5), f"{p * 2}%"]


def _units(r: random.Random) -> tuple[str, list[str], list[str]]:
    n = r.randint(1, 500)
    same = [rf"{n} \text{{ cm}}", rf"{n}\ \mathrm{{cm}}", rf"{n}^\circ" if n < 360 else str(n)]
    return str(n), same, [rf"{n + 1} \text{{ cm}}", str(n * 10)]


KINDS = [(_int, 40), (_fraction, 15), (_radical, 10), (_expression, 10), (_interval, 7), (_set, 6),
         (_percent, 6), (_units, 6)]  # fmt: skip


def make_rows(n: int, seed: int) -> tuple[list[str], list[str], list[bool]]:
    r = random.Random(seed)
    preds, golds, labels = [], [], []
    makers, weights = zip(*KINDS, strict=True)
    while len(preds) < n:
        gold, same, wrong = r.choices(makers, weights)[0](r)
        for _ in range(8):
            u = r.random()
            pred, label = (
                (gold, True) if u < 0.35 else (r.choice(same), True) if u < 0.6 else (r.choice(wrong), False)
            )
            preds.append(pred)
            golds.append(gold)
            labels.append(label)
    return preds[:n], golds[:n], labels[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="math-verify worker processes")
    parser.add_argument("--single-rows", type=int, default=5_000, help="rows for the one-call-per-row figure")
    parser.add_argument(
        "--baseline-rows", type=int, default=2_000, help="rows for plain in-process math-verify"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    preds, golds, labels = make_rows(args.rows, args.seed)
    print(
        f"rows={len(preds)} distinct pairs={len(set(zip(preds, golds, strict=True)))} workers={args.workers}"
    )
    with AnswerChecker(workers=args.workers) as checker:
        checker.is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")  # start-up is not throughput
        started = time.perf_counter()
        verdicts = checker.are_equivalent(preds, golds)
        cold = time.perf_counter() - started
        stats = checker.stats
        started = time.perf_counter()
        checker.are_equivalent(preds, golds)
        warm = time.perf_counter() - started
    agree = sum(v == lab for v, lab in zip(verdicts, labels, strict=True)) / len(labels)
    print(f"batch, cold:  {len(preds) / cold:10.0f} rows/s  ({cold:.1f} s)")
    print(f"batch, warm:  {len(preds) / warm:10.0f} rows/s  ({warm:.2f} s, verdicts cached)")
    print(
        f"rows decided by: quick paths {stats['quick']}, math-verify {stats['math_verify'] - 1} "
        f"({stats['compared'] - 1} distinct comparisons, {stats['timeouts']} timeouts, {stats['crashes']} crashes), "
        f"cached verdicts {stats['cached']}"
    )
    print(f"agreement with the generator's labels: {agree:.4f}")
    if args.single_rows:
        with AnswerChecker(workers=1) as checker:
            checker.is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")
            sample = list(zip(preds, golds, strict=True))[: args.single_rows]
            started = time.perf_counter()
            for pred, gold in sample:
                checker.is_equivalent(pred, gold)
            single = time.perf_counter() - started
        print(f"one call per row (first {len(sample)} rows, 1 worker): {len(sample) / single:10.0f} rows/s")
    if args.baseline_rows:
        print(
            f"plain math-verify, in-process, no fast paths or cache (first {args.baseline_rows} rows): ",
            end="",
        )
        print(f"{baseline(preds[: args.baseline_rows], golds[: args.baseline_rows]):10.0f} rows/s")


def baseline(preds: list[str], golds: list[str]) -> float:
    """What a naive reward function does: parse and verify every row (main thread, signal timeouts off)."""
    import logging

    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    config = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    started = time.perf_counter()
    for pred, gold in zip(preds, golds, strict=True):
        gold_parsed = parse(f"${gold}$", extraction_config=config, parsing_timeout=None)
        pred_parsed = parse(f"${pred}$", extraction_config=config, parsing_timeout=None)
        verify(gold_parsed, pred_parsed, timeout_seconds=None)
    return len(preds) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
