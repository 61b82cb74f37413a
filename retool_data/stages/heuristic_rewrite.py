"""Heuristic rewriter (no LLM), the default when no endpoint is configured: the code replaces the hand work.

It finds the explicit calculations in R1's reasoning (`heuristic.calculations`: arithmetic chains, equations whose
solution the text states), writes exact code for each (`Fraction`, sympy; rounded only at the end, to the places
the text writes), runs it in the sandbox, and cuts the block into the text (`heuristic.compose`): after the
expression that motivates it, with the text resuming at the stated result (``This gives $r = 3$.``) instead of
redoing the steps. The text's own boxes are unwrapped; the trace ends with one ``<answer>\\boxed{answer}</answer>``.
Calculations a reader does at a glance (`calculations.is_trivial`) are left as text. A final check goes after the
text where the problem allows one (`heuristic.final_check`): the answer substituted back, the asked value computed,
or, when the reasoning argues in words, a check read off the problem itself (`heuristic.problem_checks`: number
theory, brute-force enumeration, sympy simplification, series, function values, ODE residuals, linear systems).

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
from retool_data.answer_forms import reference_form
from retool_data.heuristic.rewriter import DEFAULT_MAX_BLOCKS, RowPlan, build_trace, plan_row
from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, StageResult, conform
from retool_data.stages.rewrite import classify_trace, finish, original_response

HEURISTIC_BACKEND = "heuristic"
HEURISTIC_VERSION = "retool-heuristic@3"  # recorded as rewrite_template; bump when the output changes


def final_answer(row: dict[str, Any]) -> str | None:
    """The teacher's answer; the gold answer only when verification judged the teacher right without one."""
    found = row.get("teacher_answer") or answers.extract_answer(row.get("solution"))
    found = found or answers.extract_answer(original_response(row))
    if found is None and row.get("verify_verdict") == "correct":
        found = (row.get("gold_answer") or "").strip() or None
    return reference_form(found)  # spelled as the verl ground truth is (export.reference_answer)


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
    plans: dict[int, RowPlan] = {}
    for i, row in enumerate(rows):
        text = original_response(row)
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
            plans[i] = plan_row(row.get("problem") or "", text, answer, max_blocks)
    jobs = [(i, n) for i, plan in plans.items() for n in range(len(plan.codes))]
    results = _execute([plans[i].codes[n] for i, n in jobs], sandbox, workers, timeout_s)
    by_row: dict[int, list[Any]] = {i: [] for i in plans}
    for (i, _), res in zip(jobs, results, strict=True):
        by_row[i].append(res)
    dropped = Counter[str]()
    for i, plan in plans.items():
        trace = build_trace(plan, by_row[i], dropped)
        status, reason, n_code = classify_trace(trace)
        cols["trace"][i], cols["num_code_blocks"][i] = trace, n_code
        cols["rewrite_status"][i] = "invalid" if status == "unparseable" else status
        cols["rewrite_reason"][i] = reason or f"{n_code} code blocks from {len(plan.calcs)} calculations" + (
            " and a final check" if plan.check else ""
        )
    stats = {
        "backend": HEURISTIC_BACKEND,
        "blocks_run": len(jobs),
        "blocks_dropped": dict(dropped),
        "calculations": dict(Counter(c.kind for plan in plans.values() for c in plan.calcs)),
        "final_checks": dict(Counter(plan.check.kind for plan in plans.values() if plan.check)),
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
