"""Verification stage (the paper's "DeepSeek-R1 verification"): is the teacher's final answer right?

Rules first: the teacher answer (last ``\\boxed{}`` of R1's written solution, else of its reasoning) is compared
with the gold answer by `answers.is_equivalent`. Rows the rules cannot decide go to the judge (`llm.judge`).

Kept: ``verify_verdict == "correct"``. Quarantined (reject reasons):
- ``answer_mismatch``: the rule or the judge says the answer is wrong;
- ``judge_error``: the judge request failed after its retries, or every reply was malformed;
- ``unverifiable``: the rules cannot decide and no judge is configured;
- ``no_reference``: no gold answer and no gold solution: nothing to verify against, even for a judge.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import polars as pl

from retool_data import answers
from retool_data.llm.judge import JUDGE_TEMPLATE, JudgeVerdict, judge_request, parse_judge_reply
from retool_data.llm.types import ChatBackend
from retool_data.schema import PROBLEM_SCHEMA, VERIFY_COLUMNS, StageResult, conform, make_rejects

STAGE = "verify"
_PROOF_RE = re.compile(r"\b(prove|proof|show that|demonstrate that)\b", re.I)
_LATEX_CMD_RE = re.compile(r"\\[A-Za-z]+")
_MATH_WORDS = frozenset(  # words that still make a math answer (functions, constants, connectives of lists)
    [
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "log",
        "exp",
        "sqrt",
        "frac",
        "max",
        "min",
        "gcd",
        "lcm",
        "mod",
        "deg",
        "inf",
        "infty",
        "arcsin",
        "arccos",
        "arctan",
        "and",
    ]
)


def teacher_answer(row: dict[str, Any]) -> str | None:
    return answers.extract_answer(row.get("solution")) or answers.extract_answer(row.get("reasoning"))


def gold_answer(row: dict[str, Any]) -> str | None:
    gold = (row.get("gold_answer") or "").strip()
    return gold or answers.extract_answer(row.get("gold_solution"))


def _normalized_text(answer: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", _LATEX_CMD_RE.sub(" ", answer).lower()))


def is_text_answer(answer: str) -> bool:
    """A worded answer ("Alice wins", "\\text{no such n}", "yes") that math parsing cannot compare."""
    words = re.findall(r"[a-z]{3,}", _normalized_text(answer))
    return any(w not in _MATH_WORDS for w in words) or _normalized_text(answer) in ("yes", "no")


def rule_decision(teacher: str | None, gold: str | None, problem: str) -> tuple[bool | None, str]:
    """``(True|False, reason)`` when the rules decide, ``(None, why not)`` when the row needs a judge."""
    if gold is None:
        return None, "proof problem without a reference answer" if _PROOF_RE.search(
            problem
        ) else "no gold answer"
    if teacher is None:
        return None, "no final answer in the teacher's solution"
    if is_text_answer(gold) or is_text_answer(teacher):
        if _normalized_text(gold) == _normalized_text(teacher):
            return True, f"text answers match: {teacher!r}"
        return None, "text answer"
    if answers.is_equivalent(teacher, gold):
        return True, f"{teacher!r} is equivalent to {gold!r}"
    return False, f"{teacher!r} is not equivalent to {gold!r}"


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
) -> StageResult:
    """Add `VERIFY_COLUMNS`; keep rows whose answer is verified correct, quarantine the rest with a reason.

    ``judge_all`` sends every row with a reference to the judge (the rules' view goes into the reason);
    ``judge_mismatches`` gives rule mismatches a second opinion (math parsing has false negatives).
    """
    df = conform(df, PROBLEM_SCHEMA)
    rows = df.to_dicts()
    cols: dict[str, list[Any]] = {name: [None] * len(rows) for name in VERIFY_COLUMNS}
    to_judge: list[int] = []
    has_reference = [False] * len(rows)
    for i, row in enumerate(rows):
        teacher, gold = teacher_answer(row), gold_answer(row)
        cols["teacher_answer"][i] = teacher
        decided, reason = rule_decision(teacher, gold, row.get("problem") or "")
        has_reference[i] = gold is not None or bool((row.get("gold_solution") or "").strip())
        if not has_reference[i]:
            cols["verify_method"][i], cols["verify_verdict"][i] = "none", "undecided"
            cols["verify_reason"][i] = "no gold answer or gold solution"
        elif judge is not None and (judge_all or decided is None or (judge_mismatches and decided is False)):
            to_judge.append(i)
            cols["verify_reason"][i] = reason  # replaced by the judge's reason below
        elif decided is None:
            cols["verify_method"][i], cols["verify_verdict"][i], cols["verify_reason"][i] = (
                "none",
                "undecided",
                reason,
            )
        else:
            cols["verify_method"][i] = "rule"
            cols["verify_verdict"][i] = "correct" if decided else "incorrect"
            cols["verify_reason"][i] = reason
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
    return _split(out, reasons, judge)


def _reject_reason(verdict: str, has_reference: bool) -> str | None:
    if verdict == "correct":
        return None
    if verdict == "incorrect":
        return "answer_mismatch"
    if verdict == "judge_error":
        return "judge_error"
    return "unverifiable" if has_reference else "no_reference"


def _split(out: pl.DataFrame, row_reasons: list[str | None], judge: ChatBackend | None) -> StageResult:
    is_kept = pl.Series([r is None for r in row_reasons], dtype=pl.Boolean)
    kept, dropped = out.filter(is_kept), out.filter(~is_kept)
    reasons = [r for r in row_reasons if r is not None]
    stats: dict[str, Any] = {
        "rows_in": out.height,
        "kept": kept.height,
        "method": dict(Counter(out["verify_method"].to_list())),
        "verdict": dict(Counter(out["verify_verdict"].to_list())),
        "judge": judge.name if judge is not None else None,
        "judge_usage": judge.usage.as_dict() if judge is not None else None,
    }
    result = StageResult(
        kept, make_rejects(dropped, STAGE, reasons, dropped["verify_reason"].to_list()), stats
    )
    result.check_invariant(out.height)
    return result
