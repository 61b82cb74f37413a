"""Test frames in the shape the rewrite stage produces: PROBLEM_SCHEMA + VERIFY_COLUMNS + REWRITE_COLUMNS."""

from __future__ import annotations

from typing import Any

import polars as pl

from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, VERIFY_COLUMNS, conform, problem_id
from retool_data.trace import format_code_block

CURATED_SCHEMA = {**PROBLEM_SCHEMA, **VERIFY_COLUMNS, **REWRITE_COLUMNS}


def interp(output: str) -> str:
    return f"<interpreter>\n{output}\n</interpreter>"


def trace(*parts: tuple[str, str], answer: str | None = None) -> str:
    """A canonical trace from ("text", s) / ("code", body) / ("out", written output) parts and a final answer."""
    pieces = []
    for kind, content in parts:
        if kind == "text":
            pieces.append(content)
        elif kind == "code":
            pieces.append(format_code_block(content))
        elif kind == "out":
            pieces.append(interp(content))
        else:
            raise ValueError(kind)
    text = "\n".join(pieces)
    return text + (f"\n<answer>\\boxed{{{answer}}}</answer>" if answer is not None else "")


def simple_trace(expr: str, value: str, answer: str | None = None) -> str:
    return trace(
        ("text", "Let me compute it."), ("code", f"print({expr})"), ("out", value), answer=answer or value
    )


def row(problem: str, trace_text: str | None, gold: str | None, **extra: Any) -> dict[str, Any]:
    base = {
        "id": problem_id(problem),
        "dataset": "test",
        "source": "synthetic",
        "source_id": extra.pop("source_id", problem_id(problem)),
        "problem": problem,
        "gold_answer": gold,
        "teacher_answer": gold,
        "verify_method": "rule",
        "verify_verdict": "correct",
        "trace": trace_text,
        "rewrite_backend": "heuristic",
        "rewrite_template": "retool-coldstart@1",
        "rewrite_status": "ok" if trace_text else "error",
        "num_code_blocks": trace_text.count("<code>") if trace_text else 0,
    }
    base.update(extra)
    return base


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return conform(pl.DataFrame(rows, infer_schema_length=None), CURATED_SCHEMA)
