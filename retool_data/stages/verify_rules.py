"""The rules of verification: extract both answers and compare them, without any LLM.

`rule_decision` says ``(True|False, reason)`` when the rules decide and ``(None, why not)`` when the row needs a
judge: no gold answer (e.g. a proof), no teacher answer, or a worded answer math parsing cannot compare.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data import answers
from retool_data.answer_forms import strip_units
from retool_data.boxed import unwrap_box

_PROOF_RE = re.compile(r"\b(prove|proof|show that|demonstrate that)\b", re.I)
_LATEX_CMD_RE = re.compile(r"\\[A-Za-z]+")
# words that still make a math answer: functions, constants, the "and" of a list of solutions
_MATH_WORDS = frozenset(
    "sin cos tan cot sec csc log exp sqrt frac max min gcd lcm mod deg inf infty and".split()  # noqa: SIM905
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


_CLOCK_RE = re.compile(
    r"^\s*(\d{1,2}):(\d{2})\s*(?:\\(?:text|mbox|mathrm)\s*\{\s*([ap])\.?\s*m\.?\s*\}|([ap])\.?\s*m\.?)?\s*$",
    re.I,
)


def clock_time(answer: str) -> tuple[int, int, str | None] | None:
    """``4:30 \\text{ p.m.}`` -> (4, 30, "p"); ``16:30`` -> (16, 30, None); None if not a time of day."""
    m = _CLOCK_RE.match(unwrap_box(answer.strip().strip("$")))
    if m is None:
        return None
    meridiem = (m.group(3) or m.group(4) or "").lower() or None
    return int(m.group(1)), int(m.group(2)), meridiem


def rule_precheck(teacher: str | None, gold: str | None, problem: str) -> tuple[bool | None, str] | None:
    """What the rules say without comparing math: a decision, ``(None, why not)`` for the judge, or None when
    `answers.are_equivalent` must compare the two answers."""
    if gold is None:
        return None, "proof problem without a reference answer" if _PROOF_RE.search(
            problem
        ) else "no gold answer"
    if teacher is None:
        return None, "no final answer in the teacher's solution"
    clocks = clock_time(gold), clock_time(teacher)
    if clocks[0] or clocks[1]:  # 4:30 p.m.: math parsing would drop the a.m./p.m. that decides it
        if clocks[0] and clocks[1] and None not in (clocks[0][2], clocks[1][2]):
            return _compared(teacher, gold, clocks[0] == clocks[1])
        return None, "time of day"
    # a trailing unit ("100\text{ square units}") does not make a value a worded answer
    gold, teacher = strip_units(gold), strip_units(teacher)
    if is_text_answer(gold) or is_text_answer(teacher):
        if _normalized_text(gold) == _normalized_text(teacher):
            return True, f"text answers match: {teacher!r}"
        return None, "text answer"
    return None


def _compared(teacher: str, gold: str, equal: bool) -> tuple[bool, str]:
    return equal, f"{teacher!r} is {'' if equal else 'not '}equivalent to {gold!r}"


def rule_decision(teacher: str | None, gold: str | None, problem: str) -> tuple[bool | None, str]:
    """``(True|False, reason)`` when the rules decide, ``(None, why not)`` when the row needs a judge."""
    pre = rule_precheck(teacher, gold, problem)
    if pre is not None:
        return pre
    assert teacher is not None and gold is not None
    return _compared(teacher, gold, answers.is_equivalent(strip_units(teacher), strip_units(gold)))


def rule_decisions(
    teachers: list[str | None], golds: list[str | None], problems: list[str]
) -> list[tuple[bool | None, str]]:
    """`rule_decision` per row, the math comparisons batched over the answer checker's workers."""
    out = [rule_precheck(t, g, p) for t, g, p in zip(teachers, golds, problems, strict=True)]
    todo = [i for i, o in enumerate(out) if o is None]
    stripped = [(strip_units(teachers[i] or ""), strip_units(golds[i] or "")) for i in todo]
    equal = answers.are_equivalent([t for t, _ in stripped], [g for _, g in stripped]) if todo else []
    for i, eq in zip(todo, equal, strict=True):
        out[i] = _compared(teachers[i], golds[i], eq)  # type: ignore[arg-type]
    return out  # type: ignore[return-value]
