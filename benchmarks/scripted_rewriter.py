"""Scripted LLM rewriter replies for `benchmarks/trace_quality.py --scripted-llm` (the fault-injecting test server).

The test server (`tests/retool_data/llm/fake_openai.py`) answers each rewrite request with one of these, chosen by a
hash of the problem, so the LLM path's parsing, consistency check and quality scoring run on replies of known kinds:

- ``working`` (40%): the reasoning rewritten so the code does the work (the heuristic rewriter's trace);
- ``decorating`` (40%): what the issue saw: every calculation keeps its hand steps and gets a ``print`` block
  inserted before its line, the box kept in the text as well as in the answer;
- ``unparseable`` (10%): a reply cut off inside a code block;
- ``no_code`` (10%): the reasoning with an answer and no code at all.

Faults on the first attempt of some requests: HTTP 500 (retried), a dropped connection (retried).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from typing import Any

from retool_data.heuristic.calculations import find_calculations
from retool_data.trace import format_code_block, format_interpreter_block


def _bucket(problem: str) -> int:
    return int(hashlib.sha256(problem.encode()).hexdigest()[:8], 16) % 10


def reply_kind(problem: str) -> str:
    b = _bucket(problem)
    return "working" if b < 4 else "decorating" if b < 8 else "unparseable" if b == 8 else "no_code"


def _run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # noqa: S102 - code this benchmark generated from parsed arithmetic
    return out.getvalue()


def decorating(reasoning: str, answer: str) -> str:
    """Blocks inserted before each calculation's line, the text left as it was (so it redoes every result)."""
    lines = reasoning.split("\n")
    calcs = find_calculations(reasoning)
    by_line: dict[int, list[str]] = {}
    for calc in calcs:
        code = "\n".join(sorted(calc.imports) + [calc.statement])
        try:
            by_line.setdefault(calc.line, []).append(
                format_code_block(code) + format_interpreter_block(_run(code))
            )
        except Exception:  # noqa: BLE001, S112 - a statement that does not run is simply not decorated
            continue
    out = [("".join(by_line[i]) if i in by_line else "") + line for i, line in enumerate(lines)]
    return "\n".join(out).rstrip() + f"\n\n<answer>\\boxed{{{answer}}}</answer>"


def make_responder(rows: list[dict[str, Any]], working: dict[str, str]) -> Any:
    """A `fake_openai` responder for these rows (``working``: problem -> a trace whose code does the work)."""
    from tests.retool_data.llm.fake_openai import Reply, prompt_of

    by_problem = {r["problem"]: r for r in rows}

    def responder(body: dict[str, Any], seen: int) -> Reply:
        prompt = prompt_of(body)
        m = re.search(r"User Question:\n(.*?)\n\nOriginal Thinking Process", prompt, re.S)
        row = by_problem.get(m.group(1).strip()) if m else None
        if row is None:
            return Reply("status", status=400, text="unknown problem")
        b = _bucket(row["problem"] + "fault")
        if seen == 0 and b == 0:
            return Reply("status", status=500, text="injected")
        if seen == 0 and b == 1:
            return Reply("drop")
        kind = reply_kind(row["problem"])
        answer = row["answer"]
        if kind == "working" and row["problem"] in working:
            return Reply(text=working[row["problem"]])
        if kind == "unparseable":
            return Reply(text=row["reasoning"][:200] + "\n<code>\n```python\nprint(1 +")
        if kind == "no_code":
            return Reply(text=row["reasoning"] + f"\n<answer>\\boxed{{{answer}}}</answer>")
        return Reply(text=decorating(row["reasoning"], answer))

    return responder
