"""Heuristic rewriter (no LLM), the default when no endpoint is configured.

It finds the explicit calculations in R1's reasoning (`heuristic.calculations`), writes the code for each, runs
that code in the sandbox, and inserts ``<code>`` + ``<interpreter>`` blocks holding what the sandbox really
printed, before the line where the text states the result. The reasoning text itself is kept byte for byte and
the trace ends with ``<answer>\\boxed{teacher answer}</answer>``. Calculations on one line share a block.

A block whose run fails, or whose printed values disagree with the text, is left out (counted in
``stats["blocks_dropped"]``). Rows are quarantined as in `stages.rewrite`: ``no_code`` when nothing could be
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
from retool_data.heuristic.calculations import Calculation, find_calculations, insertion_lines
from retool_data.heuristic.checks import output_matches
from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, StageResult, conform
from retool_data.stages.rewrite import classify_trace, finish, original_response
from retool_data.trace import format_code_block, format_interpreter_block

HEURISTIC_BACKEND = "heuristic"
HEURISTIC_VERSION = "retool-heuristic@1"  # recorded as rewrite_template; bump when the output changes
DEFAULT_MAX_BLOCKS = 8


def final_answer(row: dict[str, Any]) -> str | None:
    """The teacher's answer; the gold answer only when verification judged the teacher right without one."""
    found = row.get("teacher_answer") or answers.extract_answer(row.get("solution"))
    found = found or answers.extract_answer(original_response(row))
    if found is None and row.get("verify_verdict") == "correct":
        found = (row.get("gold_answer") or "").strip() or None
    return found


def plan_blocks(text: str, max_blocks: int = DEFAULT_MAX_BLOCKS) -> list[tuple[int, list[Calculation]]]:
    """``(line index, calculations)`` per code block, in text order, at most ``max_blocks`` blocks."""
    moved = insertion_lines(text)
    groups: dict[int, list[Calculation]] = {}
    for calc in find_calculations(text):
        groups.setdefault(moved.get(calc.line, calc.line), []).append(calc)
    return sorted(groups.items())[:max_blocks]


def block_code(calcs: list[Calculation]) -> str:
    imports = sorted({imp for c in calcs for imp in c.imports}, key=lambda s: (not s.startswith("import"), s))
    return "\n".join(imports + [c.statement for c in calcs])


def assemble(text: str, blocks: list[tuple[int, str, str]], answer: str) -> str:
    """The trace: ``text`` with ``(line, code, output)`` blocks inserted before their lines, then the answer."""
    lines = text.split("\n")
    by_line = {line: (code, out) for line, code, out in blocks}
    parts: list[str] = []
    for i, line in enumerate(lines):
        if i in by_line:
            code, out = by_line[i]
            parts.append(format_code_block(code) + format_interpreter_block(out) + line)
        else:
            parts.append(line)
    return "\n".join(parts).rstrip() + f"\n\n<answer>\\boxed{{{answer}}}</answer>"


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
    plans: dict[int, list[tuple[int, list[Calculation]]]] = {}
    final: dict[int, str] = {}
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
            plans[i], final[i] = plan_blocks(text, max_blocks), answer
    jobs = [(i, line, calcs, block_code(calcs)) for i, plan in plans.items() for line, calcs in plan]
    results = _execute([code for *_, code in jobs], sandbox, workers, timeout_s)
    kept_blocks: dict[int, list[tuple[int, str, str]]] = {i: [] for i in plans}
    dropped = Counter[str]()
    for (i, line, calcs, code), res in zip(jobs, results, strict=True):
        why = output_matches(res.status, res.output, calcs)
        if why is None:
            kept_blocks[i].append((line, code, res.output))
        else:
            dropped[why] += 1
    for i, blocks in kept_blocks.items():
        trace = assemble(original_response(rows[i]), blocks, final[i])
        status, reason, n_code = classify_trace(trace)
        cols["trace"][i], cols["num_code_blocks"][i] = trace, n_code
        cols["rewrite_status"][i] = "invalid" if status == "unparseable" else status
        cols["rewrite_reason"][i] = (
            reason or f"{n_code} code blocks from {sum(len(c) for _, c in plans[i])} calculations"
        )
    stats = {
        "backend": HEURISTIC_BACKEND,
        "blocks_run": len(jobs),
        "blocks_dropped": dict(dropped),
        "calculations": dict(Counter(c.kind for plan in plans.values() for _, cs in plan for c in cs)),
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
