"""Execution consistency: does every ``<interpreter>`` block say what its code really prints?

`check_consistency(trace_text, sandbox)` runs the trace's code blocks in order in one sandbox session (state
carries across blocks, like the notebook the trace pretends to be) and judges each block:

=====================  ===========================================================================  ========
verdict                when                                                                         passes
=====================  ===========================================================================  ========
``match``              the run succeeded and its output equals the written one (after normalization)   yes
``error_expected``     the run raised and the written output names the same exception class            yes
``mismatch``           the run succeeded but the written output differs                               no
``error_unexpected``   the run raised (or hit the memory limit / was killed) and the trace did not    no
                       expect that exception
``timeout``            the run hit the wall-clock limit; later blocks are ``skipped`` (as after a      no
                       ``killed`` run: the sandbox dropped the session's state)
``missing_interpreter``  the code block has no ``<interpreter>`` block after it                       no
=====================  ===========================================================================  ========

Normalization (`normalize_output`) forgives only layout: line endings (``\\r\\n``, ``\\r``), runs of spaces and
tabs (collapsed to one space), spaces at line ends and starts, blank lines before and after. It never deletes a
character between two non-space characters, so ``12`` vs ``1 2``, ``0.3`` vs ``0.30000000000000004`` or a
changed digit stay different. When the sandbox truncated a long output, the written text may equal either the
truncated output or the full stdout.

Repair mode (``repair=True``) fixes traces whose only faults are ``mismatch``/``missing_interpreter``: the real
outputs are written into the trace, and the final answer is re-checked: it must still be equivalent to the gold
answer (when given) and must not have been read off a hallucinated output (a number equal to the final answer
that appears in a replaced written output but not in the real one), else the row is still rejected.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from retool_data.aio import run_sync
from retool_data.schema import StageResult, make_rejects
from retool_data.stages.consistency_repair import repair_trace
from retool_data.trace import ToolCall, parse_trace

if TYPE_CHECKING:
    from sandbox import ExecResult, Sandbox

PASSING = frozenset({"match", "error_expected"})
# After these the sandbox has killed the session's process: later blocks would run in an empty namespace.
SESSION_LOST = frozenset({"timeout", "killed"})
REASONS = {  # first failing block -> the report's reason
    "mismatch": "output_mismatch",
    "error_unexpected": "unexpected_error",
    "timeout": "execution_timeout",
    "missing_interpreter": "missing_interpreter",
}
CONSISTENCY_COLUMNS: dict[str, pl.DataType] = {
    "consistency_verdict": pl.String(),
    "consistency_blocks": pl.List(pl.String()),
    "trace_before_repair": pl.String(),
}
_ERROR_LINE_RE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b")


@dataclass(frozen=True)
class BlockVerdict:
    index: int
    verdict: str
    expected: str | None  # the written <interpreter> text (None when missing)
    actual: str | None  # what the sandbox produced (None when skipped)
    status: str | None  # the sandbox's ExecResult.status

    def describe(self) -> str:
        return f"block {self.index}: {self.verdict} (status={self.status}; wrote {self.expected!r}, got {self.actual!r})"


@dataclass(frozen=True)
class ConsistencyReport:
    consistent: bool
    reason: str  # "consistent", "no_code", "repaired", or the failing reason (see REASONS, repair reasons)
    blocks: tuple[BlockVerdict, ...] = ()
    repaired: bool = False
    trace: str | None = None  # the trace to keep: the repaired text in repair mode, else the input
    detail: str = ""

    @property
    def verdicts(self) -> list[str]:
        return [b.verdict for b in self.blocks]


def normalize_output(text: str | None) -> str:
    """Layout-only normalization of interpreter output (see module docstring)."""
    lines = [
        " ".join(line.split()) for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _error_class(text: str | None) -> str | None:
    lines = [ln.strip() for ln in normalize_output(text).split("\n") if ln.strip()]
    if not lines:
        return None
    m = _ERROR_LINE_RE.match(lines[-1])
    return m.group(1).rsplit(".", 1)[-1] if m else None


def judge_block(index: int, call: ToolCall, result: ExecResult) -> BlockVerdict:
    """The verdict of one code block given the sandbox's ExecResult (`status`, `output`, `stdout`, `truncated`)."""
    actual, status = result.output, result.status
    if status == "timeout":
        return BlockVerdict(index, "timeout", call.output, actual, status)
    if call.output is None:
        return BlockVerdict(index, "missing_interpreter", None, actual, status)
    if status == "ok":
        written = normalize_output(call.output)
        same = written == normalize_output(actual) or (
            result.truncated and written == normalize_output(result.stdout)
        )
        return BlockVerdict(index, "match" if same else "mismatch", call.output, actual, status)
    expected_class = _error_class(call.output)
    real_class = _error_class(actual) if status == "error" else None
    verdict = (
        "error_expected"
        if expected_class is not None and expected_class == real_class
        else "error_unexpected"
    )
    return BlockVerdict(index, verdict, call.output, actual, status)


@dataclass
class _Run:
    """Blocks to run for one trace, and their results as they come."""

    calls: list[ToolCall]
    session: str = field(default_factory=lambda: f"consistency-{uuid.uuid4().hex}")
    results: list[ExecResult] = field(default_factory=list)

    def judged(self) -> list[BlockVerdict]:
        verdicts = [
            judge_block(i, c, r) for i, (c, r) in enumerate(zip(self.calls, self.results, strict=False))
        ]
        skipped = [BlockVerdict(i, "skipped", c.output, None, None) for i, c in enumerate(self.calls)]
        return verdicts + skipped[len(verdicts) :]


def _report(trace_text: str, run: _Run, repair: bool, gold_answer: str | None) -> ConsistencyReport:
    blocks = tuple(run.judged())
    if not blocks:
        return ConsistencyReport(True, "no_code", (), False, trace_text)
    failing = [b for b in blocks if b.verdict not in PASSING]
    if not failing:
        return ConsistencyReport(True, "consistent", blocks, False, trace_text)
    first = next(b for b in failing if b.verdict != "skipped")
    reason, detail = REASONS[first.verdict], first.describe()
    if repair and all(b.verdict in ("mismatch", "missing_interpreter") for b in failing):
        fixed, why = repair_trace(trace_text, blocks, gold_answer)
        if fixed is not None:
            return ConsistencyReport(True, "repaired", blocks, True, fixed, detail)
        return ConsistencyReport(False, why, blocks, False, trace_text, detail)
    return ConsistencyReport(False, reason, blocks, False, trace_text, detail)


def check_consistency(
    trace_text: str, sandbox: Sandbox, *, repair: bool = False, gold_answer: str | None = None
) -> ConsistencyReport:
    """Run the trace's code blocks in one sandbox session and judge each against its written output."""
    run = _Run(parse_trace(trace_text).tool_calls)
    try:
        for call in run.calls:
            run.results.append(sandbox.run(call.code, session=run.session))
            if run.results[-1].status in SESSION_LOST:
                break
    finally:
        sandbox.close_session(run.session)
    return _report(trace_text, run, repair, gold_answer)


async def acheck_consistency(
    trace_text: str, sandbox: Sandbox, *, repair: bool = False, gold_answer: str | None = None
) -> ConsistencyReport:
    """`check_consistency` on the sandbox's async API, so many traces can be checked concurrently."""
    run = _Run(parse_trace(trace_text).tool_calls)
    try:
        for call in run.calls:
            run.results.append(await sandbox.arun(call.code, session=run.session))
            if run.results[-1].status in SESSION_LOST:
                break
    finally:
        await sandbox.aclose_session(run.session)
    return _report(trace_text, run, repair, gold_answer)


# ------------------------------------------------------------------------------------------ frame stage

STAGE = "consistency"


def _kept_frame(
    df: pl.DataFrame, idx: list[int], reports: list[ConsistencyReport], column: str
) -> pl.DataFrame:
    """The kept rows with the consistency columns (replacing same-named ones in place) and repaired traces."""
    if not idx:
        return pl.DataFrame(schema={**df.schema, **CONSISTENCY_COLUMNS})
    before = df.get_column(column).gather(idx).to_list()
    added = {
        "consistency_verdict": ["repaired" if r.repaired else r.reason for r in reports],
        "consistency_blocks": [r.verdicts for r in reports],
        "trace_before_repair": [b if r.repaired else None for b, r in zip(before, reports, strict=True)],
    }
    columns = [pl.Series(name, added[name], dtype=dtype) for name, dtype in CONSISTENCY_COLUMNS.items()]
    if any(r.repaired for r in reports):
        columns.append(pl.Series(column, [r.trace for r in reports], dtype=df.schema[column]))
    return df[idx].with_columns(columns)


def consistency_stage(
    df: pl.DataFrame, sandbox: Sandbox, *, repair: bool = False, concurrency: int = 32, column: str = "trace"
) -> StageResult:
    """Check every row's trace concurrently through the sandbox's async API.

    Kept rows gain ``consistency_verdict`` (``consistent`` | ``repaired`` | ``no_code``), ``consistency_blocks``
    (the per-block verdicts) and ``trace_before_repair`` (the original text when repaired; ``trace`` then holds
    the repaired one). Rejected rows carry the report's reason and the first failing block as detail.
    """

    # Only the columns the check reads, as lists: the other columns never leave polars (kept rows are a slice).
    def values(name: str) -> list[Any]:
        return df.get_column(name).to_list() if name in df.columns else [None] * df.height

    texts, golds = values(column), values("gold_answer")
    teachers, verified = values("teacher_answer"), values("verify_verdict")
    # Each trace in flight holds a session; beyond the sandbox's session cap an idle one (a trace between two
    # blocks) would be evicted and lose its state.
    concurrency = max(1, min(concurrency, sandbox.config.max_sessions))

    async def check_all() -> list[ConsistencyReport | None]:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> ConsistencyReport | None:
            if not texts[i]:
                return None
            gold = golds[i] or (teachers[i] if verified[i] == "correct" else None)
            async with gate:
                return await acheck_consistency(texts[i], sandbox, repair=repair, gold_answer=gold)

        return await asyncio.gather(*(one(i) for i in range(df.height)))

    reports = run_sync(check_all())
    kept_idx, rejected_idx, reasons, details = [], [], [], []
    for i, rep in enumerate(reports):
        if rep is None or not rep.consistent:
            rejected_idx.append(i)
            reasons.append("missing_trace" if rep is None else rep.reason)
            details.append("" if rep is None else rep.detail)
        else:
            kept_idx.append(i)
    kept = _kept_frame(df, kept_idx, [reports[i] for i in kept_idx], column)
    rejected = make_rejects(df[rejected_idx], STAGE, reasons, details)
    block_counts = Counter(v for rep in reports if rep is not None for v in rep.verdicts)
    stats = {
        "rows_in": df.height,
        "repaired": sum(1 for rep in reports if rep is not None and rep.repaired),
        "block_verdicts": dict(sorted(block_counts.items())),
    }
    return StageResult(kept=kept, rejected=rejected, stats=stats)
