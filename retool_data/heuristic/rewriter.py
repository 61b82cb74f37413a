"""One row through the heuristic rewriter: plan the blocks, then build the trace from what the sandbox printed.

`plan_row` finds the calculations worth a block (non-overlapping, each where a block can be cut in) and the final
check the problem allows; the caller runs every block's code in the sandbox; `build_trace` keeps the blocks whose
output is what the plan expected, cuts them into the text (`compose.assemble`), and drops any block the
trace-quality scorer finds contradicted by the text after it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from retool_data.heuristic.calculations import Calculation, find_calculations
from retool_data.heuristic.checks import final_check_matches, output_matches
from retool_data.heuristic.compose import Placement, assemble, unbox
from retool_data.heuristic.final_check import FinalCheck, final_check
from retool_data.heuristic.mathspans import can_cut, math_spans
from retool_data.trace_quality import score_trace

DEFAULT_MAX_BLOCKS = 8


@dataclass
class RowPlan:
    text: str  # the reasoning with its boxes unwrapped
    answer: str
    calcs: list[Calculation]
    check: FinalCheck | None = None
    codes: list[str] = field(default_factory=list)  # one per calc, then the check's


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


def plan_row(problem: str, reasoning: str, answer: str, max_blocks: int = DEFAULT_MAX_BLOCKS) -> RowPlan:
    text = unbox(reasoning)
    plan = RowPlan(text, answer, plan_blocks(text, max_blocks), final_check(problem or "", answer, text))
    plan.codes = [block_code([c]) for c in plan.calcs] + ([plan.check.code] if plan.check else [])
    return plan


def build_trace(plan: RowPlan, results: list[Any], dropped: Counter[str]) -> str:
    """The trace from the sandbox's results (one per ``plan.codes``); failed or contradicted blocks are counted in
    ``dropped`` and left out."""
    kept: list[tuple[Calculation, str, str]] = []
    for calc, code, res in zip(plan.calcs, plan.codes, results, strict=False):
        why = output_matches(res.status, res.output, [calc])
        if why is None:
            kept.append((calc, code, res.output))
        else:
            dropped[why] += 1
    check = None
    if plan.check is not None:
        res = results[len(plan.calcs)]
        why = final_check_matches(res.status, res.output, plan.check)
        if why is None:
            check = (plan.check.lead_in, plan.check.code, res.output, plan.check.conclusion)
        else:
            dropped[f"final_check_{why}"] += 1
    while True:
        placements = [Placement(c.kind, c.start, c.cut, c.resume, code, out) for c, code, out in kept]
        trace = assemble(plan.text, placements, plan.answer, final_check=check)
        bad = {b.index for b in score_trace(trace).blocks if "contradicted" in b.flags}
        if not bad:
            return trace
        dropped["contradicted_by_text"] += len(bad)
        if len(kept) in bad:
            check = None
        kept = [k for n, k in enumerate(kept) if n not in bad]
