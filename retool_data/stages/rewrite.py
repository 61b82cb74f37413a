"""Rewrite stage: the paper's cold-start template turns R1's text-only reasoning into code-interleaved reasoning.

One request per row (`CURATION_TEMPLATE` over the problem and R1's thinking). The raw reply is stored as is
(``raw_reply``); the trace is the reply without any ``<think>`` preamble, checked with `trace.validate_trace`.

Kept: ``rewrite_status == "ok"``: a valid ReTool trace with at least one code block. Quarantined (the whole
row, raw reply included, is in the reject row), with reasons:
- ``rewrite_error``: the request failed after its retries (a re-run sends it again: errors are not cached);
- ``unparseable_reply``: the reply is not a valid trace (``rewrite_reason`` lists `validate_trace` codes);
- ``no_code``: a valid trace, but nothing was turned into code;
- ``no_reasoning``: the row has neither reasoning nor solution text to rewrite (nothing is sent).

Whether the interpreter outputs the model wrote are what the code really prints is the consistency stage's
question, not this one's.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import polars as pl

from retool_data.llm.types import ChatBackend, ChatRequest
from retool_data.schema import PROBLEM_SCHEMA, REWRITE_COLUMNS, StageResult, conform, make_rejects
from retool_data.templates import CURATION_TEMPLATE, PromptTemplate
from retool_data.trace import parse_trace, validate_trace

STAGE = "rewrite"
DEFAULT_REWRITE_PARAMS: dict[str, Any] = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 16384}
# rewrite_status -> reject reason (every status but "ok" is quarantined)
STATUS_REASONS = {
    "error": "rewrite_error",
    "unparseable": "unparseable_reply",
    "invalid": "invalid_trace",
    "no_code": "no_code",
    "no_reasoning": "no_reasoning",
    "no_answer": "no_answer",
}
_THINK_RE = re.compile(r"\A\s*<think>.*?</think>", re.S)


def original_response(row: dict[str, Any]) -> str:
    """What the template calls the original thinking process: R1's reasoning, else its written solution."""
    return (row.get("reasoning") or "").strip() or (row.get("solution") or "").strip()


def rewrite_request(
    row: dict[str, Any], params: dict[str, Any] | None = None, template: PromptTemplate = CURATION_TEMPLATE
) -> ChatRequest:
    prompt = template.format(
        question=(row.get("problem") or "").strip(), original_response=original_response(row)
    )
    return ChatRequest.user(
        prompt,
        params=params if params is not None else DEFAULT_REWRITE_PARAMS,
        template=template.id,
        tag=str(row.get("id") or ""),
    )


def classify_trace(trace: str) -> tuple[str, str, int]:
    """``(status, reason, num_code_blocks)`` of a candidate trace: ok | unparseable | no_code."""
    n_code = len(parse_trace(trace).code_blocks)
    codes = sorted({p.code for p in validate_trace(trace)})
    if n_code == 0:
        return "no_code", "no code block" + (f"; also {','.join(codes)}" if codes else ""), 0
    if codes:
        return "unparseable", ",".join(codes), n_code
    return "ok", "", n_code


def trace_from_reply(reply: str) -> str:
    return _THINK_RE.sub("", reply).strip()


def finish(df: pl.DataFrame, cols: dict[str, list[Any]], stats: dict[str, Any]) -> StageResult:
    """Attach the rewrite columns and split kept/rejected by status; shared by the LLM and heuristic rewriters."""
    out = df.with_columns(pl.Series(name, cols[name], dtype=dtype) for name, dtype in REWRITE_COLUMNS.items())
    status = cols["rewrite_status"]
    reasons = [None if s == "ok" else STATUS_REASONS[s] for s in status]
    keep = pl.Series([r is None for r in reasons], dtype=pl.Boolean)
    kept, dropped = out.filter(keep), out.filter(~keep)
    dropped_reasons = [r for r in reasons if r is not None]
    details = [d or "" for d, r in zip(cols["rewrite_reason"], reasons, strict=True) if r is not None]
    stats = {"rows_in": out.height, "kept": kept.height, "status": dict(Counter(status)), **stats}
    result = StageResult(kept, make_rejects(dropped, STAGE, dropped_reasons, details), stats)
    result.check_invariant(out.height)
    return result


def rewrite(
    df: pl.DataFrame,
    backend: ChatBackend,
    *,
    params: dict[str, Any] | None = None,
    template: PromptTemplate = CURATION_TEMPLATE,
) -> StageResult:
    """Add `REWRITE_COLUMNS` using an LLM backend; keep valid code-augmented traces, quarantine the rest."""
    df = conform(df, PROBLEM_SCHEMA)
    rows = df.to_dicts()
    n = len(rows)
    cols: dict[str, list[Any]] = {name: [None] * n for name in REWRITE_COLUMNS}
    cols["rewrite_backend"] = [backend.name] * n
    cols["rewrite_template"] = [template.id] * n
    cols["num_code_blocks"] = [0] * n
    todo = [i for i in range(n) if original_response(rows[i])]
    for i in set(range(n)) - set(todo):
        cols["rewrite_status"][i], cols["rewrite_reason"][i] = "no_reasoning", "no reasoning or solution text"
    replies = backend.complete([rewrite_request(rows[i], params, template) for i in todo], desc="rewrite")
    for i, reply in zip(todo, replies, strict=True):
        if not reply.ok:
            cols["rewrite_status"][i], cols["rewrite_reason"][i] = "error", reply.error
            continue
        cols["raw_reply"][i] = reply.text
        trace = trace_from_reply(reply.text or "")
        status, reason, n_code = classify_trace(trace)
        cols["trace"][i], cols["rewrite_status"][i] = trace, status
        cols["rewrite_reason"][i], cols["num_code_blocks"][i] = reason, n_code
    return finish(df, cols, {"backend": backend.name, "usage": backend.usage.as_dict()})
