"""Verification stage (the paper's "DeepSeek-R1 verification"): is the teacher's final answer right?

Rules first: the teacher answer (last ``\\boxed{}`` of R1's written solution, else of its reasoning) is compared
with the gold answer by `answers.is_equivalent`. Rows the rules cannot decide go to the judge (`llm.judge`).

Kept: ``verify_verdict == "correct"``, and among the first ``responses_per_problem`` verified responses of its
problem (`stages.responses`; default 1). Quarantined (reject reasons):
- ``answer_mismatch``: the rule or the judge says the answer is wrong;
- ``surplus_response``: verified correct, but an earlier response to the same problem already filled its quota;
- ``judge_error``: the judge request failed after its retries, or every reply was malformed;
- ``unverifiable``: the rules cannot decide and no judge is configured;
- ``no_reference``: no gold answer and no gold solution: nothing to verify against, even for a judge.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl

from retool_data.llm.judge import JUDGE_TEMPLATE, JudgeVerdict, judge_request, parse_judge_reply
from retool_data.llm.types import ChatBackend
from retool_data.schema import PROBLEM_SCHEMA, VERIFY_COLUMNS, StageResult, conform, make_rejects
from retool_data.stages.responses import SURPLUS_REASON, surplus_responses
from retool_data.stages.verify_rules import gold_answer, rule_decisions, teacher_answer

STAGE = "verify"


def _judge_rows(
    rows: list[dict[str, Any]], judge: ChatBackend, params: dict[str, Any] | None, attempts: int
) -> list[tuple[str, str]]:
    """(verdict, reason) per row; malformed replies are asked again, up to ``attempts`` times in all."""
    out: list[tuple[str, str] | None] = [None] * len(rows)
    pending = list(range(len(rows)))
    for attempt in range(attempts):
        if not pending:
            break
        requests = [judge_request(rows[i], params, attempt) for i in pending]
        replies = judge.complete(requests, desc=f"judge (try {attempt + 1})")
        retry: list[int] = []
        for i, reply in zip(pending, replies, strict=True):
            if not reply.ok:
                out[i] = ("judge_error", f"judge request failed: {reply.error}")
                continue
            parsed = parse_judge_reply(reply.text)
            if isinstance(parsed, JudgeVerdict):
                out[i] = ("correct" if parsed.correct else "incorrect", parsed.reason or "(no reason given)")
            else:
                out[i] = ("judge_error", f"malformed judge reply after {attempt + 1} tries: {parsed}")
                retry.append(i)
        pending = retry
    return [o if o is not None else ("judge_error", "not judged") for o in out]


def verify(
    df: pl.DataFrame,
    judge: ChatBackend | None = None,
    *,
    judge_params: dict[str, Any] | None = None,
    judge_attempts: int = 3,
    judge_all: bool = False,
    judge_mismatches: bool = False,
    responses_per_problem: int | None = 1,
) -> StageResult:
    """Add `VERIFY_COLUMNS`; keep rows whose answer is verified correct, quarantine the rest with a reason.

    ``judge_all`` sends every row with a reference to the judge (the rules' view goes into the reason);
    ``judge_mismatches`` gives rule mismatches a second opinion (math parsing has false negatives);
    ``responses_per_problem`` keeps that many verified responses per ``problem_id`` (None: all).
    """
    df = conform(df, PROBLEM_SCHEMA)
    rows = df.to_dicts()
    cols: dict[str, list[Any]] = {name: [None] * len(rows) for name in VERIFY_COLUMNS}
    to_judge: list[int] = []
    teachers, golds = [teacher_answer(r) for r in rows], [gold_answer(r) for r in rows]
    decisions = rule_decisions(teachers, golds, [r.get("problem") or "" for r in rows])
    has_reference = [
        g is not None or bool((r.get("gold_solution") or "").strip())
        for r, g in zip(rows, golds, strict=True)
    ]
    cols["teacher_answer"] = teachers
    for i, (decided, reason) in enumerate(decisions):
        if not has_reference[i]:
            cols["verify_method"][i], cols["verify_verdict"][i] = "none", "undecided"
            cols["verify_reason"][i] = "no gold answer or gold solution"
        elif judge is not None and (judge_all or decided is None or (judge_mismatches and decided is False)):
            to_judge.append(i)
            cols["verify_reason"][i] = reason  # replaced by the judge's reason below
        else:
            verdict = "undecided" if decided is None else "correct" if decided else "incorrect"
            cols["verify_method"][i] = "none" if decided is None else "rule"
            cols["verify_verdict"][i], cols["verify_reason"][i] = verdict, reason
    if judge is not None and to_judge:
        verdicts = _judge_rows([rows[i] for i in to_judge], judge, judge_params, judge_attempts)
        for i, (verdict, reason) in zip(to_judge, verdicts, strict=True):
            cols["verify_method"][i], cols["verify_verdict"][i] = "judge", verdict
            cols["verify_reason"][i] = f"{reason} (rules: {cols['verify_reason'][i]})"
            cols["verify_judge"][i], cols["verify_template"][i] = judge.name, JUDGE_TEMPLATE.id
    out = df.with_columns(
        pl.Series(name, values, dtype=VERIFY_COLUMNS[name]) for name, values in cols.items()
    )
    reasons = [_reject_reason(v, ref) for v, ref in zip(cols["verify_verdict"], has_reference, strict=True)]
    details = list(cols["verify_reason"])
    surplus = surplus_responses(out, [r is None for r in reasons], responses_per_problem)
    for i, detail in enumerate(surplus):
        if detail is not None:
            reasons[i], details[i] = SURPLUS_REASON, detail
    return _split(out, reasons, details, judge)


def _reject_reason(verdict: str, has_reference: bool) -> str | None:
    if verdict == "correct":
        return None
    if verdict == "incorrect":
        return "answer_mismatch"
    if verdict == "judge_error":
        return "judge_error"
    return "unverifiable" if has_reference else "no_reference"


def _split(
    out: pl.DataFrame, row_reasons: list[str | None], row_details: list[str], judge: ChatBackend | None
) -> StageResult:
    is_kept = pl.Series([r is None for r in row_reasons], dtype=pl.Boolean)
    kept, dropped = out.filter(is_kept), out.filter(~is_kept)
    reasons = [r for r in row_reasons if r is not None]
    details = [d or "" for d, r in zip(row_details, row_reasons, strict=True) if r is not None]
    stats: dict[str, Any] = {
        "rows_in": out.height,
        "kept": kept.height,
        "method": dict(Counter(out["verify_method"].to_list())),
        "verdict": dict(Counter(out["verify_verdict"].to_list())),
        "judge": judge.name if judge is not None else None,
        "judge_usage": judge.usage.as_dict() if judge is not None else None,
        "surplus_responses": reasons.count(SURPLUS_REASON),
    }
    result = StageResult(kept, make_rejects(dropped, STAGE, reasons, details), stats)
    result.check_invariant(out.height)
    return result
