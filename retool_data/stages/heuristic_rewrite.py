"""Heuristic rewriter (no LLM), the default when no endpoint is configured: the code replaces the hand work.

It finds the explicit calculations in R1's reasoning (`heuristic.calculations`: arithmetic chains, equations whose
solution the text states), writes exact code for each (`Fraction`, sympy; rounded only at the end, to the places
the text writes), runs it in the sandbox, and cuts the block into the text (`heuristic.compose`): after the
expression that motivates it, with the text resuming at the stated result (``This gives $r = 3$.``) instead of
redoing the steps. The text's own boxes are unwrapped; the trace ends with one ``<answer>\\boxed{answer}</answer>``.
Calculations a reader does at a glance (`calculations.is_trivial`) are left as text.

A block whose run fails, whose printed values disagree with the text, or that `trace_quality.score_trace` finds
contradicted by the text after it is left out (counted in ``stats["blocks_dropped"]``). Rows are quarantined as in `stages.rewrite`: ``no_code`` when nothing could be
turned into code (the cold-start set teaches tool use, a trace without a tool call does not), ``no_answer``
when there is no final answer to end the trace with, ``invalid_trace`` when the result fails `validate_trace`
(e.g. the reasoning itself contains stray ``<code>`` tags), ``no_reasoning`` when there is no text.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import polars as pl

from retool_data import answers
from retool_data.heuristic.calculations import Calculation, find_calculations
from retool_data.heuristic.checks import output_matches
from retool_data.heuristic.compose import Placement, assemble, unbox
from retool_data.heuristic.mathspans import can_cut, math_spans
from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, StageResult, conform
from retool_data.stages.rewrite import classify_trace, finish, original_response
from retool_data.trace_quality import score_trace

HEURISTIC_BACKEND = "heuristic"
HEURISTIC_VERSION = "retool-heuristic@2"  # recorded as rewrite_template; bump when the output changes
DEFAULT_MAX_BLOCKS = 8


def final_answer(row: dict[str, Any]) -> str | None:
    """The teacher's answer; the gold answer only when verification judged the teacher right without one."""
    found = row.get("teacher_answer") or answers.extract_answer(row.get("solution"))
    found = found or answers.extract_answer(original_response(row))
    if found is None and row.get("verify_verdict") == "correct":
        found = (row.get("gold_answer") or "").strip() or None
    return found


def plan_blocks(text: str, max_blocks: int = DEFAULT_MAX_BLOCKS) -> list[Calculation]:
    """The calculations that become blocks, in text order: non-overlapping, each cut where a block can go."""
    spans = math_spans(text)
    chosen: list[Calculation] = []
    pos = 0
    for calc in sorted(find_calculations(text), key=lambda c: c.cut):
        if calc.start < pos or calc.resume < calc.cut or not can_cut(text, spans, calc.cut):
            continue
        chosen.append(calc)
        pos = calc.resume
        if len(chosen) == max_blocks:
            break
    return chosen


def block_code(calcs: list[Calculation]) -> str:
    imports = sorted({imp for c in calcs for imp in c.imports}, key=lambda s: (not s.startswith("import"), s))
    return "\n".join(imports + [c.statement for c in calcs])


def compose(text: str, kept: list[tuple[Calculation, str, str]], answer: str) -> tuple[str, int]:
    """The trace from ``(calculation, code, output)`` blocks; blocks the text contradicts are dropped (count)."""
    dropped = 0
    while True:
        placements = [Placement(c.kind, c.start, c.cut, c.resume, code, out) for c, code, out in kept]
        trace = assemble(text, placements, answer)
        bad = [b.index for b in score_trace(trace).blocks if "contradicted" in b.flags]
        if not bad:
            return trace, dropped
        dropped += len(bad)
        kept = [k for n, k in enumerate(kept) if n not in bad]


async def _run_all(sandbox: Any, codes: list[str], concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(code: str) -> Any:
        async with gate:
            return await sandbox.arun(code)

    return await asyncio.gather(*(one(c) for c in codes))


def heuristic_rewrite(
    df: pl.DataFrame,
    sandbox: Any = None,
    *,
    workers: int = 2,
    max_blocks: int = DEFAULT_MAX_BLOCKS,
    timeout_s: float = 10.0,
) -> StageResult:
    """Add `REWRITE_COLUMNS` with the heuristic rewriter; ``sandbox`` defaults to a fresh `sandbox.Sandbox`."""
    df = conform(df, PROBLEM_SCHEMA)
    rows = df.to_dicts()
    n = len(rows)
    cols: dict[str, list[Any]] = {name: [None] * n for name in REWRITE_COLUMNS}
    cols["rewrite_backend"], cols["rewrite_template"] = [HEURISTIC_BACKEND] * n, [HEURISTIC_VERSION] * n
    cols["num_code_blocks"] = [0] * n
    plans: dict[int, list[Calculation]] = {}
    final: dict[int, str] = {}
    texts: dict[int, str] = {}
    for i, row in enumerate(rows):
        text = unbox(original_response(row))
        answer = final_answer(row)
        if not text:
            cols["rewrite_status"][i], cols["rewrite_reason"][i] = (
                "no_reasoning",
                "no reasoning or solution text",
            )
        elif not answer:
            cols["rewrite_status"][i], cols["rewrite_reason"][i] = (
                "no_answer",
                "no final answer to end the trace",
            )
        else:
            plans[i], final[i], texts[i] = plan_blocks(text, max_blocks), answer, text
    jobs = [(i, calc, block_code([calc])) for i, plan in plans.items() for calc in plan]
    results = _execute([code for *_, code in jobs], sandbox, workers, timeout_s)
    kept_blocks: dict[int, list[tuple[Calculation, str, str]]] = {i: [] for i in plans}
    dropped = Counter[str]()
    for (i, calc, code), res in zip(jobs, results, strict=True):
        why = output_matches(res.status, res.output, [calc])
        if why is None:
            kept_blocks[i].append((calc, code, res.output))
        else:
            dropped[why] += 1
    for i, blocks in kept_blocks.items():
        trace, contradicted = compose(texts[i], blocks, final[i])
        if contradicted:
            dropped["contradicted_by_text"] += contradicted
        status, reason, n_code = classify_trace(trace)
        cols["trace"][i], cols["num_code_blocks"][i] = trace, n_code
        cols["rewrite_status"][i] = "invalid" if status == "unparseable" else status
        cols["rewrite_reason"][i] = (
            reason or f"{n_code} code blocks from {len(plans[i])} calculations"
        )
    stats = {
        "backend": HEURISTIC_BACKEND,
        "blocks_run": len(jobs),
        "blocks_dropped": dict(dropped),
        "calculations": dict(Counter(c.kind for plan in plans.values() for c in plan)),
    }
    return finish(df, cols, stats)


def _execute(codes: list[str], sandbox: Any, workers: int, timeout_s: float) -> list[Any]:
    from retool_data.aio import run_sync

    if not codes:
        return []
    if sandbox is not None:
        return run_sync(_run_all(sandbox, codes, workers * 2))
    from sandbox import Sandbox

    with Sandbox(workers=workers, timeout_s=timeout_s) as sb:
        return run_sync(_run_all(sb, codes, workers * 2))
