"""Repair of an inconsistent trace: write the real interpreter outputs in, then re-check the final answer.

The real output goes in verbatim (`ExecResult.output`, what the RL rollout will show the model). Only
``mismatch`` and ``missing_interpreter`` blocks are repairable (an unexpected error or a timeout means the
reasoning after the block rests on a result that never existed). Segments that are not repaired keep their exact
source text, so a repaired trace differs from the original only inside the replaced/inserted blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from retool_data.trace import format_interpreter_block, parse_trace, render_segment

_NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?$")


def _mentions(text: str | None, answer: str) -> bool:
    """Whether `answer` (a plain number) occurs in `text` as a whole number, not inside a longer one."""
    return bool(text) and re.search(rf"(?<![\d.]){re.escape(answer)}(?![\d]|\.\d)", text) is not None


def _interpreter_raw(output: str | None) -> str:
    """The block exactly as the RL rollout shows it (`trace.format_interpreter_block`, tag look-alikes escaped,
    without the newlines around it)."""
    return format_interpreter_block(output or "")[1:-1]


def repair_trace(trace_text: str, blocks: Sequence[Any], gold_answer: str | None) -> tuple[str | None, str]:
    """(repaired trace, "repaired") or (None, reason) with reason ``repair_answer_mismatch`` /
    ``repair_answer_unsupported``. `blocks` are the consistency verdicts, one per tool call, in order."""
    from retool_data.stages.filters import answers_match

    trace = parse_trace(trace_text)
    calls = trace.tool_calls
    replace: dict[int, str] = {}  # segment index -> new raw text
    insert_after: dict[int, str] = {}  # code segment index -> interpreter block to insert after it
    for call, block in zip(calls, blocks, strict=True):
        if block.verdict == "mismatch" and call.interpreter_segment is not None:
            replace[call.interpreter_segment] = _interpreter_raw(block.actual)
        elif block.verdict == "missing_interpreter":
            insert_after[call.code_segment] = "\n" + _interpreter_raw(block.actual)
    parts = []
    for i, seg in enumerate(trace.segments):
        parts.append(replace.get(i, seg.raw or render_segment(seg)))
        if i in insert_after:
            parts.append(insert_after[i])
    fixed = "".join(parts)

    final = parse_trace(fixed).final_answer
    if gold_answer and (not final or not answers_match([final], [gold_answer])[0]):
        return None, "repair_answer_mismatch"
    if final and _NUMBER_RE.match(final.strip()):
        answer = final.strip()
        for block in blocks:
            if (
                block.verdict == "mismatch"
                and _mentions(block.expected, answer)
                and not _mentions(block.actual, answer)
            ):
                return None, "repair_answer_unsupported"
    return fixed, "repaired"
